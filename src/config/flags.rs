//! The command-line flags (each also read from its `SWITCHBOARD_*` environment variable), which
//! override the config file in [`Config::load`](super::Config::load).

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;

/// Command-line flags; each can also come from its `SWITCHBOARD_*` environment variable, and
/// each overrides the config file.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "WebRTC signaling cluster node")]
pub struct Flags {
    /// TOML config file.
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Instead of running a node, GET this path (e.g. /healthz) from the node configured to
    /// listen here and exit 0 if it answers 200: a health check for images without curl.
    #[arg(long, value_name = "PATH")]
    pub probe: Option<String>,
    /// Address to listen on (default 0.0.0.0:8080).
    #[arg(long, env = "SWITCHBOARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Node id (default: random).
    #[arg(long, env = "SWITCHBOARD_NODE_ID")]
    pub node_id: Option<String>,
    /// HTTP worker threads (0: one per core).
    #[arg(long, env = "SWITCHBOARD_WORKERS")]
    pub workers: Option<usize>,
    /// Largest WebSocket message, in bytes.
    #[arg(long, env = "SWITCHBOARD_MAX_FRAME_BYTES")]
    pub max_frame_bytes: Option<usize>,
    /// Most clients connected at once.
    #[arg(long, env = "SWITCHBOARD_MAX_CLIENTS")]
    pub max_clients: Option<usize>,
    /// Events queued per client before it is closed as too slow.
    #[arg(long, env = "SWITCHBOARD_OUTBOUND_QUEUE")]
    pub outbound_queue: Option<usize>,
    /// Engine.IO sessions one address may hold before coming back after its handshake.
    #[arg(long, env = "SWITCHBOARD_PENDING_PER_ADDRESS")]
    pub pending_per_address: Option<usize>,
    /// Take client addresses from X-Forwarded-For (behind a trusted balancer only).
    #[arg(long, env = "SWITCHBOARD_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Time an Engine.IO polling client has to come back after its handshake, in ms.
    #[arg(long, env = "SWITCHBOARD_EIO_HANDSHAKE_TIMEOUT_MS")]
    pub eio_handshake_timeout_ms: Option<u64>,
    /// How long a client's queue past --outbound-queue may go unread, in ms.
    #[arg(long, env = "SWITCHBOARD_SLOW_CONSUMER_MS")]
    pub slow_consumer_ms: Option<u64>,
    /// Sustained messages per second per client (0: unlimited).
    #[arg(long, env = "SWITCHBOARD_RATE_PER_SEC")]
    pub rate_per_sec: Option<u32>,
    /// Burst of messages per client above the sustained rate.
    #[arg(long, env = "SWITCHBOARD_RATE_BURST")]
    pub rate_burst: Option<u32>,
    /// WebSocket ping interval in ms.
    #[arg(long, env = "SWITCHBOARD_PING_INTERVAL_MS")]
    pub ping_interval_ms: Option<u64>,
    /// Minimum interval between client lists to one client, in ms.
    #[arg(long, env = "SWITCHBOARD_ROSTER_INTERVAL_MS")]
    pub roster_interval_ms: Option<u64>,
    /// Time connected clients get on SIGTERM before the node exits, in ms.
    #[arg(long, env = "SWITCHBOARD_DRAIN_TIMEOUT_MS")]
    pub drain_timeout_ms: Option<u64>,
    /// Engine.IO ping interval (rooms dialect), in ms.
    #[arg(long, env = "SWITCHBOARD_EIO_PING_INTERVAL_MS")]
    pub eio_ping_interval_ms: Option<u64>,
    /// Engine.IO ping timeout (rooms dialect), in ms.
    #[arg(long, env = "SWITCHBOARD_EIO_PING_TIMEOUT_MS")]
    pub eio_ping_timeout_ms: Option<u64>,
    /// Time a Socket.IO v4 client has to connect its socket after its handshake, in ms.
    #[arg(long, env = "SWITCHBOARD_SIO_CONNECT_TIMEOUT_MS")]
    pub sio_connect_timeout_ms: Option<u64>,
    /// signals: a session silent this long is gone, in ms.
    #[arg(long, env = "SWITCHBOARD_SIGNALS_HEARTBEAT_TIMEOUT_MS")]
    pub signals_heartbeat_timeout_ms: Option<u64>,
    /// Redis to join a cluster through (empty: single node).
    #[arg(long, env = "SWITCHBOARD_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of the cluster's Redis keys and channels.
    #[arg(long, env = "SWITCHBOARD_REDIS_PREFIX")]
    pub redis_prefix: Option<String>,
    /// Interval between two heartbeats, in ms.
    #[arg(long, env = "SWITCHBOARD_HEARTBEAT_INTERVAL_MS")]
    pub heartbeat_interval_ms: Option<u64>,
    /// A node silent for longer than this is dead, in ms.
    #[arg(long, env = "SWITCHBOARD_NODE_TTL_MS")]
    pub node_ttl_ms: Option<u64>,
    /// Run the media plane (the SFU behind signals m2m/a2m rooms).
    #[arg(long, env = "SWITCHBOARD_MEDIA_ENABLED")]
    pub media: Option<bool>,
    /// Address the media workers' UDP sockets bind to (default 0.0.0.0).
    #[arg(long, env = "SWITCHBOARD_MEDIA_BIND")]
    pub media_bind: Option<std::net::IpAddr>,
    /// Address clients send media to (default: this host's outward address).
    #[arg(long, env = "SWITCHBOARD_MEDIA_ANNOUNCE_IP")]
    pub media_announce_ip: Option<std::net::IpAddr>,
    /// UDP port of the first media worker; worker i uses port + i (0: free ports).
    #[arg(long, env = "SWITCHBOARD_MEDIA_PORT")]
    pub media_port: Option<u16>,
    /// Media workers (0: one per core).
    #[arg(long, env = "SWITCHBOARD_MEDIA_WORKERS")]
    pub media_workers: Option<usize>,
    /// The default tenant's HS256 secret for access tokens; set, every client needs one.
    #[arg(long, env = "SWITCHBOARD_AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<String>,
    /// The default tenant's public keys for access tokens, a JWKS file; set, every client
    /// needs a token.
    #[arg(long, env = "SWITCHBOARD_AUTH_JWKS_FILE")]
    pub auth_jwks_file: Option<std::path::PathBuf>,
    /// The operators' bearer token for the admin API (`/admin/`); unset, the API is off.
    #[arg(long, env = "SWITCHBOARD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The secret shared with the TURN servers, to mint clients' TURN credentials.
    #[arg(long, env = "SWITCHBOARD_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,
    /// The TURN servers' URLs, comma-separated (turn:host:3478,…).
    #[arg(long, env = "SWITCHBOARD_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Option<Vec<String>>,
    /// How long minted TURN credentials stay valid, in seconds.
    #[arg(long, env = "SWITCHBOARD_TURN_TTL_S")]
    pub turn_ttl_s: Option<u64>,
}
