//! The `signals` rooms' side of the cluster: frames from other nodes ([`SignalWire`]), node
//! deaths, and moving a room to a new home.
//!
//! - A **member node** dies: the home removes its sessions from its rooms, as if each had
//!   disconnected (the others get `PUBLISH_LIST_CHANGED`; ownership passes on).
//! - A **home** dies (or loses a room's name to another node after Redis lost its data): rooms
//!   outlive their home. Every node with sessions in the room tries to claim its name; the
//!   winner rebuilds the room from its own sessions, the others look the winner up and send
//!   theirs ([`SignalWire::Rejoin`]). Each node's last publisher list gives the publishers'
//!   order, so the oldest surviving publisher owns the room. A session's signals to the room
//!   while it moves are refused with 500 ("try again").

use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};

use super::{
    actor::{SignalRoomsActor, NAMESPACE},
    away::Away,
    state::Reply,
    wire::SignalWire,
};
use crate::{
    cluster::{ClusterError, Inbox, Membership},
    ids::{NodeId, RoomId},
};

/// How long a node waits between two attempts to find a moving room's new home.
const REHOME_BACKOFF: (Duration, Duration) = (Duration::from_millis(50), Duration::from_secs(2));

/// Where a moving room ended up.
enum Found {
    /// This node claimed it, under this claim.
    Here(u64),
    /// Another node holds it.
    There(NodeId),
    /// Not known yet (Redis unreachable, or the name between two owners): try again.
    Retry,
}

impl SignalRoomsActor {
    fn on_wire(&mut self, origin: NodeId, wire: SignalWire, ctx: &mut Context<Self>) {
        match wire {
            SignalWire::Signal { signal } => {
                self.remote.insert(signal.from.clone(), origin);
                if !self.rooms.contains(&signal.rid) && signal.creating {
                    // Sent here because the room existed; it has closed since.
                    self.refuse(&signal, super::state::Refusal::Unavailable, ctx);
                } else {
                    self.apply(&signal, ctx);
                }
                self.forget_if_departed(&signal.from);
            }
            SignalWire::Deliver { replies } => self.delivered(&origin, replies),
            SignalWire::Gone { peer } => {
                if self.remote.get(&peer) == Some(&origin) {
                    self.remote.remove(&peer);
                    let out = self.rooms.disconnect(&peer);
                    self.deliver(out, ctx);
                }
            }
            SignalWire::Rejoin { rid, ch, eg, survivors } => {
                if !self.claims.contains_key(&rid) {
                    self.send(&origin, &SignalWire::Moved { rid });
                    return;
                }
                for s in &survivors {
                    self.remote.insert(s.peer.clone(), origin.clone());
                }
                let out = self.rooms.adopt(&rid, ch, eg, survivors);
                self.deliver(out, ctx);
            }
            SignalWire::Moved { rid } => {
                if self.away.get(&rid).is_some_and(|a| a.home.as_ref() == Some(&origin)) {
                    self.rehome(rid, 0, ctx);
                }
            }
        }
    }

    /// Replies from home `origin` for sessions of this node.
    fn delivered(&mut self, origin: &NodeId, replies: Vec<(super::Peer, Reply)>) {
        for (peer, reply) in replies {
            let Some(local) = self.links.get(&peer) else {
                // The session left meanwhile: it gets nothing, and must not stay a member.
                if matches!(reply, Reply::Joined { .. }) {
                    self.send(origin, &SignalWire::Gone { peer });
                }
                continue;
            };
            let link = local.link.clone();
            self.away.note(origin, &peer, &reply);
            let _ = link.push(crate::event::Event::Signals(reply));
        }
    }

    /// Node `node` is gone: its sessions leave the rooms homed here, and the rooms homed there
    /// move.
    fn node_down(&mut self, node: &NodeId, ctx: &mut Context<Self>) {
        let departed: Vec<super::Peer> =
            self.remote.iter().filter(|(_, at)| *at == node).map(|(p, _)| p.clone()).collect();
        let mut out = Vec::new();
        for peer in departed {
            self.remote.remove(&peer);
            out.extend(self.rooms.disconnect(&peer));
        }
        self.deliver(out, ctx);
        for rid in self.away.homed_on(node) {
            self.rehome(rid, 0, ctx);
        }
    }

    /// Finds room `rid` a new home: claims its name, or sends this node's sessions in it to
    /// whoever did. Attempt `attempt` (the wait between attempts grows with it).
    pub(super) fn rehome(&mut self, rid: RoomId, attempt: u32, ctx: &mut Context<Self>) {
        let Some(cluster) = self.cluster.clone() else { return };
        let Some(away) = self.away.get_mut(&rid) else { return };
        if attempt == 0 {
            log::info!("node {}: room {rid} moves to a new home", self.node);
        }
        away.home = None;
        let me = self.node.clone();
        let name = rid.clone();
        let find = async move {
            match cluster.claim(NAMESPACE, name.as_str()).await {
                Ok(seq) => Found::Here(seq),
                Err(ClusterError::Taken) => match cluster.lookup(NAMESPACE, name.as_str()).await {
                    Ok(Some(home)) if home != me => Found::There(home),
                    _ => Found::Retry,
                },
                Err(ClusterError::Unavailable) => Found::Retry,
            }
        };
        ctx.spawn(find.into_actor(self).map(move |found, this, ctx| {
            this.rehomed(rid, found, attempt, ctx);
        }));
    }

