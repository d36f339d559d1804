//! Access tokens as a backend mints them (HS256), for the tests of tenants, the admin API
//! and webhooks.

use serde_json::{json, Value};

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `claims` signed HS256 with `secret`.
pub fn mint(claims: &Value, secret: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), claims, &key).expect("minted")
}

/// A token for `sub` valid for a minute, of `tenant` (`None`: the default tenant), signed
/// with `secret`.
pub fn for_tenant(tenant: Option<&str>, sub: &str, secret: &str) -> String {
    let mut claims = json!({"sub": sub, "exp": now() + 60});
    if let Some(tenant) = tenant {
        claims["tenant"] = json!(tenant);
    }
    mint(&claims, secret)
}
