//! Redis key and channel names of one cluster. Every name starts with the configured prefix, so
//! several clusters can share one Redis.

use crate::ids::{NodeId, Tenant};

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

    /// Hash: a room's webhook state (see [`super::ledger`]). A tenant's name has no `:`, and
    /// the default tenant's is empty, so no two rooms share a key.
    pub(super) fn hook_room(&self, tenant: &Tenant, dialect: &str, room: &str) -> String {
        format!("{}:hooks:room:{}:{dialect}:{room}", self.prefix, tenant.name().unwrap_or(""))
    }

    /// Stream: a tenant's webhook events not yet delivered.
    pub(super) fn hook_events(&self, tenant: &Tenant) -> String {
        format!("{}:hooks:events:{}", self.prefix, tenant.name().unwrap_or(""))
    }

    /// String: the node delivering a tenant's webhook events (expires unless renewed).
    pub(super) fn hook_lease(&self, tenant: &Tenant) -> String {
        format!("{}:hooks:lease:{}", self.prefix, tenant.name().unwrap_or(""))
    }

    /// Set: the keys of the rooms `node` is the home of or has participants in, so a sweep
    /// finds them without scanning.
    pub(super) fn hook_node(&self, node: &NodeId) -> String {
        format!("{}:hooks:node:{node}", self.prefix)
    }

    /// String: what `node` last reported of its load (expires unless renewed).
    pub(super) fn report(&self, node: &NodeId) -> String {
        format!("{}:report:{node}", self.prefix)
    }

    /// Pub/sub channel that `node` reads its messages from.
    pub(super) fn inbox(&self, node: &NodeId) -> String {
        format!("{}:inbox:{node}", self.prefix)
    }
}
