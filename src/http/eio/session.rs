//! `EioSession`: one Engine.IO session, whatever its transport (long-polling, WebSocket, or
//! polling upgraded to WebSocket), and the Socket.IO socket in it.
//!
//! Outbound: the socket's core actor pushes events to a `ClientLink`; the session drains it
//! (as a stream), encodes each event once as an Engine.IO packet and hands it to the current
//! transport: the WebSocket writer, the parked long-poll, or the outbox for the next poll.
//! Inbound: packets from POST bodies or WebSocket frames, in order: pings, pongs, upgrade, and
//! Socket.IO packets, whose events go to the socket's `RoomSessionActor`.
//!
//! Liveness follows the client's protocol revision: v3 clients ping and the session answers,
//! closing after `ping_interval + ping_timeout` of silence; v4 sessions ping every
//! `ping_interval` and close when the pong has not come by the next ping.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::{
    fut, Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message,
    ResponseActFuture, StreamHandler, WrapFuture,
};
use switchboard_actors::{
    link,
    rooms::{Gone, RoomInbound, RoomSessionActor},
    ConnId, Event, LinkReceiver, Outbound, SocketId,
};
use tokio::sync::{mpsc, oneshot};

use super::registry::{EioRegistry, Remove};
use crate::{
    http::{ratelimit::TokenBucket, NodeState},
    protocol::rooms::{
        eio::{self, Kind, Version},
        events, sio,
    },
};

/// The session's liveness settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Ping interval announced to the client.
    pub(crate) ping_interval: Duration,
    /// Ping timeout announced to the client.
    pub(crate) ping_timeout: Duration,
}

/// What a parked long-poll is answered with.
#[derive(Debug)]
pub(crate) enum Polled {
    /// A payload of packets.
    Payload(String),
}

/// Why a poll or post was refused (HTTP 400 with the Engine.IO error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A second long-poll while one is open, or polling after an upgrade.
    BadRequest,
    /// The session is closed.
    Closed,
    /// The payload could not be parsed.
    BadPayload,
}

/// A long-poll GET. Reply: the packets to send, once there are any.
#[derive(Debug, Message)]
#[rtype(result = "Result<String, Refused>")]
pub(crate) struct Poll;

/// The polling handshake's response: the open packet and anything already queued.
#[derive(Debug, Message)]
#[rtype(result = "String")]
pub(crate) struct Handshake;

/// A polling POST body. Reply: `Ok` once its packets are handled.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Refused>")]
pub(crate) struct Post(pub String);

/// A WebSocket for this session: the transport itself (`probe: false`) or an upgrade probe.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct WsAttach {
    /// Where to write frames.
    pub(crate) tx: mpsc::Sender<String>,
    /// Whether it is an upgrade from polling that still has to be probed.
    pub(crate) probe: bool,
}

/// A text frame from the session's WebSocket.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct WsFrame(pub String);

/// The session's WebSocket closed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct WsGone;

/// Most packets buffered for a client that is not polling before it is closed as too slow.
const MAX_OUTBOX: usize = 1024;
/// WebSocket frames buffered for the writer before the client is closed as too slow.
pub(crate) const WS_QUEUE: usize = 256;

/// One Engine.IO session. See the module docs.
pub(crate) struct EioSession {
    sid: String,
    version: Version,
    node: Arc<NodeState>,
    registry: Addr<EioRegistry>,
    timing: Timing,
    link: switchboard_actors::ClientLink,
    outbound: Option<LinkReceiver>,
    socket: Option<Addr<RoomSessionActor>>,
    outbox: Vec<String>,
    poller: Option<oneshot::Sender<Polled>>,
    ws: Option<mpsc::Sender<String>>,
    probe: Option<mpsc::Sender<String>>,
    last_heard: Instant,
    awaiting_pong: bool,
    rate: TokenBucket,
    closing: bool,
}

impl std::fmt::Debug for EioSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EioSession").field("sid", &self.sid).finish_non_exhaustive()
    }
}

