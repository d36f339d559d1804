//! Access tokens (JWT, RFC 7519), minted by the application's backend: with auth on, every
//! client presents one at its handshake (`?token=` on the WebSocket URL), and what it grants
//! (a [`Grant`]: whose identity the client may use, which rooms it may create and join) bounds
//! what the dialects let it do. A token that is missing, malformed, expired, not yet valid,
//! signed with another key or with `alg: none` is refused at the handshake ([`Refused`]).
//!
//! Claims: `sub` (the identity: a `cmd` sId, a `signals` userId, a `mediasoup` peerName;
//! required), `exp` (required) and `nbf`, `rooms` (the room names it may create and join;
//! absent: any), `tenant` (read, not used yet).
//!
//! [`turn`]: the TURN credentials the node mints for its clients.

pub mod turn;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// How far a token's `exp` and `nbf` may be off the node's clock (clients' and backends'
/// clocks drift).
const LEEWAY_SECS: u64 = 5;

/// What a token grants. With auth off, everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// The one identity the client may use (`None`: any).
    pub sub: Option<String>,
    /// The rooms it may create and join (`None`: any).
    pub rooms: Option<Vec<String>>,
    /// Its tenant, if the token names one.
    pub tenant: Option<String>,
}

impl Grant {
    /// Whether the client may use identity `identity`.
    pub fn may_be(&self, identity: &str) -> bool {
        self.sub.as_deref().is_none_or(|sub| sub == identity)
    }

    /// Whether the client may create or join room `room`.
    pub fn may_enter(&self, room: &str) -> bool {
        self.rooms.as_ref().is_none_or(|rooms| rooms.iter().any(|r| r == room))
    }
}

/// Why a token was refused (the handshake's 401 says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// No `token` in the URL.
    #[error("an access token is required (?token=)")]
    Missing,
    /// Not a JWT, or its claims are not ours.
    #[error("the access token is malformed")]
    Malformed,
    /// Past its `exp`.
    #[error("the access token has expired")]
    Expired,
    /// Before its `nbf`.
    #[error("the access token is not valid yet")]
    NotYet,
    /// Not signed by a key of ours, or with an algorithm we do not accept (`none` included).
    #[error("the access token's signature is not valid")]
    BadSignature,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    rooms: Option<Vec<String>>,
    #[serde(default)]
    tenant: Option<String>,
}

/// The node's token verifier. See the module docs.
pub struct Auth {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("algorithms", &self.validation.algorithms).finish()
    }
}

impl Auth {
    /// A verifier of HS256 tokens signed with `secret` (the default tenant's shared secret).
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { key: DecodingKey::from_secret(secret), validation }
    }

    /// What `token` grants, or why it is refused.
    pub fn verify(&self, token: Option<&str>) -> Result<Grant, Refused> {
        use jsonwebtoken::errors::ErrorKind as Why;
        let token = token.filter(|t| !t.is_empty()).ok_or(Refused::Missing)?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                Why::ExpiredSignature => Refused::Expired,
                Why::ImmatureSignature => Refused::NotYet,
                Why::InvalidSignature | Why::InvalidAlgorithm | Why::InvalidAlgorithmName => {
                    Refused::BadSignature
                }
                _ => Refused::Malformed,
            },
        )?;
        let Claims { sub, rooms, tenant } = data.claims;
        Ok(Grant { sub: Some(sub), rooms, tenant })
    }
}

/// The `token` parameter of a query string, URL-decoded.
pub fn token_in(query: &str) -> Option<String> {
    let params =
        actix_web::web::Query::<std::collections::HashMap<String, String>>::from_query(query)
            .ok()?;
    params.into_inner().remove("token")
}

#[cfg(test)]
mod tests;
