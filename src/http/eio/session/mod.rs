//! `EioSession`: one Engine.IO session, whatever its transport (long-polling, WebSocket, or
//! polling upgraded to WebSocket), and the Socket.IO socket in it.
//!
//! Outbound: the socket's core actor pushes events to a `ClientLink`. On a session that was a
//! WebSocket from the start, that link is the WebSocket's own queue, and the socket's task
//! encodes each event as it writes it. Otherwise the session drains the link (as a stream),
//! encodes each event once as an Engine.IO packet and hands it to the current transport: the
//! WebSocket writer (after an upgrade), the parked long-poll, or the outbox for the next poll.
//! Inbound: packets from POST bodies or WebSocket frames, in order: pings, pongs, upgrade, and
//! Socket.IO packets, whose events go to the socket's `RoomSocket`.
//!
//! Liveness follows the client's protocol revision: v3 clients ping and the session answers,
//! closing after `ping_interval + ping_timeout` of silence; v4 sessions ping `ping_interval`
//! after the last pong and close when the next pong has not come `ping_timeout` later.
//!
//! Endings follow Engine.IO's two kinds (see [`Ending`]): the server's decision is told to the
//! client with a close packet; a timeout, the client's own close or a broken Engine.IO packet
//! end the session at once, its sid unknown from then on.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::{
    Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler, StreamHandler,
    WrapFuture,
};
use switchboard_actors::{
    link, rooms::RoomEvent, ClientLink, CloseReason, ConnId, Credit, Event, LinkReceiver, Outbound,
};
use tokio::sync::oneshot;

use super::{
    direct::Shared,
    messages::{Close, Polled, Timing},
    registry::{Confirmed, EioRegistry, Remove},
};
use crate::{
    auth::Grant,
    http::{ratelimit::TokenBucket, ClientSlot, NodeState},
    metrics::{Code, Metrics},
    protocol::rooms::{
        eio::{self, Kind, Version},
        events, sio,
    },
};

/// One Engine.IO session. See the module docs.
pub(crate) struct EioSession {
    sid: String,
    version: Version,
    node: Arc<NodeState>,
    /// The session's place under the node's client limit, held while it lives.
    _slot: ClientSlot,
    registry: Addr<EioRegistry>,
    timing: Timing,
    /// Where the socket's events go: the session's own queue, or its WebSocket's.
    link: ClientLink,
    /// The session's own queue, until it is drained as a stream.
    outbound: Option<LinkReceiver>,
    /// The Socket.IO socket, shared with the WebSocket's task of a direct session.
    shared: Arc<Shared>,
    /// Whether the session was a WebSocket from the start (a direct session).
    direct: bool,
    outbox: Vec<String>,
    /// Since when the outbox, past its usual depth, has waited for a poll (see
    /// [`switchboard_actors::Backlog`]).
    outbox_since: Instant,
    poller: Option<oneshot::Sender<Polled>>,
    ws: Option<ClientLink>,
    probe: Option<ClientLink>,
    last_heard: Instant,
    awaiting_pong: bool,
    /// v4: closes the session if the pong to the last ping does not come in time.
    pong_deadline: Option<actix::SpawnHandle>,
    rate: TokenBucket,
    closing: bool,
    /// A polling session whose client has not come back since the handshake (see
    /// `handshakes`).
    pending: bool,
    upgrade_check: Option<actix::SpawnHandle>,
    /// What the access token of the handshake grants, or why it was refused (a v4 client may
    /// bring its token in its CONNECT instead).
    grant: Result<Grant, crate::auth::Refused>,
}

/// How often a parked long-poll is released while an upgrade is in progress.
const UPGRADE_CHECK: Duration = Duration::from_millis(100);

/// How a session ends, as Engine.IO tells its two kinds apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The server ends it (drain, a limit, a broken Socket.IO packet): the client gets a close
    /// packet, in its parked poll or in its next one if it
    /// polls within [`CLOSE_LINGER`].
    Told,
    /// It is over at once (a ping timeout, the client's own close, a broken Engine.IO packet,
    /// a client that stopped polling): a parked poll is answered with a noop, and the sid is
    /// unknown from then on.
    Now,
}

impl std::fmt::Debug for EioSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EioSession").field("sid", &self.sid).finish_non_exhaustive()
    }
}

