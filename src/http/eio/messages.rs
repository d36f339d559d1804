//! The messages an [`EioSession`](super::session::EioSession) handles, and their replies: one
//! per kind of HTTP request or WebSocket happening the transports hand it.

use std::time::Duration;

use actix::Message;
use bytestring::ByteString;
use switchboard_actors::Credit;
use tokio::sync::oneshot;

/// The session's liveness settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Ping interval announced to the client.
    pub(crate) ping_interval: Duration,
    /// Ping timeout announced to the client.
    pub(crate) ping_timeout: Duration,
    /// How long a v4 client has to connect its Socket.IO socket before the session closes.
    pub(crate) connect_timeout: Duration,
    /// How long a polling client has to come back after its handshake.
    pub(crate) handshake_timeout: Duration,
}

/// What a parked long-poll is answered with.
#[derive(Debug)]
pub(crate) enum Polled {
    /// A payload of packets.
    Payload(String),
}

/// Why a poll or post was refused (HTTP 400 with the Engine.IO error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Refused {
    /// A second long-poll while one is open, or polling after an upgrade.
    BadRequest,
    /// The session is closed.
    Closed,
    /// The payload could not be parsed.
    BadPayload,
}

/// A long-poll GET. Reply: the packets to send now, or where they will come from. The wait
/// happens outside the actor, so a session that closes still answers its parked poll.
#[derive(Debug, Message)]
#[rtype(result = "Result<Polling, Refused>")]
pub(crate) struct Poll;

/// The answer to a [`Poll`].
#[derive(Debug)]
pub(crate) enum Polling {
    /// Packets are ready.
    Ready(String),
    /// Nothing yet: the payload will be sent here.
    Parked(oneshot::Receiver<Polled>),
}

/// The polling handshake's response: the open packet and anything already queued.
#[derive(Debug, Message)]
#[rtype(result = "String")]
pub(crate) struct Handshake;

/// A polling POST body. Reply: `Ok` once its packets are handled.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), Refused>")]
pub(crate) struct Post(pub(crate) String);

/// A WebSocket upgrading this polling session, still to be probed. Reply: whether the session
/// takes it (a session upgrades once: a second WebSocket while one is probing or upgraded is
/// refused, and `tx` dropped).
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub(crate) struct WsAttach {
    /// Where to write frames.
    pub(crate) tx: switchboard_actors::ClientLink,
}

/// A text frame from the session's WebSocket.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct WsFrame {
    /// The Engine.IO packet.
    pub(crate) text: ByteString,
    /// Goes with the command it carries, if any.
    pub(crate) credit: Credit,
    /// From the WebSocket the session was opened on, whose task has counted it as pending
    /// and applied the rate limit (see `direct`).
    pub(crate) direct: bool,
}

/// End the session (a request broke its limits, or the client its protocol); the client is
/// told with a close packet, and a WebSocket with the reason's close code (none when
/// `None`). Sender: the HTTP handlers and the WebSocket's task. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Close(pub(crate) Option<switchboard_actors::CloseReason>);

/// The session's WebSocket closed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct WsGone;
