//! The HTTP edge: routes, health and readiness, metrics, and the WebSocket endpoints.

pub(crate) mod admin;
mod body;
mod eio;
pub(crate) mod load;
mod mediasoup;
pub(crate) mod quota;
mod ratelimit;
mod signals;
mod socket;
pub(crate) mod upgrade;
mod ws;

pub use body::REQUEST_TIMEOUT;
pub use eio::{EioRegistry as EioSessions, UseCluster};

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Arc,
};

use actix_web::{web, HttpResponse};
use switchboard_actors::{engine::ShardLoad, Core};

use crate::{config::Config, metrics::Metrics};

/// How many of one client's frames may be on their way through the actors at once (see
/// [`switchboard_actors::Credits`]).
const IN_FLIGHT: usize = 32;

/// The credits of one client whose outbound queue holds `queue` events: at most half of it,
/// so the answers to a client's own commands, pushed before its writer gets to run, can
/// never fill its queue alone (a client that reads would be closed as a slow consumer).
fn credits(queue: usize) -> switchboard_actors::Credits {
    switchboard_actors::Credits::new(IN_FLIGHT.min(queue / 2).max(1))
}

/// The response header naming the node that answered (its configured id).
pub const NODE_HEADER: &str = "x-switchboard-node";

/// What every HTTP worker of one node shares.
#[derive(Debug)]
pub struct NodeState {
    /// The node's core actors.
    pub core: Core,
    /// The effective configuration.
    pub config: Config,
    /// The node's counters.
    pub metrics: Arc<Metrics>,
    /// The access tokens' verifier, when auth is on.
    pub auth: Option<crate::auth::Auth>,
    /// The tenants' client limits, and their clients here.
    pub(crate) quotas: quota::Quotas,
    /// The tenants' room limits, and their rooms homed here (shared with the room engines).
    pub(crate) room_quotas: Arc<switchboard_actors::engine::RoomQuotas>,
    /// The admin API's way to the whole cluster.
    pub(crate) admin: actix::Addr<admin::desk::AdminDesk>,
    /// This node's clients by their tokens' `sub`, for the admin API.
    pub(crate) index: actix::Addr<admin::index::ClientIndex>,
    /// Set when the node stops accepting clients.
    pub draining: AtomicBool,
    /// Turns `true` when the node drains: every connection's writer closes with 1001.
    pub drain: tokio::sync::watch::Receiver<bool>,
    drain_tx: tokio::sync::watch::Sender<bool>,
    next_conn: AtomicU64,
    /// The node's Engine.IO sessions (`rooms` dialect).
    eio: actix::Addr<EioSessions>,
}

impl NodeState {
    /// State for a node whose core is `core`; `eio` holds its Engine.IO sessions.
    pub(crate) fn new(
        core: Core,
        config: Config,
        eio: actix::Addr<EioSessions>,
        admin: actix::Addr<admin::desk::AdminDesk>,
        room_quotas: Arc<switchboard_actors::engine::RoomQuotas>,
    ) -> Self {
        let (drain_tx, drain) = tokio::sync::watch::channel(false);
        Self {
            auth: config.auth().expect("the tokens' keys were checked when the config was loaded"),
            quotas: quota::Quotas::new(&config),
            room_quotas,
            admin,
            index: actix::Actor::start(admin::index::ClientIndex::default()),
            core,
            config,
            metrics: Arc::new(Metrics::default()),
            draining: AtomicBool::new(false),
            drain,
            drain_tx,
            next_conn: AtomicU64::new(1),
            eio,
        }
    }

    /// Drains the node: refuses new clients, closes connected ones with "going away", waits up
    /// to the drain timeout for them to go, then deregisters from the cluster (peers are told at
    /// once, not after the heartbeat TTL).
    pub async fn drain(&self) {
        let node = &self.core.node;
        log::info!("node {node}: draining");
        self.draining.store(true, Ordering::Relaxed);
        self.drain_tx.send_replace(true);
        let deadline = tokio::time::Instant::now() + self.config.drain_timeout();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        while self.metrics.connections_open.load(Ordering::Relaxed) > 0 {
            if tokio::time::Instant::now() >= deadline {
                log::warn!("node {node}: drain timeout; clients still connected are dropped");
                break;
            }
            tick.tick().await;
        }
        // Closed connections release their names and calls through a few actor hops; give
        // those a moment to reach the directory so peers hear "left" before "node gone".
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.core.leave().await;
        log::info!("node {node}: drained");
    }
}

