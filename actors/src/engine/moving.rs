//! Rooms that outlive their home ([`Rules::OUTLIVES_HOME`]), the shard's side: when a room's
//! home dies (or gives the room up), every shard with members in it has them rejoin the room
//! on a new home. The room's shard on this node claims its name (starting its actor here) or,
//! if another node holds it, sends the members there ([`Wire::Rejoin`]); a node that is not the
//! home (any more) answers [`Wire::Moved`], and the members look again. While a room moves, its
//! members' commands for it are refused as unavailable (the client may try again).
//!
//! Also here: a member seated again on a new connection while its old one lingers.

use std::{sync::Arc, time::Duration};

use actix::{AsyncContext, Context};

use super::{
    handle::Engine,
    room::{Adopt, Origin, Relink, RoomActor},
    seat::{Home, Reach},
    shard::{Input, Member, Shard},
    wire::Wire,
    Map, Rules,
};
use crate::{
    cluster::ClusterError,
    ids::{NodeId, RoomId},
    link::ClientLink,
};

/// The wait between two attempts to find a moving room's new home: doubles from the first
/// value up to the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(2));

impl<R: Rules> Shard<R> {
    /// Member `member` connected, reached through `link`. A member seated already (a session
    /// back on a new connection) keeps its rooms, which reach it through `link` from now on.
    pub(super) fn attach(&mut self, member: R::Member, link: ClientLink, reach: Arc<Reach<R>>) {
        let old = self.members.remove(&member);
        let mut seat = Member { link, reach, waiting: None, memos: Map::default() };
        if let Some(old) = old {
            let rooms = std::mem::take(&mut *old.reach.rooms());
            for home in rooms.values() {
                if let Home::Here(room) = home {
                    room.do_send(Relink { member: member.clone(), link: seat.link.clone() });
                }
            }
            *seat.reach.rooms() = rooms;
            seat.memos = old.memos;
        }
        self.members.insert(member, seat);
    }

    /// Node `node` is gone: the rooms homed there end for the members here, or (rules whose
    /// rooms outlive their home) start moving; returns the rooms to find a new home for.
    pub(super) fn homes_lost(&mut self, node: &NodeId) -> Vec<RoomId> {
        let mut moving = Vec::new();
        for seat in self.members.values_mut() {
            let mut rooms = seat.reach.rooms();
            for (room, home) in rooms.iter_mut() {
                if !matches!(home, Home::There(at) if at == node) {
                    continue;
                }
                *home = Home::Moving;
                if R::OUTLIVES_HOME {
                    if !moving.contains(room) {
                        moving.push(room.clone());
                    }
                } else if let Some(event) = R::home_lost(room) {
                    let _ = seat.link.push(R::wrap(event));
                }
            }
            if !R::OUTLIVES_HOME {
                rooms.retain(|_, home| !matches!(home, Home::Moving));
            }
        }
        moving
    }

    /// Node `origin` says it is not the home of room `room`: members here who thought so look
    /// for the home again.
    pub(super) fn moved(&mut self, origin: &NodeId, room: &RoomId, ctx: &mut Context<Self>) {
        let mut any = false;
        for seat in self.members.values() {
            let mut rooms = seat.reach.rooms();
            if let Some(home) = rooms.get_mut(room) {
                if matches!(home, Home::There(at) if at == origin) {
                    *home = Home::Moving;
                    any = true;
                }
            }
        }
        if any {
            self.rehome(room.clone(), 0, ctx);
        }
    }

    /// Has this shard's members of moving room `room` rejoin it: attempt `attempt`.
    pub(super) fn rehome(&mut self, room: RoomId, attempt: u32, _ctx: &mut Context<Self>) {
        let (mut survivors, mut lost) = (Vec::new(), Vec::new());
        for (member, seat) in &self.members {
            if !matches!(seat.reach.rooms().get(&room), Some(Home::Moving)) {
                continue;
            }
            let survivor = seat.memos.get(&room).and_then(|memo| R::survivor(memo, member));
            match survivor {
                Some(survivor) => {
                    survivors.push((member.clone(), Origin::Local(seat.link.clone()), survivor));
                }
                // Too little known to bring it along: out of the room (it may join again),
                // rather than refused as moving for good.
                None => lost.push(member.clone()),
            }
        }
        for member in lost {
            if let Some(seat) = self.members.get_mut(&member) {
                seat.reach.rooms().remove(&room);
                seat.memos.remove(&room);
            }
        }
        if survivors.is_empty() {
            return;
        }
        if attempt == 0 {
            log::info!("node {}: room {room} moves to a new home", self.engine.node());
        }
        let shard = self.engine.room_shard(&room);
        self.engine.send(shard, Input::Rehome { room, survivors, claimed: false });
    }

