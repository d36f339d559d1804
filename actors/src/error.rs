//! The canonical classification of every failure a client can be told about.
//!
//! The core classifies a failure once, as an [`ErrorKind`]; each dialect maps kinds to its own
//! codes with an exhaustive `match` (no `_` arm), so adding a kind breaks every dialect's table at
//! compile time until it is handled. `ErrorKind` is deliberately not `#[non_exhaustive]`.

use std::fmt;

use crate::command::CommandKind;

/// Why a client's request failed. Every kind is *recoverable*: the client is told and the
/// connection stays open. Failures that end a connection are [`CloseReason`]s instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The frame is not parseable at all (not JSON, say). Client-caused.
    MalformedFrame,
    /// The frame is JSON but nests arrays and objects deeper than the node accepts (far beyond
    /// any real SDP or ICE payload). Client-caused.
    TooDeep,
    /// The frame parsed but is not a message: not an object, no command field, a field of the
    /// wrong type or an invalid value. Client-caused.
    InvalidMessage,
    /// The command name is not one this dialect knows. Client-caused.
    UnknownCommand,
    /// A command that needs an identity arrived before the client registered one.
    NotRegistered,
    /// The connection already registered an identity.
    AlreadyRegistered,
    /// Another client holds the requested name.
    NameTaken,
    /// The request names the sender itself as its peer.
    SelfTarget,
    /// The named peer does not exist.
    PeerNotFound,
    /// The sender is already in a call.
    Busy,
    /// The named peer is already in a call.
    PeerBusy,
    /// The named call does not exist, or the sender is not a member of it.
    CallNotFound,
    /// The call exists but does not accept this signal in its current state.
    InvalidCallState,
    /// The message could not be handed to the peer (its queue is full).
    DeliveryFailed,
    /// The peer's connection is closing.
    PeerNotOpen,
    /// The peer's connection is gone.
    PeerGone,
    /// The client's access token does not grant this (another identity, another room).
    Forbidden,
    /// The client's tenant has all it may have of this (rooms on this node).
    LimitReached,
    /// A dependency (the cluster bus, say) is unreachable; retrying later may work.
    Unavailable,
    /// A bug or an unexpected internal failure; details are logged, never sent.
    Internal,
}

impl ErrorKind {
    /// Every kind, for table tests of each dialect's code mapping.
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::MalformedFrame,
        ErrorKind::TooDeep,
        ErrorKind::InvalidMessage,
        ErrorKind::UnknownCommand,
        ErrorKind::NotRegistered,
        ErrorKind::AlreadyRegistered,
        ErrorKind::NameTaken,
        ErrorKind::SelfTarget,
        ErrorKind::PeerNotFound,
        ErrorKind::Busy,
        ErrorKind::PeerBusy,
        ErrorKind::CallNotFound,
        ErrorKind::InvalidCallState,
        ErrorKind::DeliveryFailed,
        ErrorKind::PeerNotOpen,
        ErrorKind::PeerGone,
        ErrorKind::Forbidden,
        ErrorKind::LimitReached,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];
}

/// A failure as it crosses to a client: what went wrong, and during which command.
///
/// The command matters to dialects whose codes depend on it (`cmd` answers an unknown peer with
/// 9201 for `session` and 9301 for `notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClientError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The command being handled, when the frame got far enough to name one.
    pub op: Option<CommandKind>,
}

impl ClientError {
    /// An error that happened before any command was identified.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, op: None }
    }

    /// An error that happened while handling `op`.
    pub fn during(kind: ErrorKind, op: CommandKind) -> Self {
        Self { kind, op: Some(op) }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.op {
            Some(op) => write!(f, "{:?} during {:?}", self.kind, op),
            None => write!(f, "{:?}", self.kind),
        }
    }
}

impl std::error::Error for ClientError {}

/// Why the server ends a connection. Each dialect maps a reason to its close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// A frame exceeded the configured maximum size.
    FrameTooLarge,
    /// A text frame was not valid UTF-8.
    InvalidFrame,
    /// The WebSocket framing itself was broken (bad opcode, unmasked client frame, ...).
    ProtocolViolation,
    /// The client sent a frame type the dialect does not use (binary, for a text protocol).
    UnsupportedData,
    /// The client missed a liveness check (no pong since the previous ping).
    PingTimeout,
    /// The client could not keep up: its outbound queue filled.
    SlowConsumer,
    /// The client sent more messages than its rate limit allows.
    RateLimited,
    /// The node is shutting down; the client should reconnect elsewhere.
    ShuttingDown,
    /// The client's name was claimed on another node while this one was cut off from the
    /// cluster; the client should reconnect and register again.
    NameLost,
    /// An operator disconnected the client (the admin API).
    Disconnected,
}

impl CloseReason {
    /// Every reason, for table tests of each dialect's close codes.
    pub const ALL: [CloseReason; 10] = [
        CloseReason::FrameTooLarge,
        CloseReason::InvalidFrame,
        CloseReason::ProtocolViolation,
        CloseReason::UnsupportedData,
        CloseReason::PingTimeout,
        CloseReason::SlowConsumer,
        CloseReason::RateLimited,
        CloseReason::ShuttingDown,
        CloseReason::NameLost,
        CloseReason::Disconnected,
    ];

    /// A short human-readable description, suitable for a close frame's reason text.
    pub fn describe(self) -> &'static str {
        match self {
            CloseReason::FrameTooLarge => "frame too large",
            CloseReason::InvalidFrame => "text frame is not valid UTF-8",
            CloseReason::ProtocolViolation => "WebSocket protocol violation",
            CloseReason::UnsupportedData => "unsupported frame type",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::SlowConsumer => "outbound queue full: client too slow",
            CloseReason::RateLimited => "message rate limit exceeded",
            CloseReason::ShuttingDown => "server shutting down",
            CloseReason::NameLost => "name claimed on another node during a cluster split",
            CloseReason::Disconnected => "disconnected by the operator",
        }
    }
}