impl NodeState {
    /// What the token in `query` grants, or why the handshake is refused (everything, with
    /// auth off).
    pub(crate) fn grant(&self, query: &str) -> Result<crate::auth::Grant, crate::auth::Refused> {
        match &self.auth {
            None => Ok(crate::auth::Grant::default()),
            Some(auth) => auth.verify(crate::auth::token_in(query).as_deref()),
        }
    }
}

/// One client's place under the node's `max_clients`, taken atomically at admission (so
/// clients arriving together cannot all slip under the limit) and given back when dropped.
#[derive(Debug)]
pub(crate) struct ClientSlot(Arc<NodeState>);

impl ClientSlot {
    /// A place for a new client, unless the node is full or draining.
    pub(crate) fn take(node: &Arc<NodeState>) -> Option<Self> {
        let open = node.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        let slot = Self(node.clone());
        let admitted =
            open < node.config.limits.max_clients as u64 && !node.draining.load(Ordering::Relaxed);
        admitted.then_some(slot)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.0.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Registers every route on `cfg`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/turn", web::get().to(turn))
        .service(web::scope("/admin").configure(admin::routes))
        .route("/cmd", web::get().to(not_upgraded))
        .route("/signals", web::get().to(not_upgraded))
        .route("/mediasoup", web::get().to(not_upgraded))
        .route("/socket.io/", web::get().to(eio::get))
        .route("/socket.io/", web::post().to(eio::post))
        .route("/socket.io/", web::method(actix_web::http::Method::OPTIONS).to(eio::preflight))
        .route("/socket.io/", web::route().to(eio::other_method));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// `GET /turn`: TURN credentials for the bearer of an access token (`Authorization: Bearer
/// <token>`), minted for its `sub`; with auth off, for anyone (as the `signals` JOIN ack hands
/// them out). 404 when TURN is off, 401 for a refused token.
async fn turn(req: actix_web::HttpRequest, node: web::Data<NodeState>) -> HttpResponse {
    if !node.config.turn.enabled() {
        return HttpResponse::NotFound()
            .content_type("text/plain")
            .body("TURN is not configured\n");
    }
    let bearer = admin::bearer(&req);
    let identity = match &node.auth {
        None => "anonymous".to_owned(),
        Some(auth) => match auth.verify(bearer) {
            Ok(grant) => grant.sub.unwrap_or_default(),
            Err(why) => {
                return HttpResponse::Unauthorized()
                    .insert_header(("WWW-Authenticate", "Bearer"))
                    .content_type("text/plain")
                    .body(format!("{why}\n"))
            }
        },
    };
    match node.config.turn.mint(&identity) {
        Some(credentials) => {
            HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(credentials)
        }
        None => HttpResponse::NotFound().body("TURN is not configured\n"),
    }
}

async fn readyz(node: web::Data<NodeState>) -> HttpResponse {
    let full = node.metrics.connections_open.load(Ordering::Relaxed)
        >= node.config.limits.max_clients as u64;
    if node.draining.load(Ordering::Relaxed) {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("draining\n")
    } else if !node.core.is_ready() {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("cluster unreachable\n")
    } else if full {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("full\n")
    } else {
        HttpResponse::Ok().content_type("text/plain").body("ready\n")
    }
}

async fn metrics(node: web::Data<NodeState>) -> HttpResponse {
    let mut body = node.metrics.render();
    let engines = [
        ("rooms", node.core.rooms.load()),
        ("signals", node.core.signals.load()),
        ("mediasoup", node.core.mediasoup.load()),
    ];
    let help = "Rooms homed on this node, by dialect and shard.";
    per_shard(&mut body, "switchboard_rooms", help, &engines, |load| &load.rooms);
    let help = "Clients of this node in a room dialect, by dialect and shard.";
    per_shard(&mut body, "switchboard_room_members", help, &engines, |load| &load.members);
    body.push_str("# HELP switchboard_clients Clients connected now, by dialect and tenant.\n");
    body.push_str("# TYPE switchboard_clients gauge\n");
    for (tenant, kind, clients) in node.quotas.clients() {
        let (dialect, tenant) = (kind.name(), tenant.name().unwrap_or_default());
        body.push_str(&format!(
            "switchboard_clients{{dialect=\"{dialect}\",tenant=\"{tenant}\"}} {clients}\n"
        ));
    }
    body.push_str(
        "# HELP switchboard_tenant_rooms Rooms homed on this node, of every dialect, by tenant.\n\
         # TYPE switchboard_tenant_rooms gauge\n",
    );
    for (tenant, rooms) in node.room_quotas.here() {
        let tenant = tenant.name().unwrap_or_default();
        body.push_str(&format!("switchboard_tenant_rooms{{tenant=\"{tenant}\"}} {rooms}\n"));
    }
    body.push_str(
        "# HELP switchboard_tenant_message_rate Messages per second this node lets a tenant's \
         clients send together: what its other nodes leave of max_messages_per_s, at least an \
         even share.\n# TYPE switchboard_tenant_message_rate gauge\n",
    );
    for (tenant, rate) in node.quotas.rate_shares() {
        let tenant = tenant.name().unwrap_or_default();
        body.push_str(&format!("switchboard_tenant_message_rate{{tenant=\"{tenant}\"}} {rate}\n"));
    }
    let messages: Vec<_> = node.quotas.messages().collect();
    // The node's totals, summed from the per-tenant counts (one counter per message, not two).
    for (name, help, total) in [
        (
            "switchboard_frames_in_total",
            "Messages received from clients.",
            messages.iter().map(|m| m.2).sum::<u64>(),
        ),
        (
            "switchboard_frames_out_total",
            "Messages sent to clients.",
            messages.iter().map(|m| m.3).sum(),
        ),
    ] {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {total}\n"));
    }
    for (name, help, pick) in [
        ("switchboard_messages_in_total", "Messages received from clients (WebSocket text frames, Socket.IO events), by dialect and tenant.", 0),
        ("switchboard_messages_out_total", "Messages sent to clients (WebSocket text frames, Socket.IO packets), by dialect and tenant.", 1),
    ] {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
        for (tenant, kind, inbound, outbound) in &messages {
            let (dialect, tenant) = (kind.name(), tenant.name().unwrap_or_default());
            let value = if pick == 0 { inbound } else { outbound };
            body.push_str(&format!("{name}{{dialect=\"{dialect}\",tenant=\"{tenant}\"}} {value}\n"));
        }
    }
    if let Some(media) = node.core.media() {
        crate::metrics::render_media(&mut body, &media.loads());
    }
    if node.core.is_clustered() {
        let up = u8::from(node.core.is_ready());
        body.push_str("# HELP switchboard_cluster_up Whether Redis answered the last heartbeat.\n");
        body.push_str("# TYPE switchboard_cluster_up gauge\n");
        body.push_str(&format!("switchboard_cluster_up {up}\n"));
        let peers = node.core.cluster().map_or(0, |c| c.peers());
        body.push_str("# HELP switchboard_cluster_peers Other nodes this node sees alive.\n");
        body.push_str("# TYPE switchboard_cluster_peers gauge\n");
        body.push_str(&format!("switchboard_cluster_peers {peers}\n"));
        if let Some(traffic) = node.core.cluster().map(|c| c.traffic()) {
            for (name, kind, help, value) in [
                (
                    "switchboard_cluster_frames_sent_total",
                    "counter",
                    "Frames queued for other nodes.",
                    traffic.sent(),
                ),
                (
                    "switchboard_cluster_frames_received_total",
                    "counter",
                    "Frames received from other nodes.",
                    traffic.received(),
                ),
            ] {
                body.push_str(&format!(
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
                ));
            }
            let rtt = traffic.redis_rtt().as_secs_f64();
            body.push_str(
                "# HELP switchboard_redis_rtt_seconds The last heartbeat's round trip to Redis.\n",
            );
            body.push_str("# TYPE switchboard_redis_rtt_seconds gauge\n");
            body.push_str(&format!("switchboard_redis_rtt_seconds {rtt}\n"));
        }
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

/// Appends gauge `name` with one value per room engine (`dialect`) and shard, as `pick` reads
/// it from the shard's load.
fn per_shard(
    body: &mut String,
    name: &str,
    help: &str,
    engines: &[(&str, &[ShardLoad])],
    pick: impl Fn(&ShardLoad) -> &std::sync::atomic::AtomicU64,
) {
    body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
    for (dialect, load) in engines {
        for (shard, load) in load.iter().enumerate() {
            let value = pick(load).load(std::sync::atomic::Ordering::Relaxed);
            body.push_str(&format!("{name}{{dialect=\"{dialect}\",shard=\"{shard}\"}} {value}\n"));
        }
    }
}

/// A WebSocket endpoint asked for without `Upgrade: websocket` (upgrades never get here; see
/// [`upgrade`]): what is missing from the handshake.
async fn not_upgraded(req: actix_web::HttpRequest) -> HttpResponse {
    let error = actix_http::ws::verify_handshake(req.head())
        .err()
        .unwrap_or(actix_http::ws::HandshakeError::NoWebsocketUpgrade);
    let (status, text) = upgrade::refusal(&error);
    HttpResponse::build(status).content_type("text/plain").body(text)
}
