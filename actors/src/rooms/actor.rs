//! `RoomsActor`: the node's owner of the rooms homed on it and of the links of its `rooms`
//! sockets.
//!
//! Started once per node by [`crate::node::Core::start`]. Its sockets come, ask and go
//! through its door ([`super::inbound`]); the bridge and the cluster's membership reach it as
//! actix messages.
//!
//! In a cluster every room has one home, the node of its creator (who owns it; an owner's
//! departure closes the room, so the owner never lives elsewhere). Room names are claimed in
//! Redis, so `room-create` of a room homed on any node gets `room-exists`. A socket's command
//! for a room homed elsewhere is forwarded to the home ([`RoomWire::Command`]), which applies
//! the rules once and sends each member's events to that member's node
//! ([`RoomWire::Deliver`]). Each node remembers which rooms elsewhere its own sockets are in,
//! from the events it delivers to them, so a disconnect ([`RoomWire::Gone`]) and a dead home
//! (every such room closes: its owner died with it) are handled without asking anyone.

use std::collections::{HashMap, VecDeque};

use actix::{Actor, ActorFutureExt, AsyncContext, Context, ResponseActFuture, WrapFuture};

use super::{
    state::{Out, Rooms},
    wire::RoomWire,
    Map, RoomCommand, RoomEvent, Set,
};
use crate::{
    cluster::{Cluster, ClusterError, Topic},
    credit::Credit,
    error::ErrorKind,
    event::Event,
    ids::{NodeId, RoomId, SocketId},
    link::ClientLink,
};

/// The namespace of room names among the cluster's claims.
pub(super) const NAMESPACE: &str = "rooms";

/// The node's rooms. See the module docs.
#[derive(Debug)]
pub struct RoomsActor {
    pub(super) node: NodeId,
    pub(super) cluster: Option<Cluster>,
    /// Rooms homed here.
    pub(super) rooms: Rooms,
    /// This node's claim of each room homed here.
    pub(super) claims: Map<RoomId, u64>,
    /// Sockets of this node.
    pub(super) links: Map<SocketId, ClientLink>,
    /// Members of rooms homed here that are sockets of other nodes.
    pub(super) remote_members: Map<SocketId, NodeId>,
    /// Rooms homed elsewhere that sockets of this node are in, and their homes.
    pub(super) away: Map<SocketId, Map<RoomId, NodeId>>,
    pub(super) peers: Set<NodeId>,
    /// Sockets with a command waiting for Redis, and their commands that came after it.
    busy: Map<SocketId, VecDeque<(RoomCommand, Credit)>>,
}

/// What a command still waits for, if anything (a Redis claim or lookup).
type Reply = Option<ResponseActFuture<RoomsActor, ()>>;

fn done() -> Reply {
    None
}

impl RoomsActor {
    /// The rooms of node `node`; clustered when `cluster` is given.
    pub fn new(node: NodeId, cluster: Option<Cluster>) -> Self {
        Self {
            node,
            cluster,
            rooms: Rooms::default(),
            claims: Map::default(),
            links: Map::default(),
            remote_members: Map::default(),
            away: Map::default(),
            peers: Set::default(),
            busy: Map::default(),
        }
    }

    /// Pushes each event to its socket: a local link, or a batch per member node. If rooms
    /// closed, their names are released first (the actor waits), so whoever hears that a room
    /// closed can create it again at once, on any node.
    pub(super) fn deliver(&mut self, out: Vec<Out>, ctx: &mut Context<Self>) {
        let closed: Vec<(RoomId, u64)> = self
            .rooms
            .take_closed()
            .into_iter()
            .filter_map(|room| self.claims.remove(&room).map(|seq| (room, seq)))
            .collect();
        let Some(cluster) = self.cluster.clone().filter(|_| !closed.is_empty()) else {
            self.deliver_now(out);
            return;
        };
        let release = async move {
            for (room, seq) in closed {
                cluster.release_or_retry(NAMESPACE, room.as_str(), seq).await;
            }
        };
        ctx.wait(release.into_actor(self).map(move |(), this, _| this.deliver_now(out)));
    }

    fn deliver_now(&mut self, out: Vec<Out>) {
        let mut batches: HashMap<NodeId, Vec<(SocketId, RoomEvent)>> = HashMap::new();
        let mut remote = Vec::new();
        for (to, event) in out {
            if self.links.contains_key(&to) {
                self.push_local(&to, event);
            } else if let Some(node) = self.remote_members.get(&to) {
                remote.push(to.clone());
                batches.entry(node.clone()).or_default().push((to, event));
            }
        }
        for (node, events) in batches {
            self.send(&node, &RoomWire::Deliver { events });
        }
        // Whoever left its last room here was told so in `out` (only a disconnect is
        // silent, and its handlers forget the socket themselves).
        for socket in remote {
            self.forget_if_departed(&socket);
        }
    }

