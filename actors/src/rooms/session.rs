//! `RoomSessionActor`: one per connected `rooms` socket (an Engine.IO session, whatever its
//! transport). It owns the socket's id and hands its commands, in order, to the rooms
//! owner; on stop the socket leaves every room it was in.

use actix::{Actor, ActorContext, Addr, Context, Handler, Message};

use super::{
    actor::{Attach, Detach, Request},
    RoomCommand, RoomEvent, RoomsActor,
};
use crate::{credit::Credit, event::Event, ids::SocketId, link::ClientLink};

/// A decoded command from the socket, or why it could not be decoded (sent back as `error`).
///
/// Sender: the edge's Engine.IO session, with `do_send`, in the order the client sent them.
/// Handler: `RoomSessionActor`, which hands them on to the rooms owner in order. No reply:
/// every answer is an event on the socket's link.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RoomInbound(pub Result<RoomCommand, String>, pub Credit);

/// The socket is gone. Sender: the edge. Handler: `RoomSessionActor`, which stops.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Gone;

/// One socket. See the module docs.
#[derive(Debug)]
pub struct RoomSessionActor {
    id: SocketId,
    link: ClientLink,
    rooms: Addr<RoomsActor>,
}

impl RoomSessionActor {
    /// A socket `id` reached through `link`.
    pub fn new(id: SocketId, link: ClientLink, rooms: Addr<RoomsActor>) -> Self {
        Self { id, link, rooms }
    }
}

impl Actor for RoomSessionActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        self.rooms.do_send(Attach { id: self.id.clone(), link: self.link.clone() });
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.rooms.do_send(Detach { id: self.id.clone() });
    }
}

impl Handler<RoomInbound> for RoomSessionActor {
    type Result = ();

    fn handle(&mut self, msg: RoomInbound, _ctx: &mut Context<Self>) {
        match msg.0 {
            // The rooms owner applies a socket's commands in order, even one needing Redis.
            Ok(command) => {
                self.rooms.do_send(Request { id: self.id.clone(), command, credit: msg.1 });
            }
            Err(message) => {
                let _ = self.link.push(Event::Room(RoomEvent::Error(message)));
            }
        }
    }
}

impl Handler<Gone> for RoomSessionActor {
    type Result = ();

    fn handle(&mut self, _msg: Gone, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
