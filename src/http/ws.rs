//! One WebSocket connection at the edge: the upgrade, a reader task and a writer task.
//!
//! - The **reader** hands each text frame to the connection's [`Endpoint`] (which decodes it
//!   with its dialect for its actor) with a credit: at most [`IN_FLIGHT`] frames are on their
//!   way through the actors at once, so frames flow without a reply each while a fast sender is
//!   slowed by TCP backpressure instead of growing a queue.
//!   It answers pings, reports pongs, enforces the rate limit, and turns framing failures
//!   (oversized, invalid UTF-8, binary) into closes with the dialect's close code.
//! - The **writer** drains the client's bounded `ClientLink` queue in order, encoding each event
//!   once. It closes the socket when told to, or at once when the queue overflows.
//!
//! Whichever ends first wakes the other; both tell the actor, which then stops and releases what
//! the client held.

use std::{
    rc::Rc,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use bytestring::ByteString;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, ProtocolError, Session};
use switchboard_actors::{
    connection::{ConnectionActor, Disconnected, Inbound, Pong},
    link, ClientLink, CloseReason, ConnId, Credit, Credits, Event, LinkReceiver, Outbound,
};
use tokio::sync::Notify;

use super::{ratelimit::TokenBucket, NodeState, IN_FLIGHT};
use crate::protocol::Dialect;

/// How long a close frame may take to be queued before the socket is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long a client has to answer the server's close frame with its own.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(3);

/// The actor side of one WebSocket: what its reader and writer hand frames and news to, and
/// how its events become frames. One per connection, shared by its two tasks (same thread).
pub(super) trait Endpoint: 'static {
    /// The dialect's name, for logs.
    fn name(&self) -> &'static str;
    /// Hands one text frame, with its credit, to the actor (`false`: the actor is gone).
    fn text(&self, text: &str, credit: Credit) -> bool;
    /// The client answered a ping.
    fn pong(&self);
    /// The connection ended (closed by the server for `reason`, if it did).
    fn gone(&self, reason: Option<CloseReason>);
    /// An event as a text frame.
    fn encode(&self, event: &Event) -> ByteString;
    /// The close code for a server-initiated close.
    fn close_code(&self, reason: CloseReason) -> u16;
}

/// The largest WebSocket frame and the largest message (continuations aggregated) accepted.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameLimits {
    /// Largest frame.
    pub(super) frame: usize,
    /// Largest message.
    pub(super) message: usize,
}

/// The `cmd` endpoint: frames decoded with the `cmd` dialect for a `ConnectionActor`.
struct CmdEndpoint {
    actor: actix::Addr<ConnectionActor>,
    dialect: Arc<dyn Dialect>,
}

impl Endpoint for CmdEndpoint {
    fn name(&self) -> &'static str {
        self.dialect.name()
    }

    fn text(&self, text: &str, credit: Credit) -> bool {
        // The actor answers a client's commands one at a time, in order.
        self.actor.connected() && {
            self.actor.do_send(Inbound(self.dialect.decode(text), credit));
            true
        }
    }

    fn pong(&self) {
        self.actor.do_send(Pong);
    }

    fn gone(&self, reason: Option<CloseReason>) {
        self.actor.do_send(Disconnected { reason });
    }

    fn encode(&self, event: &Event) -> ByteString {
        self.dialect.encode(event)
    }

    fn close_code(&self, reason: CloseReason) -> u16 {
        self.dialect.close_code(reason)
    }
}

/// Upgrades `req` to a WebSocket speaking `dialect` to a new `ConnectionActor`.
pub(super) fn accept_cmd(
    req: &HttpRequest,
    body: web::Payload,
    node: Arc<NodeState>,
    dialect: Arc<dyn Dialect>,
) -> actix_web::Result<HttpResponse> {
    let max = node.config.limits.max_frame_bytes;
    let core = node.core.clone();
    accept(req, body, node, FrameLimits { frame: max, message: max }, move |link| {
        Rc::new(CmdEndpoint { actor: core.connect(link), dialect }) as Rc<dyn Endpoint>
    })
}

/// Upgrades `req` to a WebSocket whose actor `start` creates for the client's link, or refuses
/// it with 503 when the node is full or draining.
pub(super) fn accept(
    req: &HttpRequest,
    body: web::Payload,
    node: Arc<NodeState>,
    frames: FrameLimits,
    start: impl FnOnce(ClientLink) -> Rc<dyn Endpoint>,
) -> actix_web::Result<HttpResponse> {
    let limits = &node.config.limits;
    let open = node.metrics.connections_open.fetch_add(1, Ordering::Relaxed);
    if open >= limits.max_clients as u64 || node.draining.load(Ordering::Relaxed) {
        node.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
        node.metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
        return Ok(HttpResponse::ServiceUnavailable().body("node full or draining\n"));
    }
    let guard = OpenGuard(node.clone());
    let (response, session, stream) = actix_ws::handle(req, body)?;
    let stream = stream
        .max_frame_size(frames.frame)
        .aggregate_continuations()
        .max_continuation_size(frames.message);

    let id = ConnId(node.next_conn.fetch_add(1, Ordering::Relaxed));
    node.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let (link, outbound) = link::channel(id, limits.outbound_queue);
    let endpoint = start(link.clone());
    log::debug!("{id}: {} client connected", endpoint.name());
    let writer_done = Arc::new(Notify::new());
    let rate = TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
    actix_web::rt::spawn(write(
        outbound,
        session.clone(),
        endpoint.clone(),
        writer_done.clone(),
        node,
    ));
    actix_web::rt::spawn(async move {
        read(stream, session, endpoint, link, rate, writer_done).await;
        drop(guard);
    });
    Ok(response)
}