impl EioSession {
    /// A new session `sid` speaking `version`, opened by `conn`; `ws`: the queue of the
    /// WebSocket that is its transport from the start, and what the session shares with it;
    /// `grant`: what its handshake's access token grants (or why it grants nothing yet).
    pub(crate) fn new(
        sid: String,
        conn: ConnId,
        version: Version,
        slot: ClientSlot,
        timing: Timing,
        ws: Option<(ClientLink, Arc<Shared>)>,
        grant: Result<Grant, crate::auth::Refused>,
    ) -> Self {
        let node = slot.0.clone();
        let registry = node.eio.clone();
        let limits = &node.config.limits;
        let pending = ws.is_none();
        let (link, outbound, ws, shared) = match ws {
            Some((ws, shared)) => (ws.clone(), None, Some(ws), shared),
            None => {
                let (link, outbound) = link::bounded(conn, node.config.backlog());
                (link, Some(outbound), None, Arc::default())
            }
        };
        let rate = TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
        Self {
            sid,
            version,
            node,
            _slot: slot,
            registry,
            timing,
            link,
            outbound,
            shared,
            direct: !pending,
            outbox: Vec::new(),
            outbox_since: Instant::now(),
            poller: None,
            ws,
            probe: None,
            last_heard: Instant::now(),
            awaiting_pong: false,
            pong_deadline: None,
            rate,
            closing: false,
            pending,
            upgrade_check: None,
            grant,
        }
    }

    /// The open packet: the session's sid, upgrades and liveness settings.
    pub(crate) fn open_packet(&self, upgrades: bool) -> String {
        let mut open = serde_json::json!({
            "sid": self.sid,
            "upgrades": if upgrades { vec!["websocket"] } else { Vec::new() },
            "pingInterval": self.timing.ping_interval.as_millis() as u64,
            "pingTimeout": self.timing.ping_timeout.as_millis() as u64,
        });
        if self.version == Version::V4 {
            open["maxPayload"] = self.node.config.limits.max_frame_bytes.into();
        }
        eio::encode(Kind::Open, &open.to_string())
    }

    /// The client came back after its handshake: its session is no longer pending.
    fn came_back(&mut self) {
        if std::mem::replace(&mut self.pending, false) {
            self.registry.do_send(Confirmed { sid: self.sid.clone() });
        }
    }

    /// Queues a packet for the client on whichever transport is current.
    fn send(&mut self, packet: String, ctx: &mut Context<Self>) {
        // A session that was a WebSocket from the start has its messages counted by the
        // WebSocket's writer (where the core's events reach it too).
        if !self.direct && packet.starts_with(Kind::Message.digit()) {
            self.shared.sent_one();
        }
        if let Some(ws) = &self.ws {
            if ws.frame(packet).is_err() {
                log::info!("eio {}: WebSocket queue full, closing", self.sid);
                self.close(Ending::Now, ctx);
            }
            return;
        }
        let backlog = self.node.config.backlog();
        if backlog.exceeded(self.outbox.len(), self.outbox_since) {
            log::info!("eio {}: client stopped polling, closing", self.sid);
            self.close(Ending::Now, ctx);
            return;
        }
        if self.outbox.len() + 1 == backlog.soft {
            // The stall clock starts when the outbox reaches its usual depth.
            self.outbox_since = Instant::now();
        }
        self.outbox.push(packet);
        self.flush_poll();
    }

    fn flush_poll(&mut self) {
        if self.outbox.is_empty() {
            return;
        }
        if let Some(poller) = self.poller.take() {
            let payload = eio::encode_payload(self.version, &std::mem::take(&mut self.outbox));
            let _ = poller.send(Polled::Payload(payload));
        }
    }

    /// Answers a parked long-poll with a noop.
    fn release_poll(&mut self) {
        if let Some(poller) = self.poller.take() {
            let noop = eio::encode_payload(self.version, &[eio::encode(Kind::Noop, "")]);
            let _ = poller.send(Polled::Payload(noop));
        }
    }

    fn send_message(&mut self, sio_packet: String, ctx: &mut Context<Self>) {
        self.send(eio::encode(Kind::Message, &sio_packet), ctx);
    }

    /// Sends an `error` event worded `message`, counted as a refusal named `label`.
    fn refuse(&mut self, message: &str, label: &'static str, ctx: &mut Context<Self>) {
        self.node.metrics.protocol_refused("rooms", Code::Message(label));
        self.send(error_packet(message), ctx);
    }

    /// Sends `event` as one Engine.IO message packet (`42[…]`), written into one buffer.
    fn emit(&mut self, event: &RoomEvent, ctx: &mut Context<Self>) {
        count_refusal(&self.node.metrics, event);
        let mut packet = String::with_capacity(2 + events::encoded_len(event));
        encode_event(event, &mut packet);
        self.send(packet, ctx);
    }

