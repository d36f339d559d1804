//! The access tokens' section of the configuration: off unless a secret is set.

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
