//! A room's side of moving between homes (for rules whose rooms outlive their home): survivors
//! of the previous home joining it ([`Adopt`]), giving the room up when another node holds its
//! name, and a member back on a new connection ([`Relink`]).

use actix::{Context, Handler, Message};

use super::{hooks::where_is, Origin, Phase, Place, RoomActor};
use crate::{
    engine::{shard::Input, wire::Wire, Out, Rules},
    ids::NodeId,
    link::ClientLink,
};

/// Survivors of the room's previous home join it (for rules whose rooms outlive their home).
///
/// Sender: the room's shard, for members of this node or another. Handler: `RoomActor`, which
/// hands them back to be placed afresh if the room is not open here. No reply.
#[derive(Message)]
#[rtype(result = "()")]
pub(in crate::engine) struct Adopt<R: Rules> {
    pub(in crate::engine) survivors: Vec<(R::Member, Origin, R::Survivor)>,
}

/// Member `member` of this node reconnected: it is reached through `link` now.
///
/// Sender: the member's shard. Handler: `RoomActor`. No reply.
#[derive(Message)]
#[rtype(result = "()")]
pub(in crate::engine) struct Relink<R: Rules> {
    pub(in crate::engine) member: R::Member,
    pub(in crate::engine) link: ClientLink,
}

impl<R: Rules> RoomActor<R> {
    /// Another node holds the name: the room moves there. Its members here are handed to the
    /// room's shard to rejoin it; the nodes of the others are told to find its home again.
    pub(super) fn give_up(&mut self, ctx: &mut Context<Self>) {
        let mut out = Out::<R>::new();
        let survivors = self.rules.give_up(&mut out);
        self.perform(out.into_parts().1, ctx);
        self.phase = Phase::Closed;
        self.vacate();
        let places: Vec<(R::Member, Place)> = std::mem::take(&mut self.members);
        let mut here = Vec::new();
        let mut nodes: Vec<NodeId> = Vec::new();
        for (member, survivor) in survivors {
            match places.iter().find(|(m, _)| *m == member).map(|(_, p)| p) {
                Some(Place::Here(link)) => {
                    here.push((member, Origin::Local(link.clone()), survivor));
                }
                Some(Place::There(node)) if !nodes.contains(node) => nodes.push(node.clone()),
                Some(Place::There(_)) | None => {}
            }
        }
        for node in &nodes {
            self.publish(node, &Wire::Moved { room: self.name.clone() });
        }
        if !here.is_empty() {
            let shard = self.engine.room_shard(&self.name);
            let rehome = Input::Rehome { room: self.name.clone(), survivors: here, claimed: true };
            self.engine.send(shard, rehome);
        }
    }
}

impl<R: Rules> Handler<Adopt<R>> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, msg: Adopt<R>, ctx: &mut Context<Self>) {
        if self.phase != Phase::Open {
            // Not open here (its name is elsewhere, or it is over): placed afresh. Members of
            // other nodes look for the room's home again themselves.
            let mut here = Vec::new();
            for (member, origin, survivor) in msg.survivors {
                match origin {
                    Origin::Local(_) => here.push((member, origin, survivor)),
                    Origin::Remote(node) => {
                        self.publish(&node, &Wire::Moved { room: self.name.clone() });
                    }
                }
            }
            if !here.is_empty() {
                let claimed = self.phase != Phase::Closed;
                let (shard, room) = (self.engine.room_shard(&self.name), self.name.clone());
                self.engine.send(shard, Input::Rehome { room, survivors: here, claimed });
            }
            return;
        }
        if let Some(announced) = &mut self.announced {
            announced.moved_in();
        }
        let mut survivors = Vec::with_capacity(msg.survivors.len());
        for (member, origin, survivor) in msg.survivors {
            self.track(&member, origin);
            survivors.push((member, survivor));
        }
        // Every survivor in the room is announced (the ledger knows them already), whether
        // or not the rules tell it anything.
        let adopted: Vec<R::Member> = match self.announced {
            Some(_) => survivors.iter().map(|(m, _)| m.clone()).collect(),
            None => Vec::new(),
        };
        let mut out = Out::<R>::new();
        self.rules.adopt(&self.name, survivors, &mut out);
        self.settle(out, None, ctx);
        if let Some(announced) = self.announced.as_mut().filter(|_| self.phase == Phase::Open) {
            for member in adopted.iter().filter(|m| self.rules.has(m)) {
                announced.present(
                    &self.name,
                    member,
                    where_is(&self.members, member, &self.engine),
                );
            }
        }
    }
}

impl<R: Rules> Handler<Relink<R>> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, msg: Relink<R>, _ctx: &mut Context<Self>) {
        if let Some((_, place)) = self.members.iter_mut().find(|(m, _)| *m == msg.member) {
            *place = Place::Here(msg.link);
        }
    }
}
