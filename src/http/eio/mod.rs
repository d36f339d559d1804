//! The `rooms` endpoint, `/socket.io/`: Engine.IO handshakes, long-polling GETs and POSTs, and
//! WebSockets (direct, or upgrading a polling session), each routed to its [`EioSession`].

mod direct;
mod handshakes;
mod messages;
mod registry;
mod remote;
mod session;

use std::sync::{atomic::Ordering, Arc};

use actix::{Actor, Addr};
use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use switchboard_actors::{
    link, ClientLink, CloseReason, ConnId, Credit, Event, LinkReceiver, Outbound,
};

use super::{
    body::{self, BodyError},
    credits,
    socket::{Ended, Incoming, Out, Outgoing},
    upgrade::Handshake as Upgrade,
};

use messages::{Handshake, Poll, Polled, Polling, Post, Refused, Timing, WsAttach, WsGone};
use registry::{Admit, Forward, Insert, Lookup};
pub use registry::{EioRegistry, UseCluster};
use session::EioSession;

use super::{ClientSlot, NodeState};
use crate::protocol::{
    cmd::codes::close_code,
    rooms::eio::{self, Version},
};

/// The query parameters Engine.IO clients send.
#[derive(Debug, Default)]
struct Query {
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

fn query(query: &str) -> Query {
    let mut q = Query::default();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = Some(value.to_owned());
        match key {
            "EIO" => q.eio = value,
            "transport" => q.transport = value,
            "sid" => q.sid = value,
            _ => {}
        }
    }
    q
}

/// An Engine.IO error response (`{"code":N,"message":…}` with HTTP 400).
fn refuse(code: u8, message: &str) -> HttpResponse {
    HttpResponse::BadRequest()
        .content_type("application/json")
        .body(serde_json::json!({ "code": code, "message": message }).to_string())
}

fn text(req: &HttpRequest, body: String) -> HttpResponse {
    with_cors(req, HttpResponse::Ok()).content_type("text/plain; charset=UTF-8").body(body)
}

/// Browsers on another origin may use the endpoint: echo the origin, allow credentials.
fn with_cors(
    req: &HttpRequest,
    mut builder: actix_web::HttpResponseBuilder,
) -> actix_web::HttpResponseBuilder {
    if let Some(origin) = req.headers().get("origin") {
        builder.insert_header(("Access-Control-Allow-Origin", origin.clone()));
        builder.insert_header(("Access-Control-Allow-Credentials", "true"));
    }
    builder
}

fn timing(node: &NodeState) -> Timing {
    Timing {
        ping_interval: node.config.eio_ping_interval(),
        ping_timeout: node.config.eio_ping_timeout(),
        connect_timeout: node.config.sio_connect_timeout(),
        handshake_timeout: node.config.eio_handshake_timeout(),
    }
}

/// Starts a session; `ws`: its transport is this WebSocket from the start (the socket's
/// events then go to the WebSocket's queue without passing through the session, and come
/// from it likewise: see [`direct`]).
/// `pending_from`: a polling handshake's source, admitted by the registry.
fn new_session(
    node: &Arc<NodeState>,
    slot: ClientSlot,
    version: Version,
    ws: Option<(ClientLink, Arc<direct::Shared>)>,
    pending_from: Option<std::net::IpAddr>,
    grant: Result<crate::auth::Grant, crate::auth::Refused>,
) -> (String, Addr<EioSession>) {
    let registry = &node.eio;
    let random = switchboard_actors::SocketId::random();
    // In a cluster the sid names its node, so any node can forward its polling requests.
    let sid = match node.core.cluster() {
        Some(cluster) => format!("{random}.{}", cluster.node()),
        None => random.to_string(),
    };
    let conn = ConnId(node.next_conn.fetch_add(1, Ordering::Relaxed));
    node.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let session = EioSession::new(sid.clone(), conn, version, slot, timing(node), ws, grant);
    let addr = session.start();
    registry.do_send(Insert { sid: sid.clone(), addr: addr.clone(), pending_from });
    (sid, addr)
}

fn refused_to_http(refused: Refused) -> HttpResponse {
    match refused {
        Refused::Closed => refuse(1, "Session ID unknown"),
        Refused::BadRequest | Refused::BadPayload => refuse(3, "Bad request"),
    }
}

async fn lookup(node: &NodeState, sid: &str) -> Option<Addr<EioSession>> {
    node.eio.send(Lookup { sid: sid.to_owned() }).await.ok().flatten()
}

/// The client's address: the TCP peer, or behind a trusted balancer the address it appended
/// to `X-Forwarded-For`.
fn source(req: &HttpRequest, node: &NodeState) -> std::net::IpAddr {
    let peer = req.peer_addr().map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.ip());
    if !node.config.limits.trust_forwarded_for {
        return peer;
    }
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

