//! Tokens as a backend mints them (HS256 with a tenant's secret; RS256, ES256 and EdDSA with
//! the private halves of `testdata/jwks.json`, test keys made for these tests only), and every
//! way one is refused.

use std::collections::HashMap;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use switchboard_actors::{RoomId, Tenant};

use super::{token_in, Auth, Grant, Refused, TenantKeys};

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
    let token = mint(json!({"sub": "alice", "exp": now() + 60, "rooms": ["r1"]}), SECRET);
    let grant = auth.verify(Some(&token)).expect("valid");
    assert!(grant.may_be("alice") && !grant.may_be("bob"));
    assert!(grant.may_enter("r1") && !grant.may_enter("r2"));
    assert_eq!(grant.tenant, Tenant::default());
    assert_eq!(grant.room(RoomId::new("r1")), Some(RoomId::new("r1")));
    assert_eq!(grant.room(RoomId::new("r2")), None);
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

fn tenant(name: &str) -> Tenant {
    Tenant::new(name).expect("valid tenant")
}

fn jwks() -> &'static str {
    include_str!("testdata/jwks.json")
}

fn mint_with(alg: Algorithm, kid: &str, pem: &[u8], claims: serde_json::Value) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
        _ => EncodingKey::from_ed_pem(pem),
    }
    .expect("a test key");
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    encode(&header, &claims, &key).expect("minted")
}

#[test]
fn each_tenant_is_checked_with_its_own_keys_only() {
    let auth = Auth::new(HashMap::from([
        (Tenant::default(), TenantKeys::default().with_secret(SECRET)),
        (tenant("acme"), TenantKeys::default().with_secret(b"acme's secret")),
        (tenant("beta"), TenantKeys::default().with_jwks(jwks()).expect("a JWKS")),
    ]));
    let acme = json!({"sub": "alice", "exp": now() + 60, "tenant": "acme"});
    let grant = auth.verify(Some(&mint(acme.clone(), b"acme's secret"))).expect("valid");
    assert_eq!(grant.tenant, tenant("acme"));
    let room = grant.room(RoomId::new("r1")).expect("any room");
    assert_eq!((room.as_str(), room.tenant()), ("r1", &tenant("acme")));
    assert_ne!(room, RoomId::new("r1"));
    // The default tenant's secret does not make acme's tokens, nor acme's the default's.
    assert_eq!(auth.verify(Some(&mint(acme, SECRET))), Err(Refused::BadSignature));
    let plain = json!({"sub": "alice", "exp": now() + 60});
    assert_eq!(auth.verify(Some(&mint(plain, b"acme's secret"))), Err(Refused::BadSignature));
    // A tenant with public keys only takes no HS256 token, even one signed with a public key.
    let beta = json!({"sub": "a", "exp": now() + 60, "tenant": "beta"});
    assert_eq!(auth.verify(Some(&mint(beta, SECRET))), Err(Refused::BadSignature));
    let nobody = json!({"sub": "a", "exp": now() + 60, "tenant": "nobody"});
    assert_eq!(auth.verify(Some(&mint(nobody, SECRET))), Err(Refused::UnknownTenant));
    let bad_name = json!({"sub": "a", "exp": now() + 60, "tenant": "a:b"});
    assert_eq!(auth.verify(Some(&mint(bad_name, SECRET))), Err(Refused::Malformed));
}

#[test]
fn rsa_ec_and_eddsa_tokens_verify_against_a_jwks() {
    let auth = Auth::new(HashMap::from([(
        tenant("beta"),
        TenantKeys::default().with_jwks(jwks()).expect("a JWKS"),
    )]));
    let claims = json!({"sub": "bob", "exp": now() + 60, "tenant": "beta", "rooms": ["r"]});
    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-1", &include_bytes!("testdata/rsa.pem")[..]),
        (Algorithm::ES256, "ec-1", include_bytes!("testdata/ec.pem")),
        (Algorithm::EdDSA, "ed-1", include_bytes!("testdata/ed.pem")),
    ] {
        let grant = auth.verify(Some(&mint_with(alg, kid, pem, claims.clone())));
        let grant = grant.unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert!(grant.may_be("bob") && grant.may_enter("r") && !grant.may_enter("s"));
        // Another key's id: the key named does not verify it.
        let wrong =
            mint_with(alg, if kid == "ec-1" { "ed-1" } else { "ec-1" }, pem, claims.clone());
        assert_eq!(auth.verify(Some(&wrong)), Err(Refused::BadSignature), "{alg:?}");
        let expired = json!({"sub": "bob", "exp": now() - 60, "tenant": "beta"});
        let expired = mint_with(alg, kid, pem, expired);
        assert_eq!(auth.verify(Some(&expired)), Err(Refused::Expired), "{alg:?}");
    }
    // An RS256 key's token relabelled HS256 (signed with the public key as a secret): refused.
    let rsa_n = serde_json::from_str::<serde_json::Value>(jwks()).expect("json")["keys"][0]["n"]
        .as_str()
        .expect("n")
        .to_owned();
    let confused =
        mint(json!({"sub": "bob", "exp": now() + 60, "tenant": "beta"}), rsa_n.as_bytes());
    assert_eq!(auth.verify(Some(&confused)), Err(Refused::BadSignature));
}

#[test]
fn a_jwks_with_a_shared_secret_or_garbage_is_refused() {
    let oct = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#;
    assert!(TenantKeys::default().with_jwks(oct).is_err());
    assert!(TenantKeys::default().with_jwks("{}").is_err());
    let mislabelled = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","alg":"RS256"}]}"#;
    assert!(TenantKeys::default().with_jwks(mislabelled).is_err());
}
