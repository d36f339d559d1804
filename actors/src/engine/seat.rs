//! [`Seat`]: a connected member's handle on its dialect's engine, held by its connection. It
//! seats the member in its shard, hands the shard the member's commands in order, and when
//! dropped the member leaves every room it was in.
//!
//! A handle, not an actor: the connection's actor already orders the client's frames. It
//! reaches the shard through the shard's door, a channel that costs a command no allocation.

use super::{handle::Engine, shard::Input, Rules};
use crate::{credit::Credit, link::ClientLink};

/// One member. See the module docs.
pub struct Seat<R: Rules> {
    engine: Engine<R>,
    member: R::Member,
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
        engine.send(shard, Input::Attach { member: member.clone(), link });
        Self { engine, member, shard }
    }

    /// The member.
    pub fn member(&self) -> &R::Member {
        &self.member
    }

    /// A decoded command; `credit` is held until the command is applied (or handed to the
    /// room's home). What the dialect cannot decode it refuses itself: the core never sees it.
    pub fn send(&self, command: R::Command, credit: Credit) {
        let member = self.member.clone();
        self.engine.send(self.shard, Input::Request { member, command, credit });
    }
}

impl<R: Rules> Drop for Seat<R> {
    fn drop(&mut self) {
        self.engine.send(self.shard, Input::Detach { member: self.member.clone() });
    }
}