    /// Handles one Engine.IO packet; `credit` goes with the command it carries, if any;
    /// `limited`: the WebSocket's task has applied the rate limit already. `Err` when the
    /// packet is not Engine.IO at all (the session is then closed).
    fn on_packet(
        &mut self,
        raw: &str,
        credit: Credit,
        limited: bool,
        ctx: &mut Context<Self>,
    ) -> Result<(), eio::EioError> {
        if self.closing {
            return Ok(());
        }
        self.last_heard = Instant::now();
        let (kind, data) = eio::decode(raw).inspect_err(|_| {
            log::debug!("eio {}: malformed packet, closing", self.sid);
            self.close(Ending::Now, ctx);
        })?;
        match kind {
            Kind::Ping if data == "probe" => {
                log::debug!(
                    "eio {}: upgrade probe (probe socket: {})",
                    self.sid,
                    self.probe.is_some()
                );
                if let Some(probe) = &self.probe {
                    let _ = probe.frame(eio::encode(Kind::Pong, "probe"));
                    // The client pauses polling before it upgrades, and that waits for its
                    // long-poll to return: answer every parked poll with a noop until the
                    // upgrade completes (a poll may be parked again just after one noop,
                    // if the noop overtook the probe's pong).
                    self.release_poll();
                    let check = ctx.run_interval(UPGRADE_CHECK, |this, _| this.release_poll());
                    self.upgrade_check = Some(check);
                }
            }
            Kind::Ping => self.send(eio::encode(Kind::Pong, data), ctx),
            Kind::Pong => self.pong(ctx),
            Kind::Upgrade => {
                log::debug!("eio {}: upgrade (poll parked: {})", self.sid, self.poller.is_some());
                if let Some(ws) = self.probe.take() {
                    self.ws = Some(ws);
                    if let Some(poller) = self.poller.take() {
                        let noop =
                            eio::encode_payload(self.version, &[eio::encode(Kind::Noop, "")]);
                        let _ = poller.send(Polled::Payload(noop));
                    }
                    for packet in std::mem::take(&mut self.outbox) {
                        self.send(packet, ctx);
                    }
                }
            }
            Kind::Close => self.close(Ending::Now, ctx),
            Kind::Open | Kind::Noop => {}
            // Socket.IO's events are text; the rooms protocol has no use for binary data.
            Kind::Binary => self.refuse(events::BINARY_MESSAGES, events::BINARY_MESSAGES, ctx),
            Kind::Message => {
                if !limited && !self.rate.allow() {
                    log::info!("eio {}: message rate limit exceeded, closing", self.sid);
                    self.close_for(CloseReason::RateLimited, ctx);
                    return Ok(());
                }
                self.on_socket_packet(data, credit, ctx);
            }
        }
        Ok(())
    }

    /// Handles one Socket.IO packet. What Socket.IO's own parser would refuse (and an event
    /// before the socket connected) closes the session, as socket.io does; a well-formed event
    /// the rooms protocol refuses gets an `error` event instead.
    fn on_socket_packet(&mut self, data: &str, credit: Credit, ctx: &mut Context<Self>) {
        let Some(packet) = sio::decode(data) else {
            log::debug!("eio {}: malformed Socket.IO packet, closing", self.sid);
            self.close(Ending::Told, ctx);
            return;
        };
        if packet.nsp != "/" {
            if packet.kind == sio::Kind::Connect {
                let refusal = match self.version {
                    Version::V3 => "\"Invalid namespace\"".to_owned(),
                    Version::V4 => "{\"message\":\"Invalid namespace\"}".to_owned(),
                };
                self.send_message(sio::encode_in(packet.nsp, sio::Kind::Error, &refusal), ctx);
            }
            return;
        }
        match packet.kind {
            sio::Kind::Connect => self.connect_socket(packet.data, ctx),
            // The socket leaves the namespace (and its rooms); the Engine.IO session stays
            // open, as socket.io keeps it, for the client to connect again or close.
            sio::Kind::Disconnect => self.shared.disconnect(),
            sio::Kind::Event => {
                if !self.shared.send(packet.data, packet.id, credit) {
                    log::debug!(
                        "eio {}: malformed event, or one before CONNECT; closing",
                        self.sid
                    );
                    self.close(Ending::Told, ctx);
                }
            }
            sio::Kind::BinaryEvent | sio::Kind::BinaryAck => {
                self.refuse(events::BINARY_PACKETS, events::BINARY_PACKETS, ctx);
            }
            sio::Kind::Ack | sio::Kind::Error => {}
        }
    }

