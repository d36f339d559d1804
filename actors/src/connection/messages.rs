//! Messages handled by [`ConnectionActor`](super::ConnectionActor).

use actix::{Addr, Message};

use crate::{
    call::CallActor,
    cluster::Cluster,
    command::Command,
    credit::Credit,
    error::{ClientError, CloseReason},
    ids::{CallId, NodeId},
};

/// A decoded frame from the client, or the error its decoding produced.
///
/// Sender: the connection's reader at the edge, which awaits the reply before sending the next
/// one: that is what keeps each client's commands, and the answers to them, in order.
/// Handler: `ConnectionActor`. Reply: `()` once the command is fully handled (any answer or error
/// is already queued to the client).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Inbound(pub Result<Command, ClientError>, pub Credit);

/// The client answered a ping.
///
/// Sender: the reader at the edge. Handler: `ConnectionActor` (liveness). No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Pong;

/// The transport is gone (client close, read error, or the writer finished).
///
/// Sender: the reader or writer at the edge. Handler: `ConnectionActor`, which stops and
/// releases everything the client held. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Disconnected {
    /// Why the server ended it, if it did.
    pub reason: Option<CloseReason>,
}

/// The client joined or left a call.
///
/// Sender: `DirectoryActor` (joined when the call opens, left when it ends). Handler:
/// `ConnectionActor`, which remembers its call to route signals and refuse other call ids.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum CallMembership {
    /// Now a member of `call`, owned by `at`.
    Joined {
        /// The call.
        call: CallId,
        /// Where its actor is.
        at: CallRef,
    },
    /// No longer a member of `call`.
    Left {
        /// The call.
        call: CallId,
    },
}

/// Where a call's actor is, as a member's connection reaches it.
#[derive(Debug, Clone)]
pub enum CallRef {
    /// On this node.
    Local(Addr<CallActor>),
    /// On node `home` (the caller's); signals go to that node's inbox.
    Remote {
        /// The call's home node.
        home: NodeId,
        /// The way there.
        cluster: Cluster,
    },
}
