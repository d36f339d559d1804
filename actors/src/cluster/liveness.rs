//! Which peer nodes are alive, decided from heartbeat readings. Pure: the bridge feeds it what
//! Redis said and acts on the changes it returns.
//!
//! A peer is up from the first reading that lists it among the nodes heard from within the TTL.
//! It is down when a reading lists it as expired (its heartbeat is older than the TTL), or when it
//! has been missing altogether for longer than the TTL: a Redis that restarted empty forgets
//! every node, and the peers re-register within one heartbeat interval, well inside that grace.
//!
//! Readings stop while this node cannot reach Redis, and the grace of a missing peer is counted
//! from when they resume, not from the last reading before the outage: after Redis comes back
//! (empty, perhaps) each peer needs time to reconnect, which its own backoff may delay, before
//! it can re-register. Judging it by the last sighting declared live peers dead, ending their
//! clients' calls on one side only.

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

/// How readings are paced, which sets how long a missing peer is waited for.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// A peer heard from longer ago than this is dead.
    pub ttl: Duration,
    /// Readings come this often while Redis answers.
    pub interval: Duration,
    /// How long a peer may take to reach Redis again once it is back (its longest reconnect
    /// backoff and one heartbeat).
    pub rejoin: Duration,
}

/// The live peers of one node. See the module docs.
#[derive(Debug)]
pub struct Liveness {
    me: NodeId,
    pace: Pace,
    /// Each live peer and the moment past which it is dead unless a reading lists it again.
    peers: HashMap<NodeId, Instant>,
    /// When the last reading came.
    last_reading: Option<Instant>,
    /// Until when, after readings resumed, a peer listed as expired is waited for too (Redis
    /// kept its old heartbeat while both were cut off from it).
    grace_until: Option<Instant>,
}

impl Liveness {
    /// No peers known yet.
    pub fn new(me: NodeId, pace: Pace) -> Self {
        Self { me, pace, peers: HashMap::new(), last_reading: None, grace_until: None }
    }

    /// Folds in one heartbeat reading taken at `now`.
    pub fn observe(&mut self, now: Instant, alive: &[NodeId], expired: &[NodeId]) -> Vec<Change> {
        let Pace { ttl, interval, rejoin } = self.pace;
        let resumed = self.last_reading.is_some_and(|last| now.duration_since(last) > interval * 2);
        self.last_reading = Some(now);
        if resumed {
            // Readings resume after an outage: every peer gets the time to come back.
            let grace = now + ttl + rejoin;
            self.grace_until = Some(grace);
            for deadline in self.peers.values_mut() {
                *deadline = (*deadline).max(grace);
            }
        }
        let mut changes = Vec::new();
        for node in alive.iter().filter(|n| **n != self.me) {
            if self.peers.insert(node.clone(), now + ttl).is_none() {
                changes.push(Change::Up(node.clone()));
            }
        }
        let in_grace = self.grace_until.is_some_and(|until| now < until);
        self.peers.retain(|node, deadline| {
            let gone = (expired.contains(node) && !in_grace) || now > *deadline;
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

    /// Readings every second, a TTL of 3 s, and 6 s for a peer to come back after an outage.
    fn pace() -> Pace {
        Pace {
            ttl: Duration::from_secs(3),
            interval: Duration::from_secs(1),
            rejoin: Duration::from_secs(6),
        }
    }

    fn at(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn peers_come_up_once_and_go_down_when_expired() {
        let t0 = Instant::now();
        let mut l = Liveness::new(NodeId::new("me"), pace());
        assert_eq!(
            l.observe(t0, &ids(&["me", "a", "b"]), &[]),
            vec![Change::Up(NodeId::new("a")), Change::Up(NodeId::new("b"))]
        );
        assert!(l.observe(t0, &ids(&["me", "a", "b"]), &[]).is_empty());
        assert_eq!(
            l.observe(at(t0, 1.0), &ids(&["me", "a"]), &ids(&["b"])),
            vec![Change::Down(NodeId::new("b"))]
        );
        assert_eq!(l.left(&NodeId::new("a")), Some(Change::Down(NodeId::new("a"))));
        assert_eq!(l.left(&NodeId::new("a")), None);
        assert_eq!(l.peers().count(), 0);
    }

    #[test]
    fn a_missing_peer_gets_the_ttl_as_grace() {
        let t0 = Instant::now();
        let mut l = Liveness::new(NodeId::new("me"), pace());
        l.observe(t0, &ids(&["a"]), &[]);
        // Redis restarted empty between two readings: nobody is listed for a while, then the
        // peer re-registers.
        assert!(l.observe(at(t0, 1.0), &[], &[]).is_empty());
        assert!(l.observe(at(t0, 2.0), &[], &[]).is_empty());
        assert!(l.observe(at(t0, 2.5), &ids(&["a"]), &[]).is_empty());
        // Missing from every reading for longer than the TTL: down.
        for t in [3.5, 4.5, 5.5] {
            assert!(l.observe(at(t0, t), &[], &[]).is_empty(), "{t}");
        }
        assert_eq!(l.observe(at(t0, 6.5), &[], &[]), vec![Change::Down(NodeId::new("a"))]);
    }

    #[test]
    fn after_an_outage_peers_get_the_time_to_come_back() {
        let t0 = Instant::now();
        let mut l = Liveness::new(NodeId::new("me"), pace());
        l.observe(t0, &ids(&["a", "b"]), &[]);
        // No reading for 8 s (this node could not reach Redis); then Redis has forgotten a and
        // still holds b's old heartbeat. Neither is dead yet: both may be reconnecting.
        assert!(l.observe(at(t0, 8.0), &[], &ids(&["b"])).is_empty());
        for t in 9..=12 {
            assert!(l.observe(at(t0, f64::from(t)), &[], &ids(&["b"])).is_empty(), "{t}");
        }
        // a is back; b never comes: dead once the grace (TTL and rejoin time) is over.
        assert!(l.observe(at(t0, 13.0), &ids(&["a"]), &ids(&["b"])).is_empty());
        for t in 14..=16 {
            assert!(l.observe(at(t0, f64::from(t)), &ids(&["a"]), &ids(&["b"])).is_empty(), "{t}");
        }
        assert_eq!(
            l.observe(at(t0, 17.5), &ids(&["a"]), &ids(&["b"])),
            vec![Change::Down(NodeId::new("b"))]
        );
    }

    #[test]
    fn reset_reports_every_peer_down() {
        let mut l = Liveness::new(NodeId::new("me"), pace());
        l.observe(Instant::now(), &ids(&["a", "b"]), &[]);
        let mut down = l.reset();
        down.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        assert_eq!(down, vec![Change::Down(NodeId::new("a")), Change::Down(NodeId::new("b"))]);
    }
}
