//! An in-process stand-in for Redis, for tests of the core: several nodes in one process, each
//! with a [`Cluster`] handle on one [`MemoryBus`] that claims names and carries frames the way
//! the Redis bridge does, with no bridge running (the test tells each node of cluster changes).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use super::{frame::Frame, Cluster, ClusterConfig, ClusterError, Inbox, Routes, Topic};
use crate::ids::NodeId;

#[derive(Default)]
struct State {
    /// Each claimed name (`namespace:name`) and its holder's node and claim.
    names: HashMap<String, (NodeId, u64)>,
    seq: u64,
    /// Where each node takes the frames sent to it.
    routes: HashMap<NodeId, Routes>,
    /// Frames carried, by sender and receiver.
    frames: HashMap<(NodeId, NodeId), usize>,
    down: bool,
}

/// The bus. Cheap to clone.
#[derive(Clone, Default)]
pub struct MemoryBus(Arc<Mutex<State>>);

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryBus")
    }
}

impl MemoryBus {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A handle for node `node` on this bus.
    pub fn join(&self, node: &NodeId) -> Cluster {
        let config = ClusterConfig {
            redis_url: String::new(),
            prefix: String::new(),
            heartbeat_interval: std::time::Duration::from_secs(1),
            node_ttl: std::time::Duration::from_secs(3),
        };
        let (cluster, _plumbing) = Cluster::new(node.clone(), config);
        cluster.set_healthy(true);
        Cluster { memory: Some(self.clone()), ..cluster }
    }

    /// Frames of node `to` are delivered to `routes`.
    pub fn route(&self, to: &NodeId, routes: Routes) {
        self.state().routes.insert(to.clone(), routes);
    }

    /// How many frames node `from` sent node `to`.
    pub fn frames(&self, from: &NodeId, to: &NodeId) -> usize {
        self.state().frames.get(&(from.clone(), to.clone())).copied().unwrap_or(0)
    }

    /// The node holding `name` in `namespace`.
    pub fn holder(&self, namespace: &str, name: &str) -> Option<NodeId> {
        self.state().names.get(&format!("{namespace}:{name}")).map(|(node, _)| node.clone())
    }

    /// Releases every name of dead node `node`, as a surviving node's sweep does.
    pub fn sweep(&self, node: &NodeId) {
        self.state().names.retain(|_, (holder, _)| holder != node);
    }

    /// Forgets every name, as a Redis restarted empty does.
    pub fn flush(&self) {
        self.state().names.clear();
    }

    /// Makes every operation fail as unavailable (`true`), or work again.
    pub fn set_down(&self, down: bool) {
        self.state().down = down;
    }

    pub(super) fn claim(&self, node: &NodeId, field: String) -> Result<u64, ClusterError> {
        let mut state = self.state();
        if state.down {
            return Err(ClusterError::Unavailable);
        }
        if state.names.get(&field).is_some_and(|(holder, _)| holder != node) {
            return Err(ClusterError::Taken);
        }
        state.seq += 1;
        let seq = state.seq;
        state.names.insert(field, (node.clone(), seq));
        Ok(seq)
    }

    pub(super) fn release(&self, node: &NodeId, field: &str, seq: u64) -> Result<(), ClusterError> {
        let mut state = self.state();
        if state.down {
            return Err(ClusterError::Unavailable);
        }
        if state.names.get(field).is_some_and(|(holder, s)| holder == node && *s == seq) {
            state.names.remove(field);
        }
        Ok(())
    }

    pub(super) fn lookup(&self, field: &str) -> Result<Option<NodeId>, ClusterError> {
        let state = self.state();
        if state.down {
            return Err(ClusterError::Unavailable);
        }
        Ok(state.names.get(field).map(|(node, _)| node.clone()))
    }

    pub(super) fn publish(
        &self,
        from: &NodeId,
        to: &NodeId,
        frame: &Frame,
    ) -> Result<(), ClusterError> {
        let routes = {
            let mut state = self.state();
            if state.down {
                return Err(ClusterError::Unavailable);
            }
            *state.frames.entry((from.clone(), to.clone())).or_default() += 1;
            state.routes.get(to).cloned()
        };
        let Some(routes) = routes else { return Ok(()) };
        let Ok((topic, origin, body)) = Frame::decode(&frame.0) else { return Ok(()) };
        if topic != Topic::Node {
            routes.deliver(topic, Inbox { origin, body: bytes::Bytes::copy_from_slice(body) });
        }
        Ok(())
    }
}
