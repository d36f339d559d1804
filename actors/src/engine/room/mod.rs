//! `RoomActor<R>`: one room homed on this node. It owns the room's rules, its name's claim and
//! where each member is, and nothing else.
//!
//! Started by its shard's registry for the command that creates the room; stops once the room
//! is over and nobody holds its address any more. Receives [`Ask`] (a member's command),
//! [`Depart`] (a member is gone) and [`Notice`] (the cluster changed). Everything it awaits
//! (its claim when it starts, its release when it is over) holds back its own mailbox only.

use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, WrapFuture};

mod adopt;
mod hooks;

pub(super) use adopt::{Adopt, Relink};

use super::{
    handle::Engine,
    shard::Input,
    wire::{Events, Wire},
    Absent, Out, Rules, Told,
};
use crate::{
    cluster::ClusterError,
    credit::Credit,
    ids::{NodeId, RoomId},
    link::ClientLink,
};

/// Where a member is.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    /// On this node, reached through its link.
    Local(ClientLink),
    /// On another node.
    Remote(NodeId),
}

/// A member's command for the room.
///
/// Sender: the member's shard (a member of the room), or the room's shard (routing a
/// newcomer's command, or one from another node). Handler: `RoomActor`. No reply: what the
/// command causes is pushed to the members.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Ask<R: Rules> {
    pub(super) member: R::Member,
    pub(super) command: R::Command,
    pub(super) origin: Origin,
    /// Held until the command is applied.
    pub(super) credit: Credit,
}

/// A member is gone (its connection closed): it leaves the room.
///
/// Sender: the member's shard, or the room's shard for a member of another node (`from`).
/// Handler: `RoomActor`. No reply.
#[derive(Message)]
#[rtype(result = "()")]
pub(super) struct Depart<R: Rules> {
    pub(super) member: R::Member,
    /// The node the member was on, if another: a departure from a node the member has since
    /// left is stale.
    pub(super) from: Option<NodeId>,
}

/// A change in the cluster. Sender: the room's shard. Handler: `RoomActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) enum Notice {
    /// Node `0` is gone: its members leave.
    NodeDown(NodeId),
    /// Redis lost this node's names: claim the room's again.
    Reclaim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Claiming its name; commands wait.
    Claiming,
    /// Serving its members.
    Open,
    /// Its name could not be claimed: creating commands are refused so, others routed afresh.
    Refused(Absent),
    /// Over: every command is routed afresh (to a new room of the name, or refused).
    Closed,
}

/// A room's address as its members and its shard hold it: one `Addr` per room, shared (each
/// `Addr` of its own would cost two allocations more).
pub(super) type RoomRef<R> = Arc<Addr<RoomActor<R>>>;

/// Who a room is, without keeping it alive: what its notes name it by.
pub(super) type RoomMark<R> = Weak<Addr<RoomActor<R>>>;

/// Whether `room` is the room marked `mark`.
pub(super) fn is<R: Rules>(room: &RoomRef<R>, mark: &RoomMark<R>) -> bool {
    std::ptr::eq(Arc::as_ptr(room), mark.as_ptr())
}

/// Where a member is: its link on this node, or its node.
#[derive(Debug)]
enum Place {
    Here(ClientLink),
    There(NodeId),
}

/// One room. See the module docs.
pub struct RoomActor<R: Rules> {
    name: RoomId,
    engine: Engine<R>,
    me: RoomMark<R>,
    rules: R,
    phase: Phase,
    /// This node's claim of the name, in a cluster.
    claim: Option<u64>,
    /// Its members and where each is. A list, not a map: most rooms have a few members (a map
    /// costs a room ~150 bytes more), and the rules scan their own list per command anyway.
    members: Vec<(R::Member, Place)>,
    /// What it announced of itself, if its tenant wants to hear of its rooms.
    announced: Option<Box<hooks::Announced<R>>>,
}

impl<R: Rules> RoomActor<R> {
    /// Starts the actor of room `name`, about to be created on this node.
    pub(super) fn open(name: RoomId, engine: Engine<R>) -> RoomRef<R> {
        let mut room = None;
        Self::create(|ctx| {
            let rules = R::new(engine.config());
            let phase = if engine.cluster().is_some() { Phase::Claiming } else { Phase::Open };
            let addr = Arc::new(ctx.address());
            let me = Arc::downgrade(&addr);
            room = Some(addr);
            let announced = hooks::Announced::for_room(&engine, &name);
            Self { name, engine, me, rules, phase, claim: None, members: Vec::new(), announced }
        });
        room.expect("the actor was created")
    }

