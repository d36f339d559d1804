//! The `rooms` endpoint, `/socket.io/`: Engine.IO handshakes, long-polling GETs and POSTs, and
//! WebSockets (direct, or upgrading a polling session), each routed to its [`EioSession`].

mod messages;
mod registry;
mod remote;
mod session;

use std::sync::{atomic::Ordering, Arc};

use actix::{Actor, Addr};
use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use actix_ws::AggregatedMessage;
use bytes::Bytes;
use switchboard_actors::{ConnId, Credits};
use tokio::sync::mpsc;

use super::IN_FLIGHT;

use messages::{
    Handshake, Poll, Polled, Polling, Post, Refused, Timing, WsAttach, WsFrame, WsGone,
};
pub use registry::{EioRegistry, UseCluster};
use registry::{Forward, Insert, Lookup};
use session::EioSession;

use super::NodeState;
use crate::protocol::rooms::eio::Version;

/// The query parameters Engine.IO clients send.
#[derive(Debug, Default)]
struct Query {
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

fn query(req: &HttpRequest) -> Query {
    let mut q = Query::default();
    for pair in req.query_string().split('&') {
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
    }
}

fn new_session(
    node: &Arc<NodeState>,
    registry: &Addr<EioRegistry>,
    version: Version,
) -> (String, Addr<EioSession>) {
    let random = switchboard_actors::SocketId::random();
    // In a cluster the sid names its node, so any node can forward its polling requests.
    let sid = match node.core.cluster() {
        Some(cluster) => format!("{random}.{}", cluster.node()),
        None => random.to_string(),
    };
    let conn = ConnId(node.next_conn.fetch_add(1, Ordering::Relaxed));
    node.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let session =
        EioSession::new(sid.clone(), conn, version, node.clone(), registry.clone(), timing(node));
    let addr = session.start();
    registry.do_send(Insert { sid: sid.clone(), addr: addr.clone() });
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

/// `GET /socket.io/`: handshake, long-poll, or WebSocket.
pub(super) async fn get(
    req: HttpRequest,
    body: web::Payload,
    node: web::Data<NodeState>,
) -> actix_web::Result<HttpResponse> {
    let node = node.into_inner();
    let q = query(&req);
    let Some(version) = Version::from_query(q.eio.as_deref()) else {
        return Ok(refuse(5, "Unsupported protocol version"));
    };
    let full = node.metrics.connections_open.load(Ordering::Relaxed)
        >= node.config.limits.max_clients as u64;
    match (q.transport.as_deref(), q.sid) {
        (Some("polling"), None) => {
            if full || node.draining.load(Ordering::Relaxed) {
                node.metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
                return Ok(HttpResponse::ServiceUnavailable().body("node full or draining\n"));
            }
            let (_, addr) = new_session(&node, &node.eio, version);
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
        (Some("websocket"), sid) => {
            let existing = match &sid {
                Some(sid) => match lookup(&node, sid).await {
                    Some(addr) => Some(addr),
                    None => return proxied_websocket(&req, body, &node, sid).await,
                },
                None => None,
            };
            if existing.is_none() && (full || node.draining.load(Ordering::Relaxed)) {
                node.metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
                return Ok(HttpResponse::ServiceUnavailable().body("node full or draining\n"));
            }
            websocket(&req, body, node, version, existing)
        }
        _ => Ok(refuse(0, "Transport unknown")),
    }
}

/// `POST /socket.io/`: packets from a polling client.
pub(super) async fn post(
    req: HttpRequest,
    body: Bytes,
    node: web::Data<NodeState>,
) -> actix_web::Result<HttpResponse> {
    let q = query(&req);
    if Version::from_query(q.eio.as_deref()).is_none() {
        return Ok(refuse(5, "Unsupported protocol version"));
    }
    let Some(sid) = q.sid else { return Ok(refuse(1, "Session ID unknown")) };
    if body.len() > node.config.limits.max_frame_bytes {
        // As Engine.IO does past maxHttpBufferSize: refuse, and end the session.
        if let Some(addr) = lookup(&node, &sid).await {
            addr.do_send(messages::Close);
        }
        return Ok(HttpResponse::PayloadTooLarge().body("payload too large\n"));
    }
    let Ok(body) = String::from_utf8(body.to_vec()) else {
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

/// `OPTIONS /socket.io/`: CORS preflight.
pub(super) async fn preflight(req: HttpRequest) -> HttpResponse {
    with_cors(&req, HttpResponse::build(StatusCode::NO_CONTENT))
        .insert_header(("Access-Control-Allow-Methods", "GET, POST, OPTIONS"))
        .insert_header(("Access-Control-Allow-Headers", "content-type"))
        .finish()
}

/// Writes the session's frames to the client in order; closes the socket when they end.
fn spawn_writer(mut ws: actix_ws::Session, mut frames: mpsc::Receiver<String>) {
    actix_web::rt::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if ws.text(frame).await.is_err() {
                return;
            }
        }
        let _ = ws.close(None).await;
    });
}

/// A WebSocket upgrade for a session held by another node: relay it there through Redis.
async fn proxied_websocket(
    req: &HttpRequest,
    body: web::Payload,
    node: &Arc<NodeState>,
    sid: &str,
) -> actix_web::Result<HttpResponse> {
    let Some(holder) = remote::node_of(sid).map(switchboard_actors::NodeId::new) else {
        return Ok(refuse(1, "Session ID unknown"));
    };
    let Some(cluster) = node.core.cluster().cloned().filter(|c| *c.node() != holder) else {
        return Ok(refuse(1, "Session ID unknown"));
    };
    let capacity = node.config.limits.outbound_queue;
    let open = registry::OpenProxy { node: holder.clone(), sid: sid.to_owned(), capacity };
    let Ok(Some((proxy, rx))) = node.eio.send(open).await else {
        return Ok(HttpResponse::ServiceUnavailable().body("cluster unavailable\n"));
    };
    node.metrics.eio_forwarded.fetch_add(1, Ordering::Relaxed);
    let max = node.config.limits.max_frame_bytes;
    let (response, mut ws, stream) = actix_ws::handle(req, body)?;
    let mut stream =
        stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    spawn_writer(ws.clone(), rx);
    let (registry, sid) = (node.eio.clone(), sid.to_owned());
    actix_web::rt::spawn(async move {
        while let Some(message) = stream.recv().await {
            match message {
                Ok(AggregatedMessage::Text(text)) => {
                    let frame = remote::EioWire::WsIn { sid: sid.clone(), text: text.to_string() };
                    if cluster
                        .send(&holder, switchboard_actors::cluster::Topic::Edge, &frame)
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(AggregatedMessage::Ping(bytes)) => {
                    if ws.pong(&bytes).await.is_err() {
                        break;
                    }
                }
                Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Pong(_)) => {}
                Ok(AggregatedMessage::Close(_)) | Err(_) => break,
            }
        }
        registry.do_send(registry::CloseProxy { proxy, node: holder, sid });
    });
    Ok(response)
}

/// Opens the WebSocket transport: a new session, or an upgrade of `existing`.
fn websocket(
    req: &HttpRequest,
    body: web::Payload,
    node: Arc<NodeState>,
    version: Version,
    existing: Option<Addr<EioSession>>,
) -> actix_web::Result<HttpResponse> {
    let max = node.config.limits.max_frame_bytes;
    let (response, mut ws, stream) = actix_ws::handle(req, body)?;
    let mut stream =
        stream.max_frame_size(max).aggregate_continuations().max_continuation_size(max);
    let probe = existing.is_some();
    let addr = match existing {
        Some(addr) => addr,
        None => new_session(&node, &node.eio, version).1,
    };
    // As deep as the client's event queue: a client that falls further behind is too slow.
    let (tx, rx) = mpsc::channel::<String>(node.config.limits.outbound_queue);
    addr.do_send(WsAttach { tx, probe });
    spawn_writer(ws.clone(), rx);
    let credits = Credits::new(IN_FLIGHT);
    actix_web::rt::spawn(async move {
        while let Some(message) = stream.recv().await {
            match message {
                Ok(AggregatedMessage::Text(text)) => {
                    let credit = credits.take().await;
                    if !addr.connected() {
                        break;
                    }
                    addr.do_send(WsFrame(text, credit));
                }
                Ok(AggregatedMessage::Ping(bytes)) => {
                    if ws.pong(&bytes).await.is_err() {
                        break;
                    }
                }
                Ok(AggregatedMessage::Binary(_)) => {
                    // Binary attachments are not supported; the text protocol goes on.
                }
                Ok(AggregatedMessage::Pong(_)) => {}
                Ok(AggregatedMessage::Close(_)) | Err(_) => break,
            }
        }
        addr.do_send(WsGone);
    });
    Ok(response)
}