/// `GET /socket.io/`: handshake, long-poll, or WebSocket.
pub(super) async fn get(
    req: HttpRequest,
    node: web::Data<NodeState>,
) -> actix_web::Result<HttpResponse> {
    let node = node.into_inner();
    let q = query(req.query_string());
    let Some(version) = Version::from_query(q.eio.as_deref()) else {
        return Ok(refuse(5, "Unsupported protocol version"));
    };
    match (q.transport.as_deref(), q.sid) {
        (Some("polling"), None) => {
            let grant = match admitted(&node, version, req.query_string()) {
                Ok(grant) => grant,
                Err(why) => {
                    node.metrics.refused(401);
                    return Ok(HttpResponse::Unauthorized().body(format!("{why}\n")));
                }
            };
            let Some(slot) = ClientSlot::take(&node) else {
                node.metrics.refused(503);
                return Ok(HttpResponse::ServiceUnavailable().body("node full or draining\n"));
            };
            let source = source(&req, &node);
            if !node.eio.send(Admit { source }).await.unwrap_or(false) {
                node.metrics.refused(429);
                let busy = "too many handshakes from this address\n";
                return Ok(HttpResponse::TooManyRequests().body(busy));
            }
            let (_, addr) = new_session(&node, slot, version, None, Some(source), grant);
            let payload = addr.send(Handshake).await.unwrap_or_default();
            Ok(text(&req, payload))
        }
        (Some("polling"), Some(sid)) => {
            let Some(addr) = lookup(&node, &sid).await else {
                return Ok(forwarded(&req, &node, sid, None).await);
            };
            match addr.send(Poll).await {
                Ok(Ok(Polling::Ready(payload))) => Ok(text(&req, payload)),
                Ok(Ok(Polling::Parked(wait))) => match wait.await {
                    Ok(Polled::Payload(payload)) => Ok(text(&req, payload)),
                    Err(_) => Ok(refuse(1, "Session ID unknown")),
                },
                Ok(Err(refused)) => Ok(refused_to_http(refused)),
                Err(_) => Ok(refuse(1, "Session ID unknown")),
            }
        }
        // WebSocket upgrades never get here (see `upgrade`): this one lacks the headers.
        (Some("websocket"), _) => Ok(refuse(3, "Bad request")),
        _ => Ok(refuse(0, "Transport unknown")),
    }
}

/// `POST /socket.io/`: packets from a polling client.
pub(super) async fn post(
    req: HttpRequest,
    payload: web::Payload,
    node: web::Data<NodeState>,
) -> actix_web::Result<HttpResponse> {
    let q = query(req.query_string());
    if Version::from_query(q.eio.as_deref()).is_none() {
        return Ok(refuse(5, "Unsupported protocol version"));
    }
    let Some(sid) = q.sid else { return Ok(refuse(2, "Bad handshake method")) };
    let body = match body::read(payload, node.config.limits.max_frame_bytes).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            // As Engine.IO does past maxHttpBufferSize: refuse, and end the session (whatever
            // the size: the rest of the body is never read).
            if let Some(addr) = lookup(&node, &sid).await {
                addr.do_send(messages::Close(Some(CloseReason::FrameTooLarge)));
            }
            return Ok(HttpResponse::PayloadTooLarge().force_close().body("payload too large\n"));
        }
        Err(BodyError::Timeout) => {
            return Ok(HttpResponse::RequestTimeout().force_close().body("body too slow\n"))
        }
        Err(BodyError::Broken) => return Ok(refuse(3, "Bad request")),
    };
    let Ok(body) = String::from_utf8(Vec::from(body)) else {
        return Ok(refuse(3, "Bad request"));
    };
    let Some(addr) = lookup(&node, &sid).await else {
        return Ok(forwarded(&req, &node, sid, Some(body)).await);
    };
    match addr.send(Post(body)).await {
        Ok(Ok(())) => Ok(text(&req, "ok".into())),
        Ok(Err(refused)) => Ok(refused_to_http(refused)),
        Err(_) => Ok(refuse(1, "Session ID unknown")),
    }
}

/// Serves a polling request whose session is on another node by forwarding it there (the
/// reply may wait as long as a long-poll does).
async fn forwarded(
    req: &HttpRequest,
    node: &NodeState,
    sid: String,
    body: Option<String>,
) -> HttpResponse {
    let Some(holder) = remote::node_of(&sid).map(switchboard_actors::NodeId::new) else {
        return refuse(1, "Session ID unknown");
    };
    if node.core.cluster().is_none_or(|c| *c.node() == holder) {
        return refuse(1, "Session ID unknown");
    }
    node.metrics.eio_forwarded.fetch_add(1, Ordering::Relaxed);
    let Ok(Some(answer)) = node.eio.send(Forward { node: holder, sid, body }).await else {
        return HttpResponse::ServiceUnavailable().body("cluster unavailable\n");
    };
    let patience = node.config.eio_ping_interval() + node.config.eio_ping_timeout();
    match tokio::time::timeout(patience, answer).await {
        Ok(Ok(Ok(payload))) => text(req, payload),
        Ok(Ok(Err(refused))) => refused_to_http(refused),
        _ => refuse(1, "Session ID unknown"),
    }
}

