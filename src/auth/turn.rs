//! TURN credentials the node mints for its clients, as a TURN server with a shared secret
//! checks them (draft-uberti-behave-turn-rest, coturn's `use-auth-secret`): the username is
//! `expiry:identity` (the expiry in Unix seconds), the credential base64(HMAC-SHA1(secret,
//! username)). Nothing is stored: the TURN server recomputes the credential and checks the
//! expiry.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;

/// What a client is given to use the TURN servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TurnCredentials {
    /// `expiry:identity`.
    pub username: String,
    /// base64(HMAC-SHA1(secret, username)).
    pub credential: String,
    /// Seconds it stays valid.
    pub ttl: u64,
    /// The TURN servers' URLs.
    pub urls: Vec<String>,
}

/// The credential of `username` under `secret`.
pub fn credential(secret: &[u8], username: &str) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Credentials for `identity`, valid `ttl` seconds from `now` (Unix seconds), for `urls`.
pub fn mint(secret: &[u8], identity: &str, ttl: u64, now: u64, urls: &[String]) -> TurnCredentials {
    let username = format!("{}:{identity}", now + ttl);
    TurnCredentials {
        credential: credential(secret, &username),
        username,
        ttl,
        urls: urls.to_vec(),
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_the_hmac_sha1_of_expiry_and_identity() {
        // As `printf %s "$username" | openssl dgst -binary -sha1 -hmac S3 | base64` computes it.
        assert_eq!(super::credential(b"S3", "1795829474:alice"), "tdeQl0Jf9dtyEZJCDw0YyOrvbZ0=");
        let minted = super::mint(b"S3", "alice", 600, 1_795_828_874, &["turn:t:3478".into()]);
        assert_eq!(minted.username, "1795829474:alice");
        assert_eq!(minted.credential, "tdeQl0Jf9dtyEZJCDw0YyOrvbZ0=");
        assert_eq!((minted.ttl, minted.urls.len()), (600, 1));
    }
}
