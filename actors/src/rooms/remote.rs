//! The rooms owner's side of the cluster: frames from other nodes ([`RoomWire`]) and changes in
//! the set of live peers ([`Membership`]).

use actix::{ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};

use super::{actor::RoomsActor, wire::RoomWire, RoomCommand, RoomEvent};
use crate::{
    cluster::{Inbox, Membership},
    ids::{NodeId, RoomId, SocketId},
};

impl RoomsActor {
    fn on_wire(&mut self, origin: NodeId, wire: RoomWire, ctx: &mut Context<Self>) {
        match wire {
            RoomWire::Command { socket, command } => {
                // Known while it is in a room here, and for the answer to this command. A
                // member's signal (the hot path) costs one lookup: it is known already.
                let stranger = !self.remote_members.contains_key(&socket);
                if stranger {
                    self.remote_members.insert(socket.clone(), origin);
                }
                let relay = matches!(command, RoomCommand::Signal { .. });
                self.apply(&socket, command, ctx);
                if relay && stranger {
                    // Answered at once; a stranger's signal leaves nothing behind.
                    self.forget_if_departed(&socket);
                }
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
                // Nothing is addressed to a socket that is gone.
                self.forget_if_departed(&socket);
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
            self.remote_members.remove(&socket);
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

#[cfg(test)]
mod tests {
    use actix::{Actor, Message};

    use super::*;
    use crate::{cluster::Membership, payload::Payload};

    /// How many sockets of other nodes the owner keeps an address for.
    struct RemoteCount;

    impl Message for RemoteCount {
        type Result = usize;
    }

    impl Handler<RemoteCount> for RoomsActor {
        type Result = usize;

        fn handle(&mut self, _: RemoteCount, _: &mut Context<Self>) -> usize {
            self.remote_members.len()
        }
    }

    fn from_there(wire: &RoomWire) -> Inbox {
        let body = serde_json::to_vec(wire).expect("a wire frame encodes");
        Inbox { origin: NodeId::new("there"), body: body.into() }
    }

    fn command(socket: &str, command: RoomCommand) -> Inbox {
        from_there(&RoomWire::Command { socket: SocketId::new(socket), command })
    }

    #[actix_rt::test]
    async fn remote_sockets_are_kept_exactly_while_they_are_in_a_room_here() {
        let rooms = RoomsActor::new(NodeId::new("here"), None).start();
        let r1 = || RoomId::new("r1");
        let count = || rooms.send(RemoteCount);
        rooms.send(command("a", RoomCommand::Create(r1()))).await.expect("handled");
        rooms.send(command("b", RoomCommand::Join(r1()))).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 2);

        // Strangers are answered and forgotten: a join of no room, a leave and a signal
        // where they are not members.
        rooms.send(command("c", RoomCommand::Join(RoomId::new("none")))).await.expect("handled");
        rooms.send(command("d", RoomCommand::Leave(r1()))).await.expect("handled");
        let data = Payload::string("hello");
        let signal = RoomCommand::Signal { room: r1(), target: SocketId::new("a"), data };
        rooms.send(command("e", signal)).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 2);

        // A member's signal keeps it; leaving its last room forgets it.
        let data = Payload::string("hello");
        let signal = RoomCommand::Signal { room: r1(), target: SocketId::new("a"), data };
        rooms.send(command("b", signal)).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 2);
        rooms.send(command("b", RoomCommand::Leave(r1()))).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 1);

        // A disconnect (no event goes to the socket) forgets it too.
        let gone = RoomWire::Gone { socket: SocketId::new("a"), rooms: vec![r1()] };
        rooms.send(from_there(&gone)).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 0);

        // So does the death of its node.
        rooms.send(command("f", RoomCommand::Create(RoomId::new("r2")))).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 1);
        rooms.send(Membership::Down(NodeId::new("there"))).await.expect("handled");
        assert_eq!(count().await.expect("counted"), 0);
    }
}
