//! Redis key and channel names of one cluster. Every name starts with the configured prefix, so
//! several clusters can share one Redis.

use crate::ids::NodeId;

/// The key and channel names under one prefix.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    /// Names under `prefix` (`prefix:nodes`, `prefix:inbox:N1`, ...).
    pub(super) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned() }
    }

    /// Sorted set: node id → time of its last heartbeat (Redis clock, ms).
    pub(super) fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// Hash: claimed name (`namespace:name`) → owning node.
    pub(super) fn names(&self) -> String {
        format!("{}:names", self.prefix)
    }

    /// Counter giving claims their cluster-wide order.
    pub(super) fn seq(&self) -> String {
        format!("{}:seq", self.prefix)
    }

    /// Set: the names `node` owns, so a sweep releases them without scanning.
    pub(super) fn owned(&self, node: &NodeId) -> String {
        format!("{}:owned:{node}", self.prefix)
    }

    /// Marker left by the sweep of `node`, so the node learns it was declared dead.
    pub(super) fn swept(&self, node: &NodeId) -> String {
        format!("{}:swept:{node}", self.prefix)
    }

    /// Pub/sub channel that `node` reads its messages from.
    pub(super) fn inbox(&self, node: &NodeId) -> String {
        format!("{}:inbox:{node}", self.prefix)
    }
}
