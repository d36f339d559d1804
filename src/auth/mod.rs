//! Access tokens (JWT, RFC 7519), minted by the application's backend: with auth on, every
//! client presents one at its handshake (`?token=` on the WebSocket URL), and what it grants
//! (a [`Grant`]: its tenant, whose identity the client may use, which rooms it may create and
//! join) bounds what the dialects let it do. A token that is missing, malformed, expired, not
//! yet valid, of an unknown tenant, signed with another key or with `alg: none` is refused at
//! the handshake ([`Refused`]).
//!
//! Claims: `sub` (the identity: a `cmd` sId, a `signals` userId, a `mediasoup` peerName;
//! required), `exp` (required) and `nbf`, `rooms` (the room names it may create and join;
//! absent: any), `tenant` (absent: the default tenant).
//!
//! Each tenant has its keys ([`TenantKeys`]): an HS256 shared secret, public keys (RS256/384/512,
//! PS256/384/512, ES256/384, EdDSA) from a JWKS document, or both. A token is checked only
//! against its own tenant's keys, under the algorithm its key allows (never the token's word
//! alone), so one tenant's key cannot mint another's tokens.
//!
//! [`turn`]: the TURN credentials the node mints for its clients.

pub mod turn;

use std::collections::HashMap;

use jsonwebtoken::{
    jwk::{AlgorithmParameters, EllipticCurve, JwkSet},
    Algorithm, DecodingKey, Validation,
};
use serde::Deserialize;
use switchboard_actors::{ClientName, RoomId, Tenant};

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
    /// Its tenant: every name and room the client uses is in this tenant's namespace.
    pub tenant: Tenant,
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

    /// Room `room` as the client means it: in its tenant's namespace, if it may enter it.
    pub fn room(&self, room: RoomId) -> Option<RoomId> {
        self.may_enter(room.as_str()).then(|| room.in_tenant(&self.tenant))
    }

    /// Client name `name` in the client's tenant's namespace (the one it registers, calls or
    /// notifies).
    pub fn name(&self, name: ClientName) -> ClientName {
        name.in_tenant(&self.tenant)
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
    /// Its `tenant` is not one this node knows.
    #[error("the access token's tenant is unknown")]
    UnknownTenant,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    rooms: Option<Vec<String>>,
}

/// What is read of a token before its signature is checked: which tenant's keys check it.
#[derive(Deserialize)]
struct Unverified {
    #[serde(default)]
    tenant: Option<String>,
}

/// One tenant's keys. See the module docs.
#[derive(Default)]
pub struct TenantKeys {
    secret: Option<DecodingKey>,
    public: Vec<PublicKey>,
}

/// A public key from a JWKS document, with the algorithms it verifies.
struct PublicKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl TenantKeys {
    /// HS256 tokens signed with `secret` (an empty one: none).
    pub fn with_secret(mut self, secret: &[u8]) -> Self {
        self.secret = (!secret.is_empty()).then(|| DecodingKey::from_secret(secret));
        self
    }

    /// Tokens signed by the private halves of the public keys in JWKS document `jwks`; an
    /// error says what in it is not a usable public key.
    pub fn with_jwks(mut self, jwks: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(jwks).map_err(|e| format!("not a JWKS: {e}"))?;
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone();
            let name = kid.as_deref().unwrap_or("(no kid)").to_owned();
            let algorithms = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
                AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                    EllipticCurve::P256 => vec![Algorithm::ES256],
                    EllipticCurve::P384 => vec![Algorithm::ES384],
                    _ => return Err(format!("key {name}: unsupported curve")),
                },
                AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
                AlgorithmParameters::OctetKey(_) => {
                    return Err(format!("key {name}: shared secrets go in `secret`, not a JWKS"))
                }
            };
            // A key that names its algorithm verifies that one only.
            let algorithms = match &jwk.common.key_algorithm {
                None => algorithms,
                Some(alg) => {
                    let alg: Algorithm = alg
                        .to_string()
                        .parse()
                        .map_err(|_| format!("key {name}: {alg} is not a signing algorithm"))?;
                    if !algorithms.contains(&alg) {
                        return Err(format!("key {name}: {alg:?} does not fit its key type"));
                    }
                    vec![alg]
                }
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {name}: {e}"))?;
            self.public.push(PublicKey { kid, key, algorithms });
        }
        Ok(self)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.secret.is_none() && self.public.is_empty()
    }

    /// The keys that may have signed a token with header `header`.
    fn candidates<'a>(
        &'a self,
        header: &'a jsonwebtoken::Header,
    ) -> impl Iterator<Item = &'a DecodingKey> + 'a {
        let secret = self.secret.as_ref().filter(|_| header.alg == Algorithm::HS256);
        let public = self.public.iter().filter(move |k| {
            k.algorithms.contains(&header.alg)
                && (header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
        });
        secret.into_iter().chain(public.map(|k| &k.key))
    }
}

/// The node's token verifier. See the module docs.
pub struct Auth {
    tenants: HashMap<Tenant, TenantKeys>,
    validation: Validation,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("tenants", &self.tenants.keys()).finish()
    }
}

impl Auth {
    /// A verifier of the tokens of `tenants`, each with its keys (the default tenant,
    /// `Tenant::default()`, among them if its clients may connect).
    pub fn new(tenants: HashMap<Tenant, TenantKeys>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { tenants, validation }
    }

    /// A verifier of the default tenant's HS256 tokens signed with `secret`.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::new(HashMap::from([(Tenant::default(), TenantKeys::default().with_secret(secret))]))
    }

    /// What `token` grants, or why it is refused.
    pub fn verify(&self, token: Option<&str>) -> Result<Grant, Refused> {
        use jsonwebtoken::errors::ErrorKind as Why;
        let token = token.filter(|t| !t.is_empty()).ok_or(Refused::Missing)?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refused::Malformed)?;
        let unverified = jsonwebtoken::dangerous::insecure_decode::<Unverified>(token)
            .map_err(|_| Refused::Malformed)?;
        let tenant = Tenant::try_from(unverified.claims.tenant.unwrap_or_default())
            .map_err(|_| Refused::Malformed)?;
        let keys = self.tenants.get(&tenant).ok_or(Refused::UnknownTenant)?;
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let mut refused = Refused::BadSignature;
        for key in keys.candidates(&header) {
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => {
                    let Claims { sub, rooms } = data.claims;
                    return Ok(Grant { sub: Some(sub), rooms, tenant });
                }
                Err(e) => {
                    refused = match e.kind() {
                        Why::ExpiredSignature => Refused::Expired,
                        Why::ImmatureSignature => Refused::NotYet,
                        Why::InvalidSignature
                        | Why::InvalidAlgorithm
                        | Why::InvalidAlgorithmName
                        | Why::InvalidKeyFormat => Refused::BadSignature,
                        _ => Refused::Malformed,
                    };
                    // Only a signature that did not verify makes another key worth a try.
                    if refused != Refused::BadSignature {
                        return Err(refused);
                    }
                }
            }
        }
        Err(refused)
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
