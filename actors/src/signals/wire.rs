//! What the `signals` rooms of different nodes tell each other, as the body of a `signals`
//! frame.

use serde::{Deserialize, Serialize};

use super::{
    state::{Reply, Survivor},
    Channel, Peer, Signal,
};
use crate::{ids::RoomId, payload::Payload};

/// A `signals` message between nodes.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum SignalWire {
    /// A session of the sender signals a room homed on the receiver.
    Signal {
        /// The signal, as the session's node decoded it.
        signal: Signal,
    },
    /// Replies for sessions of the receiver, in order.
    Deliver {
        /// Each reply and its session.
        replies: Vec<(Peer, Reply)>,
    },
    /// A session of the sender disconnected: it leaves the rooms homed on the receiver.
    Gone {
        /// The session.
        peer: Peer,
    },
    /// The room's home died; the receiver is its new home: the sender's sessions rejoin it.
    Rejoin {
        /// The room.
        rid: RoomId,
        /// Its channel.
        ch: Channel,
        /// Its engine.
        eg: Option<Payload>,
        /// The sender's sessions in it.
        survivors: Vec<Survivor>,
    },
    /// The receiver thinks the sender is the room's home, and it is not (any more): find the
    /// home again.
    Moved {
        /// The room.
        rid: RoomId,
    },
}
