//! A toy room dialect for the engine's own tests: members join and say things. `OUTLIVES`
//! decides whether its rooms outlive their home (the `signals` way) or end with it (`rooms`).

use serde::{Deserialize, Serialize};

use crate::{
    cluster::Topic,
    engine::{Absent, Out, Rules},
    event::Event,
    ids::{RoomId, SocketId},
};

/// What a toy member asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Ask {
    /// Create the room.
    Open(RoomId),
    /// Join it.
    Join(RoomId),
    /// Say something to everyone in it.
    Say(RoomId, String),
}

/// One toy room: its members in join order.
#[derive(Debug, Default)]
pub(super) struct Chat<const OUTLIVES: bool> {
    members: Vec<SocketId>,
    opened: bool,
}

impl<const OUTLIVES: bool> Chat<OUTLIVES> {
    fn list(&self) -> String {
        let names: Vec<&str> = self.members.iter().map(SocketId::as_str).collect();
        names.join(",")
    }

    fn tell_all(&self, out: &mut Out<Self>, what: &str) {
        out.extend(self.members.iter().map(|m| (m.clone(), what.to_owned())));
    }
}

impl<const OUTLIVES: bool> Rules for Chat<OUTLIVES> {
    type Member = SocketId;
    type Command = Ask;
    type Event = String;
    type Config = ();
    type Memo = bool;
    type Survivor = ();
    type Effect = std::convert::Infallible;
    type Outcome = std::convert::Infallible;

    const NAMESPACE: &'static str = "chat";
    const TOPIC: Topic = Topic::Rooms;
    const OUTLIVES_HOME: bool = OUTLIVES;

    fn new((): &()) -> Self {
        Self::default()
    }

    fn room(ask: &Ask) -> &RoomId {
        match ask {
            Ask::Open(room) | Ask::Join(room) | Ask::Say(room, _) => room,
        }
    }

    fn creates(ask: &Ask) -> bool {
        matches!(ask, Ask::Open(_))
    }

    fn apply(&mut self, room: &RoomId, who: &SocketId, ask: Ask, out: &mut Out<Self>) {
        match ask {
            Ask::Open(_) if self.opened => out.push((who.clone(), format!("exists {room}"))),
            Ask::Open(_) | Ask::Join(_) if !self.members.contains(who) => {
                self.opened = true;
                self.tell_all(out, &format!("entered {room} {who}"));
                self.members.push(who.clone());
                out.push((who.clone(), format!("joined {room} {}", self.list())));
            }
            Ask::Open(_) | Ask::Join(_) => {}
            Ask::Say(_, text) if self.members.contains(who) => {
                let said = format!("said {room} {who} {text}");
                out.extend(
                    self.members.iter().filter(|m| *m != who).map(|m| (m.clone(), said.clone())),
                );
            }
            Ask::Say(..) => out.push((who.clone(), format!("outsider {room}"))),
        }
    }

    fn depart(&mut self, room: &RoomId, who: &SocketId, out: &mut Out<Self>) {
        self.members.retain(|m| m != who);
        self.tell_all(out, &format!("left {room} {who}"));
    }

    fn evict(&mut self, room: &RoomId, out: &mut Out<Self>) {
        self.tell_all(out, &format!("closed {room}"));
        self.members.clear();
    }

    fn close(&mut self, room: &RoomId, out: &mut Out<Self>) {
        self.evict(room, out);
    }

    fn has(&self, member: &SocketId) -> bool {
        self.members.contains(member)
    }

    fn is_over(&self) -> bool {
        self.opened && self.members.is_empty()
    }

    fn refuse(room: &RoomId, _: &SocketId, _: Ask, why: Absent) -> String {
        format!("refused {room} {why:?}")
    }

    fn home_lost(room: &RoomId) -> Option<String> {
        Some(format!("lost {room}"))
    }

    fn wrap(event: String) -> Event {
        Event::Test(event)
    }

    fn remember(joined: &mut bool, event: &String) {
        *joined |= event.starts_with("joined ");
    }

    fn remember_own(_: &mut bool, _: &Ask) {}

    fn recall(joined: &mut bool, (): &()) {
        *joined = true;
    }

    fn survivor(joined: &bool, _: &SocketId) -> Option<()> {
        joined.then_some(())
    }

    fn give_up(&mut self, _: &mut Out<Self>) -> Vec<(SocketId, ())> {
        std::mem::take(&mut self.members).into_iter().map(|m| (m, ())).collect()
    }

    fn perform(_: &(), _: &RoomId, effect: Self::Effect) -> crate::engine::Pending<Self> {
        match effect {}
    }

    fn resume(&mut self, _: &RoomId, outcome: Self::Outcome, _: &mut Out<Self>) {
        match outcome {}
    }

    fn adopt(&mut self, room: &RoomId, survivors: Vec<(SocketId, ())>, out: &mut Out<Self>) {
        self.opened = true;
        for (member, ()) in survivors {
            if !self.members.contains(&member) {
                self.members.push(member);
            }
        }
        let mut sorted: Vec<&str> = self.members.iter().map(SocketId::as_str).collect();
        sorted.sort_unstable();
        self.tell_all(out, &format!("members {room} {}", sorted.join(",")));
    }
}