    /// Pushes `event` to local socket `to`, noting rooms elsewhere it joins or leaves.
    pub(super) fn push_local(&mut self, to: &SocketId, event: RoomEvent) {
        let Some(link) = self.links.get(to) else { return };
        // A full queue closes that socket; nobody else is affected.
        let _ = link.push(Event::Room(event));
    }

    /// Drops remote member `socket` if it is in no room here any more. Checked per socket an
    /// event went to, never by scanning every remote member: that scan made each join cost
    /// O(remote members), and a 19,000-client storm across two nodes spent a third of its
    /// server CPU in it.
    pub(super) fn forget_if_departed(&mut self, socket: &SocketId) {
        if !self.rooms.has_socket(socket) {
            self.remote_members.remove(socket);
        }
    }

    /// Sends `wire` to node `to`; false if it could not be queued.
    pub(super) fn send(&self, to: &NodeId, wire: &RoomWire) -> bool {
        let Some(cluster) = &self.cluster else { return false };
        match cluster.send(to, Topic::Rooms, wire) {
            Ok(()) => true,
            Err(e) => {
                log::debug!("node {}: rooms message to {to} not sent: {e}", self.node);
                false
            }
        }
    }

    /// Applies `command` of `socket` to a room homed here.
    pub(super) fn apply(
        &mut self,
        socket: &SocketId,
        command: RoomCommand,
        ctx: &mut Context<Self>,
    ) {
        let out = match command {
            RoomCommand::Create(room) => self.rooms.create(socket, room),
            RoomCommand::Join(room) => self.rooms.join(socket, room),
            RoomCommand::Leave(room) => self.rooms.leave(socket, room),
            RoomCommand::Signal { room, target, data } => {
                // A relay closes no room and moves nobody: straight to its one recipient.
                let (to, event) = self.rooms.signal(socket, room, target, data);
                if self.links.contains_key(&to) {
                    self.push_local(&to, event);
                } else if let Some(node) = self.remote_members.get(&to) {
                    let events = vec![(to, event)];
                    self.send(&node.clone(), &RoomWire::Deliver { events });
                }
                return;
            }
        };
        self.deliver(out, ctx);
    }

    fn tell(&mut self, socket: &SocketId, event: RoomEvent) {
        self.push_local(socket, event);
    }

    fn unavailable(&mut self, socket: &SocketId) {
        self.tell(socket, RoomEvent::Refused(ErrorKind::Unavailable));
    }

    /// The home of room `room` as far as this node knows without asking: here, or where a
    /// local socket's membership says.
    fn known_home(&self, socket: &SocketId, room: &RoomId) -> Option<NodeId> {
        if self.rooms.get(room).is_some() {
            return Some(self.node.clone());
        }
        self.away.get(socket).and_then(|rooms| rooms.get(room)).cloned()
    }

    /// Forwards `command` of local `socket` to `home`.
    fn forward(&mut self, home: &NodeId, socket: &SocketId, command: RoomCommand) {
        let wire = RoomWire::Command { socket: socket.clone(), command };
        if !self.send(home, &wire) {
            self.unavailable(socket);
        }
    }

    fn create(&mut self, socket: SocketId, room: RoomId, ctx: &mut Context<Self>) -> Reply {
        if self.rooms.get(&room).is_some() {
            self.tell(&socket, RoomEvent::Exists(room));
            return done();
        }
        let Some(cluster) = self.cluster.clone() else {
            self.apply(&socket, RoomCommand::Create(room), ctx);
            return done();
        };
        let name = room.clone();
        let claim = async move { cluster.claim(NAMESPACE, name.as_str()).await };
        Some(Box::pin(claim.into_actor(self).map(move |claim, this, ctx| match claim {
            Ok(seq) if !this.links.contains_key(&socket) => {
                // The socket left while Redis answered: no room for a departed owner.
                this.claims.insert(room.clone(), seq);
                this.rooms.mark_closed(room);
                this.deliver(Vec::new(), ctx);
            }
            Ok(seq) if this.rooms.get(&room).is_none() => {
                this.claims.insert(room.clone(), seq);
                this.apply(&socket, RoomCommand::Create(room), ctx);
            }
            Ok(_) | Err(ClusterError::Taken) => this.tell(&socket, RoomEvent::Exists(room)),
            Err(ClusterError::Unavailable) => this.unavailable(&socket),
        })))
    }

