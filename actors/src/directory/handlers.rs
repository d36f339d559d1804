//! The directory's handlers for its own node's connections and calls: [`Register`],
//! [`Unregister`], [`OpenCall`], [`Notify`], [`CallEnded`]. The cluster's side is in
//! [`super::remote`].

use actix::{ActorFutureExt, Context, Handler, ResponseActFuture, WrapFuture};

use super::{
    actor::{ready, Claim, DirectoryActor, Handle, NAMESPACE},
    messages::{CallEnded, Notify, OpenCall, Register, Unregister},
    wire::Wire,
};
use crate::{
    call::{member::push_error, Reach},
    cluster::ClusterError,
    connection::messages::CallMembership,
    error::ErrorKind,
    event::Event,
    ids::CallId,
};

impl Handler<Register> for DirectoryActor {
    type Result = ResponseActFuture<Self, Result<(), ErrorKind>>;

    fn handle(&mut self, msg: Register, ctx: &mut Context<Self>) -> Self::Result {
        let Register { name, conn, link, actor } = msg;
        if self.registry.get(&name).is_some() || self.claiming.contains_key(&name) {
            return ready(Err(ErrorKind::NameTaken));
        }
        let handle = Handle { link, actor };
        let Some(cluster) = self.cluster.clone() else {
            let seq = self.next_seq;
            self.next_seq += 1;
            return ready(self.admit(name, seq, conn, handle, ctx));
        };
        self.claiming.insert(name.clone(), Claim { conn, abandoned: false });
        let claimed = name.clone();
        let claim = async move { cluster.claim(NAMESPACE, &claimed).await };
        Box::pin(claim.into_actor(self).map(move |claim, this, ctx| {
            let abandoned = this.claiming.remove(&name).is_none_or(|c| c.abandoned);
            match claim {
                Ok(seq) if abandoned => {
                    this.release(name, seq, ctx);
                    Err(ErrorKind::PeerGone)
                }
                Ok(seq) => this.admit(name, seq, conn, handle, ctx),
                Err(ClusterError::Taken) => Err(ErrorKind::NameTaken),
                Err(ClusterError::Unavailable) => Err(ErrorKind::Unavailable),
            }
        }))
    }
}

impl Handler<Unregister> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: Unregister, ctx: &mut Context<Self>) {
        if let Some(claim) = self.claiming.get_mut(&msg.name).filter(|c| c.conn == msg.conn) {
            claim.abandoned = true;
            return;
        }
        let seq = self.registry.seq(&msg.name);
        let Some(client) = self.registry.unregister(&msg.name, msg.conn) else { return };
        if let Some(call) = client.call {
            if let Some(joined) = self.joined.remove(&call) {
                let left = Wire::MemberLeft { call: call.clone(), name: msg.name.clone() };
                self.send_surely(&joined.home, left);
                self.registry.end_call(&call, [&msg.name, &msg.name]);
            }
        }
        if let Some(seq) = seq {
            self.release(msg.name.clone(), seq, ctx);
        }
        self.touch(&msg.name, ctx);
    }
}

impl Handler<OpenCall> for DirectoryActor {
    type Result = ResponseActFuture<Self, Result<(), ErrorKind>>;

    fn handle(&mut self, msg: OpenCall, ctx: &mut Context<Self>) -> Self::Result {
        let OpenCall { caller, callee } = msg;
        if self.registry.get(&caller).is_none() {
            return ready(Err(ErrorKind::NotRegistered));
        }
        if caller == callee {
            return ready(Err(ErrorKind::SelfTarget));
        }
        if self.registry.get(&callee).is_some() {
            let call = match self.registry.open_call(&caller, &callee, CallId::random) {
                Ok(call) => call,
                Err(kind) => return ready(Err(kind)),
            };
            let (Some(a), Some(b)) = (self.local_member(&caller), self.local_member(&callee))
            else {
                return ready(Err(ErrorKind::Internal));
            };
            self.start_call(call, a, b, ctx);
            return ready(Ok(()));
        }
        if let Some(remote) = self.replica.get(&callee) {
            let node = remote.node.clone();
            return self.invite(caller, callee, node);
        }
        // Not in the replica yet (registered a moment ago on another node): ask Redis.
        let Some(cluster) = self.cluster.clone() else {
            return ready(Err(ErrorKind::PeerNotFound));
        };
        let name = callee.clone();
        let lookup = async move { cluster.lookup(NAMESPACE, &name).await };
        Box::pin(lookup.into_actor(self).then(move |owner, this, _| match owner {
            Ok(Some(node)) if node != this.node => this.invite(caller, callee, node),
            Ok(_) => ready(Err(ErrorKind::PeerNotFound)),
            Err(_) => ready(Err(ErrorKind::Unavailable)),
        }))
    }
}

impl Handler<Notify> for DirectoryActor {
    type Result = ResponseActFuture<Self, Result<(), ErrorKind>>;

    fn handle(&mut self, msg: Notify, _ctx: &mut Context<Self>) -> Self::Result {
        if let Some(target) = self.registry.get(&msg.to) {
            let link = &target.handle.link;
            if !link.is_open() {
                return ready(Err(ErrorKind::PeerNotOpen));
            }
            let event = Event::Notified { from: msg.from, kind: msg.kind };
            return ready(link.push(event).map_err(push_error));
        }
        if let Some(remote) = self.replica.get(&msg.to) {
            let node = remote.node.clone();
            return ready(self.notify_remote(&node, msg));
        }
        let Some(cluster) = self.cluster.clone() else {
            return ready(Err(ErrorKind::PeerNotFound));
        };
        let name = msg.to.clone();
        let lookup = async move { cluster.lookup(NAMESPACE, &name).await };
        Box::pin(lookup.into_actor(self).map(move |owner, this, _| match owner {
            Ok(Some(node)) if node != this.node => this.notify_remote(&node, msg),
            Ok(_) => Err(ErrorKind::PeerNotFound),
            Err(_) => Err(ErrorKind::Unavailable),
        }))
    }
}

impl Handler<CallEnded> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: CallEnded, ctx: &mut Context<Self>) {
        let CallEnded { call, members, deliveries } = msg;
        self.homed.remove(&call);
        self.registry.end_call(&call, [&members[0].name, &members[1].name]);
        let mut remote_events: [Vec<Event>; 2] = [Vec::new(), Vec::new()];
        for (side, event) in deliveries {
            let i = side as usize;
            match &members[i].reach {
                Reach::Local { link, .. } => {
                    let _ = link.push(event);
                }
                Reach::Remote { .. } => remote_events[i].push(event),
            }
        }
        for (member, events) in members.iter().zip(remote_events) {
            match &member.reach {
                Reach::Local { conn, .. } => {
                    conn.do_send(CallMembership::Left { call: call.clone() });
                    self.touch(&member.name, ctx);
                }
                Reach::Remote { node, .. } => {
                    let name = member.name.clone();
                    self.send_surely(node, Wire::CallEnded { call: call.clone(), name, events });
                }
            }
        }
    }
}
