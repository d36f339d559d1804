//! What the rooms owners of different nodes tell each other, as the body of a `rooms` frame.

use serde::{Deserialize, Serialize};

use super::{RoomCommand, RoomEvent};
use crate::ids::{RoomId, SocketId};

/// A `rooms` message between nodes.
#[derive(Debug, Serialize, Deserialize)]
pub enum RoomWire {
    /// A socket of the sender asks the room's home (the receiver) to join, leave or signal.
    Command {
        /// The socket, on the sender.
        socket: SocketId,
        /// Its command.
        command: RoomCommand,
    },
    /// Events for sockets of the receiver, in order.
    Deliver {
        /// Each event and its socket.
        events: Vec<(SocketId, RoomEvent)>,
    },
    /// A socket of the sender disconnected: it leaves these rooms homed on the receiver.
    Gone {
        /// The socket.
        socket: SocketId,
        /// Its rooms there.
        rooms: Vec<RoomId>,
    },
}
