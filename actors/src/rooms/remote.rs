//! The rooms owner's side of the cluster: frames from other nodes ([`RoomWire`]) and changes in
//! the set of live peers ([`Membership`]).

use actix::{ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};

use super::{actor::RoomsActor, wire::RoomWire, RoomEvent};
use crate::{
    cluster::{Inbox, Membership},
    ids::{NodeId, RoomId, SocketId},
};

impl RoomsActor {
    fn on_wire(&mut self, origin: NodeId, wire: RoomWire, ctx: &mut Context<Self>) {
        match wire {
            RoomWire::Command { socket, command } => {
                self.remote_members.insert(socket.clone(), origin);
                self.apply(&socket, command, ctx);
            }
            RoomWire::Deliver { events } => {
                for (socket, event) in events {
                    // A socket that left meanwhile gets nothing, and no membership to leak.
                    if self.links.contains_key(&socket) {
                        self.note_away(&socket, &event, &origin);
                        self.push_local(&socket, event);
                    }
                }
            }
            RoomWire::Gone { socket, rooms } => {
                let mut out = Vec::new();
                for room in rooms {
                    if self.rooms.is_member(&socket, &room) {
                        out.extend(self.rooms.leave(&socket, room).into_iter().skip(1));
                    }
                }
                self.deliver(out, ctx);
            }
        }
    }

    /// Keeps track of the rooms homed on `home` that local `socket` is in.
    fn note_away(&mut self, socket: &SocketId, event: &RoomEvent, home: &NodeId) {
        match event {
            RoomEvent::Joined { room, .. } => {
                self.away.entry(socket.clone()).or_default().insert(room.clone(), home.clone());
            }
            RoomEvent::Left { room, .. } | RoomEvent::NotExists(room) => {
                if let Some(rooms) = self.away.get_mut(socket) {
                    rooms.remove(room);
                    if rooms.is_empty() {
                        self.away.remove(socket);
                    }
                }
            }
            _ => {}
        }
    }

    /// Claims the names of the rooms homed here again (Redis lost them, or peers swept this
    /// node); a room whose name another node took meanwhile is closed, as if its owner left.
    fn reclaim(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = self.cluster.clone() else { return };
        let rooms: Vec<RoomId> = self.rooms.names().cloned().collect();
        let claims = async move {
            let mut results = Vec::with_capacity(rooms.len());
            for room in rooms {
                let claim = cluster.claim(super::actor::NAMESPACE, room.as_str()).await;
                results.push((room, claim));
            }
            results
        };
        ctx.spawn(claims.into_actor(self).map(|results, this, ctx| {
            let mut retry = false;
            for (room, claim) in results {
                match claim {
                    Ok(seq) => {
                        this.claims.insert(room, seq);
                    }
                    Err(crate::cluster::ClusterError::Taken) => {
                        log::warn!(
                            "node {}: room {room} was claimed elsewhere; closing",
                            this.node
                        );
                        this.claims.remove(&room);
                        if let Some(owner) = this.rooms.get(&room).map(|r| r.owner.clone()) {
                            let out = this.rooms.leave(&owner, room);
                            this.deliver(out, ctx);
                        }
                    }
                    Err(crate::cluster::ClusterError::Unavailable) => retry = true,
                }
            }
            if retry {
                ctx.run_later(std::time::Duration::from_secs(1), |this, ctx| this.reclaim(ctx));
                return;
            }
            log::info!("node {}: re-registered {} rooms", this.node, this.claims.len());
        }));
    }

    /// Node `node` is gone: its sockets leave the rooms homed here, and the rooms homed there
    /// are closed for the sockets here (their owner died with the node).
    fn node_down(&mut self, node: &NodeId, ctx: &mut Context<Self>) {
        self.peers.remove(node);
        let departed: Vec<SocketId> = self
            .remote_members
            .iter()
            .filter(|(_, at)| *at == node)
            .map(|(socket, _)| socket.clone())
            .collect();
        let mut out = Vec::new();
        for socket in departed {
            out.extend(self.rooms.disconnect(&socket));
        }
        self.deliver(out, ctx);
        let mut closed: Vec<(SocketId, RoomId)> = Vec::new();
        for (socket, rooms) in &self.away {
            closed.extend(
                rooms
                    .iter()
                    .filter(|(_, home)| *home == node)
                    .map(|(room, _)| (socket.clone(), room.clone())),
            );
        }
        for (socket, room) in closed {
            let event = RoomEvent::Left { room, kicked: true };
            self.note_away(&socket, &event, node);
            self.push_local(&socket, event);
        }
    }
}

impl Handler<Inbox> for RoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Inbox, ctx: &mut Context<Self>) {
        match serde_json::from_slice::<RoomWire>(&msg.body) {
            Ok(wire) => self.on_wire(msg.origin, wire, ctx),
            Err(e) => log::warn!("node {}: bad rooms frame from {}: {e}", self.node, msg.origin),
        }
    }
}

impl Handler<Membership> for RoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Membership, ctx: &mut Context<Self>) {
        match msg {
            Membership::Up(node) => {
                self.peers.insert(node);
            }
            Membership::Down(node) => self.node_down(&node, ctx),
            Membership::Reclaim => self.reclaim(ctx),
            Membership::Resync => {}
        }
    }
}
