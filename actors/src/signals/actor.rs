//! `SignalRoomsActor`: the node's owner of its `signals` rooms and of the links of the sessions
//! in them. Receives [`Apply`] for each signal and [`Gone`] when a session ends; applies
//! [`SignalRooms`] and pushes every reply to its session's link, in order.
//!
//! Work in progress (issue 5): single node; the cluster comes with the endpoint.

use std::collections::HashMap;

use actix::{Actor, Context, Handler, Message};

use super::{
    state::{Limits, Out, SignalRooms},
    Peer, Signal,
};
use crate::{event::Event, ids::ConnId, link::ClientLink};

/// Apply one signal of a session.
///
/// Sender: `SignalSessionActor`, with `do_send`, in the order its client sent them.
/// Handler: `SignalRoomsActor`. No reply: every answer is pushed to a link.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Apply {
    /// The signal.
    pub signal: Signal,
    /// The sending session's link (a session reconnecting on a new socket replaces its old one).
    pub link: ClientLink,
}

/// A session ended: it leaves every room it was in.
///
/// Sender: `SignalSessionActor`, when it stops or its heartbeats stop. Handler:
/// `SignalRoomsActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Gone {
    /// The session.
    pub peer: Peer,
    /// The connection that held it; a stale one (the session reconnected) is ignored.
    pub conn: ConnId,
}

/// The node's `signals` rooms. See the module docs.
#[derive(Debug)]
pub struct SignalRoomsActor {
    rooms: SignalRooms,
    links: HashMap<Peer, ClientLink>,
}

impl SignalRoomsActor {
    /// Rooms under `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { rooms: SignalRooms::new(limits), links: HashMap::new() }
    }

    fn deliver(&self, out: Out) {
        for (to, reply) in out {
            if let Some(link) = self.links.get(&to) {
                // A full queue closes that session; nobody else is affected.
                let _ = link.push(Event::Signals(reply));
            }
        }
    }
}

impl Actor for SignalRoomsActor {
    type Context = Context<Self>;
}

impl Handler<Apply> for SignalRoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Apply, _ctx: &mut Context<Self>) {
        let Apply { signal, link } = msg;
        self.links.insert(signal.from.clone(), link);
        let out = self.rooms.apply(&signal);
        self.deliver(out);
    }
}

impl Handler<Gone> for SignalRoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Gone, _ctx: &mut Context<Self>) {
        if self.links.get(&msg.peer).is_some_and(|link| link.conn() != msg.conn) {
            return;
        }
        self.links.remove(&msg.peer);
        let out = self.rooms.disconnect(&msg.peer);
        self.deliver(out);
    }
}
