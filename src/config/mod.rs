//! Node configuration: defaults → optional TOML file → `SWITCHBOARD_*` environment → flags,
//! validated once at start. Unknown keys in the file are rejected.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use serde::Deserialize;

mod auth;
mod flags;
mod media;

pub use auth::{
    AdminSection, AuthSection, Secret, TenantSection, Tenants, TurnSection, WebhookSection,
};
pub use flags::Flags;
pub use media::MediaSection;

/// Everything a node can be told. Every field has a default (see [`Config::default`]) and a line
/// in `deploy/config.example.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on for HTTP and WebSocket clients.
    pub listen: SocketAddr,
    /// This node's id in logs and in a cluster; random when absent.
    pub node_id: Option<String>,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Limits that protect the node from clients.
    pub limits: Limits,
    /// Liveness and coalescing intervals.
    pub timing: Timing,
    /// Joining a cluster of nodes through Redis.
    pub cluster: ClusterSection,
    /// The `signals` dialect (`/signals`).
    pub signals: SignalsSection,
    /// The media plane: the embedded SFU behind `signals` `m2m`/`a2m` rooms.
    pub media: MediaSection,
    /// Access tokens: the default tenant's keys; off unless some tenant has a key.
    pub auth: AuthSection,
    /// The tenants sharing the cluster, by name (`[tenants.acme]`).
    pub tenants: Tenants,
    /// The admin API; off unless its token is set.
    pub admin: AdminSection,
    /// The default tenant's webhook; off unless its URL is set.
    pub webhook: WebhookSection,
    /// TURN credentials for clients; off unless a secret and URLs are set.
    pub turn: TurnSection,
}

/// The `signals` dialect's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalsSection {
    /// STUN/TURN URLs sent to clients in the JOIN ack (`icfg.is`).
    pub ice_servers: Vec<String>,
    /// A session silent (no signal, heartbeats included) for longer than this is gone, in ms.
    pub heartbeat_timeout_ms: u64,
    /// Interval of the server's keepalive pings to idle clients, in ms.
    pub keepalive_ms: u64,
    /// Largest WebSocket frame; larger ones close with 1009.
    pub max_frame_bytes: usize,
    /// Largest message (frames of one message together); larger ones close with 1009.
    pub max_message_bytes: usize,
    /// Most publishers in an `m2m` room.
    pub m2m_publishers: usize,
    /// Most publishers in an `a2m` room.
    pub a2m_publishers: usize,
}

impl Default for SignalsSection {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            heartbeat_timeout_ms: 10_000,
            keepalive_ms: 540_000,
            max_frame_bytes: 32 * 1024,
            max_message_bytes: 128 * 1024,
            m2m_publishers: 9,
            a2m_publishers: 9,
        }
    }
}

/// Joining a cluster of nodes through Redis.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSection {
    /// `redis://[user:password@]host:port[/db]` or `redis+unix:///path`; empty runs a single
    /// node that needs nothing else.
    pub redis_url: String,
    /// Prefix of every Redis key and channel, so several clusters can share one Redis.
    pub prefix: String,
    /// Interval between two heartbeats of this node, in ms.
    pub heartbeat_interval_ms: u64,
    /// A node silent for longer than this (ms) is dead: its clients' peers are told they left.
    pub node_ttl_ms: u64,
}

impl Default for ClusterSection {
    fn default() -> Self {
        Self {
            redis_url: String::new(),
            prefix: "switchboard".into(),
            heartbeat_interval_ms: 1000,
            node_ttl_ms: 3000,
        }
    }
}

