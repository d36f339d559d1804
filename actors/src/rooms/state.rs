//! The rooms of one node, as pure state: every operation returns the events it causes, each
//! addressed to a socket, in the order they must be sent.

use super::{Map, RoomEvent, Set};
use crate::ids::{RoomId, SocketId};

/// One room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The creator; its departure closes the room.
    pub owner: SocketId,
    /// Members in join order (the owner first).
    pub members: Vec<SocketId>,
}

/// An event for one socket.
pub type Out = (SocketId, RoomEvent);

/// Every room and which rooms each socket is in.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: Map<RoomId, Room>,
    of_socket: Map<SocketId, Set<RoomId>>,
    closed: Vec<RoomId>,
}

impl Rooms {
    /// `room-create`.
    pub fn create(&mut self, who: &SocketId, room: RoomId) -> Vec<Out> {
        if self.rooms.contains_key(&room) {
            return vec![(who.clone(), RoomEvent::Exists(room))];
        }
        self.rooms.insert(room.clone(), Room { owner: who.clone(), members: vec![who.clone()] });
        self.of_socket.entry(who.clone()).or_default().insert(room.clone());
        vec![(who.clone(), RoomEvent::Created(room))]
    }

    /// `room-join`. Joining a room one is already in answers `room-joined` again and tells
    /// nobody (the reference would have listed the socket twice).
    pub fn join(&mut self, who: &SocketId, room: RoomId) -> Vec<Out> {
        let Some(r) = self.rooms.get_mut(&room) else {
            return vec![(who.clone(), RoomEvent::NotExists(room))];
        };
        let before: Vec<SocketId> = r.members.iter().filter(|m| *m != who).cloned().collect();
        let joined = RoomEvent::Joined {
            room: room.clone(),
            owner: r.owner.clone(),
            clients: before.clone(),
        };
        if r.members.contains(who) {
            return vec![(who.clone(), joined)];
        }
        r.members.push(who.clone());
        self.of_socket.entry(who.clone()).or_default().insert(room.clone());
        let mut out = vec![(who.clone(), joined)];
        out.extend(
            before
                .into_iter()
                .map(|m| (m, RoomEvent::ClientJoined { room: room.clone(), id: who.clone() })),
        );
        out
    }

    /// `room-leave`.
    pub fn leave(&mut self, who: &SocketId, room: RoomId) -> Vec<Out> {
        if !self.is_member(who, &room) {
            return vec![(who.clone(), RoomEvent::NotInRoom(room))];
        }
        let mut out = vec![(who.clone(), RoomEvent::Left { room: room.clone(), kicked: false })];
        out.extend(self.remove(who, &room));
        out
    }

    /// A socket is gone: the same cleanup as `room-leave` for each of its rooms, without
    /// telling the socket itself.
    pub fn disconnect(&mut self, who: &SocketId) -> Vec<Out> {
        let rooms: Vec<RoomId> =
            self.of_socket.get(who).map(|r| r.iter().cloned().collect()).unwrap_or_default();
        let mut out = Vec::new();
        for room in rooms {
            out.extend(self.remove(who, &room));
        }
        self.of_socket.remove(who);
        out
    }

    /// `signal-send`: the one event it causes (a relay needs no list).
    pub fn signal(
        &self,
        who: &SocketId,
        room: RoomId,
        target: SocketId,
        data: crate::payload::Payload,
    ) -> Out {
        let members = self.rooms.get(&room).map_or(&[][..], |r| &r.members[..]);
        if !members.contains(who) {
            return (who.clone(), RoomEvent::NotInRoom(room));
        }
        if !members.contains(&target) {
            return (who.clone(), RoomEvent::TargetNotFound { room, target });
        }
        (target, RoomEvent::Signal { room, sender: who.clone(), data })
    }

    /// Rooms closed since the last call (their owner left), so their names can be released.
    pub fn take_closed(&mut self) -> Vec<RoomId> {
        std::mem::take(&mut self.closed)
    }

    /// Records `room` as closed without it ever having existed here (its name was claimed for
    /// a creator that left before the claim landed), so its name is released.
    pub fn mark_closed(&mut self, room: RoomId) {
        self.closed.push(room);
    }

    /// Whether `who` is in any room here.
    pub fn has_socket(&self, who: &SocketId) -> bool {
        self.of_socket.get(who).is_some_and(|rooms| !rooms.is_empty())
    }

    /// Every room.
    pub fn names(&self) -> impl Iterator<Item = &RoomId> {
        self.rooms.keys()
    }

    /// Whether `who` is in `room`.
    pub fn is_member(&self, who: &SocketId, room: &RoomId) -> bool {
        self.rooms.get(room).is_some_and(|r| r.members.contains(who))
    }

    /// Room `room`, if it exists.
    pub fn get(&self, room: &RoomId) -> Option<&Room> {
        self.rooms.get(room)
    }

