//! `RoomSocket`: one connected `rooms` socket, held by its connection's actor (the edge's
//! Engine.IO session). It names the socket to the rooms owner, hands it the socket's commands
//! in order, and when dropped the socket leaves every room it was in.
//!
//! It is a handle, not an actor of its own: the connection's actor already orders the
//! client's packets, and a forwarding actor in between cost every command a mailbox hop (two
//! allocations and a wake-up) and every client a mailbox. It reaches the rooms owner through
//! the owner's door ([`RoomsDoor`]), not its mailbox, for the same reason.

use super::{
    inbound::{Inbound, RoomsDoor},
    RoomCommand, RoomEvent,
};
use crate::{credit::Credit, event::Event, ids::SocketId, link::ClientLink};

/// One socket. See the module docs.
#[derive(Debug)]
pub struct RoomSocket {
    id: SocketId,
    link: ClientLink,
    rooms: RoomsDoor,
}

impl RoomSocket {
    /// Socket `id`, reached through `link`, attached to the rooms owner `rooms`.
    pub fn attach(id: SocketId, link: ClientLink, rooms: RoomsDoor) -> Self {
        rooms.send(Inbound::Attach { id: id.clone(), link: link.clone() });
        Self { id, link, rooms }
    }

    /// A decoded command, or why the client's event could not be decoded (sent back as
    /// `error`); `credit` is held until the command is applied.
    pub fn send(&self, command: Result<RoomCommand, String>, credit: Credit) {
        match command {
            // The rooms owner applies a socket's commands in order, even one needing Redis.
            Ok(command) => {
                self.rooms.send(Inbound::Request { id: self.id.clone(), command, credit })
            }
            Err(message) => {
                let _ = self.link.push(Event::Room(RoomEvent::Error(message)));
            }
        }
    }
}

impl Drop for RoomSocket {
    fn drop(&mut self) {
        self.rooms.send(Inbound::Detach { id: self.id.clone() });
    }
}
