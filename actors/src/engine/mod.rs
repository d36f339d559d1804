//! The room engine: one actor per room, on the room's home node, for every dialect whose
//! clients meet in named rooms.
//!
//! What differs between dialects is their [`Rules`]: a pure state machine of one room (who may
//! join, what a command does, when the room is over). What is the same is written here once:
//!
//! - [`room`]: `RoomActor<R>`, one per room homed on this node. It owns the room's rules, its
//!   name's claim in Redis, and where each member is (a local link, or another node). It
//!   delivers what the rules answer: straight to local links, and one frame per member node,
//!   encoded once. Waiting for Redis (its claim, its release) holds back only its own commands.
//! - [`shard`]: `Shard<R>`, one per worker thread. It owns two disjoint things, each keyed by
//!   hash: the rooms homed here whose names hash to it (the registry that finds or starts a
//!   room's actor), and the members connected here whose ids hash to it (where each member's
//!   rooms live, and its commands in order while one of them waits for Redis).
//! - [`seat`]: [`Seat`], a connected member's handle, held by its connection.
//! - [`moving`]: rooms that outlive their home ([`Rules::OUTLIVES_HOME`]): finding a room's new
//!   home when its home dies or gives it up; and a member back on a new connection.
//! - [`wire`]: what engines of one dialect on different nodes tell each other.
//! - [`Engine`]: the cheap handle that finds a member's or a room's shard.
//!
//! # A command's way
//!
//! If the member is in the room (as its shard last wrote in the member's [`seat::Reach`]), its
//! seat hands the command straight to the room's actor, or to the room's home node: that is the
//! relay path, and no node-wide actor is on it. Otherwise the command goes to the member's
//! shard (the member's hash), which asks the room's shard (the room's hash) to route it: to the
//! room's actor if the room is homed here, to a new actor if the command creates the room (the
//! actor claims the name first), or to the home Redis names. The member's next commands wait in
//! its shard until the route is known, so they stay in order.
//!
//! The room's actor tells the member's shard when the member is no longer in the room (it left,
//! was refused, or the room closed) before the member can hear of it, so the member's next
//! command is routed afresh. A room whose rules are over releases its name (only then are its
//! members told, so whoever hears that the room closed can create it again at once, anywhere),
//! leaves the registry, and bounces any command that still reaches it back to the registry.

pub mod census;
mod handle;
mod moving;
pub mod quota;
pub mod room;
mod seat;
mod shard;
pub mod wire;

use std::{fmt, hash::Hash};

use serde::{de::DeserializeOwned, Serialize};

pub use census::RoomCensus;
pub use handle::{Engine, ShardLoad};
pub use quota::RoomQuotas;
pub use seat::Seat;

use crate::{cluster::Topic, ids::RoomId};

/// A map of the engine's, keyed by ids: hashed with foldhash, each map with its own seed, so
/// client-chosen names cannot be picked to collide.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Events, each with the member it is for, in the order they are sent. Most commands cause
/// one or two, kept inline (a relayed signal allocates nothing here).
pub type Told<R> = smallvec::SmallVec<[(<R as Rules>::Member, <R as Rules>::Event); 2]>;

/// What the rules answer: the events they cause, in order (read through `Deref`), and the
/// work they hand the node outside the room ([`Rules::Effect`]).
pub struct Out<R: Rules> {
    told: Told<R>,
    effects: Vec<R::Effect>,
}

impl<R: Rules> Out<R> {
    /// Nothing yet.
    pub fn new() -> Self {
        Self { told: Told::<R>::new(), effects: Vec::new() }
    }

    /// Tells `member` `event`.
    pub fn push(&mut self, told: (R::Member, R::Event)) {
        self.told.push(told);
    }

    /// Tells each member its event.
    pub fn extend(&mut self, told: impl IntoIterator<Item = (R::Member, R::Event)>) {
        self.told.extend(told);
    }

    /// Hands `effect` to the node.
    pub fn effect(&mut self, effect: R::Effect) {
        self.effects.push(effect);
    }

    /// The effects handed so far.
    pub fn effects(&self) -> &[R::Effect] {
        &self.effects
    }

    /// The events and the effects.
    pub fn into_parts(self) -> (Told<R>, Vec<R::Effect>) {
        (self.told, self.effects)
    }
}

impl<R: Rules> Default for Out<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Rules> std::ops::Deref for Out<R> {
    type Target = [(R::Member, R::Event)];

    fn deref(&self) -> &Self::Target {
        &self.told
    }
}

impl<R: Rules> fmt::Debug for Out<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Out").field("told", &self.told).field("effects", &self.effects).finish()
    }
}

/// The future of an effect: what it came to, if the rules are to hear of it.
pub type Pending<R> = futures_util::future::LocalBoxFuture<'static, Option<<R as Rules>::Outcome>>;

/// Why a command found no room to apply it to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Absent {
    /// No room of that name exists (on this node or, in a cluster, anywhere).
    NoRoom,
    /// The command would create the room, and another node holds its name.
    Taken,
    /// The room's home could not be found (Redis is unreachable, or the room is moving).
    Unavailable,
    /// The command would create the room, and its tenant has all the rooms it may have.
    Limited,
}