    /// Number of rooms.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Whether there are no rooms.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Takes `who` out of `room` (a member): the owner closes it, anyone else is announced.
    fn remove(&mut self, who: &SocketId, room: &RoomId) -> Vec<Out> {
        let Some(r) = self.rooms.get_mut(room) else { return Vec::new() };
        r.members.retain(|m| m != who);
        if let Some(rooms) = self.of_socket.get_mut(who) {
            rooms.remove(room);
            if rooms.is_empty() {
                self.of_socket.remove(who);
            }
        }
        if r.owner != *who {
            let left = |m: &SocketId| {
                (m.clone(), RoomEvent::ClientLeft { room: room.clone(), id: who.clone() })
            };
            return r.members.iter().map(left).collect();
        }
        let Some(closed) = self.rooms.remove(room) else { return Vec::new() };
        self.closed.push(room.clone());
        let mut out = Vec::new();
        for member in closed.members {
            if let Some(rooms) = self.of_socket.get_mut(&member) {
                rooms.remove(room);
                if rooms.is_empty() {
                    self.of_socket.remove(&member);
                }
            }
            out.push((member, RoomEvent::Left { room: room.clone(), kicked: true }));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Payload;

    fn s(id: &str) -> SocketId {
        SocketId::new(id)
    }

    fn r(id: &str) -> RoomId {
        RoomId::new(id)
    }

    fn show(out: &[Out]) -> Vec<String> {
        out.iter().map(|(to, e)| format!("{to}:{e:?}")).collect()
    }

    #[test]
    fn create_join_signal_leave() {
        let mut rooms = Rooms::default();
        assert_eq!(show(&rooms.create(&s("o"), r("x"))), ["o:Created(RoomId(\"x\"))"]);
        assert_eq!(show(&rooms.create(&s("a"), r("x"))), ["a:Exists(RoomId(\"x\"))"]);
        assert_eq!(show(&rooms.join(&s("a"), r("nope"))), ["a:NotExists(RoomId(\"nope\"))"]);
        let out = rooms.join(&s("a"), r("x"));
        assert!(matches!(&out[0].1, RoomEvent::Joined { owner, clients, .. }
            if *owner == s("o") && *clients == [s("o")]));
        assert_eq!(out[1].0, s("o"));
        let out = rooms.join(&s("b"), r("x"));
        assert!(
            matches!(&out[0].1, RoomEvent::Joined { clients, .. } if *clients == [s("o"), s("a")])
        );
        assert_eq!(out.len(), 3);
        // Signals reach the target once; outsiders and unknown targets are refused.
        let data = Payload::string("hi");
        let out = rooms.signal(&s("a"), r("x"), s("b"), data.clone());
        assert!(
            matches!(&out, (to, RoomEvent::Signal { sender, .. }) if *to == s("b") && *sender == s("a"))
        );
        let out = rooms.signal(&s("z"), r("x"), s("b"), data.clone());
        assert!(matches!(&out, (to, RoomEvent::NotInRoom(_)) if *to == s("z")));
        let out = rooms.signal(&s("a"), r("x"), s("z"), data.clone());
        assert!(matches!(&out, (to, RoomEvent::TargetNotFound { .. }) if *to == s("a")));
        let out = rooms.signal(&s("a"), r("nope"), s("b"), data);
        assert!(matches!(&out, (_, RoomEvent::NotInRoom(_))));
        // A member leaves: it hears room-left(false), the others client-left.
        let out = rooms.leave(&s("a"), r("x"));
        assert_eq!(out.len(), 3);
        assert!(matches!(&out[0].1, RoomEvent::Left { kicked: false, .. }));
        assert!(out[1..].iter().all(|(_, e)| matches!(e, RoomEvent::ClientLeft { .. })));
        assert!(matches!(&rooms.leave(&s("a"), r("x"))[..], [(_, RoomEvent::NotInRoom(_))]));
    }

    #[test]
    fn the_owner_leaving_or_disconnecting_closes_the_room() {
        let mut rooms = Rooms::default();
        rooms.create(&s("o"), r("x"));
        rooms.join(&s("a"), r("x"));
        rooms.create(&s("a"), r("y"));
        rooms.join(&s("o"), r("y"));
        // o disconnects: x closes (a kicked), y loses a member (a told client-left).
        let out = rooms.disconnect(&s("o"));
        let mut shown = show(&out);
        shown.sort();
        assert_eq!(
            shown,
            [
                "a:ClientLeft { room: RoomId(\"y\"), id: SocketId(\"o\") }",
                "a:Left { room: RoomId(\"x\"), kicked: true }",
            ]
        );
        assert!(rooms.get(&r("x")).is_none());
        assert!(rooms
            .create(&s("b"), r("x"))
            .iter()
            .all(|(_, e)| matches!(e, RoomEvent::Created(_))));
        // The owner leaving: it hears room-left(false), the others room-left(true) only.
        let out = rooms.leave(&s("a"), r("y"));
        assert_eq!(show(&out), ["a:Left { room: RoomId(\"y\"), kicked: false }"]);
        assert!(rooms.get(&r("y")).is_none());
        assert!(rooms.disconnect(&s("a")).is_empty());
    }

    #[test]
    fn joining_twice_lists_the_socket_once() {
        let mut rooms = Rooms::default();
        rooms.create(&s("o"), r("x"));
        rooms.join(&s("a"), r("x"));
        let out = rooms.join(&s("a"), r("x"));
        assert_eq!(out.len(), 1);
        assert_eq!(rooms.get(&r("x")).map(|r| r.members.len()), Some(2));
    }
}
