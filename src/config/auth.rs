//! The access tokens', tenants' and TURN credentials' sections of the configuration: tokens
//! are off unless some tenant (the default one included) has a key, TURN unless its secret is
//! set.

use std::{collections::BTreeMap, path::PathBuf};

use serde::Deserialize;
use switchboard_actors::Tenant;
use tokio_rustls::TlsConnector;

use crate::{
    auth::{Auth, TenantKeys},
    webhook::{
        post::{tls_connector, Target},
        Receiver,
    },
};

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

/// Access tokens (JWT): the default tenant's keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// The default tenant's HS256 secret; with one set, every client needs a token.
    pub secret: Secret,
    /// The default tenant's public keys (RS/PS/ES/EdDSA), a JWKS document; with one set, every
    /// client needs a token.
    pub jwks_file: Option<PathBuf>,
}

/// The admin API (`/admin/`), off unless its token is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminSection {
    /// The operators' bearer token.
    pub token: Secret,
}

/// One tenant (`[tenants.NAME]`): its keys, its limits on each node, its webhook.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantSection {
    /// Its HS256 secret.
    pub secret: Secret,
    /// Its public keys, a JWKS document.
    pub jwks_file: Option<PathBuf>,
    /// Most of its clients connected at once, in the whole cluster; 0: no limit but the nodes'.
    pub max_clients: usize,
    /// Most of its rooms (of every dialect) at once, in the whole cluster; 0: no limit.
    pub max_rooms: usize,
    /// Most messages per second its clients together may send, to the whole cluster; 0: no
    /// limit.
    pub max_messages_per_s: u32,
    /// Where its rooms' events are posted (`http://…` or `https://…`); empty: nowhere.
    pub webhook_url: String,
    /// The key of its webhook POSTs' signature.
    pub webhook_secret: Secret,
}

/// The default tenant's webhook, and how every tenant's receivers are reached.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSection {
    /// Where the default tenant's rooms' events are posted (`http://…` or `https://…`);
    /// empty: nowhere.
    pub url: String,
    /// The key of the POSTs' signature.
    pub secret: Secret,
    /// Certificates (PEM) of the authorities trusted for every tenant's `https://`
    /// receivers, beside the public ones.
    pub ca_file: Option<PathBuf>,
}

impl TenantSection {
    fn keys(secret: &Secret, jwks_file: Option<&PathBuf>) -> Result<TenantKeys, String> {
        let keys = TenantKeys::default().with_secret(secret.expose());
        let Some(path) = jwks_file else { return Ok(keys) };
        let jwks = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        keys.with_jwks(&jwks).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The tenants by name.
pub type Tenants = BTreeMap<String, TenantSection>;

/// A webhook receiver from `url` and `secret`, reached over TLS with `tls` (made when first
/// needed); `None` when `url` is empty.
fn receiver(
    url: &str,
    secret: &Secret,
    tls: &mut impl FnMut() -> Result<TlsConnector, String>,
) -> Result<Option<Receiver>, String> {
    if url.is_empty() {
        return Ok(None);
    }
    if secret.is_empty() {
        return Err("a webhook needs a secret to sign its POSTs".into());
    }
    let target = Target::parse(url)?;
    let tls = if target.is_tls() { Some(tls()?) } else { None };
    Ok(Some(Receiver { target, secret: secret.expose().to_vec(), tls }))
}

impl Config {
    /// The node's token verifier; `None` when auth is off (no tenant has a key). An error says
    /// which tenant's keys cannot be used.
    pub fn auth(&self) -> Result<Option<Auth>, String> {
        let mut all = std::collections::HashMap::new();
        let default = TenantSection::keys(&self.auth.secret, self.auth.jwks_file.as_ref())
            .map_err(|e| format!("auth.jwks_file: {e}"))?;
        if !default.is_empty() {
            all.insert(Tenant::default(), default);
        }
        for (name, section) in &self.tenants {
            let tenant = Tenant::new(name)
                .ok_or_else(|| format!("tenants.{name}: names are 1 to 64 of A-Z a-z 0-9 _ - ."))?;
            let keys = TenantSection::keys(&section.secret, section.jwks_file.as_ref())
                .map_err(|e| format!("tenants.{name}: {e}"))?;
            if keys.is_empty() {
                return Err(format!("tenants.{name}: needs a secret or a jwks_file"));
            }
            all.insert(tenant, keys);
        }
        Ok((!all.is_empty()).then(|| Auth::new(all)))
    }

    /// Each tenant (the default one among them) and its most rooms in the cluster.
    pub fn room_quotas(&self) -> switchboard_actors::engine::RoomQuotas {
        let limits = self
            .tenants
            .iter()
            .filter_map(|(name, section)| Some((Tenant::new(name)?, section.max_rooms)));
        let all = std::iter::once((Tenant::default(), 0)).chain(limits);
        switchboard_actors::engine::RoomQuotas::new(all)
    }

    /// Where each tenant's rooms' events are posted; an error says which webhook is wrong.
    pub fn webhooks(&self) -> Result<std::collections::HashMap<Tenant, Receiver>, String> {
        let mut all = std::collections::HashMap::new();
        let mut connector = None;
        let mut tls = || {
            if let Some(made) = &connector {
                return Ok(TlsConnector::clone(made));
            }
            let made = tls_connector(self.webhook.ca_file.as_deref())
                .map_err(|e| format!("webhook.ca_file: {e}"))?;
            connector = Some(made.clone());
            Ok(made)
        };
        if let Some(r) = receiver(&self.webhook.url, &self.webhook.secret, &mut tls)
            .map_err(|e| format!("webhook: {e}"))?
        {
            all.insert(Tenant::default(), r);
        }
        for (name, section) in &self.tenants {
            let tenant = Tenant::new(name).ok_or_else(|| format!("tenants.{name}: not a name"))?;
            if let Some(r) = receiver(&section.webhook_url, &section.webhook_secret, &mut tls)
                .map_err(|e| format!("tenants.{name}: {e}"))?
            {
                all.insert(tenant, r);
            }
        }
        Ok(all)
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