impl EioSession {
    /// A new session `sid` speaking `version`, opened by `conn`.
    pub(crate) fn new(
        sid: String,
        conn: ConnId,
        version: Version,
        node: Arc<NodeState>,
        registry: Addr<EioRegistry>,
        timing: Timing,
    ) -> Self {
        let limits = &node.config.limits;
        let (link, outbound) = link::channel(conn, limits.outbound_queue);
        let rate = TokenBucket::new(limits.rate_per_sec, limits.rate_burst);
        Self {
            sid,
            version,
            node,
            registry,
            timing,
            link,
            outbound: Some(outbound),
            socket: None,
            outbox: Vec::new(),
            poller: None,
            ws: None,
            probe: None,
            last_heard: Instant::now(),
            awaiting_pong: false,
            rate,
            closing: false,
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

    /// Queues a packet for the client on whichever transport is current.
    fn send(&mut self, packet: String, ctx: &mut Context<Self>) {
        if let Some(ws) = &self.ws {
            if ws.try_send(packet).is_err() {
                log::info!("eio {}: WebSocket queue full, closing", self.sid);
                self.close(ctx);
            }
            return;
        }
        self.outbox.push(packet);
        if self.outbox.len() > MAX_OUTBOX {
            log::info!("eio {}: client stopped polling, closing", self.sid);
            self.close(ctx);
            return;
        }
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

    fn send_message(&mut self, sio_packet: String, ctx: &mut Context<Self>) {
        self.send(eio::encode(Kind::Message, &sio_packet), ctx);
    }

    fn emit(&mut self, event_json: String, ctx: &mut Context<Self>) {
        self.send_message(sio::encode(sio::Kind::Event, &event_json), ctx);
    }

    /// Starts the Socket.IO socket of the default namespace and acknowledges it.
    fn connect_socket(&mut self, ctx: &mut Context<Self>) {
        if self.socket.is_some() {
            return;
        }
        let id = match self.version {
            // socket.io 2.x: the socket id of the default namespace is the engine sid.
            Version::V3 => SocketId::new(&self.sid),
            Version::V4 => SocketId::random(),
        };
        let ack = match self.version {
            Version::V3 => sio::encode(sio::Kind::Connect, ""),
            Version::V4 => sio::encode(
                sio::Kind::Connect,
                &serde_json::json!({ "sid": id.as_str() }).to_string(),
            ),
        };
        self.socket = Some(self.node.core.connect_room_socket(id, self.link.clone()));
        self.send_message(ack, ctx);
    }

    fn on_packet(&mut self, raw: &str, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        self.last_heard = Instant::now();
        let Ok((kind, data)) = eio::decode(raw) else {
            log::debug!("eio {}: malformed packet, closing", self.sid);
            self.close(ctx);
            return;
        };
        match kind {
            Kind::Ping if data == "probe" => {
                if let Some(probe) = &self.probe {
                    let _ = probe.try_send(eio::encode(Kind::Pong, "probe"));
                    // Let the client's pending long-poll return so it can pause polling.
                    self.send(eio::encode(Kind::Noop, ""), ctx);
                }
            }
            Kind::Ping => self.send(eio::encode(Kind::Pong, data), ctx),
            Kind::Pong => self.awaiting_pong = false,
            Kind::Upgrade => {
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
            Kind::Close => self.close(ctx),
            Kind::Open | Kind::Noop => {}
            Kind::Message => {
                if !self.rate.allow() {
                    log::info!("eio {}: message rate limit exceeded, closing", self.sid);
                    self.close(ctx);
                    return;
                }
                self.on_socket_packet(data, ctx);
            }
        }
    }

    fn on_socket_packet(&mut self, data: &str, ctx: &mut Context<Self>) {
        let Some(packet) = sio::decode(data) else {
            self.emit(events::encode(&error("malformed Socket.IO packet")), ctx);
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
            sio::Kind::Connect => self.connect_socket(ctx),
            sio::Kind::Disconnect => self.close(ctx),
            sio::Kind::Event => {
                let Some(socket) = &self.socket else { return };
                socket.do_send(RoomInbound(events::decode(packet.data)));
            }
            sio::Kind::BinaryEvent | sio::Kind::BinaryAck => {
                self.emit(events::encode(&error("binary packets are not supported")), ctx);
            }
            sio::Kind::Ack | sio::Kind::Error => {}
        }
    }

    fn check_liveness(&mut self, ctx: &mut Context<Self>) {
        match self.version {
            Version::V3 => {
                if self.last_heard.elapsed() > self.timing.ping_interval + self.timing.ping_timeout
                {
                    log::info!("eio {}: no ping from the client, closing", self.sid);
                    self.close(ctx);
                }
            }
            Version::V4 => {
                if self.awaiting_pong {
                    log::info!("eio {}: no pong since the last ping, closing", self.sid);
                    self.close(ctx);
                    return;
                }
                self.awaiting_pong = true;
                self.send(eio::encode(Kind::Ping, ""), ctx);
            }
        }
    }

    /// Ends the session: the socket leaves its rooms, a parked poll gets the close packet, the
    /// WebSocket writer closes once drained.
    fn close(&mut self, ctx: &mut Context<Self>) {
        if std::mem::replace(&mut self.closing, true) {
            return;
        }
        if let Some(poller) = self.poller.take() {
            let close = eio::encode_payload(self.version, &[eio::encode(Kind::Close, "")]);
            let _ = poller.send(Polled::Payload(close));
        }
        self.ws = None;
        self.probe = None;
        ctx.stop();
    }
}

fn error(message: &str) -> switchboard_actors::rooms::RoomEvent {
    switchboard_actors::rooms::RoomEvent::Error(message.to_owned())
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
        let period = match self.version {
            Version::V3 => Duration::from_millis(500).min(self.timing.ping_interval),
            Version::V4 => self.timing.ping_interval,
        };
        ctx.run_interval(period, Self::check_liveness);
        if self.version == Version::V3 {
            // socket.io 2.x connects the default namespace without asking.
            self.connect_socket(ctx);
        }
        self.node.metrics.connections_open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        if let Some(socket) = self.socket.take() {
            socket.do_send(Gone);
        }
        self.registry.do_send(Remove { sid: self.sid.clone() });
        self.node.metrics.connections_open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        log::debug!("eio {}: closed", self.sid);
    }
}

impl StreamHandler<Outbound> for EioSession {
    fn handle(&mut self, item: Outbound, ctx: &mut Context<Self>) {
        match item {
            Outbound::Event(Event::Room(event)) => self.emit(events::encode(&event), ctx),
            Outbound::Event(_) | Outbound::Ping => {}
            Outbound::Close(reason) => {
                log::info!("eio {}: closing: {}", self.sid, reason.describe());
                self.close(ctx);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<Poll> for EioSession {
    type Result = ResponseActFuture<Self, Result<String, Refused>>;

    fn handle(&mut self, _msg: Poll, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing {
            return Box::pin(fut::ready(Err(Refused::Closed)));
        }
        if self.ws.is_some() || self.poller.is_some() {
            // Engine.IO closes a session that polls twice at once, or after upgrading.
            self.close(ctx);
            return Box::pin(fut::ready(Err(Refused::BadRequest)));
        }
        self.last_heard = Instant::now();
        if !self.outbox.is_empty() {
            let payload = eio::encode_payload(self.version, &std::mem::take(&mut self.outbox));
            return Box::pin(fut::ready(Ok(payload)));
        }
        let (tx, rx) = oneshot::channel();
        self.poller = Some(tx);
        Box::pin(rx.into_actor(self).map(|polled, _, _| match polled {
            Ok(Polled::Payload(payload)) => Ok(payload),
            Err(_) => Err(Refused::Closed),
        }))
    }
}

impl Handler<Handshake> for EioSession {
    type Result = String;

    fn handle(&mut self, _msg: Handshake, _ctx: &mut Context<Self>) -> String {
        let mut packets = vec![self.open_packet(true)];
        packets.append(&mut self.outbox);
        eio::encode_payload(self.version, &packets)
    }
}

impl Handler<Post> for EioSession {
    type Result = Result<(), Refused>;

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) -> Self::Result {
        if self.closing {
            return Err(Refused::Closed);
        }
        let Ok(packets) = eio::decode_payload(self.version, &msg.0) else {
            self.close(ctx);
            return Err(Refused::BadPayload);
        };
        for packet in packets {
            self.on_packet(packet, ctx);
        }
        Ok(())
    }
}

impl Handler<WsAttach> for EioSession {
    type Result = ();

    fn handle(&mut self, msg: WsAttach, ctx: &mut Context<Self>) {
        if self.closing {
            return;
        }
        if msg.probe {
            self.probe = Some(msg.tx);
        } else {
            let _ = msg.tx.try_send(self.open_packet(false));
            self.ws = Some(msg.tx);
            for packet in std::mem::take(&mut self.outbox) {
                self.send(packet, ctx);
            }
        }
    }
}

impl Handler<WsFrame> for EioSession {
    type Result = ();

    fn handle(&mut self, msg: WsFrame, ctx: &mut Context<Self>) {
        self.on_packet(&msg.0, ctx);
    }
}

impl Handler<WsGone> for EioSession {
    type Result = ();

    fn handle(&mut self, _msg: WsGone, ctx: &mut Context<Self>) {
        if self.ws.is_some() {
            self.close(ctx);
        } else {
            // A failed upgrade probe: polling goes on.
            self.probe = None;
        }
    }
}
