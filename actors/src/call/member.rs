//! A call member as the call actor reaches it: on this node through its link, or on another
//! node through that node's inbox.

use actix::Recipient;

use crate::{
    cluster::{Cluster, Topic},
    connection::messages::CallMembership,
    directory::wire::Wire,
    error::ErrorKind,
    event::Event,
    ids::{ClientName, NodeId},
    link::{ClientLink, PushError},
};

/// Where a member's connection is.
#[derive(Debug, Clone)]
pub enum Reach {
    /// On this node.
    Local {
        /// Its outbound queue.
        link: ClientLink,
        /// Its connection actor, told when the call ends.
        conn: Recipient<CallMembership>,
    },
    /// On node `node`; events go to that node's inbox, whose directory pushes them.
    Remote {
        /// The member's node.
        node: NodeId,
        /// The way there.
        cluster: Cluster,
    },
}

/// One member of a call.
#[derive(Debug, Clone)]
pub struct Member {
    /// The member's name.
    pub name: ClientName,
    /// How to reach it.
    pub reach: Reach,
}

impl Member {
    /// Queues `event` for the member without waiting; the error says why it cannot be.
    pub fn push(&self, event: Event) -> Result<(), ErrorKind> {
        match &self.reach {
            Reach::Local { link, .. } => link.push(event).map_err(push_error),
            Reach::Remote { node, cluster } => cluster
                .send(
                    node,
                    Topic::Cmd,
                    &Wire::Deliver { to: self.name.clone(), events: vec![event] },
                )
                .map_err(|_| ErrorKind::Unavailable),
        }
    }

    /// The member's node, if it is not this one.
    pub fn remote_node(&self) -> Option<&NodeId> {
        match &self.reach {
            Reach::Local { .. } => None,
            Reach::Remote { node, .. } => Some(node),
        }
    }
}

/// The error a client is told when its event could not be queued to a local peer.
pub fn push_error(e: PushError) -> ErrorKind {
    match e {
        PushError::Full => ErrorKind::DeliveryFailed,
        PushError::Closed => ErrorKind::PeerGone,
    }
}
