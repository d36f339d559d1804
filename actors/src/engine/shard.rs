//! `Shard<R>`: one worker's part of a dialect's engine. It owns the rooms homed on this node
//! whose names hash to it (a registry of their actors) and the members connected to this node
//! whose ids hash to it (which rooms each is in, and where they live).
//!
//! Started on its worker's arbiter by [`super::Engine::host_next`]; reads everything through
//! one door ([`Input`]), so what one sender tells it stays in order. It never waits: a Redis
//! lookup for one member's command holds back only that member's later commands.

use std::{
    collections::{HashMap, VecDeque},
    pin::Pin,
    sync::Arc,
    task::{Context as TaskContext, Poll},
};

use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Context, StreamHandler, WrapFuture};
use futures_util::Stream;
use tokio::sync::mpsc;

use super::{
    handle::Engine,
    room::{is, Ask, Depart, Notice, Origin, RoomActor, RoomMark, RoomRef},
    seat::{dispatch, Home, Reach},
    wire::Wire,
    Absent, Map, Rules,
};
use crate::{
    cluster::Membership,
    credit::Credit,
    ids::{NodeId, RoomId},
    link::ClientLink,
};

/// Everything a shard is told.
pub(super) enum Input<R: Rules> {
    /// Member `member` connected; reached through `link`; its rooms in `reach`. (From its
    /// seat.)
    Attach { member: R::Member, link: ClientLink, reach: Arc<Reach<R>> },
    /// Member `member` asks `command`. (From its seat.)
    Request { member: R::Member, command: R::Command, credit: Credit },
    /// Member `member`, seated with `reach`, is gone. (From its seat; a member seated again
    /// since, on a new connection, stays.)
    Detach { member: R::Member, reach: Arc<Reach<R>> },
    /// Route `command` of `member` to its room, homed here or elsewhere; when `reply`, the
    /// member's shard waits for [`Input::Routed`]. (From a member's shard, or a room over.)
    Route { member: R::Member, command: R::Command, origin: Origin, credit: Credit, reply: bool },
    /// Where `member`'s command for `room` went (`None`: nowhere, it was refused); `resume`
    /// when the member's next commands were waiting for it. (From the room's shard.)
    Routed { member: R::Member, room: RoomId, home: Option<Home<R>>, resume: bool },
    /// `member` is no longer in room `room` of actor `from`. (From the room's actor.)
    Left { member: R::Member, room: RoomId, from: RoomMark<R> },
    /// Room `room` of actor `addr` is over. (From the room's actor.)
    Vacated { room: RoomId, room_mark: RoomMark<R> },
    /// A command of `member` on node `origin`, for a room homed here. (From the bus.)
    Remote { origin: NodeId, member: R::Member, command: R::Command },
    /// `member` on node `origin` is gone, and was in room `room` homed here. (From the bus.)
    Gone { origin: NodeId, member: R::Member, room: RoomId },
    /// Events of room `room` homed on `origin`, for members here. (From the bus.)
    Delivered { origin: NodeId, room: RoomId, events: super::wire::Events<R>, left: Vec<R::Member> },
    /// The cluster changed. (From the bridge.)
    Membership(Membership),
    /// Members of this node (`survivors`) of room `room`, whose home died or gave the room up,
    /// rejoin it: here, or where Redis says it lives now (`claimed`: this node tried to claim
    /// its name and could not). (From a member's shard or the room's old actor.)
    Rehome { room: RoomId, survivors: Vec<(R::Member, Origin, R::Survivor)>, claimed: bool },
    /// Where `members` of this shard (with what each brought) found room `room` (`None`:
    /// nowhere yet; try again). (From the room's shard.)
    Rehomed { room: RoomId, members: Vec<(R::Member, R::Survivor)>, home: Option<Home<R>> },
    /// Members of node `origin` rejoin room `room`, whose home moved here. (From the bus.)
    Rejoin { origin: NodeId, room: RoomId, survivors: Vec<(R::Member, R::Survivor)> },
    /// Node `origin` is not the home of room `room` (any more): find it again. (From the bus.)
    Moved { origin: NodeId, room: RoomId },
    /// A room homed here claimed its name again after [`Membership::Reclaim`] (`kept`), or
    /// lost it to another node. (From the room's actor.)
    Reclaimed { kept: bool },
    /// An operator closes room `room`, if it is homed here. (From [`Engine::close`].)
    Close { room: RoomId },
    /// The census of the rooms homed here, to `reply`. (From [`Engine::census`].)
    Census { reply: tokio::sync::oneshot::Sender<Vec<super::census::RoomCensus>> },
}

