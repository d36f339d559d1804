//! The rules of one `rooms` room, as a pure state machine the room engine drives: every
//! command pushes the events it causes, each addressed to a socket, in the order they are sent.

use super::{RoomCommand, RoomEvent};
use crate::{
    cluster::Topic,
    engine::{Absent, Out, Rules},
    error::ErrorKind,
    event::Event,
    ids::{RoomId, SocketId},
};

/// One room: its members in join order, the first its owner (the creator, whose departure
/// closes it). Kept exactly as long as a small room needs: a node may hold 100,000 rooms.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Room {
    members: Vec<SocketId>,
}

impl Room {
    /// The owner, while the room is open.
    pub fn owner(&self) -> Option<&SocketId> {
        self.members.first()
    }

    /// The members in join order.
    pub fn members(&self) -> &[SocketId] {
        &self.members
    }

    fn create(&mut self, who: &SocketId, room: RoomId, out: &mut Out<Self>) {
        if !self.members.is_empty() {
            return out.push((who.clone(), RoomEvent::Exists(room)));
        }
        self.members = vec![who.clone()];
        out.push((who.clone(), RoomEvent::Created(room)));
    }

    /// Joining a room one is already in answers `room-joined` again and tells nobody (the
    /// reference would have listed the socket twice).
    fn join(&mut self, who: &SocketId, room: RoomId, out: &mut Out<Self>) {
        let Some(owner) = self.owner().cloned() else {
            return out.push((who.clone(), RoomEvent::NotExists(room)));
        };
        let before: Vec<SocketId> = self.members.iter().filter(|m| *m != who).cloned().collect();
        let again = before.len() < self.members.len();
        let joined = RoomEvent::Joined { room: room.clone(), owner, clients: before.clone() };
        out.push((who.clone(), joined));
        if again {
            return;
        }
        if self.members.len() < 8 {
            self.members.reserve_exact(1);
        }
        self.members.push(who.clone());
        let told =
            |m: SocketId| (m, RoomEvent::ClientJoined { room: room.clone(), id: who.clone() });
        out.extend(before.into_iter().map(told));
    }

    fn leave(&mut self, who: &SocketId, room: RoomId, out: &mut Out<Self>) {
        if !self.members.contains(who) {
            return out.push((who.clone(), RoomEvent::NotInRoom(room)));
        }
        out.push((who.clone(), RoomEvent::Left { room: room.clone(), kicked: false }));
        self.remove(who, &room, out);
    }

    /// Takes `who` (a member) out: the owner closes the room, anyone else is announced.
    fn remove(&mut self, who: &SocketId, room: &RoomId, out: &mut Out<Self>) {
        let owner = self.owner() == Some(who);
        self.members.retain(|m| m != who);
        if !owner {
            let left = |m: &SocketId| {
                (m.clone(), RoomEvent::ClientLeft { room: room.clone(), id: who.clone() })
            };
            return out.extend(self.members.iter().map(left));
        }
        for member in std::mem::take(&mut self.members) {
            out.push((member, RoomEvent::Left { room: room.clone(), kicked: true }));
        }
    }
}

impl Rules for Room {
    type Member = SocketId;
    type Command = RoomCommand;
    type Event = RoomEvent;
    type Config = ();
    type Memo = ();
    type Survivor = ();
    type Effect = std::convert::Infallible;
    type Outcome = std::convert::Infallible;

    const NAMESPACE: &'static str = "rooms";
    const TOPIC: Topic = Topic::Rooms;
    /// The owner's departure closes a room, and the owner lives on the room's home.
    const OUTLIVES_HOME: bool = false;

    fn new((): &()) -> Self {
        Self::default()
    }

    fn room(command: &RoomCommand) -> &RoomId {
        match command {
            RoomCommand::Create(room) | RoomCommand::Join(room) | RoomCommand::Leave(room) => room,
            RoomCommand::Signal { room, .. } => room,
        }
    }

    fn creates(command: &RoomCommand) -> bool {
        matches!(command, RoomCommand::Create(_))
    }

    fn apply(&mut self, _: &RoomId, who: &SocketId, command: RoomCommand, out: &mut Out<Self>) {
        match command {
            RoomCommand::Create(room) => self.create(who, room, out),
            RoomCommand::Join(room) => self.join(who, room, out),
            RoomCommand::Leave(room) => self.leave(who, room, out),
            RoomCommand::Signal { room, target, data } => {
                let event = if !self.members.contains(who) {
                    RoomEvent::NotInRoom(room)
                } else if !self.members.contains(&target) {
                    RoomEvent::TargetNotFound { room, target }
                } else {
                    // Exactly once, to its one recipient.
                    return out
                        .push((target, RoomEvent::Signal { room, sender: who.clone(), data }));
                };
                out.push((who.clone(), event));
            }
        }
    }

    fn depart(&mut self, room: &RoomId, who: &SocketId, out: &mut Out<Self>) {
        if self.members.contains(who) {
            self.remove(who, room, out);
        }
    }

    /// The name is another node's now: as if the owner had left.
    fn evict(&mut self, room: &RoomId, out: &mut Out<Self>) {
        if let Some(owner) = self.owner().cloned() {
            self.leave(&owner, room.clone(), out);
        }
    }

    /// Everyone is told `room-left(room, true)`, as when the owner leaves.
    fn close(&mut self, room: &RoomId, out: &mut Out<Self>) {
        for member in std::mem::take(&mut self.members) {
            out.push((member, RoomEvent::Left { room: room.clone(), kicked: true }));
        }
    }

    fn has(&self, member: &SocketId) -> bool {
        self.members.contains(member)
    }

    fn is_over(&self) -> bool {
        self.members.is_empty()
    }

    fn refuse(room: &RoomId, _: &SocketId, command: RoomCommand, why: Absent) -> RoomEvent {
        match (why, command) {
            (Absent::Unavailable, _) => RoomEvent::Refused(ErrorKind::Unavailable),
            (Absent::Limited, _) => RoomEvent::Refused(ErrorKind::LimitReached),
            (Absent::Taken | Absent::NoRoom, RoomCommand::Create(_)) => {
                RoomEvent::Exists(room.clone())
            }
            (_, RoomCommand::Join(_)) => RoomEvent::NotExists(room.clone()),
            (_, RoomCommand::Leave(_) | RoomCommand::Signal { .. }) => {
                RoomEvent::NotInRoom(room.clone())
            }
        }
    }

    /// The owner died with its node: the room is closed for everyone.
    fn home_lost(room: &RoomId) -> Option<RoomEvent> {
        Some(RoomEvent::Left { room: room.clone(), kicked: true })
    }

    fn wrap(event: RoomEvent) -> Event {
        Event::Room(event)
    }

    fn remember((): &mut (), _: &RoomEvent) {}

    fn remember_own((): &mut (), _: &RoomCommand) {}

    fn recall((): &mut (), (): &()) {}

    fn survivor((): &(), _: &SocketId) -> Option<()> {
        None
    }

    fn give_up(&mut self, _: &mut Out<Self>) -> Vec<(SocketId, ())> {
        Vec::new()
    }

    fn perform(_: &(), _: &RoomId, effect: Self::Effect) -> crate::engine::Pending<Self> {
        match effect {}
    }

    fn resume(&mut self, _: &RoomId, outcome: Self::Outcome, _: &mut Out<Self>) {
        match outcome {}
    }

    fn adopt(&mut self, _: &RoomId, _: Vec<(SocketId, ())>, _: &mut Out<Self>) {}
}

#[cfg(test)]
mod tests;