    /// Where this shard's `members` of room `room` found it; none yet: they try again soon.
    pub(super) fn rehomed(
        &mut self,
        room: RoomId,
        members: Vec<(R::Member, R::Survivor)>,
        home: Option<Home<R>>,
        ctx: &mut Context<Self>,
    ) {
        let mut retry = false;
        for (member, survivor) in &members {
            let Some(seat) = self.members.get_mut(member) else { continue };
            R::recall(seat.memos.entry(room.clone()).or_default(), survivor);
            let mut rooms = seat.reach.rooms();
            let Some(known) = rooms.get_mut(&room) else { continue };
            match &home {
                Some(home) => *known = home.clone(),
                None => {
                    *known = Home::Moving;
                    retry = true;
                }
            }
        }
        if retry {
            let attempt = self.attempts.entry(room.clone()).or_default();
            *attempt += 1;
            let wait = BACKOFF.0.saturating_mul(1 << (*attempt).min(8)).min(BACKOFF.1);
            let attempt = *attempt;
            ctx.run_later(wait, move |this, ctx| this.rehome(room, attempt, ctx));
        } else {
            self.attempts.remove(&room);
        }
    }

    /// The room side: `survivors` of this node rejoin room `room`, homed here if it is (or if
    /// its name can be claimed now), or wherever Redis says it is.
    pub(super) fn rehome_here(
        &mut self,
        room: RoomId,
        survivors: Vec<(R::Member, Origin, R::Survivor)>,
        claimed: bool,
        ctx: &mut Context<Self>,
    ) {
        let members: Vec<(R::Member, R::Survivor)> =
            survivors.iter().map(|(m, _, s)| (m.clone(), s.clone())).collect();
        if let Some(actor) = self.rooms.get(&room).cloned() {
            actor.do_send(Adopt { survivors });
            return self.tell_rehomed(&room, members, Some(Home::Here(actor)));
        }
        if !claimed {
            // Its actor claims the name first; if another node holds it, the survivors come
            // back here with `claimed`.
            let actor = RoomActor::open(room.clone(), self.engine.clone());
            self.engine.quotas().open(room.tenant(), false);
            self.rooms.insert(room.clone(), actor.clone());
            actor.do_send(Adopt { survivors });
            return self.tell_rehomed(&room, members, Some(Home::Here(actor)));
        }
        let Some(cluster) = self.engine.cluster().cloned() else {
            return self.tell_rehomed(&room, members, None);
        };
        let name = room.clone();
        let lookup = async move { cluster.lookup(R::NAMESPACE, &name).await };
        let found = actix::fut::wrap_future::<_, Self>(lookup);
        ctx.spawn(actix::ActorFutureExt::map(found, move |home, this, _| {
            let node = match home {
                Ok(Some(node)) if node != *this.engine.node() => node,
                // Nowhere (or held here and not open yet), or Redis unreachable: later.
                Ok(_) | Err(ClusterError::Unavailable | ClusterError::Taken) => {
                    return this.tell_rehomed(&room, members, None);
                }
            };
            let survivors = survivors.into_iter().map(|(m, _, s)| (m, s)).collect();
            let rejoin = Wire::<R>::Rejoin { room: room.clone(), survivors };
            let sent =
                this.engine.cluster().is_some_and(|c| c.send(&node, R::TOPIC, &rejoin).is_ok());
            let home = sent.then_some(Home::There(node));
            this.tell_rehomed(&room, members, home);
        }));
    }

    fn tell_rehomed(
        &self,
        room: &RoomId,
        members: Vec<(R::Member, R::Survivor)>,
        home: Option<Home<R>>,
    ) {
        let mut by_shard: Vec<Vec<_>> = (0..self.engine.shards()).map(|_| Vec::new()).collect();
        for (member, survivor) in members {
            by_shard[self.engine.member_shard(&member)].push((member, survivor));
        }
        for (shard, members) in by_shard.into_iter().enumerate() {
            if !members.is_empty() {
                let (room, home) = (room.clone(), home.clone());
                self.engine.send(shard, Input::Rehomed { room, members, home });
            }
        }
    }

    /// Members of node `origin` rejoin room `room`, which they think is homed here.
    pub(super) fn rejoin(
        &mut self,
        origin: NodeId,
        room: RoomId,
        survivors: Vec<(R::Member, R::Survivor)>,
    ) {
        let Some(actor) = self.rooms.get(&room) else {
            moved_to(&self.engine, &origin, room);
            return;
        };
        let survivors =
            survivors.into_iter().map(|(m, s)| (m, Origin::Remote(origin.clone()), s)).collect();
        actor.do_send(Adopt { survivors });
    }
}

/// Tells node `to` that room `room` is not homed here.
fn moved_to<R: Rules>(engine: &Engine<R>, to: &NodeId, room: RoomId) {
    if let Some(cluster) = engine.cluster() {
        let _ = cluster.send(to, R::TOPIC, &Wire::<R>::Moved { room });
    }
}