/// Any other method on `/socket.io/`: a bad request, as Engine.IO answers it.
pub(super) async fn other_method(req: HttpRequest) -> HttpResponse {
    match query(req.query_string()).sid {
        None => refuse(2, "Bad handshake method"),
        Some(_) => refuse(3, "Bad request"),
    }
}

/// `OPTIONS /socket.io/`: CORS preflight.
pub(super) async fn preflight(req: HttpRequest) -> HttpResponse {
    with_cors(&req, HttpResponse::build(StatusCode::NO_CONTENT))
        .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", "content-type"))
        .finish()
}

/// `GET /socket.io/` with a WebSocket upgrade: a new session, the upgrade of a polling one,
/// or (in a cluster) a session another node holds.
pub(super) async fn upgrade(handshake: Upgrade, node: Arc<NodeState>) {
    let q = query(handshake.query());
    let Some(version) = Version::from_query(q.eio.as_deref()) else {
        return refuse_upgrade(handshake, 5, "Unsupported protocol version").await;
    };
    if q.transport.as_deref() != Some("websocket") {
        return refuse_upgrade(handshake, 3, "Bad request").await;
    }
    let existing = match &q.sid {
        Some(sid) => match lookup(&node, sid).await {
            Some(addr) => Some(addr),
            None => return proxied_websocket(handshake, &node, sid).await,
        },
        None => None,
    };
    // A new session's token: refused now unless a v4 client may bring it in its CONNECT.
    let grant = match existing {
        Some(_) => Ok(crate::auth::Grant::default()),
        None => match admitted(&node, version, handshake.query()) {
            Ok(grant) => grant,
            Err(why) => return handshake.unauthorized(why).await,
        },
    };
    let session = match existing {
        Some(addr) => Ok(addr),
        // A new session's place is taken now, before anything can race it past the limit.
        None => match ClientSlot::take(&node) {
            Some(slot) => Err(slot),
            None => return handshake.busy().await,
        },
    };
    websocket(handshake, node, version, session, grant).await;
}

/// What a new session's handshake (its `query`) is granted: `Err` refuses the handshake. A v3
/// client (socket.io 2.x) must bring its token in the URL; a v4 one may bring it in its
/// CONNECT, so a missing one is decided there.
fn admitted(
    node: &NodeState,
    version: Version,
    query: &str,
) -> Result<Result<crate::auth::Grant, crate::auth::Refused>, crate::auth::Refused> {
    match node.grant(query) {
        Ok(grant) => Ok(Ok(grant)),
        Err(crate::auth::Refused::Missing) if version == Version::V4 => {
            Ok(Err(crate::auth::Refused::Missing))
        }
        Err(why) => Err(why),
    }
}

/// An Engine.IO error as the answer to a WebSocket handshake.
async fn refuse_upgrade(handshake: Upgrade, code: u8, message: &str) {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    handshake.refuse(StatusCode::BAD_REQUEST, "application/json", &body).await;
}

/// Frames for the client, in order, as the session (or its proxy) queues them, and the
/// socket's room events where the core pushes them straight to the WebSocket. Counted here:
/// the events that refuse the client's (in `.1`), and, for a session that was a WebSocket from
/// the start (its socket `.2`), every message it is sent, which all come this way.
struct Frames(LinkReceiver, Arc<crate::metrics::Metrics>, Option<Arc<direct::Shared>>);

impl Frames {
    fn frame(&self, item: Outbound) -> Out {
        match item {
            Outbound::Frame(frame) => {
                if let Some(shared) =
                    self.2.as_ref().filter(|_| frame.starts_with(eio::Kind::Message.digit()))
                {
                    shared.sent_one();
                }
                Out::Owned(frame)
            }
            Outbound::Event(event @ Event::Room(_)) => Out::Event(event),
            Outbound::Ping => Out::Ping,
            // Engine.IO has no close codes of its own: a limit's close says which, as `cmd`'s
            // do (1008 too slow or over the rate limit); the session closes once the socket has.
            Outbound::Close(reason) => Out::Close(Some((close_code(reason), reason.describe()))),
            Outbound::Event(_) => Out::Close(None),
        }
    }
}

impl Outgoing for Frames {
    async fn next(&mut self) -> Option<Out> {
        let item = self.0.next().await?;
        Some(self.frame(item))
    }

