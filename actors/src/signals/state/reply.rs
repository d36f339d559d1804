//! What the `signals` room rules answer: replies for sessions, and why a signal is refused.

use serde::{Deserialize, Serialize};

use super::{Action, Channel, Peer};
use crate::{ids::RoomId, payload::Payload};

/// Why a signal was refused; the dialect turns each into its code (the core names none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// No such room.
    RoomNotFound,
    /// The sender (or the named member) is not in the room.
    NotRoomMember,
    /// The p2p target is not in the room.
    RecipientNotMember,
    /// The room exists already.
    RoomExists,
    /// Already a publisher.
    AlreadyPublisher,
    /// The target session has left the room.
    UserLeft,
    /// Not allowed (publishers only, owner only, or no room for another publisher).
    PermissionDenied,
    /// The room's channel is not the signal's.
    UnsupportedChannel,
    /// The signal needs the media plane, which this node does not run.
    NoMediaPlane,
    /// The watched session publishes no media (yet): the viewer may try again.
    NotPublishing,
    /// An ANSWER came with no offer of the server's waiting for it (WATCH first).
    NoOffer,
    /// The media plane failed.
    MediaFailed,
    /// The room's home could not be reached (Redis is down, or the room is moving to a
    /// new home after its node died); the client may try again.
    Unavailable,
    /// The JOIN would create the room, and the tenant has all the rooms it may have.
    RoomLimit,
}

impl Refusal {
    /// Every refusal, for table tests and the metrics of each code.
    pub const ALL: [Refusal; 14] = [
        Refusal::RoomNotFound,
        Refusal::NotRoomMember,
        Refusal::RecipientNotMember,
        Refusal::RoomExists,
        Refusal::AlreadyPublisher,
        Refusal::UserLeft,
        Refusal::PermissionDenied,
        Refusal::UnsupportedChannel,
        Refusal::NoMediaPlane,
        Refusal::NotPublishing,
        Refusal::RoomLimit,
        Refusal::NoOffer,
        Refusal::MediaFailed,
        Refusal::Unavailable,
    ];
}

/// A participant's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Sends media.
    Publisher,
    /// Watches.
    Viewer,
}

/// A publisher as listed to participants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listed {
    /// The session.
    pub peer: Peer,
    /// Its session info as it sent it.
    pub ss: Payload,
    /// Video enabled.
    pub ve: bool,
    /// Audio enabled.
    pub ae: bool,
}

/// What one session is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Reply {
    /// JOIN succeeded.
    Joined {
        /// The room.
        rid: RoomId,
        /// Its publishers.
        pps: Vec<Listed>,
        /// The room's channel.
        ch: Channel,
        /// The joiner's role.
        role: Role,
        /// The room's engine, as its creator gave it.
        eg: Option<Payload>,
        /// In an `m2m` room, the server's offer of a downlink of each publisher (by session)
        /// that publishes media, for the joiner to answer (PROTOCOLS.md §2.2).
        offers: Vec<(Peer, String)>,
    },
    /// A HEARTBEAT ack.
    Heartbeat {
        /// The room.
        rid: RoomId,
        /// Its publishers.
        pps: Vec<Listed>,
        /// The heartbeat id, echoed.
        bid: Option<Payload>,
    },
    /// The publishers changed.
    PublishListChanged {
        /// The room.
        rid: RoomId,
        /// Its publishers now.
        pps: Vec<Listed>,
    },
    /// The server's answer to a publisher's OFFER (`m2m`/`a2m`).
    Offered {
        /// The room.
        rid: RoomId,
        /// The SDP answer.
        sdp: String,
    },
    /// The server's offers for a viewer's WATCH, one per watched publisher session.
    Watching {
        /// The room.
        rid: RoomId,
        /// Each publisher, with the SDP offer of the viewer's downlink of it.
        pps: Vec<(Listed, String)>,
    },
    /// A signal from another session, to pass on exactly as sent.
    Forward(Payload),
    /// The owner's KICK, passed on exactly as sent: the session is out of the room.
    Kicked {
        /// The room.
        rid: RoomId,
        /// The KICK as the owner sent it.
        req: Payload,
    },
    /// The frame was not a valid signal (or named a channel the signal does not support):
    /// refused by the dialect's codec before it reached any room.
    Invalid {
        /// Whether the signal was valid but not for its channel (2002) rather than invalid.
        unsupported: bool,
        /// The signal's name, if the frame got that far.
        name: String,
        /// The signal as sent (raw JSON).
        req: String,
        /// What was wrong.
        msg: String,
    },
    /// The signal was refused.
    Refused {
        /// Which signal.
        action: Action,
        /// Why.
        refusal: Refusal,
        /// The signal as sent.
        req: Payload,
    },
}