/// Counts a connection as open until dropped.
struct OpenGuard(Arc<NodeState>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.metrics.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn read(
    mut stream: AggregatedMessageStream,
    mut session: Session,
    endpoint: Rc<dyn Endpoint>,
    link: ClientLink,
    mut rate: TokenBucket,
    writer_done: Arc<Notify>,
) {
    let id = link.conn();
    let credits = Credits::new(IN_FLIGHT);
    loop {
        let message = tokio::select! {
            biased;
            () = writer_done.notified() => {
                // The server closed: give the client the closing handshake's time to answer.
                await_close(&mut stream, id).await;
                break;
            }
            message = stream.recv() => message,
        };
        let close = match message {
            None => break,
            Some(Ok(AggregatedMessage::Text(text))) => {
                if !rate.allow() {
                    Some(CloseReason::RateLimited)
                } else if !endpoint.text(&text, credits.take().await) {
                    break;
                } else {
                    None
                }
            }
            Some(Ok(AggregatedMessage::Binary(_))) => Some(CloseReason::UnsupportedData),
            Some(Ok(AggregatedMessage::Ping(bytes))) => {
                if session.pong(&bytes).await.is_err() {
                    break;
                }
                None
            }
            Some(Ok(AggregatedMessage::Pong(_))) => {
                endpoint.pong();
                None
            }
            Some(Ok(AggregatedMessage::Close(reason))) => {
                log::debug!("{id}: client closed: {reason:?}");
                let _ = tokio::time::timeout(CLOSE_GRACE, session.close(reason)).await;
                break;
            }
            Some(Err(ProtocolError::Io(e))) if is_transport_failure(&e) => {
                log::debug!("{id}: connection lost: {e}");
                break;
            }
            Some(Err(error)) => {
                log::debug!("{id}: framing error: {error}");
                Some(close_reason(&error))
            }
        };
        if let Some(reason) = close {
            log::info!("{id}: closing: {}", reason.describe());
            link.close(reason);
            break;
        }
    }
    endpoint.gone(None);
}

/// After the server's close frame, reads (and drops) until the client's close frame arrives,
/// the transport ends, or [`CLOSE_HANDSHAKE`] passes; the connection counts as open until then,
/// so a drain waits for clients that are still saying goodbye.
async fn await_close(stream: &mut AggregatedMessageStream, id: ConnId) {
    let answered = async {
        while let Some(message) = stream.recv().await {
            if let Ok(AggregatedMessage::Close(_)) | Err(_) = message {
                return;
            }
        }
    };
    if tokio::time::timeout(CLOSE_HANDSHAKE, answered).await.is_err() {
        log::debug!("{id}: no close frame from the client; dropping the connection");
    }
}

/// Whether a read error means the transport is gone (reset, broken pipe) rather than that the
/// client broke the protocol; nothing can be sent back then.
fn is_transport_failure(error: &std::io::Error) -> bool {
    error.kind() != std::io::ErrorKind::InvalidData
        && !error.to_string().contains("maximum continuation size")
}

/// Maps a framing failure to why we close.
fn close_reason(error: &ProtocolError) -> CloseReason {
    match error {
        ProtocolError::Overflow => CloseReason::FrameTooLarge,
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            CloseReason::InvalidFrame
        }
        // Continuation aggregation reports its size limit only through the message text.
        ProtocolError::Io(e) if e.to_string().contains("maximum continuation size") => {
            CloseReason::FrameTooLarge
        }
        _ => CloseReason::ProtocolViolation,
    }
}

async fn write(
    mut outbound: LinkReceiver,
    mut session: Session,
    endpoint: Rc<dyn Endpoint>,
    done: Arc<Notify>,
    node: Arc<NodeState>,
) {
    let metrics = &node.metrics;
    let mut drain = node.drain.clone();
    let reason = loop {
        let item = tokio::select! {
            biased;
            item = outbound.next() => item,
            _ = drain.wait_for(|draining| *draining) => break Some(CloseReason::ShuttingDown),
        };
        let Some(item) = item else { break None };
        let sent = match item {
            Outbound::Event(event) => {
                if matches!(event, Event::Error(_)) {
                    metrics.errors_out.fetch_add(1, Ordering::Relaxed);
                }
                let frame = endpoint.encode(&event);
                tokio::select! {
                    biased;
                    () = outbound.overflow() => break Some(CloseReason::SlowConsumer),
                    sent = session.text(frame) => sent,
                }
            }
            Outbound::Ping => session.ping(b"").await,
            Outbound::Close(reason) => break Some(reason),
        };
        if sent.is_err() {
            break None;
        }
        metrics.frames_out.fetch_add(1, Ordering::Relaxed);
    };
    outbound.close();
    if let Some(reason) = reason {
        metrics.closed(reason);
        let close = actix_ws::CloseReason {
            code: endpoint.close_code(reason).into(),
            description: Some(reason.describe().into()),
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, session.close(Some(close))).await;
    }
    done.notify_one();
    endpoint.gone(reason);
}