/// One dialect's rules for one room: a pure state machine the engine drives. The engine
/// decides where a command runs; the rules decide what it does.
pub trait Rules: Unpin + Sized + 'static {
    /// A member's identity (a socket id, a session).
    type Member: Clone
        + Eq
        + Hash
        + fmt::Debug
        + fmt::Display
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + Unpin
        + 'static;
    /// What a member asks of a room.
    type Command: fmt::Debug + Serialize + DeserializeOwned + Send + Unpin + 'static;
    /// What a member is told.
    type Event: fmt::Debug + Serialize + DeserializeOwned + Send + 'static;
    /// What every room of the dialect on this node is configured with (limits).
    type Config: fmt::Debug + Clone + Send + Sync + 'static;
    /// What a member's node remembers of a room homed elsewhere, to rebuild the room on a new
    /// home if its home dies (`()` where rooms die with their home).
    type Memo: fmt::Debug + Default + Send + Unpin + 'static;
    /// What one surviving member brings to its room's new home.
    type Survivor: fmt::Debug + Clone + Serialize + DeserializeOwned + Send + Unpin + 'static;
    /// Work the rules hand the node outside the room (the media plane): started by the room's
    /// actor in the order handed, awaited without holding back its mailbox, and what it came
    /// to applied with [`Rules::resume`]. [`std::convert::Infallible`] where there is none.
    type Effect: fmt::Debug + 'static;
    /// What an effect came to.
    type Outcome: 'static;

    /// Whether a room outlives its home node: when the home dies (or loses the room's name),
    /// the nodes of its surviving members rebuild it on a new home ([`Rules::adopt`]);
    /// otherwise the room ends for them ([`Rules::home_lost`]).
    const OUTLIVES_HOME: bool;

    /// Whether joining a room that exists nowhere creates it (mediasoup's rooms): such a
    /// command ([`Rules::creates`]) joins the room where it is homed, if it is anywhere in the
    /// cluster; otherwise a creating command creates its room here or is refused.
    const JOINING_CREATES: bool = false;

    /// The namespace of the dialect's room names among the cluster's claims.
    const NAMESPACE: &'static str;
    /// The topic of the dialect's frames between nodes.
    const TOPIC: Topic;

    /// A room about to be created, under `config`.
    fn new(config: &Self::Config) -> Self;

    /// How `member` is named to operators (webhooks).
    fn identity(member: &Self::Member) -> String {
        member.to_string()
    }

    /// The room `command` is for.
    fn room(command: &Self::Command) -> &RoomId;

    /// Whether `command` creates its room when no room of that name exists.
    fn creates(command: &Self::Command) -> bool;

    /// Applies `command` of `from` to room `room`, pushing what it causes onto `out`.
    fn apply(
        &mut self,
        room: &RoomId,
        from: &Self::Member,
        command: Self::Command,
        out: &mut Out<Self>,
    );

    /// Member `member` is gone (it disconnected, or its node died): it leaves, telling nobody
    /// but the others.
    fn depart(&mut self, room: &RoomId, member: &Self::Member, out: &mut Out<Self>);

    /// This node lost the room's name to another node (after Redis lost its data): the room
    /// ends here.
    fn evict(&mut self, room: &RoomId, out: &mut Out<Self>);

    /// An operator closes the room: every member is out, each told as the dialect tells a
    /// member whose room ended, and the room is over.
    fn close(&mut self, room: &RoomId, out: &mut Out<Self>);

    /// Whether `member` is in the room.
    fn has(&self, member: &Self::Member) -> bool;

    /// Whether the room is over (its actor releases the name and stops taking commands).
    fn is_over(&self) -> bool;

    /// What `from` is told when `command` finds no room, for reason `why`.
    fn refuse(
        room: &RoomId,
        from: &Self::Member,
        command: Self::Command,
        why: Absent,
    ) -> Self::Event;

    /// What a member on this node is told when the home of room `room` died, if anything.
    fn home_lost(room: &RoomId) -> Option<Self::Event>;

    /// The core event that carries `event` to a client's link.
    fn wrap(event: Self::Event) -> crate::event::Event;

    /// Learns from `event`, which a room homed elsewhere sent a member here.
    fn remember(memo: &mut Self::Memo, event: &Self::Event);

    /// Learns from `command`, which a member here sent a room homed elsewhere.
    fn remember_own(memo: &mut Self::Memo, command: &Self::Command);

    /// Learns from `survivor`, what a member here brought to its room's new home (a member
    /// moved off a room homed here has heard nothing of it from elsewhere yet).
    fn recall(memo: &mut Self::Memo, survivor: &Self::Survivor);

    /// Member `member` as a survivor of its room, from what `memo` remembers; `None` if the
    /// room cannot be rebuilt from it.
    fn survivor(memo: &Self::Memo, member: &Self::Member) -> Option<Self::Survivor>;

    /// Every member as a survivor, for a new home; the room is over here (what it hands
    /// `out` is performed; nobody here is told anything).
    fn give_up(&mut self, out: &mut Out<Self>) -> Vec<(Self::Member, Self::Survivor)>;

    /// Starts `effect` of room `room` now (effects of one room start in order) and returns
    /// what it will come to.
    fn perform(config: &Self::Config, room: &RoomId, effect: Self::Effect) -> Pending<Self>;

    /// Applies what an effect came to.
    fn resume(&mut self, room: &RoomId, outcome: Self::Outcome, out: &mut Out<Self>);

    /// Adds `survivors` of the room's previous home to the room (creating it if new).
    fn adopt(
        &mut self,
        room: &RoomId,
        survivors: Vec<(Self::Member, Self::Survivor)>,
        out: &mut Out<Self>,
    );
}

#[cfg(test)]
mod tests;
