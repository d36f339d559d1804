//! `CallActor`: owns one 1:1 call session.
//!
//! Started by the `DirectoryActor` of the caller's node (the call's home) when a client opens a
//! session, with both members. It receives [`RelaySignal`] and [`MemberLeft`] from the members'
//! connections (through the bridge for a member on another node), forwards signals straight to
//! the other member (its link, or its node's inbox), and when the call ends hands the final events to the
//! directory in one [`CallEnded`], so that the members are back in WAIT before they can see
//! that the call closed. Then it stops; a stopped call refuses every later signal as unknown.

use actix::{
    fut, Actor, ActorContext, ActorFutureExt, AsyncContext, Context, Handler, Recipient,
    ResponseActFuture, WrapFuture,
};

use super::{
    member::Member,
    messages::{LocalRelay, MemberLeft, RelaySignal, RemoteRelay},
    state::{CallState, Side},
};
use crate::{
    command::CallSignal,
    directory::messages::CallEnded,
    error::{ClientError, ErrorKind},
    event::{Event, Phase},
    ids::{CallId, ClientName},
};

/// The actor owning one call session. See the module docs.
#[derive(Debug)]
pub struct CallActor {
    id: CallId,
    /// `[caller, callee]`.
    members: [Member; 2],
    state: CallState,
    directory: Recipient<CallEnded>,
}

impl CallActor {
    /// A call `id` between `caller` and `callee`, in phase NEW.
    pub fn new(
        id: CallId,
        caller: Member,
        callee: Member,
        directory: Recipient<CallEnded>,
    ) -> Self {
        Self { id, members: [caller, callee], state: CallState::new(), directory }
    }

    fn side_of(&self, name: &ClientName) -> Option<Side> {
        if self.members[0].name == *name {
            Some(Side::Caller)
        } else if self.members[1].name == *name {
            Some(Side::Callee)
        } else {
            None
        }
    }

    fn member(&self, side: Side) -> &Member {
        match side {
            Side::Caller => &self.members[0],
            Side::Callee => &self.members[1],
        }
    }

    fn other(side: Side) -> Side {
        match side {
            Side::Caller => Side::Callee,
            Side::Callee => Side::Caller,
        }
    }

    fn phase_event(&self, phase: Phase) -> Event {
        Event::CallPhase { call: self.id.clone(), phase }
    }

    /// Ends the call: `deliveries` are pushed by the directory after both members are back in
    /// WAIT. Resolves once the directory has done so, then the actor stops. Until then the call
    /// is CLOSED and refuses every signal.
    fn end(&mut self, deliveries: Vec<(Side, Event)>) -> ResponseActFuture<Self, ()> {
        self.state.close();
        let members = self.members.clone();
        let ended = self.directory.send(CallEnded { call: self.id.clone(), members, deliveries });
        Box::pin(ended.into_actor(self).map(|_, _, ctx| ctx.stop()))
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        log::debug!(
            "call {} started: {} → {}",
            self.id,
            self.members[0].name,
            self.members[1].name
        );
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        log::debug!("call {} ended", self.id);
    }
}

impl Handler<RelaySignal> for CallActor {
    type Result = ResponseActFuture<Self, Result<(), ErrorKind>>;

    /// Replies once everything the signal causes is queued to the members, so the sender's
    /// next command sees its effects (the call ended, the sender back in WAIT).
    fn handle(&mut self, msg: RelaySignal, _ctx: &mut Context<Self>) -> Self::Result {
        self.relay(msg)
    }
}

impl Handler<RemoteRelay> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: RemoteRelay, ctx: &mut Context<Self>) {
        let RemoteRelay { relay, reply } = msg;
        self.relay_unanswered(relay, ctx, move |error| {
            let _ = reply.push(error);
        });
    }
}

impl Handler<LocalRelay> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: LocalRelay, ctx: &mut Context<Self>) {
        let LocalRelay { relay, reply } = msg;
        self.relay_unanswered(relay, ctx, move |error| {
            let _ = reply.push(error);
        });
    }
}

/// What a signal did to the call.
enum Relayed {
    /// Applied (or refused) at once.
    Done(Result<(), ErrorKind>),
    /// It ends the call; done when this resolves.
    Ending(ResponseActFuture<CallActor, ()>),
}

impl CallActor {
    /// Applies `msg` to the call; resolves once everything it causes is queued.
    fn relay(&mut self, msg: RelaySignal) -> ResponseActFuture<Self, Result<(), ErrorKind>> {
        match self.relay_now(msg) {
            Relayed::Done(result) => Box::pin(fut::ready(result)),
            Relayed::Ending(ending) => Box::pin(ending.map(|(), _, _| Ok(()))),
        }
    }

    /// Applies `msg` with no reply: a refusal's error event goes to `refused` (the relay path:
    /// no future to allocate unless the signal ends the call).
    fn relay_unanswered(
        &mut self,
        msg: RelaySignal,
        ctx: &mut Context<Self>,
        refused: impl FnOnce(Event),
    ) {
        let op = msg.signal.kind();
        match self.relay_now(msg) {
            Relayed::Done(Ok(())) => {}
            Relayed::Done(Err(kind)) => refused(Event::Error(ClientError::during(kind, op))),
            Relayed::Ending(ending) => {
                ctx.spawn(ending);
            }
        }
    }

    fn relay_now(&mut self, msg: RelaySignal) -> Relayed {
        let Some(from) = self.side_of(&msg.from) else {
            return Relayed::Done(Err(ErrorKind::CallNotFound));
        };
        let step = match self.state.apply(from, msg.signal.kind()) {
            Ok(step) => step,
            Err(kind) => return Relayed::Done(Err(kind)),
        };
        let to = Self::other(from);
        let ends = matches!(msg.signal, CallSignal::Reject | CallSignal::Stop);
        let msg_kind = msg.signal.kind();
        let forwarded = Event::Signal { call: self.id.clone(), from: msg.from, signal: msg.signal };

        if ends {
            // The forward goes out with the closing phase, after both members are free again.
            let closed = self.phase_event(Phase::Closed);
            let deliveries = vec![(to, forwarded), (from, closed.clone()), (to, closed)];
            return Relayed::Ending(self.end(deliveries));
        }
        match self.member(to).push(forwarded) {
            Ok(()) => {
                if let Some(phase) = step.announce {
                    let event = self.phase_event(phase);
                    let _ = self.member(from).push(event.clone());
                    let _ = self.member(to).push(event);
                }
                Relayed::Done(Ok(()))
            }
            Err(kind) => {
                // The reference closes the session when a forward fails, and so do we: the
                // sender is told why, then that the call is CLOSED; so is the peer, if it can
                // still be reached (a member on a node cut off from Redis, once it is back).
                let error = Event::Error(ClientError::during(kind, msg_kind));
                let closed = self.phase_event(Phase::Closed);
                let deliveries = vec![(from, error), (from, closed.clone()), (to, closed)];
                Relayed::Ending(self.end(deliveries))
            }
        }
    }
}

impl Handler<MemberLeft> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: MemberLeft, ctx: &mut Context<Self>) {
        let Some(side) = self.side_of(&msg.name) else { return };
        if self.state.phase() == Phase::Closed {
            return;
        }
        let peer = Self::other(side);
        let left = Event::PeerLeft { call: self.id.clone(), peer: msg.name };
        let deliveries = vec![(peer, left), (peer, self.phase_event(Phase::Closed))];
        let ending = self.end(deliveries);
        ctx.spawn(ending);
    }
}
