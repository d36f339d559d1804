//! `SignalRoomsActor`: the node's `signals` rooms, and its part of the cluster's one room space.
//!
//! Started once per node by [`crate::node::Core::start`]. Receives [`Apply`] for each signal of
//! a local session and [`Gone`] when a session ends; pushes every reply to its session, in
//! order.
//!
//! In a cluster every room has one home, the node that created it, which holds the room's
//! name (`signals:<rid>`) in Redis and applies the rules once: a creating JOIN claims the name
//! (4022 if another node holds it); any other signal for a room this node does not know is
//! looked up and forwarded to the home ([`SignalWire::Signal`]), which sends each session's
//! replies to that session's node ([`SignalWire::Deliver`]). Each node learns from those replies
//! which rooms elsewhere its sessions are in ([`super::away`]), so their later signals go
//! straight to the home and their disconnects are told to it ([`SignalWire::Gone`]). Node
//! deaths and re-homing: [`super::remote`].

use std::collections::HashMap;

use actix::{
    fut, Actor, ActorFutureExt, AsyncContext, Context, Handler, Message, ResponseActFuture,
    WrapFuture,
};

use super::{
    away::Aways,
    state::{Limits, Out, Refusal, Reply, SignalRooms},
    wire::SignalWire,
    Action, Peer, Signal,
};
use crate::{
    cluster::{Cluster, ClusterError, Topic},
    event::Event,
    ids::{ConnId, NodeId, RoomId},
    link::ClientLink,
    payload::Payload,
};

/// The namespace of room names among the cluster's claims.
pub(super) const NAMESPACE: &str = "signals";

/// Apply one signal of a session.
///
/// Sender: `SignalSessionActor`, which waits for the reply before sending its next signal, so a
/// session's signals are applied in order even when one needs Redis. Handler:
/// `SignalRoomsActor`. Reply: `()` once applied here or handed to the room's home; every answer
/// is pushed to a link.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Apply {
    /// The signal.
    pub signal: Signal,
    /// The sending session's link (a session reconnecting on a new socket replaces its old one).
    pub link: ClientLink,
}

/// A session ended: it leaves every room it was in.
///
/// Sender: `SignalSessionActor`, when it stops or its heartbeats stop. Handler:
/// `SignalRoomsActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Gone {
    /// The session.
    pub peer: Peer,
    /// The connection that held it; a stale one (the session reconnected) is ignored.
    pub conn: ConnId,
}

/// A session of this node.
#[derive(Debug)]
pub(super) struct Local {
    pub(super) link: ClientLink,
    /// Its session info, as its latest signal gave it.
    pub(super) ss: Payload,
}

/// The node's `signals` rooms. See the module docs.
#[derive(Debug)]
pub struct SignalRoomsActor {
    pub(super) node: NodeId,
    pub(super) cluster: Option<Cluster>,
    /// Rooms homed here.
    pub(super) rooms: SignalRooms,
    /// This node's claim of each room homed here.
    pub(super) claims: HashMap<RoomId, u64>,
    /// Sessions of this node.
    pub(super) links: HashMap<Peer, Local>,
    /// Sessions of other nodes that signalled rooms homed here, and their nodes.
    pub(super) remote: HashMap<Peer, NodeId>,
    /// Rooms homed elsewhere with sessions of this node.
    pub(super) away: Aways,
}

type Pending = ResponseActFuture<SignalRoomsActor, ()>;

fn done() -> Pending {
    Box::pin(fut::ready(()))
}

impl SignalRoomsActor {
    /// The rooms of node `node` under `limits`; one room space with its peers when `cluster`
    /// is given.
    pub fn new(node: NodeId, cluster: Option<Cluster>, limits: Limits) -> Self {
        Self {
            node,
            cluster,
            rooms: SignalRooms::new(limits),
            claims: HashMap::new(),
            links: HashMap::new(),
            remote: HashMap::new(),
            away: Aways::default(),
        }
    }

