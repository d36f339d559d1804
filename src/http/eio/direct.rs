//! The incoming side of a session's WebSocket, and the fast path of a session that was a
//! WebSocket from the start: its task hands the socket's events straight to the room engine
//! (the room's actor, for a room the socket is in).
//!
//! Why: through the session, every event cost a mailbox hop (two allocations and a wake-up of
//! the session) on the node's busiest path. Events are the only packets that skip it; every
//! other packet (pings, connect, disconnect, namespaces) goes to the session as before. Order
//! is kept by taking the fast path only while no packet waits at the session, and by the
//! session taking the room socket out of [`Shared`] (under its lock) before it lets it go.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard, OnceLock,
};

use actix::Addr;
use bytestring::ByteString;
use switchboard_actors::{
    rooms::{RoomCommand, RoomSocket},
    ClientLink, CloseReason, Credit, ErrorKind,
};

use super::{
    messages::{Close, WsFrame, WsGone},
    session::EioSession,
};
use crate::{
    auth::Grant,
    http::{
        quota::{Seat, SentCounter},
        ratelimit::TokenBucket,
    },
    metrics::{Code, Metrics},
    protocol::rooms::{
        eio::{self, Kind},
        events, sio,
    },
};

/// A connected Socket.IO socket.
#[derive(Debug)]
pub(crate) struct Connected {
    /// The socket, as the room engine knows it.
    pub(crate) socket: RoomSocket,
    /// The link its events (and acknowledgements) go to.
    pub(crate) link: ClientLink,
    /// What its access token grants: its tenant, the rooms it may enter.
    pub(crate) grant: Grant,
    /// Its place in its tenant's quota.
    pub(crate) seat: Seat,
    /// Counts the events refused here.
    pub(crate) metrics: Arc<Metrics>,
}

/// The session's room socket, and what its WebSocket's task needs to use it directly.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The socket, once connected.
    socket: Mutex<Option<Connected>>,
    /// Packets handed to the session and not yet handled by it.
    pending: AtomicUsize,
    /// Counts the messages the socket is sent, once it is connected (in its first tenant's
    /// quota).
    sent: OnceLock<SentCounter>,
}

impl Shared {
    fn socket(&self) -> MutexGuard<'_, Option<Connected>> {
        // Nothing panics while holding the lock; a poisoned slot is still a slot.
        self.socket.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the Socket.IO socket is connected.
    pub(crate) fn connected(&self) -> bool {
        self.socket().is_some()
    }

    /// Connects the Socket.IO socket.
    pub(crate) fn connect(&self, connected: Connected) {
        self.sent.get_or_init(|| connected.seat.sent_counter());
        *self.socket() = Some(connected);
    }

    /// Counts a message the socket is sent (nothing before it connects).
    pub(crate) fn sent_one(&self) {
        if let Some(sent) = self.sent.get() {
            sent.count();
        }
    }

    /// Disconnects the socket: it leaves its rooms, and nothing sent after this reaches them.
    pub(crate) fn disconnect(&self) {
        let socket = self.socket().take();
        drop(socket);
    }

    /// Hands the event array `data` to the socket; `ack`: the id the client wants its
    /// acknowledgement under, sent once the event is handled. `false` (and nothing sent) when
    /// `data` is not a Socket.IO event or the socket is not connected: the client broke the
    /// protocol, and its session is to be closed.
    pub(crate) fn send(&self, data: &str, ack: Option<u64>, credit: Credit) -> bool {
        let Ok(decoded) = events::decode(data) else { return false };
        let slot = self.socket();
        let Some(Connected { socket, link, grant, seat, metrics }) = slot.as_ref() else {
            return false;
        };
        if !seat.message_in() {
            // The tenant's clients together send faster than its quota: closed as any client
            // over its own rate is.
            log::info!("eio: tenant {} over its message rate, closing", grant.tenant);
            link.close(CloseReason::RateLimited);
            return true;
        }
        let credit = match ack {
            Some(id) => credit.with_receipt(link.clone(), acknowledgement(id)),
            None => credit,
        };
        match decoded {
            // A room outside the access token's grant: an `error` event, like any refusal.
            Ok(RoomCommand::Create(room) | RoomCommand::Join(room))
                if !grant.may_enter(room.as_str()) =>
            {
                let message = events::refusal(ErrorKind::Forbidden);
                metrics.protocol_refused("rooms", Code::Message(message));
                let _ = link.frame(super::session::error_packet(message));
            }
            // Rooms are named in the namespace of the client's tenant.
            Ok(command) => socket.send(command.in_tenant(&grant.tenant), credit),
            // Refused here, in order with what the socket was told before; the core never
            // sees it. (The acknowledgement follows, as the credit drops.)
            Err(message) => {
                metrics.protocol_refused("rooms", Code::Message(events::INVALID_EVENT));
                let _ = link.frame(super::session::error_packet(&message));
            }
        }
        true
    }

