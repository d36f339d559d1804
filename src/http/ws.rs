//! A `cmd` or `signals` client's WebSocket: its [`Socket`] reads frames for the connection's
//! [`Endpoint`] and writes what the client's `ClientLink` queue holds.
//!
//! - Incoming: each text message goes to the endpoint (which decodes it with its dialect for
//!   its actor) with a credit, at most [`IN_FLIGHT`] (or half its queue) on their way
//!   through the actors at once. The rate limit is enforced here, and framing failures
//!   (oversized, invalid UTF-8, binary) become closes with the dialect's close code, queued
//!   after what the client is owed.
//! - Outgoing: the client's bounded queue, in order, each event encoded once; a close when the
//!   actor asks, when the queue overflows (slow consumer) or when the node drains.
//!
//! When the socket ends the actor is told, and it stops and releases what the client held.

use crate::metrics::Code;
use std::sync::{atomic::Ordering, Arc};

use futures_util::future::LocalBoxFuture;
use switchboard_actors::{
    connection::{ConnectionActor, Disconnected, Inbound, Pong},
    link, ClientError, ClientLink, CloseReason, Command, CommandKind, ConnId, Credit, ErrorKind,
    Event, LinkReceiver, Outbound,
};

use super::{
    credits,
    quota::{ClientKind, Seat},
    ratelimit::TokenBucket,
    socket::{Ended, Incoming, Out, Outgoing},
    upgrade::Handshake,
    ClientSlot, NodeState,
};
use crate::{auth::Grant, protocol::Dialect};

/// The actor side of one WebSocket: what its reader and writer hand frames and news to, and
/// how its events become frames. One per connection.
pub(super) trait Endpoint: 'static {
    /// The dialect's name, for logs.
    fn name(&self) -> &'static str;
    /// Hands one text message, with its credit, to the actor (`false`: the actor is gone).
    fn text(&self, text: &str, credit: Credit) -> bool;
    /// The client answered a ping.
    fn pong(&self);
    /// The connection ended (closed by the server for `reason`, if it did); resolves once the
    /// actor has taken it in, so what the client held (its name) is released before the
    /// client sees the close frame.
    fn gone(&self, reason: Option<CloseReason>) -> LocalBoxFuture<'static, ()>;
    /// Appends an event's text frame to `into`.
    fn encode_into(&self, event: &Event, into: &mut String);
    /// The close code for a server-initiated close.
    fn close_code(&self, reason: CloseReason) -> u16;
    /// The code `event` refuses the client's message with, if it is a refusal.
    fn refusal(&self, event: &Event) -> Option<Code>;
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
    /// What the client's token grants: the sId it may register.
    grant: Grant,
}

impl Endpoint for CmdEndpoint {
    fn name(&self) -> &'static str {
        self.dialect.name()
    }

    fn text(&self, text: &str, credit: Credit) -> bool {
        let command = match self.dialect.decode(text) {
            // Another sId than the token's: refused in order, by the actor, like a bad frame.
            Ok(Command::Register { name, .. }) if !self.grant.may_be(name.as_str()) => {
                Err(ClientError { kind: ErrorKind::Forbidden, op: Some(CommandKind::Register) })
            }
            decoded => decoded.map(|command| command.in_tenant(&self.grant.tenant)),
        };
        // The actor answers a client's commands one at a time, in order.
        self.actor.connected() && {
            self.actor.do_send(Inbound(command, credit));
            true
        }
    }

    fn pong(&self) {
        self.actor.do_send(Pong);
    }

    fn gone(&self, reason: Option<CloseReason>) -> LocalBoxFuture<'static, ()> {
        let told = self.actor.send(Disconnected { reason });
        Box::pin(async move {
            let _ = told.await;
        })
    }

    fn encode_into(&self, event: &Event, into: &mut String) {
        self.dialect.encode_into(event, into);
    }

    fn close_code(&self, reason: CloseReason) -> u16 {
        self.dialect.close_code(reason)
    }

    fn refusal(&self, event: &Event) -> Option<Code> {
        crate::protocol::cmd::codes::refusal_of(event).map(Code::Number)
    }
}

/// Accepts a `cmd` WebSocket speaking `dialect` to a new `ConnectionActor`.
pub(super) async fn accept_cmd(
    handshake: Handshake,
    node: Arc<NodeState>,
    dialect: Arc<dyn Dialect>,
) {
    let max = node.config.limits.max_frame_bytes;
    let core = node.core.clone();
    let frames = FrameLimits { frame: max, message: max };
    accept(handshake, node, ClientKind::Cmd, frames, None, move |link, grant| {
        Box::new(CmdEndpoint { actor: core.connect(link), dialect, grant }) as Box<dyn Endpoint>
    })
    .await;
}

