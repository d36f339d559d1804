//! The directory's pure state: registered names in registration order, their presence, and
//! which call each is in. No actors here; the actor turns results into sends.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::{
    error::ErrorKind,
    event::{Presence, RosterEntry},
    ids::{CallId, ClientName, ConnId},
};

/// A registered client. `H` is how the actor reaches it (its link and connection).
#[derive(Debug)]
pub struct Client<H> {
    seq: u64,
    /// The connection that registered the name.
    pub conn: ConnId,
    /// How to reach it.
    pub handle: H,
    /// The call it is in, if any.
    pub call: Option<CallId>,
}

impl<H> Client<H> {
    /// Free or in a call.
    pub fn presence(&self) -> Presence {
        if self.call.is_some() {
            Presence::Calling
        } else {
            Presence::Waiting
        }
    }
}

/// Every registered client of this node and the calls between them.
#[derive(Debug)]
pub struct Registry<H> {
    clients: HashMap<ClientName, Client<H>>,
    /// Registration order, for the roster: by sequence number, then name (numbers can repeat
    /// for a moment when a Redis that restarted empty counts from 1 again).
    order: BTreeSet<(u64, ClientName)>,
    calls: HashSet<CallId>,
}

impl<H> Default for Registry<H> {
    fn default() -> Self {
        Self { clients: HashMap::new(), order: BTreeSet::new(), calls: HashSet::new() }
    }
}

impl<H> Registry<H> {
    /// Registers `name` for connection `conn`, or refuses it if it is taken. `seq` orders the
    /// roster (a cluster-wide claim number, or a node-local counter on a single node).
    pub fn register(
        &mut self,
        name: ClientName,
        seq: u64,
        conn: ConnId,
        handle: H,
    ) -> Result<(), ErrorKind> {
        if self.clients.contains_key(&name) {
            return Err(ErrorKind::NameTaken);
        }
        self.order.insert((seq, name.clone()));
        self.clients.insert(name, Client { seq, conn, handle, call: None });
        Ok(())
    }

    /// Removes `name` if connection `conn` holds it (a stale request from an earlier holder of
    /// the same name is ignored).
    pub fn unregister(&mut self, name: &ClientName, conn: ConnId) -> Option<Client<H>> {
        if self.clients.get(name)?.conn != conn {
            return None;
        }
        let client = self.clients.remove(name)?;
        self.order.remove(&(client.seq, name.clone()));
        Some(client)
    }

    /// Gives `name` a new place in the roster order (its claim was renewed as `seq`).
    pub fn reorder(&mut self, name: &ClientName, seq: u64) {
        if let Some(client) = self.clients.get_mut(name) {
            self.order.remove(&(client.seq, name.clone()));
            client.seq = seq;
            self.order.insert((seq, name.clone()));
        }
    }

    /// The roster order of `name`.
    pub fn seq(&self, name: &ClientName) -> Option<u64> {
        self.clients.get(name).map(|c| c.seq)
    }

    /// The client registered as `name`.
    pub fn get(&self, name: &ClientName) -> Option<&Client<H>> {
        self.clients.get(name)
    }

    /// Number of registered clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Opens a call from `caller` to `callee` under a fresh id drawn by `fresh_id` (retried until
    /// it names no live call), and marks both members as calling.
    pub fn open_call(
        &mut self,
        caller: &ClientName,
        callee: &ClientName,
        mut fresh_id: impl FnMut() -> CallId,
    ) -> Result<CallId, ErrorKind> {
        let from = self.clients.get(caller).ok_or(ErrorKind::NotRegistered)?;
        if caller == callee {
            return Err(ErrorKind::SelfTarget);
        }
        let to = self.clients.get(callee).ok_or(ErrorKind::PeerNotFound)?;
        if from.call.is_some() {
            return Err(ErrorKind::Busy);
        }
        if to.call.is_some() {
            return Err(ErrorKind::PeerBusy);
        }
        let id = loop {
            let id = fresh_id();
            if !self.calls.contains(&id) {
                break id;
            }
        };
        self.calls.insert(id.clone());
        for name in [caller, callee] {
            if let Some(client) = self.clients.get_mut(name) {
                client.call = Some(id.clone());
            }
        }
        Ok(id)
    }

