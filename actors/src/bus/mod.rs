//! The cluster bus seam: how a message addressed to something on another node gets there.
//!
//! Everything the core addresses lives on exactly one node: a client on the node it connected
//! to, a call or room on its home node. A cross-node message is an [`Envelope`] published to the
//! *target node's* inbox, never broadcast to every node. [`Bus`] is the one interface the core
//! publishes through; [`LocalBus`] is the single-node implementation (every address is local, so
//! only this node's inbox exists) and the Redis bridge implements the same trait for a cluster.

mod local;

pub use local::LocalBus;

use crate::ids::{CallId, ClientName, NodeId, RoomId};

/// What a cross-node message is addressed to, on its node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// The node itself (presence sweeps, heartbeats, roster sync).
    Node,
    /// A client connected to that node.
    Client(ClientName),
    /// A room homed on that node.
    Room(RoomId),
    /// A call homed on that node.
    Call(CallId),
}

/// A message on its way to another node's inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<B> {
    /// The node that published it; a node drops envelopes it published itself.
    pub origin: NodeId,
    /// The node whose inbox it goes to.
    pub to: NodeId,
    /// What it is addressed to on that node.
    pub target: Target,
    /// The message.
    pub body: B,
}

/// Why a publish failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The target node is not known to be alive.
    #[error("node {0} is unreachable")]
    UnknownNode(NodeId),
    /// The bus itself is down (the cluster store is unreachable); retry later.
    #[error("cluster bus unavailable")]
    Unavailable,
}

/// Publishes envelopes to node inboxes. Implementations must not block: a publish queues the
/// envelope (batched and pipelined where the transport allows) and returns.
pub trait Bus<B>: Send + Sync {
    /// This node.
    fn node(&self) -> &NodeId;

    /// Queues `envelope` for the inbox of `envelope.to`.
    fn publish(&self, envelope: Envelope<B>) -> Result<(), BusError>;
}