    fn try_next(&mut self) -> Option<Out> {
        let item = self.0.try_next()?;
        Some(self.frame(item))
    }

    fn encode(&self, event: &Event, into: &mut String) {
        if let Event::Room(event) = event {
            session::count_refusal(&self.1, event);
            if let Some(shared) = &self.2 {
                shared.sent_one();
            }
            session::encode_event(event, into);
        }
    }

    async fn overflow(&self) {
        self.0.overflow().await;
    }
}

/// A WebSocket upgrade for a session held by another node: relay it there through Redis.
async fn proxied_websocket(handshake: Upgrade, node: &Arc<NodeState>, sid: &str) {
    let Some(holder) = remote::node_of(sid).map(switchboard_actors::NodeId::new) else {
        return refuse_upgrade(handshake, 1, "Session ID unknown").await;
    };
    let Some(cluster) = node.core.cluster().cloned().filter(|c| *c.node() != holder) else {
        return refuse_upgrade(handshake, 1, "Session ID unknown").await;
    };
    let backlog = node.config.backlog();
    let open = registry::OpenProxy { node: holder.clone(), sid: sid.to_owned(), backlog };
    let Ok(Some((proxy, rx))) = node.eio.send(open).await else {
        let down = "cluster unavailable\n";
        return handshake.refuse(StatusCode::SERVICE_UNAVAILABLE, "text/plain", down).await;
    };
    node.metrics.eio_forwarded.fetch_add(1, Ordering::Relaxed);
    let max = node.config.limits.max_frame_bytes;
    if let Some(socket) = handshake.accept(max, max).await {
        let mut relay = Relay { cluster, holder: holder.clone(), sid: sid.to_owned() };
        let ended = socket
            .run(&mut Frames(rx, node.metrics.clone(), None), &mut relay, credits(backlog.soft))
            .await;
        node.eio.do_send(registry::CloseProxy { proxy, node: holder, sid: sid.to_owned() });
        if let Ended::ByServer(closing) = ended {
            closing.finish().await;
        }
    } else {
        node.eio.do_send(registry::CloseProxy { proxy, node: holder, sid: sid.to_owned() });
    }
}

/// The incoming side of a proxied WebSocket: each message to the session's node.
struct Relay {
    cluster: switchboard_actors::cluster::Cluster,
    holder: switchboard_actors::NodeId,
    sid: String,
}

impl Incoming for Relay {
    fn text(&mut self, text: &str, _credit: Credit) -> bool {
        let frame = remote::EioWire::WsIn { sid: self.sid.clone(), text: text.to_string() };
        self.cluster.send(&self.holder, switchboard_actors::cluster::Topic::Edge, &frame).is_ok()
    }

    fn binary(&mut self) -> bool {
        self.text(direct::BINARY, Credit::none())
    }

    fn refused(&mut self, _reason: CloseReason) {}
}

/// Opens the WebSocket transport: the upgrade of an existing session (`Ok`), or a new session
/// in the client's place (`Err`).
async fn websocket(
    handshake: Upgrade,
    node: Arc<NodeState>,
    version: Version,
    session: Result<Addr<EioSession>, ClientSlot>,
    grant: Result<crate::auth::Grant, crate::auth::Refused>,
) {
    let max = node.config.limits.max_frame_bytes;
    // As deep as the client's event queue: a client that falls further behind is too slow.
    let (tx, rx) = link::bounded(ConnId(0), node.config.backlog());
    if let Ok(addr) = &session {
        // A session upgrades once: a second WebSocket is refused before it is accepted.
        if !addr.send(WsAttach { tx: tx.clone() }).await.unwrap_or(false) {
            return refuse_upgrade(handshake, 3, "Bad request").await;
        }
    }
    let Some(socket) = handshake.accept(max, max).await else {
        if let Ok(addr) = &session {
            addr.do_send(WsGone);
        }
        return;
    };
    let (mut session, direct) = match session {
        Ok(addr) => {
            drop(tx);
            (direct::Session::upgrading(addr), None)
        }
        Err(slot) => {
            let shared = Arc::new(direct::Shared::default());
            let ws = Some((tx, shared.clone()));
            let addr = new_session(&node, slot, version, ws, None, grant).1;
            let limits = &node.config.limits;
            let rate =
                crate::http::ratelimit::TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
            (direct::Session::direct(addr, shared.clone(), rate), Some(shared))
        }
    };
    let ended = socket
        .run(
            &mut Frames(rx, node.metrics.clone(), direct),
            &mut session,
            credits(node.config.limits.outbound_queue),
        )
        .await;
    session.addr().do_send(WsGone);
    if let Ended::ByServer(closing) = ended {
        closing.finish().await;
    }
}
