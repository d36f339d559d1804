//! Which peer nodes are alive, decided from heartbeat readings. Pure: the bridge feeds it what
//! Redis said and acts on the changes it returns.
//!
//! A peer is up from the first reading that lists it among the nodes heard from within the TTL.
//! It is down when a reading lists it as expired (its heartbeat is older than the TTL), or when it
//! has been missing altogether for longer than the TTL: a Redis that restarted empty forgets
//! every node, and the peers re-register within one heartbeat interval, well inside that grace.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use crate::ids::NodeId;

/// A change in the set of live peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A peer appeared (a new node, or one that came back).
    Up(NodeId),
    /// A peer is gone (expired heartbeat, a clean exit, or too long missing).
    Down(NodeId),
}

/// The live peers of one node. See the module docs.
#[derive(Debug)]
pub struct Liveness {
    me: NodeId,
    ttl: Duration,
    /// Each live peer and when a reading last listed it as alive.
    peers: HashMap<NodeId, Instant>,
}

impl Liveness {
    /// No peers known yet.
    pub fn new(me: NodeId, ttl: Duration) -> Self {
        Self { me, ttl, peers: HashMap::new() }
    }

    /// Folds in one heartbeat reading taken at `now`.
    pub fn observe(&mut self, now: Instant, alive: &[NodeId], expired: &[NodeId]) -> Vec<Change> {
        let mut changes = Vec::new();
        for node in alive.iter().filter(|n| **n != self.me) {
            if self.peers.insert(node.clone(), now).is_none() {
                changes.push(Change::Up(node.clone()));
            }
        }
        let ttl = self.ttl;
        self.peers.retain(|node, seen| {
            let gone = expired.contains(node) || now.duration_since(*seen) > ttl;
            if gone {
                changes.push(Change::Down(node.clone()));
            }
            !gone
        });
        changes
    }

    /// `node` left cleanly.
    pub fn left(&mut self, node: &NodeId) -> Option<Change> {
        self.peers.remove(node).map(|_| Change::Down(node.clone()))
    }

    /// Forgets every peer (this node was declared dead; it rejoins from scratch).
    pub fn reset(&mut self) -> Vec<Change> {
        self.peers.drain().map(|(node, _)| Change::Down(node)).collect()
    }

    /// The live peers.
    pub fn peers(&self) -> impl Iterator<Item = &NodeId> {
        self.peers.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<NodeId> {
        names.iter().map(|n| NodeId::new(n)).collect()
    }

    #[test]
    fn peers_come_up_once_and_go_down_when_expired() {
        let t0 = Instant::now();
        let mut l = Liveness::new(NodeId::new("me"), Duration::from_secs(3));
        assert_eq!(
            l.observe(t0, &ids(&["me", "a", "b"]), &[]),
            vec![Change::Up(NodeId::new("a")), Change::Up(NodeId::new("b"))]
        );
        assert!(l.observe(t0, &ids(&["me", "a", "b"]), &[]).is_empty());
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(
            l.observe(t1, &ids(&["me", "a"]), &ids(&["b"])),
            vec![Change::Down(NodeId::new("b"))]
        );
        assert_eq!(l.left(&NodeId::new("a")), Some(Change::Down(NodeId::new("a"))));
        assert_eq!(l.left(&NodeId::new("a")), None);
        assert_eq!(l.peers().count(), 0);
    }

    #[test]
    fn a_missing_peer_gets_the_ttl_as_grace() {
        let t0 = Instant::now();
        let mut l = Liveness::new(NodeId::new("me"), Duration::from_secs(3));
        l.observe(t0, &ids(&["a"]), &[]);
        // Redis restarted empty: nobody is listed for a while, then the peer re-registers.
        assert!(l.observe(t0 + Duration::from_secs(2), &[], &[]).is_empty());
        assert!(l.observe(t0 + Duration::from_millis(2500), &ids(&["a"]), &[]).is_empty());
        // Missing for longer than the TTL: down.
        let later = t0 + Duration::from_secs(6);
        assert_eq!(l.observe(later, &[], &[]), vec![Change::Down(NodeId::new("a"))]);
    }

    #[test]
    fn reset_reports_every_peer_down() {
        let mut l = Liveness::new(NodeId::new("me"), Duration::from_secs(3));
        l.observe(Instant::now(), &ids(&["a", "b"]), &[]);
        let mut down = l.reset();
        down.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        assert_eq!(down, vec![Change::Down(NodeId::new("a")), Change::Down(NodeId::new("b"))]);
    }
}