    /// The session handled a packet the WebSocket's task handed it.
    pub(crate) fn handled(&self) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The incoming side of a session's WebSocket: events to the room engine when the session
/// allows it (see the module docs), everything else to the session, in order.
pub(super) struct Session {
    addr: Addr<EioSession>,
    /// Set for a session opened on this WebSocket, which then leaves rate limiting here.
    direct: Option<(Arc<Shared>, TokenBucket)>,
}

impl Session {
    /// The WebSocket of a session opened on it.
    pub(super) fn direct(addr: Addr<EioSession>, shared: Arc<Shared>, rate: TokenBucket) -> Self {
        Self { addr, direct: Some((shared, rate)) }
    }

    /// A WebSocket upgrading a polling session: every packet to the session.
    pub(super) fn upgrading(addr: Addr<EioSession>) -> Self {
        Self { addr, direct: None }
    }

    /// The Engine.IO session.
    pub(super) fn addr(&self) -> &Addr<EioSession> {
        &self.addr
    }
}

impl super::Incoming for Session {
    fn text(&mut self, text: &str, credit: Credit) -> bool {
        if !self.addr.connected() {
            return false;
        }
        let Some((shared, rate)) = &mut self.direct else {
            self.addr.do_send(WsFrame { text: ByteString::from(text), credit, direct: false });
            return true;
        };
        if text.starts_with(Kind::Message.digit()) && !rate.allow() {
            log::info!("eio: message rate limit exceeded, closing");
            self.addr.do_send(Close(Some(CloseReason::RateLimited)));
            return false;
        }
        if shared.pending.load(Ordering::Acquire) == 0 {
            if let Some((data, ack)) = event(text) {
                if shared.send(data, ack, credit) {
                    return true;
                }
                log::debug!("eio: malformed event, or one before CONNECT; closing");
                self.addr.do_send(Close(None));
                return false;
            }
        }
        shared.pending.fetch_add(1, Ordering::AcqRel);
        self.addr.do_send(WsFrame { text: ByteString::from(text), credit, direct: true });
        true
    }

    fn binary(&mut self) -> bool {
        // The session answers it (an `error` event) in its place among the packets.
        self.text(BINARY, Credit::none())
    }

    fn refused(&mut self, _reason: CloseReason) {
        self.addr.do_send(WsGone);
    }
}

/// A binary WebSocket message, as the session sees it: an empty binary packet (its content is
/// of no use to the rooms protocol).
pub(super) const BINARY: &str = "b";

/// The event array of a Socket.IO event packet of the default namespace (`42[…]`), and the
/// ack id it asks for.
fn event(text: &str) -> Option<(&str, Option<u64>)> {
    match eio::decode(text) {
        Ok((Kind::Message, data)) => match sio::decode(data)? {
            packet if packet.kind == sio::Kind::Event && packet.nsp == "/" => {
                Some((packet.data, packet.id))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The Engine.IO packet acknowledging event `id` (with no arguments: the rooms protocol
/// answers with events).
fn acknowledgement(id: u64) -> String {
    let mut packet = String::with_capacity(24);
    packet.push(Kind::Message.digit());
    packet.push(sio::Kind::Ack.digit());
    packet.push_str(&id.to_string());
    packet.push_str("[]");
    packet
}
