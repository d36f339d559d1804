//! The directory's side of the cluster: frames from peers' directories and call actors
//! ([`Wire`]), and changes in the set of live peers ([`Membership`]).

use std::time::Duration;

use actix::{ActorFutureExt, AsyncContext, Context, Handler, WrapFuture};

use super::{
    actor::{DirectoryActor, Joined, NAMESPACE},
    wire::Wire,
};
use crate::{
    call::{Member, MemberLeft, Reach, RelaySignal, RemoteRelay},
    cluster::{ClusterError, Inbox, Membership},
    command::CommandKind,
    connection::messages::{CallMembership, CallRef},
    error::{ClientError, CloseReason, ErrorKind},
    event::{Event, Phase},
    ids::{CallId, ClientName, NodeId},
};

impl DirectoryActor {
    /// Tells `name` (a client of node `node`) that its request failed.
    fn bounce(&self, node: &NodeId, name: ClientName, error: ClientError) {
        let _ = self.send(node, &Wire::Deliver { to: name, events: vec![Event::Error(error)] });
    }

    fn snapshot(&self) -> Wire {
        let set = self.registry.clients().filter_map(|(name, _)| self.entry(name)).collect();
        Wire::Snapshot { set }
    }

    fn on_wire(&mut self, origin: NodeId, wire: Wire, ctx: &mut Context<Self>) {
        match wire {
            Wire::Presence { set, gone } => {
                self.replica.apply(&origin, set, &gone);
                self.roster_changed(ctx);
            }
            Wire::Snapshot { set } => {
                self.replica.replace(&origin, set);
                self.roster_changed(ctx);
            }
            Wire::SyncRequest => {
                let _ = self.send(&origin, &self.snapshot());
            }
            Wire::Invite { call, caller, callee } => {
                let result = self.accept_invite(&origin, call.clone(), caller, callee.clone(), ctx);
                let reply =
                    Wire::InviteReply { call: call.clone(), callee: callee.clone(), result };
                if self.send(&origin, &reply).is_err() && result.is_ok() {
                    // The caller's node will never start the call: end it here.
                    let closed = Event::CallPhase { call: call.clone(), phase: Phase::Closed };
                    self.end_joined(&call, &callee, vec![closed], ctx);
                }
            }
            Wire::InviteReply { call, callee, result } => match self.invites.remove(&call) {
                Some((_, reply)) => {
                    let _ = reply.send(result);
                }
                None if result.is_ok() => {
                    // The caller gave up waiting (or left): the callee must not stay in a call
                    // that will never start.
                    let events =
                        vec![Event::CallPhase { call: call.clone(), phase: Phase::Closed }];
                    self.send_surely(&origin, Wire::CallEnded { call, name: callee, events });
                }
                None => {}
            },
            Wire::Deliver { to, events } => {
                if let Some(client) = self.registry.get(&to) {
                    for event in events {
                        let _ = client.handle.link.push(event);
                    }
                }
            }
            Wire::Relay { call, from, signal } => self.relay(origin, call, from, signal),
            Wire::MemberLeft { call, name } => {
                if let Some(homed) = self.homed.get(&call) {
                    homed.addr.do_send(MemberLeft { name });
                }
            }
            Wire::CallEnded { call, name, events } => self.end_joined(&call, &name, events, ctx),
            Wire::Notify { from, to, kind } => {
                let result = match self.registry.get(&to) {
                    None => Err(ErrorKind::PeerNotFound),
                    Some(client) if !client.handle.link.is_open() => Err(ErrorKind::PeerNotOpen),
                    Some(client) => client
                        .handle
                        .link
                        .push(Event::Notified { from: from.clone(), kind })
                        .map_err(crate::call::member::push_error),
                };
                if let Err(kind) = result {
                    self.bounce(&origin, from, ClientError::during(kind, CommandKind::Notify));
                }
            }
        }
    }

    /// Call `call`, homed elsewhere, is over for local member `name`: free it, then push
    /// `events`.
    fn end_joined(
        &mut self,
        call: &CallId,
        name: &ClientName,
        events: Vec<Event>,
        ctx: &mut Context<Self>,
    ) {
        self.joined.remove(call);
        self.registry.end_call(call, [name, name]);
        if let Some(client) = self.registry.get(name) {
            for event in events {
                let _ = client.handle.link.push(event);
            }
            client.handle.actor.do_send(CallMembership::Left { call: call.clone() });
            self.touch(name, ctx);
        }
    }

    /// Puts local `callee` in call `call` homed on `home`, if it is free.
    fn accept_invite(
        &mut self,
        home: &NodeId,
        call: CallId,
        caller: ClientName,
        callee: ClientName,
        ctx: &mut Context<Self>,
    ) -> Result<(), ErrorKind> {
        let cluster = self.cluster.clone().ok_or(ErrorKind::Unavailable)?;
        self.registry.join_call(&callee, call.clone())?;
        let client = self.registry.get(&callee).ok_or(ErrorKind::PeerNotFound)?;
        let at = CallRef::Remote { home: home.clone(), cluster };
        client.handle.actor.do_send(CallMembership::Joined { call: call.clone(), at });
        let _ = client.handle.link.push(Event::CallPhase { call: call.clone(), phase: Phase::New });
        self.joined
            .insert(call, Joined { home: home.clone(), member: callee.clone(), peer: caller });
        self.touch(&callee, ctx);
        Ok(())
    }