/// A member connected to this node.
pub(super) struct Member<R: Rules> {
    pub(super) link: ClientLink,
    /// The rooms it is in, as far as its commands are concerned (this shard writes it).
    pub(super) reach: Arc<Reach<R>>,
    /// While one of its commands waits to be routed: the commands that came after it.
    pub(super) waiting: Option<VecDeque<(R::Command, Credit)>>,
    /// What it remembers of each room it is in that is homed elsewhere.
    pub(super) memos: Map<RoomId, R::Memo>,
}

/// One worker's part of the engine. See the module docs.
pub(super) struct Shard<R: Rules> {
    index: usize,
    pub(super) engine: Engine<R>,
    /// During a reclaim: the rooms yet to answer, and those that kept their names.
    reclaiming: (usize, usize),
    /// The actors of the rooms homed here whose names hash to this shard.
    pub(super) rooms: Map<RoomId, RoomRef<R>>,
    /// The members connected here whose ids hash to this shard.
    pub(super) members: Map<R::Member, Member<R>>,
    /// Rooms whose new home members here are looking for, and how many times they tried.
    pub(super) attempts: Map<RoomId, u32>,
}

impl<R: Rules> Shard<R> {
    pub(super) fn new(index: usize, engine: Engine<R>) -> Self {
        let (rooms, members, attempts) = (Map::default(), Map::default(), Map::default());
        Self { index, engine, reclaiming: (0, 0), rooms, members, attempts }
    }