    /// How many members the room has, and how many are connected here.
    pub(super) fn census(&self) -> super::census::RoomCensus {
        let here = self.members.iter().filter(|(_, p)| matches!(p, Place::Here(_))).count();
        super::census::RoomCensus { room: self.name.clone(), members: self.members.len(), here }
    }

    fn place(&self, member: &R::Member) -> Option<&Place> {
        self.members.iter().find(|(m, _)| m == member).map(|(_, place)| place)
    }

    fn forget(&mut self, member: &R::Member) -> Option<Place> {
        let i = self.members.iter().position(|(m, _)| m == member)?;
        Some(self.members.swap_remove(i).1)
    }

    /// Notes where `member` is (a session that moved replaces its old place). Takes the origin
    /// by value: a member already known here (every relayed signal) costs no clone of its link.
    fn track(&mut self, member: &R::Member, origin: Origin) {
        if let Some((_, known)) = self.members.iter_mut().find(|(m, _)| m == member) {
            match (&*known, origin) {
                (Place::Here(a), Origin::Local(b)) if a.conn() == b.conn() => {}
                (Place::There(a), Origin::Remote(b)) if *a == b => {}
                (_, Origin::Local(link)) => *known = Place::Here(link),
                (_, Origin::Remote(node)) => *known = Place::There(node),
            }
            return;
        }
        let place = match origin {
            Origin::Local(link) => Place::Here(link),
            Origin::Remote(node) => Place::There(node),
        };
        if self.members.len() < 8 {
            // Small rooms stay exactly as big as they are.
            self.members.reserve_exact(1);
        }
        self.members.push((member.clone(), place));
    }

    fn is_tracked(&self, member: &R::Member) -> bool {
        self.place(member).is_some()
    }

    /// Pushes `out` to its members, after telling the shards of those no longer in the room
    /// (of `sender` and the members `out` addresses). When the rules are over, the name is released
    /// first (the actor waits), then everyone is told, then the registry lets the room go.
    fn settle(&mut self, out: Out<R>, sender: Option<R::Member>, ctx: &mut Context<Self>) {
        let (out, effects) = out.into_parts();
        self.perform(effects, ctx);
        if self.phase == Phase::Open && self.rules.is_over() {
            self.phase = Phase::Closed;
            let release = self.claim.take().zip(self.engine.cluster().cloned());
            if let Some((seq, cluster)) = release {
                let name = self.name.clone();
                let release =
                    async move { cluster.release_or_retry(R::NAMESPACE, &name, seq).await };
                ctx.wait(release.into_actor(self).map(move |(), this, _| {
                    this.deliver(out, sender);
                    this.vacate();
                }));
                return;
            }
            self.deliver(out, sender);
            self.vacate();
            return;
        }
        self.deliver(out, sender);
    }

    /// Starts `effects` in order; what each comes to is applied as the rules say, while the
    /// room is open.
    pub(super) fn perform(&mut self, effects: Vec<R::Effect>, ctx: &mut Context<Self>) {
        for effect in effects {
            let pending = R::perform(self.engine.config(), &self.name, effect);
            ctx.spawn(pending.into_actor(self).map(|outcome, this, ctx| {
                let Some(outcome) = outcome.filter(|_| this.phase == Phase::Open) else { return };
                let mut out = Out::<R>::new();
                this.rules.resume(&this.name, outcome, &mut out);
                this.settle(out, None, ctx);
            }));
        }
    }

