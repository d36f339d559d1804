//! The access tokens' and TURN credentials' sections of the configuration: each off unless its
//! secret is set.

use serde::Deserialize;

use super::Config;

/// A secret: read like a string, never printed (the effective config is logged).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"<redacted>\"" })
    }
}

/// Access tokens (JWT).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The default tenant's HS256 secret; with one set, every client needs a token.
    pub secret: Secret,
}

impl Config {
    /// The node's token verifier; `None` when auth is off.
    pub fn auth(&self) -> Option<crate::auth::Auth> {
        (!self.auth.secret.is_empty()).then(|| crate::auth::Auth::hs256(self.auth.secret.expose()))
    }
}

/// TURN credentials the node mints (draft-uberti-behave-turn-rest).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnSection {
    /// The secret shared with the TURN servers (coturn's `static-auth-secret`); empty: off.
    pub secret: Secret,
    /// The TURN servers' URLs (`turn:host:3478`, `turns:…`).
    pub urls: Vec<String>,
    /// How long minted credentials stay valid, in seconds.
    pub ttl_s: u64,
}

impl Default for TurnSection {
    fn default() -> Self {
        Self { secret: Secret::default(), urls: Vec::new(), ttl_s: 86_400 }
    }
}

impl TurnSection {
    /// Whether the node mints TURN credentials.
    pub fn enabled(&self) -> bool {
        !self.secret.is_empty() && !self.urls.is_empty()
    }

    /// Credentials for `identity`, valid from now; `None` when TURN is off.
    pub fn mint(&self, identity: &str) -> Option<crate::auth::turn::TurnCredentials> {
        let now = crate::auth::turn::unix_now();
        self.enabled().then(|| {
            crate::auth::turn::mint(self.secret.expose(), identity, self.ttl_s, now, &self.urls)
        })
    }
}