    fn join(&mut self, socket: SocketId, room: RoomId, ctx: &mut Context<Self>) -> Reply {
        if let Some(home) = self.known_home(&socket, &room) {
            if home == self.node {
                self.apply(&socket, RoomCommand::Join(room), ctx);
            } else {
                self.forward(&home, &socket, RoomCommand::Join(room));
            }
            return done();
        }
        let Some(cluster) = self.cluster.clone() else {
            self.tell(&socket, RoomEvent::NotExists(room));
            return done();
        };
        let name = room.clone();
        let lookup = async move { cluster.lookup(NAMESPACE, name.as_str()).await };
        Some(Box::pin(lookup.into_actor(self).map(move |home, this, ctx| match home {
            // The socket left while Redis answered: nothing to join for it.
            _ if !this.links.contains_key(&socket) => {}
            Ok(Some(home)) if home != this.node => {
                // Routed there from now on, so a signal right after the join follows it; the
                // home's answer confirms (room-joined) or undoes (room-not-exists) it.
                let rooms = this.away.entry(socket.clone()).or_default();
                rooms.insert(room.clone(), home.clone());
                this.forward(&home, &socket, RoomCommand::Join(room));
            }
            // Claimed by this node but gone (closed meanwhile), or nowhere.
            Ok(_) => this.apply(&socket, RoomCommand::Join(room), ctx),
            Err(_) => this.unavailable(&socket),
        })))
    }

    /// Leave or signal: only for a room the socket is in, so its home is known.
    fn in_room(
        &mut self,
        socket: SocketId,
        room: RoomId,
        command: RoomCommand,
        ctx: &mut Context<Self>,
    ) -> Reply {
        if self.rooms.get(&room).is_some() {
            self.apply(&socket, command, ctx);
            return done();
        }
        match self.known_home(&socket, &room) {
            Some(home) if home == self.node => self.apply(&socket, command, ctx),
            Some(home) => self.forward(&home, &socket, command),
            None => self.tell(&socket, RoomEvent::NotInRoom(room)),
        }
        done()
    }
}

impl Actor for RoomsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
    }
}

impl RoomsActor {
    /// Socket `id` connected; it is reached through `link`.
    pub(super) fn attach(&mut self, id: SocketId, link: ClientLink) {
        self.links.insert(id, link);
    }

    /// Socket `id` is gone: it leaves every room it was in, here and elsewhere.
    pub(super) fn detach(&mut self, id: SocketId, ctx: &mut Context<Self>) {
        self.links.remove(&id);
        // Commands still queued behind a Redis answer die with the socket.
        self.busy.remove(&id);
        let out = self.rooms.disconnect(&id);
        self.deliver(out, ctx);
        let Some(away) = self.away.remove(&id) else { return };
        let mut by_home: HashMap<NodeId, Vec<RoomId>> = HashMap::new();
        for (room, home) in away {
            by_home.entry(home).or_default().push(room);
        }
        for (home, rooms) in by_home {
            self.send(&home, &RoomWire::Gone { socket: id.clone(), rooms });
        }
    }

    /// Socket `id` asks `command`: applied in the socket's order, after any of its commands
    /// still waiting for Redis.
    pub(super) fn request(
        &mut self,
        id: SocketId,
        command: RoomCommand,
        credit: Credit,
        ctx: &mut Context<Self>,
    ) {
        match self.busy.get_mut(&id) {
            Some(queue) => queue.push_back((command, credit)),
            None => self.run(id, command, ctx),
        }
    }
}

impl RoomsActor {
    /// Applies or forwards `command` of `id`; one that waits for Redis marks the socket busy
    /// until it is done, then its queued commands run.
    fn run(&mut self, id: SocketId, command: RoomCommand, ctx: &mut Context<Self>) {
        if let Some(pending) = self.dispatch(id.clone(), command, ctx) {
            self.busy.entry(id.clone()).or_default();
            ctx.spawn(pending.map(move |(), this, ctx| this.resume(id, ctx)));
        }
    }

    /// Runs `id`'s queued commands until one waits again or none is left.
    fn resume(&mut self, id: SocketId, ctx: &mut Context<Self>) {
        while let Some(queue) = self.busy.get_mut(&id) {
            let Some((command, _credit)) = queue.pop_front() else {
                self.busy.remove(&id);
                return;
            };
            if let Some(pending) = self.dispatch(id.clone(), command, ctx) {
                ctx.spawn(pending.map(move |(), this, ctx| this.resume(id, ctx)));
                return;
            }
        }
    }

    fn dispatch(&mut self, id: SocketId, command: RoomCommand, ctx: &mut Context<Self>) -> Reply {
        match command {
            RoomCommand::Create(room) => self.create(id, room, ctx),
            RoomCommand::Join(room) => self.join(id, room, ctx),
            RoomCommand::Leave(ref room) => {
                let room = room.clone();
                self.in_room(id, room, command, ctx)
            }
            RoomCommand::Signal { ref room, .. } => {
                let room = room.clone();
                self.in_room(id, room, command, ctx)
            }
        }
    }
}