    /// Ends the session for `reason`, the server's decision: a WebSocket closes with the
    /// reason's code, a polling client gets the close packet.
    fn close_for(&mut self, reason: CloseReason, ctx: &mut Context<Self>) {
        if let Some(ws) = &self.ws {
            ws.close(reason);
        }
        self.close(Ending::Told, ctx);
    }

    /// Ends the session (see [`Ending`]); the socket leaves its rooms at once, and a WebSocket
    /// is closed once drained.
    fn close(&mut self, ending: Ending, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.closing, true) {
            return;
        }
        // The socket leaves its rooms at once.
        self.shared.disconnect();
        self.probe = None;
        if self.ws.take().is_some() {
            ctx.stop();
            return;
        }
        match ending {
            Ending::Now => {
                self.release_poll();
                ctx.stop();
            }
            Ending::Told => {
                self.outbox.push(eio::encode(Kind::Close, ""));
                if let Some(poller) = self.poller.take() {
                    let payload =
                        eio::encode_payload(self.version, &std::mem::take(&mut self.outbox));
                    let _ = poller.send(Polled::Payload(payload));
                    ctx.stop();
                    return;
                }
                ctx.run_later(CLOSE_LINGER, |_, ctx| ctx.stop());
            }
        }
    }
}

mod connect;
mod liveness;
mod polling;
mod websocket;

/// How long a closed polling session waits for the poll that fetches its close packet.
const CLOSE_LINGER: Duration = Duration::from_secs(3);

/// Appends `event` as an Engine.IO message packet carrying a Socket.IO event (`42[…]`).
pub(super) fn encode_event(event: &RoomEvent, into: &mut String) {
    into.push(Kind::Message.digit());
    into.push(sio::Kind::Event.digit());
    events::encode_into(into, event);
}

/// Counts `event` if it refuses the client's message.
pub(super) fn count_refusal(metrics: &Metrics, event: &RoomEvent) {
    if let Some(message) = events::refusal_of(event) {
        metrics.protocol_refused("rooms", Code::Message(message));
    }
}

/// The Engine.IO packet of an `error` event the edge raises itself, worded `message`.
pub(super) fn error_packet(message: &str) -> String {
    let mut packet = String::with_capacity(16 + message.len());
    packet.push(Kind::Message.digit());
    packet.push(sio::Kind::Event.digit());
    events::encode_error(&mut packet, message);
    packet
}

impl Actor for EioSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(outbound) = self.outbound.take() {
            let stream = futures_util::stream::unfold(outbound, |mut rx| async move {
                rx.next().await.map(|item| (item, rx))
            });
            ctx.add_stream(stream);
        }
        self.start_timers(ctx);
        if let Some(ws) = &self.ws {
            let _ = ws.frame(self.open_packet(false));
        }
        if self.version == Version::V3 {
            // socket.io 2.x connects the default namespace without asking.
            self.connect_socket("", ctx);
        }
        // A draining node closes its sessions so their clients reconnect elsewhere.
        let mut drain = self.node.drain.clone();
        let draining = async move {
            let _ = drain.wait_for(|draining| *draining).await;
        };
        ctx.spawn(draining.into_actor(self).map(|(), this, ctx| {
            log::debug!("eio {}: node draining, closing", this.sid);
            this.close(Ending::Told, ctx);
        }));
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        // The socket leaves its rooms at once.
        self.shared.disconnect();
        self.registry.do_send(Remove { sid: self.sid.clone() });
        log::debug!("eio {}: closed", self.sid);
    }
}

impl StreamHandler<Outbound> for EioSession {
    fn handle(&mut self, item: Outbound, ctx: &mut Context<Self>) {
        match item {
            Outbound::Event(Event::Room(event)) => self.emit(&event, ctx),
            // An Engine.IO packet the edge encoded (a Socket.IO acknowledgement).
            Outbound::Frame(packet) => self.send(packet, ctx),
            Outbound::Event(_) | Outbound::Ping => {}
            Outbound::Close(reason) => {
                log::info!("eio {}: closing: {}", self.sid, reason.describe());
                self.close(Ending::Told, ctx);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Close> for EioSession {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        match msg.0 {
            Some(reason) => self.close_for(reason, ctx),
            None => self.close(Ending::Told, ctx),
        }
    }
}