/// Limits that protect the node from clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest WebSocket message accepted, in bytes; larger ones close the connection (1009).
    pub max_frame_bytes: usize,
    /// Most WebSocket clients connected at once; more are refused with HTTP 503.
    pub max_clients: usize,
    /// Events a client's queue may always hold. Past it the queue may still grow (by
    /// `rate_burst`, what one peer may send at once) while the client keeps reading; a client
    /// that takes nothing for `slow_consumer_ms` past it, or reaches that ceiling, is closed as
    /// a slow consumer (1008).
    pub outbound_queue: usize,
    /// How long a client's queue past `outbound_queue` may go with nothing taken, in ms.
    pub slow_consumer_ms: u64,
    /// Sustained messages per second one client may send; 0 disables the limit.
    pub rate_per_sec: u32,
    /// Engine.IO polling sessions one source address may hold before its client comes back
    /// after the handshake; more handshakes from it get 429.
    pub pending_per_address: usize,
    /// Take a client's address from the last `X-Forwarded-For` entry (what a balancer in
    /// front of the node appends) rather than the TCP peer. Only behind a trusted balancer.
    pub trust_forwarded_for: bool,
    /// Messages one client may send in a burst above the sustained rate.
    pub rate_burst: u32,
}

/// Liveness and coalescing intervals, in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Interval between WebSocket pings; no pong by the next ping closes the connection.
    pub ping_interval_ms: u64,
    /// Minimum interval between two client lists (`clu`) to one client.
    pub roster_interval_ms: u64,
    /// On SIGTERM, how long connected clients get to go before the node deregisters and exits.
    pub drain_timeout_ms: u64,
    /// Engine.IO (`rooms`) ping interval announced to clients.
    pub eio_ping_interval_ms: u64,
    /// Engine.IO (`rooms`) ping timeout announced to clients.
    pub eio_ping_timeout_ms: u64,
    /// A Socket.IO v4/v3 client (Engine.IO v4) that has not connected its socket this long
    /// after opening its session is closed (socket.io's `connectTimeout`).
    pub sio_connect_timeout_ms: u64,
    /// An Engine.IO polling session whose client has not come back (poll, post or upgrade)
    /// this long after its handshake is closed.
    pub eio_handshake_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            node_id: None,
            workers: 0,
            limits: Limits::default(),
            timing: Timing::default(),
            cluster: ClusterSection::default(),
            signals: SignalsSection::default(),
            media: MediaSection::default(),
            auth: AuthSection::default(),
            tenants: Tenants::default(),
            admin: AdminSection::default(),
            webhook: WebhookSection::default(),
            turn: TurnSection::default(),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 64 * 1024,
            max_clients: 20_000,
            outbound_queue: 256,
            slow_consumer_ms: 5000,
            rate_per_sec: 200,
            pending_per_address: 32,
            trust_forwarded_for: false,
            rate_burst: 1000,
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ping_interval_ms: 3000,
            roster_interval_ms: 50,
            drain_timeout_ms: 5000,
            eio_ping_interval_ms: 25_000,
            eio_ping_timeout_ms: 20_000,
            sio_connect_timeout_ms: 45_000,
            eio_handshake_timeout_ms: 10_000,
        }
    }
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range.
    #[error("invalid config: {0}")]
    Invalid(String),
}