    /// Reserves a fresh call id for `caller`, whose callee is on another node, and marks the
    /// caller as calling. The caller must be registered and free.
    pub fn reserve_call(
        &mut self,
        caller: &ClientName,
        mut fresh_id: impl FnMut() -> CallId,
    ) -> Result<CallId, ErrorKind> {
        let from = self.clients.get(caller).ok_or(ErrorKind::NotRegistered)?;
        if from.call.is_some() {
            return Err(ErrorKind::Busy);
        }
        let id = loop {
            let id = fresh_id();
            if !self.calls.contains(&id) {
                break id;
            }
        };
        self.join_call(caller, id.clone())?;
        Ok(id)
    }

    /// Puts `name` in call `call` (homed here or on another node) if it is free.
    pub fn join_call(&mut self, name: &ClientName, call: CallId) -> Result<(), ErrorKind> {
        let client = self.clients.get_mut(name).ok_or(ErrorKind::PeerNotFound)?;
        if client.call.is_some() {
            return Err(ErrorKind::PeerBusy);
        }
        self.calls.insert(call.clone());
        client.call = Some(call);
        Ok(())
    }

    /// Ends call `call`: its members that are still registered and still in it are free again.
    pub fn end_call(&mut self, call: &CallId, members: [&ClientName; 2]) {
        self.calls.remove(call);
        for name in members {
            if let Some(client) = self.clients.get_mut(name) {
                if client.call.as_ref() == Some(call) {
                    client.call = None;
                }
            }
        }
    }