    /// Applies `signal` to the rooms homed here and delivers what it causes.
    pub(super) fn apply(&mut self, signal: &Signal, ctx: &mut Context<Self>) {
        let out = self.rooms.apply(signal);
        self.deliver(out, ctx);
    }

    /// Refuses `signal` (of a local or a remote session).
    pub(super) fn refuse(&mut self, signal: &Signal, refusal: Refusal, ctx: &mut Context<Self>) {
        let reply = Reply::Refused { action: signal.action, refusal, req: signal.raw.clone() };
        self.deliver(vec![(signal.from.clone(), reply)], ctx);
    }

    /// Pushes each reply to its session: a local link, or a batch per member node. Names of
    /// rooms that closed are released first (the actor waits), so whoever learns that a room is
    /// gone can create it again at once, on any node.
    pub(super) fn deliver(&mut self, out: Out, ctx: &mut Context<Self>) {
        let closed: Vec<(RoomId, u64)> = self
            .rooms
            .take_closed()
            .into_iter()
            .filter_map(|rid| self.claims.remove(&rid).map(|seq| (rid, seq)))
            .collect();
        let Some(cluster) = self.cluster.clone().filter(|_| !closed.is_empty()) else {
            self.deliver_now(out);
            return;
        };
        let release = async move {
            for (rid, seq) in closed {
                cluster.release_or_retry(NAMESPACE, rid.as_str(), seq).await;
            }
        };
        ctx.wait(release.into_actor(self).map(move |(), this, _| this.deliver_now(out)));
    }

    fn deliver_now(&mut self, out: Out) {
        let mut batches: HashMap<NodeId, Vec<(Peer, Reply)>> = HashMap::new();
        let mut kicked = Vec::new();
        for (to, reply) in out {
            if let Some(local) = self.links.get(&to) {
                // A full queue closes that session; nobody else is affected.
                let _ = local.link.push(Event::Signals(reply));
            } else if let Some(node) = self.remote.get(&to) {
                if matches!(reply, Reply::Kicked { .. }) {
                    kicked.push(to.clone());
                }
                batches.entry(node.clone()).or_default().push((to, reply));
            }
        }
        for (node, replies) in batches {
            self.send(&node, &SignalWire::Deliver { replies });
        }
        for peer in &kicked {
            self.forget_if_departed(peer);
        }
    }

    /// Releases this node's claim of room `rid`'s name, in the background.
    pub(super) fn release(&mut self, rid: &RoomId, ctx: &mut Context<Self>) {
        let (Some(seq), Some(cluster)) = (self.claims.remove(rid), self.cluster.clone()) else {
            return;
        };
        let rid = rid.clone();
        let release = async move { cluster.release_or_retry(NAMESPACE, rid.as_str(), seq).await };
        ctx.spawn(release.into_actor(self));
    }

    /// Forgets where remote session `peer` lives once it is in no room here.
    pub(super) fn forget_if_departed(&mut self, peer: &Peer) {
        if !self.rooms.has_peer(peer) {
            self.remote.remove(peer);
        }
    }

    /// Sends `wire` to node `to`; false if it could not be queued.
    pub(super) fn send(&self, to: &NodeId, wire: &SignalWire) -> bool {
        let Some(cluster) = &self.cluster else { return false };
        match cluster.send(to, Topic::Signals, wire) {
            Ok(()) => true,
            Err(e) => {
                log::debug!("node {}: signals message to {to} not sent: {e}", self.node);
                false
            }
        }
    }

    /// Hands `signal` of a local session to the room's home (moved into the frame, not copied:
    /// it may carry a whole SDP).
    fn forward(&mut self, home: &NodeId, signal: Signal, ctx: &mut Context<Self>) {
        let wire = SignalWire::Signal { signal };
        if !self.send(home, &wire) {
            let SignalWire::Signal { signal } = wire else { return };
            self.refuse(&signal, Refusal::Unavailable, ctx);
        }
    }