impl Config {
    /// Builds the effective configuration from `flags` (which already folded in the environment)
    /// over the optional file over the defaults, and validates it.
    pub fn load(flags: Flags) -> Result<Self, ConfigError> {
        let mut config = match &flags.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source: Box::new(source),
                })?
            }
            None => Config::default(),
        };
        macro_rules! set {
            ($($flag:ident => $($field:ident).+),* $(,)?) => {
                $(if let Some(v) = flags.$flag { config.$($field).+ = v; })*
            };
        }
        set! {
            listen => listen,
            workers => workers,
            max_frame_bytes => limits.max_frame_bytes,
            max_clients => limits.max_clients,
            outbound_queue => limits.outbound_queue,
            slow_consumer_ms => limits.slow_consumer_ms,
            pending_per_address => limits.pending_per_address,
            trust_forwarded_for => limits.trust_forwarded_for,
            eio_handshake_timeout_ms => timing.eio_handshake_timeout_ms,
            rate_per_sec => limits.rate_per_sec,
            rate_burst => limits.rate_burst,
            ping_interval_ms => timing.ping_interval_ms,
            roster_interval_ms => timing.roster_interval_ms,
            drain_timeout_ms => timing.drain_timeout_ms,
            eio_ping_interval_ms => timing.eio_ping_interval_ms,
            eio_ping_timeout_ms => timing.eio_ping_timeout_ms,
            sio_connect_timeout_ms => timing.sio_connect_timeout_ms,
            signals_heartbeat_timeout_ms => signals.heartbeat_timeout_ms,
            redis_url => cluster.redis_url,
            redis_prefix => cluster.prefix,
            heartbeat_interval_ms => cluster.heartbeat_interval_ms,
            node_ttl_ms => cluster.node_ttl_ms,
            media => media.enabled,
            media_bind => media.bind,
            media_port => media.port,
            media_workers => media.workers,
        }
        if flags.media_announce_ip.is_some() {
            config.media.announce_ip = flags.media_announce_ip;
        }
        if flags.node_id.is_some() {
            config.node_id = flags.node_id;
        }
        if let Some(secret) = flags.auth_secret {
            config.auth.secret = secret.into();
        }
        if let Some(token) = flags.admin_token {
            config.admin.token = token.into();
        }
        if flags.auth_jwks_file.is_some() {
            config.auth.jwks_file = flags.auth_jwks_file;
        }
        if let Some(secret) = flags.turn_secret {
            config.turn.secret = secret.into();
        }
        if let Some(urls) = flags.turn_urls {
            config.turn.urls = urls;
        }
        if let Some(ttl) = flags.turn_ttl_s {
            config.turn.ttl_s = ttl;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value is in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check =
            |ok: bool, what: &str| if ok { Ok(()) } else { Err(ConfigError::Invalid(what.into())) };
        check(self.limits.max_frame_bytes >= 1024, "limits.max_frame_bytes must be at least 1024")?;
        check(self.limits.max_clients >= 1, "limits.max_clients must be at least 1")?;
        check(self.limits.outbound_queue >= 8, "limits.outbound_queue must be at least 8")?;
        check(
            self.limits.rate_per_sec == 0 || self.limits.rate_burst >= 1,
            "limits.rate_burst must be at least 1 when a rate is set",
        )?;
        check(self.timing.ping_interval_ms >= 100, "timing.ping_interval_ms must be at least 100")?;
        check(
            self.timing.roster_interval_ms <= 10_000,
            "timing.roster_interval_ms must be at most 10000",
        )?;
        check(self.workers <= 256, "workers must be at most 256")?;
        check(self.turn.ttl_s >= 60, "turn.ttl_s must be at least 60")?;
        check(self.media.workers <= 256, "media.workers must be at most 256")?;
        check(
            usize::from(self.media.port) + self.media_workers() <= 65_536,
            "media.port + media.workers must stay below 65536",
        )?;
        let sig = &self.signals;
        check(
            sig.heartbeat_timeout_ms >= 100,
            "signals.heartbeat_timeout_ms must be at least 100",
        )?;
        check(sig.keepalive_ms >= 100, "signals.keepalive_ms must be at least 100")?;
        check(
            sig.max_frame_bytes >= 1024 && sig.max_message_bytes >= sig.max_frame_bytes,
            "signals.max_frame_bytes must be at least 1024 and at most signals.max_message_bytes",
        )?;
        check(
            sig.m2m_publishers >= 1 && sig.a2m_publishers >= 1,
            "publisher limits must be at least 1",
        )?;
        check(
            self.timing.eio_ping_interval_ms >= 100 && self.timing.eio_ping_timeout_ms >= 100,
            "timing.eio_ping_interval_ms and eio_ping_timeout_ms must be at least 100",
        )?;
        check(
            self.timing.sio_connect_timeout_ms >= 100
                && self.timing.eio_handshake_timeout_ms >= 100,
            "timing.sio_connect_timeout_ms and eio_handshake_timeout_ms must be at least 100",
        )?;
        check(
            self.limits.pending_per_address >= 1,
            "limits.pending_per_address must be at least 1",
        )?;
        let c = &self.cluster;
        check(
            c.redis_url.is_empty()
                || ["redis://", "redis+unix://", "unix://"]
                    .iter()
                    .any(|scheme| c.redis_url.starts_with(scheme)),
            "cluster.redis_url must start with redis://, redis+unix:// or unix://",
        )?;
        check(
            !c.prefix.is_empty() && !c.prefix.contains(char::is_whitespace),
            "cluster.prefix must be non-empty, without spaces",
        )?;
        check(c.heartbeat_interval_ms >= 50, "cluster.heartbeat_interval_ms must be at least 50")?;
        check(
            c.node_ttl_ms >= 2 * c.heartbeat_interval_ms,
            "cluster.node_ttl_ms must be at least twice cluster.heartbeat_interval_ms",
        )?;
        check(
            self.node_id.as_deref().is_none_or(|id| {
                (1..=64).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            }),
            "node_id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'",
        )?;
        self.auth().map_err(ConfigError::Invalid)?;
        self.webhooks().map_err(ConfigError::Invalid)?;
        Ok(())
    }

    /// The ping interval.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.timing.ping_interval_ms)
    }

    /// The cluster to join, if a Redis URL is set.
    pub fn cluster(&self) -> Option<switchboard_actors::cluster::ClusterConfig> {
        let c = &self.cluster;
        (!c.redis_url.is_empty()).then(|| switchboard_actors::cluster::ClusterConfig {
            redis_url: c.redis_url.clone(),
            prefix: c.prefix.clone(),
            heartbeat_interval: Duration::from_millis(c.heartbeat_interval_ms),
            node_ttl: Duration::from_millis(c.node_ttl_ms),
        })
    }

    /// The configuration as it may be logged: a password in the Redis URL is masked.
    pub fn redacted(&self) -> Self {
        let mut shown = self.clone();
        let url = &mut shown.cluster.redis_url;
        if let Some((scheme, rest)) = url.split_once("://") {
            if let Some((credentials, host)) = rest.rsplit_once('@') {
                let user = credentials.split_once(':').map_or("", |(user, _)| user);
                *url = format!("{scheme}://{user}:***@{host}");
            }
        }
        shown
    }

    /// The Engine.IO ping interval.
    pub fn eio_ping_interval(&self) -> Duration {
        Duration::from_millis(self.timing.eio_ping_interval_ms)
    }

    /// The Engine.IO ping timeout.
    pub fn eio_ping_timeout(&self) -> Duration {
        Duration::from_millis(self.timing.eio_ping_timeout_ms)
    }

    /// When a client's queue of events is too far behind (see [`Limits::outbound_queue`]).
    pub fn backlog(&self) -> switchboard_actors::Backlog {
        let limits = &self.limits;
        // What one peer may send at once must fit beside the usual depth; without a rate
        // limit nothing bounds that, so the ceiling is a few times the usual depth.
        let burst = match limits.rate_per_sec {
            0 => limits.outbound_queue.saturating_mul(3),
            _ => limits.rate_burst as usize,
        };
        switchboard_actors::Backlog {
            soft: limits.outbound_queue,
            hard: limits.outbound_queue.saturating_add(burst),
            stall: Duration::from_millis(limits.slow_consumer_ms),
        }
    }

    /// How long an Engine.IO polling client has to come back after its handshake.
    pub fn eio_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.timing.eio_handshake_timeout_ms)
    }

    /// How long a Socket.IO v4 client has to connect its socket.
    pub fn sio_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.timing.sio_connect_timeout_ms)
    }

    /// How long a drain waits for clients to go.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.timing.drain_timeout_ms)
    }

    /// The roster coalescing interval.
    pub fn roster_interval(&self) -> Duration {
        Duration::from_millis(self.timing.roster_interval_ms)
    }
}

#[cfg(test)]
mod tests;
