//! `SignalSessionActor`: one per `signals` connection. The first valid signal binds the
//! connection to its session (`ss.userId` + `ss.sessionId`), seated in the `signals` room engine;
//! later signals must carry the same session. A session silent for longer than the heartbeat
//! timeout is treated as gone (its rooms are told) and the connection is closed.

use std::time::{Duration, Instant};

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message};

use super::{
    state::{Reply, SignalRoom},
    Signal,
};
use crate::{
    credit::Credit,
    engine::{Engine, Seat},
    error::CloseReason,
    event::Event,
    link::ClientLink,
};

/// A decoded frame from the client, or what the edge refused it with (the codec could not read
/// it, or the client's access token does not allow it): told in order with the answers to the
/// frames before it.
///
/// Sender: the edge's reader, with `do_send`, in order. Handler: `SignalSessionActor`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct SignalInbound(pub Result<Signal, Reply>, pub Credit);

/// The transport is gone. Sender: the edge. Handler: `SignalSessionActor`, which stops.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Closed;

/// One `signals` connection. See the module docs.
#[derive(Debug)]
pub struct SignalSessionActor {
    link: ClientLink,
    rooms: Engine<SignalRoom>,
    heartbeat_timeout: Duration,
    keepalive: Option<Duration>,
    /// The session, once bound; dropping it takes the session out of its rooms.
    seat: Option<Seat<SignalRoom>>,
    last_heard: Instant,
}

impl SignalSessionActor {
    /// A connection reached through `link`, whose session is gone after `heartbeat_timeout`
    /// of silence.
    pub fn new(link: ClientLink, rooms: Engine<SignalRoom>, heartbeat_timeout: Duration) -> Self {
        Self {
            link,
            rooms,
            heartbeat_timeout,
            keepalive: None,
            seat: None,
            last_heard: Instant::now(),
        }
    }

    /// Also pings the client every `interval`, so proxies with idle timeouts keep the socket.
    pub fn with_keepalive(mut self, interval: Duration) -> Self {
        self.keepalive = Some(interval);
        self
    }

    fn tell(&self, reply: Reply) {
        let _ = self.link.push(Event::Signals(reply));
    }

    fn check_heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.seat.is_some() && self.last_heard.elapsed() > self.heartbeat_timeout {
            log::info!("{}: no signal within the heartbeat timeout, closing", self.link.conn());
            self.link.close(CloseReason::PingTimeout);
            ctx.stop();
        }
    }
}

impl Actor for SignalSessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let period = (self.heartbeat_timeout / 4).max(Duration::from_millis(50));
        ctx.run_interval(period, Self::check_heartbeat);
        if let Some(interval) = self.keepalive {
            ctx.run_interval(interval, |this, _| {
                let _ = this.link.ping();
            });
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        // The session leaves its rooms (unless it is back on another connection already).
        self.seat.take();
    }
}

impl Handler<SignalInbound> for SignalSessionActor {
    type Result = ();

    fn handle(&mut self, msg: SignalInbound, _ctx: &mut Context<Self>) {
        let SignalInbound(signal, credit) = msg;
        let signal = match signal {
            Ok(signal) => signal,
            Err(refused) => return self.tell(refused),
        };
        let seat = match &self.seat {
            Some(seat) if *seat.member() != signal.from => {
                let peer = seat.member();
                let msg = format!("this connection is session {peer}; open one per session");
                let req = signal.raw.get().to_owned();
                let name = signal.action.signal().to_owned();
                self.tell(Reply::Invalid { unsupported: false, name, req, msg });
                return;
            }
            Some(seat) => seat,
            None => {
                let seat = self.rooms.seat(signal.from.clone(), self.link.clone());
                self.seat.insert(seat)
            }
        };
        self.last_heard = Instant::now();
        // Applied in order, even one that waits for Redis; the credit returns once applied.
        seat.send(signal, credit);
    }
}

impl Handler<Closed> for SignalSessionActor {
    type Result = ();

    fn handle(&mut self, _msg: Closed, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use actix::Actor;

    use super::*;
    use crate::{
        ids::ConnId,
        link::{self, Outbound},
        signals::{state::SignalsConfig, Action, Peer, To},
    };

    fn signal(action: Action, from: &Peer, to: Option<To>, creating: bool) -> Signal {
        Signal { creating, ..crate::signals::test_signal(action, from, to) }
    }

    async fn reply(rx: &mut link::LinkReceiver) -> Reply {
        let next = tokio::time::timeout(Duration::from_secs(5), rx.next()).await;
        match next.expect("a reply in time") {
            Some(Outbound::Event(Event::Signals(reply))) => reply,
            other => panic!("expected a signals reply, got {other:?}"),
        }
    }

    #[actix_rt::test]
    async fn a_p2p_call_through_the_actors_and_a_silent_session_is_gone() {
        let node = crate::ids::NodeId::new("n");
        let rooms = Engine::<SignalRoom>::new(node, None, SignalsConfig::default(), 2);
        rooms.host_all();
        let (la, mut ra) = link::channel(ConnId(1), 64);
        let (lb, mut rb) = link::channel(ConnId(2), 64);
        let a = SignalSessionActor::new(la, rooms.clone(), Duration::from_millis(300)).start();
        let b = SignalSessionActor::new(lb, rooms.clone(), Duration::from_secs(60)).start();
        let (pa, pb) = (
            Peer { user: "a".into(), session: "1".into() },
            Peer { user: "b".into(), session: "1".into() },
        );
        a.do_send(SignalInbound(Ok(signal(Action::Join, &pa, None, true)), Credit::none()));
        assert!(matches!(reply(&mut ra).await, Reply::Joined { .. }));
        b.do_send(SignalInbound(Ok(signal(Action::Join, &pb, None, false)), Credit::none()));
        assert!(matches!(reply(&mut rb).await, Reply::Joined { ref pps, .. } if pps.len() == 2));
        assert!(matches!(reply(&mut ra).await, Reply::PublishListChanged { .. }));
        assert!(matches!(reply(&mut rb).await, Reply::PublishListChanged { .. }));
        // The callee offers; the caller receives the signal as sent.
        b.do_send(SignalInbound(
            Ok(signal(Action::Offer, &pb, Some(To::User("a".into())), false)),
            Credit::none(),
        ));
        assert!(
            matches!(reply(&mut ra).await, Reply::Forward(raw) if raw.get() == "\"Offer from b/1\"")
        );
        // One connection, one session: another session's signal is refused.
        b.do_send(SignalInbound(Ok(signal(Action::Leave, &pa, None, false)), Credit::none()));
        assert!(matches!(reply(&mut rb).await, Reply::Invalid { unsupported: false, .. }));
        // a says nothing more: past its heartbeat timeout it is closed and b is told.
        let closed =
            tokio::time::timeout(Duration::from_secs(5), ra.next()).await.expect("in time");
        assert!(matches!(closed, Some(Outbound::Close(CloseReason::PingTimeout))));
        assert!(
            matches!(reply(&mut rb).await, Reply::PublishListChanged { ref pps, .. } if pps.len() == 1)
        );
    }
}
