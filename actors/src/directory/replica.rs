//! The directory's replica of other nodes' clients: names, roster order and presence, kept from
//! their `Presence` and `Snapshot` messages. Pure; the actor feeds it.

use std::collections::HashMap;

use super::wire::Entry;
use crate::{
    event::Presence,
    ids::{ClientName, NodeId},
};

/// A client of another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Its node.
    pub node: NodeId,
    /// Its claim's cluster-wide sequence number.
    pub seq: u64,
    /// Free or in a call.
    pub presence: Presence,
}

/// Every client of every peer node, by name. See the module docs.
#[derive(Debug, Default)]
pub struct Replica {
    clients: HashMap<ClientName, Remote>,
}

impl Replica {
    /// Folds in node `node`'s changes. A name is held by one node at a time: an entry with a
    /// newer claim (higher sequence number) replaces an older one from any node, so a stale
    /// entry never hides a new owner.
    pub fn apply(&mut self, node: &NodeId, set: Vec<Entry>, gone: &[ClientName]) {
        for name in gone {
            if self.clients.get(name).is_some_and(|r| r.node == *node) {
                self.clients.remove(name);
            }
        }
        for (name, seq, presence) in set {
            match self.clients.get(&name) {
                Some(old) if old.node != *node && old.seq > seq => {}
                _ => {
                    self.clients.insert(name, Remote { node: node.clone(), seq, presence });
                }
            }
        }
    }

    /// Replaces everything known of node `node` with `set`.
    pub fn replace(&mut self, node: &NodeId, set: Vec<Entry>) {
        self.drop_node(node);
        self.apply(node, set, &[]);
    }

    /// Forgets node `node`; returns whether it had any clients.
    pub fn drop_node(&mut self, node: &NodeId) -> bool {
        let before = self.clients.len();
        self.clients.retain(|_, r| r.node != *node);
        before != self.clients.len()
    }

    /// Forgets one name (this node now holds it).
    pub fn forget(&mut self, name: &ClientName) -> bool {
        self.clients.remove(name).is_some()
    }

    /// The remote client `name`.
    pub fn get(&self, name: &ClientName) -> Option<&Remote> {
        self.clients.get(name)
    }

    /// Every remote client.
    pub fn iter(&self) -> impl Iterator<Item = (&ClientName, &Remote)> {
        self.clients.iter()
    }

    /// Number of remote clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no remote client is known.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ClientName {
        ClientName::new(s).expect("valid")
    }

    #[test]
    fn newer_claims_win_and_nodes_are_forgotten_whole() {
        let (a, b) = (NodeId::new("a"), NodeId::new("b"));
        let mut r = Replica::default();
        r.apply(
            &a,
            vec![(name("x"), 1, Presence::Waiting), (name("y"), 2, Presence::Calling)],
            &[],
        );
        // b claimed x after a released it; a's late removal must not drop b's entry.
        r.apply(&b, vec![(name("x"), 5, Presence::Waiting)], &[]);
        r.apply(&a, vec![], &[name("x")]);
        assert_eq!(r.get(&name("x")).map(|e| e.node.clone()), Some(b.clone()));
        // A stale upsert from a (older claim) does not replace b's.
        r.apply(&a, vec![(name("x"), 1, Presence::Calling)], &[]);
        assert_eq!(r.get(&name("x")).map(|e| e.seq), Some(5));
        assert!(r.drop_node(&a));
        assert_eq!(r.len(), 1);
        r.replace(&b, vec![(name("z"), 7, Presence::Waiting)]);
        assert!(r.get(&name("x")).is_none());
        assert!(r.get(&name("z")).is_some());
        assert!(!r.drop_node(&a));
    }
}
