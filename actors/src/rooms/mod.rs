//! Rooms (the `rooms` dialect, seed 003): named rooms with an owner and members, and opaque
//! signals between members of a room.
//!
//! - [`rules`]: the rules of one room ([`Room`]: create, join, leave, signal, departure), which
//!   the room engine ([`crate::engine`]) drives: one actor per room, on its creator's node.
//! - [`RoomSocket`]: one per connected socket, held by its connection's actor.
//!
//! Semantics are the reference server's (PROTOCOLS.md §3.3) without its bugs (§3.4): a
//! disconnect runs the same cleanup as `room-leave` for every room of the socket (an owner's
//! departure closes the room, the others get `room-left(room, true)`); a signal is delivered
//! exactly once; a socket may be in several rooms.

pub mod rules;

pub use rules::Room;

use serde::{Deserialize, Serialize};

/// One connected `rooms` socket, held by its connection's actor: it names the socket to the
/// engine, hands it the socket's commands in order, and when dropped the socket leaves every
/// room it was in.
pub type RoomSocket = crate::engine::Seat<Room>;

use crate::{
    ids::{RoomId, SocketId, Tenant},
    payload::Payload,
};

/// What a `rooms` client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoomCommand {
    /// Create `room` and own it.
    Create(RoomId),
    /// Join existing `room`.
    Join(RoomId),
    /// Leave `room`.
    Leave(RoomId),
    /// Send `data` to `target`, a member of `room`.
    Signal {
        /// The room both are in.
        room: RoomId,
        /// The receiver.
        target: SocketId,
        /// Opaque (an RTC description or candidate).
        data: Payload,
    },
}

impl RoomCommand {
    /// The room it names.
    pub fn room(&self) -> &RoomId {
        match self {
            RoomCommand::Create(room) | RoomCommand::Join(room) | RoomCommand::Leave(room) => room,
            RoomCommand::Signal { room, .. } => room,
        }
    }

    /// The same command for the room of that name in `tenant`'s namespace.
    pub fn in_tenant(self, tenant: &Tenant) -> Self {
        match self {
            RoomCommand::Create(room) => RoomCommand::Create(room.in_tenant(tenant)),
            RoomCommand::Join(room) => RoomCommand::Join(room.in_tenant(tenant)),
            RoomCommand::Leave(room) => RoomCommand::Leave(room.in_tenant(tenant)),
            RoomCommand::Signal { room, target, data } => {
                RoomCommand::Signal { room: room.in_tenant(tenant), target, data }
            }
        }
    }
}

/// What a `rooms` client is told. Each variant is one Socket.IO event of §3.3.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RoomEvent {
    /// `room-exists(room)`: create refused.
    Exists(RoomId),
    /// `room-not-exists(room)`: join refused.
    NotExists(RoomId),
    /// `not-in-room(room)`: leave or signal refused.
    NotInRoom(RoomId),
    /// `room-created(room)`.
    Created(RoomId),
    /// `room-joined(room, ownerId, clients)`: `clients` are the members before the join.
    Joined {
        /// The room.
        room: RoomId,
        /// Its owner.
        owner: SocketId,
        /// The members already there, in join order.
        clients: Vec<SocketId>,
    },
    /// `room-left(room, kicked)`.
    Left {
        /// The room.
        room: RoomId,
        /// Whether the owner's departure closed it.
        kicked: bool,
    },
    /// `target-not-found(room, targetId)`.
    TargetNotFound {
        /// The room.
        room: RoomId,
        /// The target named.
        target: SocketId,
    },
    /// `signal-receive(room, senderId, data)`.
    Signal {
        /// The room.
        room: RoomId,
        /// The sender.
        sender: SocketId,
        /// The data, byte for byte.
        data: Payload,
    },
    /// `client-joined(room, id)`.
    ClientJoined {
        /// The room.
        room: RoomId,
        /// Who joined.
        id: SocketId,
    },
    /// `client-left(room, id)`.
    ClientLeft {
        /// The room.
        room: RoomId,
        /// Who left.
        id: SocketId,
    },
    /// `error(message)`: the request could not be served, for this reason (each dialect words
    /// it in its own table).
    Refused(crate::error::ErrorKind),
}