    fn deliver(&mut self, out: Told<R>, sender: Option<R::Member>) {
        let over = self.phase != Phase::Open;
        let gone = |this: &Self, m: &R::Member| this.is_tracked(m) && (over || !this.rules.has(m));
        let mut departed: Vec<R::Member> = Vec::new();
        if over {
            departed.extend(self.members.iter().map(|(m, _)| m.clone()));
        } else {
            let touched = sender.iter().chain(out.iter().map(|(m, _)| m));
            for member in touched {
                if gone(self, member) && !departed.contains(member) {
                    departed.push(member.clone());
                }
            }
        }
        // Each local member's shard hears that it is out before the member can hear of it, so
        // the member's next command for the room is routed afresh.
        if let Some(announced) = &mut self.announced {
            if over {
                announced.over(&self.name);
            } else {
                let touched = sender.iter().chain(out.iter().map(|(m, _)| m));
                for member in touched.filter(|m| self.rules.has(m)) {
                    announced.present(
                        &self.name,
                        member,
                        hooks::where_is(&self.members, member, &self.engine),
                    );
                }
                for member in &departed {
                    announced.absent(&self.name, member);
                }
            }
        }
        for member in &departed {
            if let Some(Place::Here(_)) = self.place(member) {
                let (room, from) = (self.name.clone(), self.me.clone());
                let left = Input::Left { member: member.clone(), room, from };
                self.engine.send(self.engine.member_shard(member), left);
            }
        }
        let mut batches: HashMap<NodeId, (Events<R>, Vec<R::Member>)> = HashMap::new();
        for (member, event) in out {
            match self.place(&member) {
                // A full queue closes that member; nobody else is affected.
                Some(Place::Here(link)) => drop(link.push(R::wrap(event))),
                Some(Place::There(node)) => {
                    batches.entry(node.clone()).or_default().0.push((member, event));
                }
                None => {}
            }
        }
        for member in departed {
            if let Some(Place::There(node)) = self.forget(&member) {
                batches.entry(node).or_default().1.push(member);
            }
        }
        for (node, (events, left)) in batches {
            self.publish(&node, &Wire::Deliver { room: self.name.clone(), events, left });
        }
        if self.members.capacity() > 2 * self.members.len().max(4) {
            self.members.shrink_to_fit();
        }
    }

    /// Sends `wire` to node `to`; false if it could not be queued.
    fn publish(&self, to: &NodeId, wire: &Wire<R>) -> bool {
        let Some(cluster) = self.engine.cluster() else { return false };
        match cluster.send(to, R::TOPIC, wire) {
            Ok(()) => true,
            Err(e) => {
                log::debug!(
                    "node {}: {} frame to {to} not sent: {e}",
                    self.engine.node(),
                    R::NAMESPACE
                );
                false
            }
        }
    }

    /// The room is over: its shard's registry forgets it.
    fn vacate(&mut self) {
        let shard = self.engine.room_shard(&self.name);
        let vacated = Input::Vacated { room: self.name.clone(), room_mark: self.me.clone() };
        self.engine.send(shard, vacated);
    }
}

impl<R: Rules> Actor for RoomActor<R> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) =
            self.engine.cluster().cloned().filter(|_| self.phase == Phase::Claiming)
        else {
            return;
        };
        let name = self.name.clone();
        let claim = async move { cluster.claim(R::NAMESPACE, &name).await };
        ctx.wait(claim.into_actor(self).map(|claim, this, _| match claim {
            Ok(seq) => {
                this.claim = Some(seq);
                this.phase = Phase::Open;
                if let Some(announced) = &mut this.announced {
                    announced.instance = seq;
                }
            }
            Err(e) => {
                this.phase = Phase::Refused(match e {
                    ClusterError::Taken => Absent::Taken,
                    ClusterError::Unavailable => Absent::Unavailable,
                });
                this.vacate();
            }
        }));
    }
}

impl<R: Rules> RoomActor<R> {
    /// Hands `ask` back to the room's shard, to be routed afresh: the room is over here.
    fn bounce(&self, ask: Ask<R>) {
        let Ask { member, command, origin, credit } = ask;
        let shard = self.engine.room_shard(&self.name);
        let route = Input::Route { member, command, origin, credit, reply: false };
        self.engine.send(shard, route);
    }

    /// Refuses `ask` for reason `why`.
    fn refuse(&mut self, ask: Ask<R>, why: Absent) {
        let Ask { member, command, origin, credit: _credit } = ask;
        let event = R::refuse(&self.name, &member, command, why);
        self.track(&member, origin);
        let mut out = Told::<R>::new();
        out.push((member.clone(), event));
        self.deliver(out, Some(member));
    }
}

