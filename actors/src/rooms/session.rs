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
    RoomCommand,
};
use crate::{credit::Credit, ids::SocketId, link::ClientLink};

/// One socket. See the module docs.
#[derive(Debug)]
pub struct RoomSocket {
    id: SocketId,
    rooms: RoomsDoor,
}

impl RoomSocket {
    /// Socket `id`, reached through `link`, attached to the rooms owner `rooms`.
    pub fn attach(id: SocketId, link: ClientLink, rooms: RoomsDoor) -> Self {
        rooms.send(Inbound::Attach { id: id.clone(), link });
        Self { id, rooms }
    }

    /// A decoded command; `credit` is held until the command is applied. (What the dialect
    /// could not decode it refuses itself: the core never sees it.)
    pub fn send(&self, command: RoomCommand, credit: Credit) {
        // The rooms owner applies a socket's commands in order, even one needing Redis.
        self.rooms.send(Inbound::Request { id: self.id.clone(), command, credit });
    }
}

impl Drop for RoomSocket {
    fn drop(&mut self) {
        self.rooms.send(Inbound::Detach { id: self.id.clone() });
    }
}