/// Accepts a WebSocket (speaking subprotocol `protocol`, if given) whose actor `start`
/// creates for the client's link and what its access token grants; refuses it with 401 when
/// its token is refused (auth on), 429 when its tenant has all its clients on this node, or
/// 503 when the node is full or draining. Resolves when the connection ends.
pub(super) async fn accept(
    handshake: Handshake,
    node: Arc<NodeState>,
    kind: ClientKind,
    frames: FrameLimits,
    protocol: Option<&str>,
    start: impl FnOnce(ClientLink, Grant) -> Box<dyn Endpoint>,
) {
    let grant = match node.grant(handshake.query()) {
        Ok(grant) => grant,
        Err(why) => return handshake.unauthorized(why).await,
    };
    let mut seat = match node.quotas.seat(&grant.tenant, kind) {
        Ok(seat) => seat,
        Err(full) => return handshake.too_many(&full.to_string()).await,
    };
    let limits = &node.config.limits;
    let Some(slot) = ClientSlot::take(&node) else {
        handshake.busy().await;
        return;
    };
    let accepted = handshake.accept_speaking(protocol, frames.frame, frames.message).await;
    let Some(socket) = accepted else { return };

    let id = ConnId(node.next_conn.fetch_add(1, Ordering::Relaxed));
    node.metrics.connections_total.fetch_add(1, Ordering::Relaxed);
    let (link, outbound) = link::bounded(id, node.config.backlog());
    if let Some(sub) = &grant.sub {
        seat.list(&node.index, sub, &link);
    }
    let endpoint = start(link.clone(), grant);
    log::debug!("{id}: {} client connected", endpoint.name());
    let rate = TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
    let mut incoming = Reader { id, endpoint: &*endpoint, link, rate, seat: &seat };
    let mut outgoing = Writer {
        seat: &seat,
        queue: outbound,
        endpoint: &*endpoint,
        node: &node,
        drain: node.drain.clone(),
        closed: None,
    };
    let ended = socket.run(&mut outgoing, &mut incoming, credits(limits.outbound_queue)).await;
    endpoint.gone(outgoing.closed).await;
    // Closed as far as the node (and the tenant's quota) is concerned: a drain need not wait
    // for goodbyes.
    drop((slot, seat));
    if let Ended::ByServer(closing) = ended {
        closing.finish().await;
    }
}

/// The incoming side: rate limit, then the endpoint.
struct Reader<'a> {
    id: ConnId,
    endpoint: &'a dyn Endpoint,
    link: ClientLink,
    rate: TokenBucket,
    /// The client's place in its tenant's quota, and its share of the tenant's rate.
    seat: &'a Seat,
}

impl Incoming for Reader<'_> {
    fn text(&mut self, text: &str, credit: Credit) -> bool {
        if !self.rate.allow() || !self.seat.message_in() {
            self.refused(CloseReason::RateLimited);
            return false;
        }
        self.endpoint.text(text, credit)
    }

    fn pong(&mut self) {
        self.endpoint.pong();
    }

    fn refused(&mut self, reason: CloseReason) {
        log::info!("{}: closing: {}", self.id, reason.describe());
        self.link.close(reason);
    }
}

/// The outgoing side: the client's queue, encoded by the endpoint, and the node's drain.
struct Writer<'a> {
    /// Counts what the client is sent.
    seat: &'a Seat,
    queue: LinkReceiver,
    endpoint: &'a dyn Endpoint,
    node: &'a NodeState,
    drain: tokio::sync::watch::Receiver<bool>,
    /// Why the server closed, once it has.
    closed: Option<CloseReason>,
}

impl Writer<'_> {
    fn frame(&mut self, item: Outbound) -> Out {
        let metrics = &self.node.metrics;
        match item {
            Outbound::Event(event) => {
                if let Some(code) = self.endpoint.refusal(&event) {
                    metrics.protocol_refused(self.endpoint.name(), code);
                }
                self.seat.message_out();
                Out::Event(event)
            }
            Outbound::Frame(frame) => {
                self.seat.message_out();
                Out::Owned(frame)
            }
            Outbound::Ping => Out::Ping,
            Outbound::Close(reason) => {
                self.queue.close();
                metrics.closed(reason);
                self.closed = Some(reason);
                Out::Close(Some((self.endpoint.close_code(reason), reason.describe())))
            }
        }
    }
}

impl Outgoing for Writer<'_> {
    async fn next(&mut self) -> Option<Out> {
        let item = tokio::select! {
            biased;
            item = self.queue.next() => item,
            _ = self.drain.wait_for(|draining| *draining) => {
                Some(Outbound::Close(CloseReason::ShuttingDown))
            }
        };
        Some(self.frame(item?))
    }

    fn try_next(&mut self) -> Option<Out> {
        let item = self.queue.try_next()?;
        Some(self.frame(item))
    }

    fn encode(&self, event: &Event, into: &mut String) {
        self.endpoint.encode_into(event, into);
    }

    async fn overflow(&self) {
        self.queue.overflow().await;
    }
}
