//! [`Seat`]: a connected member's handle on its dialect's engine, held by its connection; and
//! [`Reach`], where the member's rooms live, which the seat reads and its shard writes.
//!
//! A member's command for a room it is in goes from its connection's task straight to the
//! room's actor (or the room's home node): the relay path crosses no other actor. Anything else
//! (a room it is not in, or any command while an earlier one still waits to be routed) goes
//! through the member's shard, in order; once the shard has dispatched everything it was
//! given, commands go straight again.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex, MutexGuard,
};

use super::{
    handle::Engine,
    room::{Ask, Origin, RoomRef},
    shard::Input,
    wire::Wire,
    Absent, Map, Rules,
};
use crate::{
    credit::Credit,
    ids::{NodeId, RoomId},
    link::ClientLink,
};

/// Where a room a member is in lives.
#[derive(Debug)]
pub(super) enum Home<R: Rules> {
    /// On this node.
    Here(RoomRef<R>),
    /// On another node.
    There(NodeId),
    /// Moving to a new home, after its home died: commands are refused for now.
    Moving,
}

impl<R: Rules> Clone for Home<R> {
    fn clone(&self) -> Self {
        match self {
            Home::Here(addr) => Home::Here(addr.clone()),
            Home::There(node) => Home::There(node.clone()),
            Home::Moving => Home::Moving,
        }
    }
}

/// Where one member's rooms live. Written only by the member's shard; read by its seat.
pub(super) struct Reach<R: Rules> {
    rooms: Mutex<Map<RoomId, Home<R>>>,
    /// Commands the seat handed the shard that the shard has not dispatched yet.
    queued: AtomicUsize,
}

impl<R: Rules> Reach<R> {
    fn new() -> Self {
        Self { rooms: Mutex::new(Map::default()), queued: AtomicUsize::new(0) }
    }

    /// The member's rooms.
    pub(super) fn rooms(&self) -> MutexGuard<'_, Map<RoomId, Home<R>>> {
        // Nothing panics while holding the lock; a poisoned map is still a map.
        self.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The shard dispatched one command the seat handed it.
    pub(super) fn dispatched(&self) {
        self.queued.fetch_sub(1, Ordering::Release);
    }
}

/// Hands `command` of local `member` (reached through `link`) to the room's `home`. A command
/// that cannot reach a home on another node is refused as unavailable.
pub(super) fn dispatch<R: Rules>(
    engine: &Engine<R>,
    home: &Home<R>,
    member: R::Member,
    command: R::Command,
    link: &ClientLink,
    credit: Credit,
) {
    match home {
        Home::Here(addr) => {
            let origin = Origin::Local(link.clone());
            addr.do_send(Ask { member, command, origin, credit });
        }
        Home::There(node) => {
            let wire = Wire::<R>::Command { member, command };
            let sent = engine.cluster().is_some_and(|c| c.send(node, R::TOPIC, &wire).is_ok());
            if !sent {
                let Wire::Command { member, command } = wire else { return };
                let room = R::room(&command).clone();
                let _ = link.push(R::wrap(R::refuse(&room, &member, command, Absent::Unavailable)));
            }
        }
        Home::Moving => {
            let room = R::room(&command).clone();
            let _ = link.push(R::wrap(R::refuse(&room, &member, command, Absent::Unavailable)));
        }
    }
}

/// One member. See the module docs.
pub struct Seat<R: Rules> {
    engine: Engine<R>,
    member: R::Member,
    link: ClientLink,
    reach: Arc<Reach<R>>,
    shard: usize,
}

impl<R: Rules> std::fmt::Debug for Seat<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seat").field("member", &self.member).finish_non_exhaustive()
    }
}

impl<R: Rules> Seat<R> {
    pub(super) fn new(engine: Engine<R>, member: R::Member, link: ClientLink) -> Self {
        let shard = engine.member_shard(&member);
        let reach = Arc::new(Reach::new());
        let attach =
            Input::Attach { member: member.clone(), link: link.clone(), reach: reach.clone() };
        engine.send(shard, attach);
        Self { engine, member, link, reach, shard }
    }

    /// The member.
    pub fn member(&self) -> &R::Member {
        &self.member
    }

    /// A decoded command; `credit` is held until the command is applied (or handed to the
    /// room's home). What the dialect cannot decode it refuses itself: the core never sees it.
    pub fn send(&self, command: R::Command, credit: Credit) {
        let member = self.member.clone();
        {
            let rooms = self.reach.rooms();
            if self.reach.queued.load(Ordering::Acquire) == 0 {
                if let Some(home) = rooms.get(R::room(&command)) {
                    return dispatch(&self.engine, home, member, command, &self.link, credit);
                }
            }
            self.reach.queued.fetch_add(1, Ordering::AcqRel);
        }
        self.engine.send(self.shard, Input::Request { member, command, credit });
    }
}

impl<R: Rules> Drop for Seat<R> {
    fn drop(&mut self) {
        let (member, reach) = (self.member.clone(), self.reach.clone());
        self.engine.send(self.shard, Input::Detach { member, reach });
    }
}