    fn rehomed(&mut self, rid: RoomId, found: Found, attempt: u32, ctx: &mut Context<Self>) {
        let moving = self.away.get(&rid).is_some_and(|a| a.home.is_none());
        match found {
            Found::Here(seq) => {
                self.claims.insert(rid.clone(), seq);
                let away = if moving { self.away.remove(&rid) } else { None };
                let Some(away) = away else {
                    // Every session left meanwhile: nothing to adopt.
                    if !self.rooms.contains(&rid) {
                        self.release(&rid, ctx);
                    }
                    return;
                };
                let survivors = away.survivors(|p| self.links.get(p).map(|l| l.ss.clone()));
                log::info!("node {}: room {rid} is homed here now", self.node);
                let out = self.rooms.adopt(&rid, away.ch, away.eg, survivors);
                self.deliver(out, ctx);
            }
            Found::There(home) if moving => {
                let Some(away) = self.away.get_mut(&rid) else { return };
                away.home = Some(home.clone());
                let survivors = away.survivors(|p| self.links.get(p).map(|l| l.ss.clone()));
                let (ch, eg) = (away.ch, away.eg.clone());
                let rejoin = SignalWire::Rejoin { rid: rid.clone(), ch, eg, survivors };
                if !self.send(&home, &rejoin) {
                    self.retry_rehome(rid, attempt, ctx);
                }
            }
            Found::There(_) => {}
            Found::Retry if moving => self.retry_rehome(rid, attempt, ctx),
            Found::Retry => {}
        }
    }

    fn retry_rehome(&mut self, rid: RoomId, attempt: u32, ctx: &mut Context<Self>) {
        let wait = REHOME_BACKOFF.0.saturating_mul(1 << attempt.min(8)).min(REHOME_BACKOFF.1);
        ctx.run_later(wait, move |this, ctx| {
            if this.away.get(&rid).is_some_and(|a| a.home.is_none()) {
                this.rehome(rid, attempt + 1, ctx);
            }
        });
    }

    /// Claims the names of the rooms homed here again (Redis lost them, or peers swept this
    /// node); a room whose name another node took meanwhile moves there.
    fn reclaim(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = self.cluster.clone() else { return };
        let rids: Vec<RoomId> = self.claims.keys().cloned().collect();
        let claims = async move {
            let mut results = Vec::with_capacity(rids.len());
            for rid in rids {
                let claim = cluster.claim(NAMESPACE, rid.as_str()).await;
                results.push((rid, claim));
            }
            results
        };
        ctx.spawn(claims.into_actor(self).map(|results, this, ctx| {
            let mut retry = false;
            for (rid, claim) in results {
                match claim {
                    Ok(seq) => {
                        this.claims.insert(rid, seq);
                    }
                    Err(ClusterError::Taken) => this.give_up(rid, ctx),
                    Err(ClusterError::Unavailable) => retry = true,
                }
            }
            if retry {
                ctx.run_later(Duration::from_secs(1), |this, ctx| this.reclaim(ctx));
            }
        }));
    }

    /// Another node holds room `rid`'s name: the room moves there. Member nodes are told to
    /// find its home again; this node's own sessions do the same.
    fn give_up(&mut self, rid: RoomId, ctx: &mut Context<Self>) {
        log::warn!("node {}: room {rid} was claimed elsewhere; it moves there", self.node);
        self.claims.remove(&rid);
        let Some(room) = self.rooms.evict(&rid) else { return };
        let mut told = std::collections::HashSet::new();
        let mut local = std::collections::HashSet::new();
        for (peer, _) in &room.members {
            match self.remote.get(peer) {
                Some(node) if told.insert(node.clone()) => {
                    self.send(node, &SignalWire::Moved { rid: rid.clone() });
                }
                Some(_) => {}
                None if self.links.contains_key(peer) => {
                    local.insert(peer.clone());
                }
                None => {}
            }
        }
        for (peer, _) in &room.members {
            self.forget_if_departed(peer);
        }
        if local.is_empty() {
            return;
        }
        let away = Away { home: None, ch: room.ch, eg: room.eg, pps: room.pps, members: local };
        self.away.insert(rid.clone(), away);
        self.rehome(rid, 0, ctx);
    }
}

impl Handler<Inbox> for SignalRoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Inbox, ctx: &mut Context<Self>) {
        match serde_json::from_slice::<SignalWire>(&msg.body) {
            Ok(wire) => self.on_wire(msg.origin, wire, ctx),
            Err(e) => log::warn!("node {}: bad signals frame from {}: {e}", self.node, msg.origin),
        }
    }
}

impl Handler<Membership> for SignalRoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Membership, ctx: &mut Context<Self>) {
        match msg {
            Membership::Down(node) => self.node_down(&node, ctx),
            Membership::Reclaim => self.reclaim(ctx),
            Membership::Up(_) | Membership::Resync => {}
        }
    }
}