    /// Routes `signal` of a local session to a room this node knows (or applies it here on a
    /// single node); returns it if the room's home must be found first.
    fn route_known(&mut self, signal: Signal, ctx: &mut Context<Self>) -> Option<Signal> {
        if self.rooms.contains(&signal.rid) || self.cluster.is_none() {
            self.apply(&signal, ctx);
            return None;
        }
        let Some(away) = self.away.get(&signal.rid) else { return Some(signal) };
        match away.home.clone() {
            Some(home) => {
                if signal.action == Action::Leave {
                    // LEAVE has no ack: the home either removes the session or refuses a
                    // non-member; either way it is not in the room.
                    self.away.leave(&signal.rid, &signal.from);
                }
                self.forward(&home, signal, ctx);
            }
            None => self.refuse(&signal, Refusal::Unavailable, ctx),
        }
        None
    }

    /// Routes `signal` of a local session: here, to the room's known home, or (after asking
    /// Redis) to the home of the name, or to a new room claimed for this node.
    fn route(&mut self, signal: Signal, ctx: &mut Context<Self>) -> Pending {
        let Some(signal) = self.route_known(signal, ctx) else { return done() };
        let Some(cluster) = self.cluster.clone() else { return done() };
        let rid = signal.rid.clone();
        if signal.action == Action::Join && signal.creating {
            let claim = async move { cluster.claim(NAMESPACE, rid.as_str()).await };
            return Box::pin(
                claim
                    .into_actor(self)
                    .map(move |claim, this, ctx| this.claimed(signal, claim, ctx)),
            );
        }
        let lookup = async move { cluster.lookup(NAMESPACE, rid.as_str()).await };
        Box::pin(lookup.into_actor(self).map(move |home, this, ctx| {
            let Some(signal) = this.route_known(signal, ctx) else { return };
            match home {
                Ok(Some(home)) if home != this.node => this.forward(&home, signal, ctx),
                // Nowhere (or a name of this node whose room just closed): the rules answer.
                Ok(_) => this.apply(&signal, ctx),
                Err(_) => this.refuse(&signal, Refusal::Unavailable, ctx),
            }
        }))
    }

    fn claimed(
        &mut self,
        signal: Signal,
        claim: Result<u64, ClusterError>,
        ctx: &mut Context<Self>,
    ) {
        let seq = match claim {
            Ok(seq) => seq,
            Err(ClusterError::Taken) => return self.refuse(&signal, Refusal::RoomExists, ctx),
            Err(ClusterError::Unavailable) => {
                return self.refuse(&signal, Refusal::Unavailable, ctx);
            }
        };
        // Each claim replaces this node's previous one of the name in Redis.
        self.claims.insert(signal.rid.clone(), seq);
        if !self.links.contains_key(&signal.from) && !self.rooms.contains(&signal.rid) {
            // The session left while Redis answered: no room for it.
            self.release(&signal.rid, ctx);
            return;
        }
        if let Some(signal) = self.route_known(signal, ctx) {
            self.apply(&signal, ctx);
        }
    }
}

impl Actor for SignalRoomsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
    }
}

impl Handler<Apply> for SignalRoomsActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: Apply, ctx: &mut Context<Self>) -> Self::Result {
        let Apply { signal, link } = msg;
        match self.links.get_mut(&signal.from) {
            // The usual case: the same socket again; its session info is copied only if changed.
            Some(local) if local.link.conn() == link.conn() => {
                if local.ss.get() != signal.ss.get() {
                    local.ss = signal.ss.clone();
                }
            }
            _ => {
                let local = Local { link, ss: signal.ss.clone() };
                self.links.insert(signal.from.clone(), local);
            }
        }
        self.route(signal, ctx)
    }
}

impl Handler<Gone> for SignalRoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Gone, ctx: &mut Context<Self>) {
        if self.links.get(&msg.peer).is_some_and(|l| l.link.conn() != msg.conn) {
            return;
        }
        self.links.remove(&msg.peer);
        let out = self.rooms.disconnect(&msg.peer);
        self.deliver(out, ctx);
        for home in self.away.drop_peer(&msg.peer) {
            self.send(&home, &SignalWire::Gone { peer: msg.peer.clone() });
        }
    }
}
