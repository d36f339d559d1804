//! `RoomsActor`: the node's owner of its rooms and of the links of its `rooms` sockets.
//!
//! Started once per node by [`crate::node::Core::start`]. Receives [`Attach`] and [`Detach`]
//! from session actors as sockets come and go, and [`Request`] for each command; applies the
//! rules in [`Rooms`] and pushes every resulting event to its socket's link, in order.

use std::collections::HashMap;

use actix::{Actor, Context, Handler, Message};

use super::{
    state::{Out, Rooms},
    RoomCommand,
};
use crate::{event::Event, ids::SocketId, link::ClientLink};

/// A socket connected: how to reach it.
///
/// Sender: `RoomSessionActor`, when it starts. Handler: `RoomsActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Attach {
    /// The socket.
    pub id: SocketId,
    /// Its outbound queue.
    pub link: ClientLink,
}

/// A socket is gone: it leaves every room it was in.
///
/// Sender: `RoomSessionActor`, when it stops. Handler: `RoomsActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Detach {
    /// The socket.
    pub id: SocketId,
}

/// A socket's command.
///
/// Sender: `RoomSessionActor`, with `do_send`, so a socket's commands arrive in order.
/// Handler: `RoomsActor`. No reply: every answer is an event pushed to a link.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Request {
    /// The socket.
    pub id: SocketId,
    /// What it asks.
    pub command: RoomCommand,
}

/// The node's rooms. See the module docs.
#[derive(Debug, Default)]
pub struct RoomsActor {
    rooms: Rooms,
    links: HashMap<SocketId, ClientLink>,
}

impl RoomsActor {
    fn deliver(&self, out: Vec<Out>) {
        for (to, event) in out {
            if let Some(link) = self.links.get(&to) {
                // A full queue closes that socket; nobody else is affected.
                let _ = link.push(Event::Room(event));
            }
        }
    }
}

impl Actor for RoomsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
    }
}

impl Handler<Attach> for RoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Attach, _ctx: &mut Context<Self>) {
        self.links.insert(msg.id, msg.link);
    }
}

impl Handler<Detach> for RoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Detach, _ctx: &mut Context<Self>) {
        self.links.remove(&msg.id);
        let out = self.rooms.disconnect(&msg.id);
        self.deliver(out);
    }
}

impl Handler<Request> for RoomsActor {
    type Result = ();

    fn handle(&mut self, msg: Request, _ctx: &mut Context<Self>) {
        let Request { id, command } = msg;
        let out = match command {
            RoomCommand::Create(room) => self.rooms.create(&id, room),
            RoomCommand::Join(room) => self.rooms.join(&id, room),
            RoomCommand::Leave(room) => self.rooms.leave(&id, room),
            RoomCommand::Signal { room, target, data } => {
                self.rooms.signal(&id, room, target, data)
            }
        };
        self.deliver(out);
    }
}
