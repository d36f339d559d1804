//! Tokens as a backend mints them (HS256), and every way one is refused.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use super::{token_in, Auth, Grant, Refused};

const SECRET: &[u8] = b"the default tenant's secret";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn mint(claims: serde_json::Value, secret: &[u8]) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret)).expect("minted")
}

#[test]
fn a_valid_token_grants_its_identity_and_rooms() {
    let auth = Auth::hs256(SECRET);
    let token =
        mint(json!({"sub": "alice", "exp": now() + 60, "rooms": ["r1"], "tenant": "t"}), SECRET);
    let grant = auth.verify(Some(&token)).expect("valid");
    assert!(grant.may_be("alice") && !grant.may_be("bob"));
    assert!(grant.may_enter("r1") && !grant.may_enter("r2"));
    assert_eq!(grant.tenant.as_deref(), Some("t"));
    let any_room = mint(json!({"sub": "alice", "exp": now() + 60}), SECRET);
    assert!(auth.verify(Some(&any_room)).expect("valid").may_enter("anything"));
    assert!(Grant::default().may_be("anyone") && Grant::default().may_enter("anywhere"));
}

#[test]
fn missing_malformed_expired_early_forged_and_unsigned_tokens_are_refused() {
    let auth = Auth::hs256(SECRET);
    assert_eq!(auth.verify(None), Err(Refused::Missing));
    assert_eq!(auth.verify(Some("")), Err(Refused::Missing));
    assert_eq!(auth.verify(Some("not.a.jwt")), Err(Refused::Malformed));
    let expired = mint(json!({"sub": "a", "exp": now() - 60}), SECRET);
    assert_eq!(auth.verify(Some(&expired)), Err(Refused::Expired));
    let early = mint(json!({"sub": "a", "exp": now() + 600, "nbf": now() + 300}), SECRET);
    assert_eq!(auth.verify(Some(&early)), Err(Refused::NotYet));
    let forged = mint(json!({"sub": "a", "exp": now() + 60}), b"another secret");
    assert_eq!(auth.verify(Some(&forged)), Err(Refused::BadSignature));
    let no_exp = mint(json!({"sub": "a"}), SECRET);
    assert_eq!(auth.verify(Some(&no_exp)), Err(Refused::Malformed));
    // `alg: none`, no signature: never accepted.
    let b64 = |v: serde_json::Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": "a", "exp": now() + 60}))
    );
    assert!(auth.verify(Some(&unsigned)).is_err());
}

#[test]
fn the_token_is_read_from_the_query_string() {
    assert_eq!(token_in("roomId=r&token=a.b%2Ec"), Some("a.b.c".into()));
    assert_eq!(token_in("roomId=r"), None);
}