    /// Publishes how many rooms and members this shard holds.
    fn count(&self) {
        let load = &self.engine.load()[self.index];
        load.rooms.store(self.rooms.len() as u64, std::sync::atomic::Ordering::Relaxed);
        load.members.store(self.members.len() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    fn on_input(&mut self, input: Input<R>, ctx: &mut Context<Self>) {
        let counted = matches!(
            input,
            Input::Attach { .. }
                | Input::Detach { .. }
                | Input::Vacated { .. }
                | Input::Route { .. }
        );
        self.dispatch(input, ctx);
        if counted {
            self.count();
        }
    }

    fn dispatch(&mut self, input: Input<R>, ctx: &mut Context<Self>) {
        match input {
            Input::Attach { member, link, reach } => self.attach(member, link, reach),
            Input::Request { member, command, credit } => self.request(member, command, credit),
            Input::Detach { member, reach } => {
                if self.members.get(&member).is_some_and(|m| Arc::ptr_eq(&m.reach, &reach)) {
                    self.detach(&member);
                }
            }
            Input::Route { member, command, origin, credit, reply } => {
                self.route(member, command, origin, credit, reply, ctx);
            }
            Input::Routed { member, room, home, resume } => self.routed(member, room, home, resume),
            Input::Left { member, room, from } => {
                let Some(seat) = self.members.get(&member) else { return };
                let mut rooms = seat.reach.rooms();
                if matches!(rooms.get(&room), Some(Home::Here(home)) if is(home, &from)) {
                    rooms.remove(&room);
                }
            }
            Input::Vacated { room, room_mark } => {
                if self.rooms.get(&room).is_some_and(|known| is(known, &room_mark)) {
                    self.rooms.remove(&room);
                    self.engine.quotas().close(room.tenant());
                }
            }
            Input::Remote { origin, member, command } => {
                let origin = Origin::Remote(origin);
                self.route(member, command, origin, Credit::none(), false, ctx);
            }
            Input::Gone { origin, member, room } => {
                if let Some(addr) = self.rooms.get(&room) {
                    addr.do_send(Depart { member, from: Some(origin) });
                }
            }
            Input::Delivered { origin, room, events, left } => {
                self.delivered(&origin, &room, events, left)
            }
            Input::Membership(change) => self.membership(change, ctx),
            Input::Rehome { room, survivors, claimed } => {
                self.rehome_here(room, survivors, claimed, ctx)
            }
            Input::Rehomed { room, members, home } => self.rehomed(room, members, home, ctx),
            Input::Rejoin { origin, room, survivors } => self.rejoin(origin, room, survivors),
            Input::Moved { origin, room } => self.moved(&origin, &room, ctx),
            Input::Close { room } => {
                if let Some(addr) = self.rooms.get(&room) {
                    addr.do_send(super::room::Close);
                }
            }
            Input::Census { reply } => {
                let actors = self.rooms.values().map(|room| Addr::clone(room)).collect();
                actix::spawn(super::census::count(actors, reply));
            }
            Input::Reclaimed { kept } => {
                let (waiting, renewed) = &mut self.reclaiming;
                *waiting = waiting.saturating_sub(1);
                *renewed += usize::from(kept);
                if *waiting == 0 {
                    let (node, shard) = (self.engine.node(), self.index);
                    log::info!(
                        "node {node}: re-registered {renewed} rooms ({}, shard {shard})",
                        R::NAMESPACE
                    );
                }
            }
        }
    }
}

impl<R: Rules> Actor for Shard<R> {
    type Context = Context<Self>;
}

/// The receiving end of a shard's door, as a stream.
pub(super) struct Door<R: Rules>(pub(super) mpsc::UnboundedReceiver<Input<R>>);

impl<R: Rules> Stream for Door<R> {
    type Item = Input<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Input<R>>> {
        self.0.poll_recv(cx)
    }
}

impl<R: Rules> StreamHandler<Input<R>> for Shard<R> {
    fn handle(&mut self, input: Input<R>, ctx: &mut Context<Self>) {
        self.on_input(input, ctx);
    }

    /// Every door is gone: the node is shutting down. The shard stays until it is stopped.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

/// The member side: a member's commands that its seat could not send straight to their room,
/// in order.
impl<R: Rules> Shard<R> {
    fn request(&mut self, member: R::Member, command: R::Command, credit: Credit) {
        let Some(seat) = self.members.get_mut(&member) else { return };
        if let Some(waiting) = &mut seat.waiting {
            waiting.push_back((command, credit));
            return;
        }
        let room = R::room(&command);
        let home = seat.reach.rooms().get(room).cloned();
        if let Some(home) = home {
            dispatch(&self.engine, &home, member, command, &seat.link, credit);
            seat.reach.dispatched();
            return;
        }
        seat.waiting = Some(VecDeque::new());
        if R::OUTLIVES_HOME {
            R::remember_own(seat.memos.entry(room.clone()).or_default(), &command);
        }
        let origin = Origin::Local(seat.link.clone());
        let shard = self.engine.room_shard(room);
        self.engine.send(shard, Input::Route { member, command, origin, credit, reply: true });
    }

    fn routed(&mut self, member: R::Member, room: RoomId, home: Option<Home<R>>, resume: bool) {
        let Some(seat) = self.members.get_mut(&member) else {
            // Gone while its command was routed: it leaves wherever that took it.
            match home {
                Some(Home::Here(addr)) => addr.do_send(Depart { member, from: None }),
                Some(Home::There(node)) => self.tell_gone(&node, member, vec![room]),
                Some(Home::Moving) | None => {}
            }
            return;
        };
        match home {
            Some(home) => {
                seat.reach.rooms().insert(room, home);
            }
            None => {
                seat.reach.rooms().remove(&room);
                seat.memos.remove(&room);
            }
        }
        if !resume {
            return;
        }
        seat.reach.dispatched();
        let waiting = seat.waiting.take().unwrap_or_default();
        for (command, credit) in waiting {
            self.request(member.clone(), command, credit);
        }
    }

    pub(super) fn tell_gone(&self, node: &NodeId, member: R::Member, rooms: Vec<RoomId>) {
        if let Some(cluster) = self.engine.cluster() {
            let _ = cluster.send(node, R::TOPIC, &Wire::<R>::Gone { member, rooms });
        }
    }

    fn detach(&mut self, member: &R::Member) {
        // Commands still waiting for a route die with the member.
        let Some(seat) = self.members.remove(member) else { return };
        let rooms = std::mem::take(&mut *seat.reach.rooms());
        let mut elsewhere: HashMap<NodeId, Vec<RoomId>> = HashMap::new();
        for (room, home) in rooms {
            match home {
                Home::Here(addr) => addr.do_send(Depart { member: member.clone(), from: None }),
                Home::There(node) => elsewhere.entry(node).or_default().push(room),
                Home::Moving => {}
            }
        }
        for (node, rooms) in elsewhere {
            self.tell_gone(&node, member.clone(), rooms);
        }
    }

    /// Events from room `room`'s home `origin` for members here.
    fn delivered(
        &mut self,
        origin: &NodeId,
        room: &RoomId,
        events: super::wire::Events<R>,
        left: Vec<R::Member>,
    ) {
        let mut strangers: Vec<R::Member> = Vec::new();
        for (member, event) in events {
            let Some(seat) = self.members.get_mut(&member) else {
                // Gone meanwhile: it gets nothing, and must not stay in the room.
                if !left.contains(&member) && !strangers.contains(&member) {
                    strangers.push(member);
                }
                continue;
            };
            if R::OUTLIVES_HOME {
                R::remember(seat.memos.entry(room.clone()).or_default(), &event);
            }
            let _ = seat.link.push(R::wrap(event));
        }
        for member in strangers {
            self.tell_gone(origin, member, vec![room.clone()]);
        }
        for member in left {
            let Some(seat) = self.members.get_mut(&member) else { continue };
            let mut rooms = seat.reach.rooms();
            if matches!(rooms.get(room), Some(Home::There(node)) if node == origin) {
                rooms.remove(room);
                seat.memos.remove(room);
            }
        }
    }

    fn membership(&mut self, change: Membership, ctx: &mut Context<Self>) {
        match change {
            Membership::Down(node) => {
                for addr in self.rooms.values() {
                    addr.do_send(Notice::NodeDown(node.clone()));
                }
                for room in self.homes_lost(&node) {
                    self.rehome(room, 0, ctx);
                }
            }
            Membership::Reclaim => {
                self.reclaiming = (self.rooms.len(), 0);
                for addr in self.rooms.values() {
                    addr.do_send(Notice::Reclaim);
                }
            }
            Membership::Up(_) | Membership::Resync => {}
        }
    }
}

/// The room side: routing a command to its room's actor, a new one, or the room's home.
impl<R: Rules> Shard<R> {
    fn route(
        &mut self,
        member: R::Member,
        command: R::Command,
        origin: Origin,
        credit: Credit,
        reply: bool,
        ctx: &mut Context<Self>,
    ) {
        let room = R::room(&command).clone();
        if let Some(addr) = self.rooms.get(&room).cloned() {
            // The command first, then the answer: the member's next command, sent straight to
            // the room once its shard hears the answer, must not overtake it.
            let local = self.local_member(&member, &origin);
            addr.do_send(Ask { member, command, origin, credit });
            self.answer(local, room, Some(Home::Here(addr)), reply);
            return;
        }
        let local = matches!(origin, Origin::Local(_));
        let creates = R::creates(&command) && local;
        // A room that joining creates is looked for in the cluster first: it may be elsewhere.
        if creates && !(R::JOINING_CREATES && self.engine.cluster().is_some()) {
            return self.create(member, command, origin, credit, reply);
        }
        let Some(cluster) = self.engine.cluster().cloned().filter(|_| local) else {
            let local = self.local_member(&member, &origin);
            self.refuse(member, command, &origin, Absent::NoRoom);
            self.answer(local, room, None, reply);
            return;
        };
        let name = room.clone();
        let lookup = async move { cluster.lookup(R::NAMESPACE, &name).await };
        ctx.spawn(lookup.into_actor(self).map(move |home, this, ctx| {
            let Origin::Local(link) = &origin else { return };
            match home {
                Ok(Some(node)) if node != *this.engine.node() => {
                    let (link, local, home) =
                        (link.clone(), Some(member.clone()), Home::There(node));
                    dispatch(&this.engine, &home, member, command, &link, credit);
                    this.answer(local, room, Some(home), reply);
                }
                // Homed here after all (created meanwhile), or nowhere: routed again, with no
                // lookup this time.
                Ok(_) if this.rooms.contains_key(&room) => {
                    this.route(member, command, origin, credit, reply, ctx);
                }
                Ok(_) if creates => this.create(member, command, origin, credit, reply),
                Ok(_) => {
                    let local = Some(member.clone());
                    this.refuse(member, command, &origin, Absent::NoRoom);
                    this.answer(local, room, None, reply);
                }
                Err(_) => {
                    let local = Some(member.clone());
                    this.refuse(member, command, &origin, Absent::Unavailable);
                    this.answer(local, room, None, reply);
                }
            }
        }));
    }
}

impl<R: Rules> Shard<R> {
    /// Starts room `command`'s actor here (it claims the name first) and hands it `command`.
    fn create(
        &mut self,
        member: R::Member,
        command: R::Command,
        origin: Origin,
        credit: Credit,
        reply: bool,
    ) {
        let room = R::room(&command).clone();
        let local = self.local_member(&member, &origin);
        if !self.engine.quotas().open(room.tenant(), true) {
            self.refuse(member, command, &origin, Absent::Limited);
            return self.answer(local, room, None, reply);
        }
        let addr = RoomActor::open(room.clone(), self.engine.clone());
        self.rooms.insert(room.clone(), addr.clone());
        addr.do_send(Ask { member, command, origin, credit });
        self.answer(local, room, Some(Home::Here(addr)), reply);
    }

    /// `member` if `origin` is this node (its shard is told where its commands go).
    pub(super) fn local_member(&self, member: &R::Member, origin: &Origin) -> Option<R::Member> {
        matches!(origin, Origin::Local(_)).then(|| member.clone())
    }

    /// Tells local `member`'s shard where its command for `room` went.
    pub(super) fn answer(
        &self,
        member: Option<R::Member>,
        room: RoomId,
        home: Option<Home<R>>,
        resume: bool,
    ) {
        let Some(member) = member else { return };
        let shard = self.engine.member_shard(&member);
        self.engine.send(shard, Input::Routed { member, room, home, resume });
    }

    /// Refuses `command` of `member` (of this node or `origin`'s) for reason `why`.
    fn refuse(&self, member: R::Member, command: R::Command, origin: &Origin, why: Absent) {
        let room = R::room(&command).clone();
        let event = R::refuse(&room, &member, command, why);
        match origin {
            Origin::Local(link) => {
                let _ = link.push(R::wrap(event));
            }
            Origin::Remote(node) => {
                let Some(cluster) = self.engine.cluster() else { return };
                let left = vec![member.clone()];
                let wire = Wire::<R>::Deliver { room, events: vec![(member, event)], left };
                let _ = cluster.send(node, R::TOPIC, &wire);
            }
        }
    }
}
