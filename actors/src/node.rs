//! `Core`: the node's core actors, started once per node and handed to the edge.

use actix::{Actor, Addr};

use crate::{
    connection::{ConnectionActor, ConnectionConfig},
    directory::{DirectoryActor, DirectoryConfig},
    ids::NodeId,
    link::ClientLink,
};

/// The core's configuration, as the edge builds it from the node's config.
#[derive(Debug, Clone, Default)]
pub struct CoreConfig {
    /// Per-connection tunables.
    pub connection: ConnectionConfig,
    /// Directory tunables.
    pub directory: DirectoryConfig,
}

/// Handles to one node's core actors. Cheap to clone; passed explicitly (no global registry,
/// so several nodes can run in one process).
#[derive(Debug, Clone)]
pub struct Core {
    /// This node.
    pub node: NodeId,
    /// The node's directory.
    pub directory: Addr<DirectoryActor>,
    config: CoreConfig,
}

impl Core {
    /// Starts the core actors of node `node` on the current actix arbiter.
    pub fn start(node: NodeId, config: CoreConfig) -> Self {
        let directory = DirectoryActor::new(node.clone(), config.directory.clone()).start();
        Self { node, directory, config }
    }

    /// Starts the actor of a new connection reached through `link`, on the current arbiter.
    pub fn connect(&self, link: ClientLink) -> Addr<ConnectionActor> {
        ConnectionActor::new(link, self.directory.clone(), self.config.connection.clone()).start()
    }
}