    /// A signal from a member on `origin` into a call homed here; a refusal goes back to it.
    fn relay(
        &mut self,
        origin: NodeId,
        call: CallId,
        from: ClientName,
        signal: crate::command::CallSignal,
    ) {
        let op = signal.kind();
        let Some(homed) = self.homed.get(&call) else {
            self.bounce(&origin, from, ClientError::during(ErrorKind::CallNotFound, op));
            return;
        };
        let Some(cluster) = self.cluster.clone() else { return };
        let reply = Member { name: from.clone(), reach: Reach::Remote { node: origin, cluster } };
        homed.addr.do_send(RemoteRelay { relay: RelaySignal { from, signal }, reply });
    }

    /// Node `node` is gone: its clients left, whatever they were doing with ours.
    fn node_down(&mut self, node: &NodeId, ctx: &mut Context<Self>) {
        self.peers.remove(node);
        self.backlog.retain(|(to, _)| to != node);
        if self.replica.drop_node(node) {
            self.roster_changed(ctx);
        }
        // Calls homed here with a member there: as if that member disconnected.
        for homed in self.homed.values() {
            for (name, at) in &homed.members {
                if at.as_ref() == Some(node) {
                    homed.addr.do_send(MemberLeft { name: name.clone() });
                }
            }
        }
        // Calls homed there with a member here: the other member (the caller) is gone.
        let orphaned: Vec<CallId> =
            self.joined.iter().filter(|(_, j)| j.home == *node).map(|(id, _)| id.clone()).collect();
        for call in orphaned {
            let Some(joined) = self.joined.get(&call) else { continue };
            let (member, peer) = (joined.member.clone(), joined.peer.clone());
            let events = vec![
                Event::PeerLeft { call: call.clone(), peer },
                Event::CallPhase { call: call.clone(), phase: Phase::Closed },
            ];
            self.end_joined(&call, &member, events, ctx);
        }
        let waiting: Vec<CallId> =
            self.invites.iter().filter(|(_, (n, _))| n == node).map(|(id, _)| id.clone()).collect();
        for call in waiting {
            if let Some((_, reply)) = self.invites.remove(&call) {
                let _ = reply.send(Err(ErrorKind::PeerNotFound));
            }
        }
    }

    /// Claims every local name again (Redis lost them, or peers swept this node), in roster
    /// order; a name another node took meanwhile closes its client. Then tells every peer.
    fn reclaim(&mut self, ctx: &mut Context<Self>) {
        let Some(cluster) = self.cluster.clone() else { return };
        let names: Vec<ClientName> = self.registry.entries().map(|(_, n, _)| n.clone()).collect();
        let claims = async move {
            let mut results = Vec::with_capacity(names.len());
            for name in names {
                let claim = cluster.claim(NAMESPACE, &name).await;
                results.push((name, claim));
            }
            results
        };
        ctx.spawn(claims.into_actor(self).map(|results, this, ctx| {
            let mut retry = false;
            let mut renewed = 0usize;
            for (name, claim) in results {
                match claim {
                    Ok(seq) => {
                        this.registry.reorder(&name, seq);
                        renewed += 1;
                    }
                    Err(ClusterError::Taken) => {
                        log::warn!("node {}: {name} was claimed elsewhere; closing", this.node);
                        if let Some(client) = this.registry.get(&name) {
                            client.handle.link.close(CloseReason::NameLost);
                        }
                    }
                    Err(ClusterError::Unavailable) => retry = true,
                }
            }
            if retry {
                ctx.run_later(Duration::from_secs(1), |this, ctx| this.reclaim(ctx));
                return;
            }
            log::info!("node {}: re-registered {renewed} cmd names", this.node);
            if let Some(cluster) = this.cluster.clone() {
                this.broadcast(&cluster, &this.snapshot());
            }
            this.roster_changed(ctx);
        }));
    }
}

impl Handler<Inbox> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: Inbox, ctx: &mut Context<Self>) {
        match serde_json::from_slice::<Wire>(&msg.body) {
            Ok(wire) => self.on_wire(msg.origin, wire, ctx),
            Err(e) => log::warn!("node {}: bad cmd frame from {}: {e}", self.node, msg.origin),
        }
    }
}

impl Handler<Membership> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: Membership, ctx: &mut Context<Self>) {
        match msg {
            Membership::Up(node) => {
                self.peers.insert(node.clone());
                let _ = self.send(&node, &self.snapshot());
            }
            Membership::Down(node) => self.node_down(&node, ctx),
            Membership::Reclaim => self.reclaim(ctx),
            Membership::Resync => {
                if let Some(cluster) = self.cluster.clone() {
                    self.broadcast(&cluster, &self.snapshot());
                    self.broadcast(&cluster, &Wire::SyncRequest);
                }
            }
        }
    }
}