    /// Number of live calls.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Every registered client with its roster order and presence, in registration order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &ClientName, Presence)> {
        self.order
            .iter()
            .filter_map(|(seq, name)| Some((*seq, name, self.clients.get(name)?.presence())))
    }

    /// The roster of this node alone: every registered client, in registration order.
    pub fn roster(&self) -> Vec<RosterEntry> {
        self.entries()
            .map(|(_, name, presence)| RosterEntry { name: name.clone(), presence })
            .collect()
    }

    /// Every registered client.
    pub fn clients(&self) -> impl Iterator<Item = (&ClientName, &Client<H>)> {
        self.clients.iter()
    }

    /// The clients that receive roster updates: those not in a call.
    pub fn waiting(&self) -> impl Iterator<Item = &Client<H>> {
        self.clients.values().filter(|c| c.call.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> ClientName {
        ClientName::new(s).expect("valid test name")
    }

    fn registry(names: &[&str]) -> Registry<()> {
        let mut r = Registry::default();
        for (i, n) in names.iter().enumerate() {
            r.register(name(n), i as u64, ConnId(i as u64), ()).expect("fresh name");
        }
        r
    }

    fn ids<'a>(seq: &'a [&'a str]) -> impl FnMut() -> CallId + 'a {
        let mut i = 0;
        move || {
            i += 1;
            CallId::new(seq[i - 1])
        }
    }

    #[test]
    fn names_are_unique_and_listed_in_registration_order() {
        let mut r = registry(&["b", "a", "c"]);
        assert_eq!(r.register(name("a"), 9, ConnId(9), ()), Err(ErrorKind::NameTaken));
        let names: Vec<_> = r.roster().into_iter().map(|e| e.name.to_string()).collect();
        assert_eq!(names, ["b", "a", "c"]);
    }

    #[test]
    fn only_the_holder_can_unregister_a_name() {
        let mut r = registry(&["a"]);
        assert!(r.unregister(&name("a"), ConnId(7)).is_none());
        assert!(r.unregister(&name("a"), ConnId(0)).is_some());
        assert!(r.is_empty());
        assert!(r.roster().is_empty());
    }

    #[test]
    fn open_call_checks_in_the_reference_order() {
        let mut r = registry(&["a", "b", "c"]);
        assert_eq!(r.open_call(&name("x"), &name("a"), ids(&["1"])), Err(ErrorKind::NotRegistered));
        assert_eq!(r.open_call(&name("a"), &name("a"), ids(&["1"])), Err(ErrorKind::SelfTarget));
        assert_eq!(r.open_call(&name("a"), &name("z"), ids(&["1"])), Err(ErrorKind::PeerNotFound));
        let id = r.open_call(&name("a"), &name("b"), ids(&["1"])).expect("both free");
        assert_eq!(r.open_call(&name("a"), &name("c"), ids(&["2"])), Err(ErrorKind::Busy));
        assert_eq!(r.open_call(&name("a"), &name("z"), ids(&["2"])), Err(ErrorKind::PeerNotFound));
        assert_eq!(r.open_call(&name("c"), &name("b"), ids(&["2"])), Err(ErrorKind::PeerBusy));
        let presence: Vec<_> = r.roster().into_iter().map(|e| e.presence).collect();
        assert_eq!(presence, [Presence::Calling, Presence::Calling, Presence::Waiting]);
        assert_eq!(r.waiting().count(), 1);

        r.end_call(&id, [&name("a"), &name("b")]);
        assert_eq!(r.waiting().count(), 3);
        assert_eq!(r.calls(), 0);
    }

    #[test]
    fn call_ids_are_unique_among_live_calls() {
        let mut r = registry(&["a", "b", "c", "d"]);
        let first = r.open_call(&name("a"), &name("b"), ids(&["11111111"])).expect("free");
        let second = r
            .open_call(&name("c"), &name("d"), ids(&["11111111", "11111111", "22222222"]))
            .expect("free");
        assert_eq!(first.as_str(), "11111111");
        assert_eq!(second.as_str(), "22222222");
    }

    #[test]
    fn calls_with_a_member_elsewhere_mark_only_the_local_member() {
        let mut r = registry(&["a", "b"]);
        let id = r.reserve_call(&name("a"), ids(&["7"])).expect("a is free");
        assert_eq!(r.reserve_call(&name("a"), ids(&["8"])), Err(ErrorKind::Busy));
        assert_eq!(r.reserve_call(&name("x"), ids(&["8"])), Err(ErrorKind::NotRegistered));
        // A call homed on another node joins b; a second one finds it busy.
        r.join_call(&name("b"), CallId::new("99")).expect("b is free");
        assert_eq!(r.join_call(&name("b"), CallId::new("98")), Err(ErrorKind::PeerBusy));
        assert_eq!(r.join_call(&name("zz"), CallId::new("98")), Err(ErrorKind::PeerNotFound));
        assert_eq!(r.waiting().count(), 0);
        r.end_call(&id, [&name("a"), &name("a")]);
        r.end_call(&CallId::new("99"), [&name("b"), &name("b")]);
        assert_eq!(r.waiting().count(), 2);
        assert_eq!(r.calls(), 0);
    }

    #[test]
    fn a_renewed_claim_moves_a_name_in_the_roster() {
        let mut r = registry(&["a", "b"]);
        r.reorder(&name("a"), 10);
        let names: Vec<_> = r.roster().into_iter().map(|e| e.name.to_string()).collect();
        assert_eq!(names, ["b", "a"]);
        // Numbers may repeat (a Redis restarted empty counts again); names break the tie.
        r.reorder(&name("b"), 10);
        let names: Vec<_> = r.roster().into_iter().map(|e| e.name.to_string()).collect();
        assert_eq!(names, ["a", "b"]);
        r.register(name("c"), 10, ConnId(5), ()).expect("a fresh name with a repeated number");
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn ending_a_call_spares_a_member_already_in_another() {
        let mut r = registry(&["a", "b", "c"]);
        let first = r.open_call(&name("a"), &name("b"), ids(&["1"])).expect("free");
        r.end_call(&first, [&name("a"), &name("b")]);
        let second = r.open_call(&name("a"), &name("c"), ids(&["2"])).expect("free");
        r.end_call(&first, [&name("a"), &name("b")]);
        assert_eq!(r.get(&name("a")).and_then(|c| c.call.clone()), Some(second));
    }
}