impl<R: Rules> Handler<Ask<R>> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, ask: Ask<R>, ctx: &mut Context<Self>) {
        match self.phase {
            Phase::Open => {}
            Phase::Refused(why) if R::creates(&ask.command) => return self.refuse(ask, why),
            Phase::Claiming | Phase::Refused(_) | Phase::Closed => return self.bounce(ask),
        }
        let Ask { member, command, origin, credit: _credit } = ask;
        self.track(&member, origin);
        let mut out = Out::<R>::new();
        self.rules.apply(&self.name, &member, command, &mut out);
        self.settle(out, Some(member), ctx);
    }
}

impl<R: Rules> RoomActor<R> {
    /// Members `members` are gone: each leaves, as the rules say.
    fn depart_all(&mut self, members: Vec<R::Member>, ctx: &mut Context<Self>) {
        if self.phase != Phase::Open || members.is_empty() {
            return;
        }
        let mut out = Out::<R>::new();
        for member in &members {
            self.forget(member);
            self.rules.depart(&self.name, member, &mut out);
        }
        self.settle(out, None, ctx);
    }
}

impl<R: Rules> Handler<Depart<R>> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, msg: Depart<R>, ctx: &mut Context<Self>) {
        let here = match (&msg.from, self.place(&msg.member)) {
            (None, Some(Place::Here(_))) => true,
            (Some(node), Some(Place::There(at))) => node == at,
            _ => false,
        };
        if here {
            self.depart_all(vec![msg.member], ctx);
        }
    }
}

/// An operator closes the room. Sender: its shard. Handler: the room's actor.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(super) struct Close;

impl<R: Rules> Handler<Close> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, _: Close, ctx: &mut Context<Self>) {
        if self.phase != Phase::Open {
            return;
        }
        log::info!(
            "node {}: {} room {:?} closed by an operator",
            self.engine.node(),
            R::NAMESPACE,
            self.name
        );
        let mut out = Out::<R>::new();
        self.rules.close(&self.name, &mut out);
        self.settle(out, None, ctx);
    }
}

impl<R: Rules> Handler<Notice> for RoomActor<R> {
    type Result = ();

    fn handle(&mut self, msg: Notice, ctx: &mut Context<Self>) {
        match msg {
            Notice::NodeDown(node) => {
                let gone: Vec<R::Member> = self
                    .members
                    .iter()
                    .filter(|(_, place)| matches!(place, Place::There(at) if *at == node))
                    .map(|(m, _)| m.clone())
                    .collect();
                self.depart_all(gone, ctx);
            }
            Notice::Reclaim => self.reclaim(ctx),
        }
    }
}

impl<R: Rules> RoomActor<R> {
    fn reclaimed(&self, kept: bool) {
        self.engine.send(self.engine.room_shard(&self.name), Input::Reclaimed { kept });
    }

    /// Claims the name again, in the background; if another node took it meanwhile, the room
    /// ends here as its rules say.
    fn reclaim(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = self.engine.cluster().cloned() else { return };
        if self.phase != Phase::Open {
            // Over (or never opened): its name is not this node's to keep.
            return self.reclaimed(false);
        }
        let name = self.name.clone();
        let claim = async move { cluster.claim(R::NAMESPACE, &name).await };
        ctx.spawn(claim.into_actor(self).map(|claim, this, ctx| match claim {
            Ok(seq) => {
                this.claim = Some(seq);
                this.reclaimed(true);
                if let Some(announced) = &mut this.announced {
                    announced.retell(&this.name);
                }
            }
            Err(ClusterError::Taken) if this.phase == Phase::Open => {
                this.reclaimed(false);
                log::warn!(
                    "node {}: room {} was claimed elsewhere; closing",
                    this.engine.node(),
                    this.name
                );
                this.claim = None;
                if R::OUTLIVES_HOME {
                    return this.give_up(ctx);
                }
                let mut out = Out::<R>::new();
                this.rules.evict(&this.name, &mut out);
                this.settle(out, None, ctx);
            }
            Err(ClusterError::Taken) => this.reclaimed(false),
            Err(ClusterError::Unavailable) => {
                ctx.run_later(std::time::Duration::from_secs(1), |this, ctx| this.reclaim(ctx));
            }
        }));
    }
}
