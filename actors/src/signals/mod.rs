//! The `signals` dialect's vocabulary (seed 002, PROTOCOLS.md §2): rooms with a channel
//! (`p2p`, `m2m`, `a2m`, `p2m`), users with several sessions, and the signals they send.
//!
//! - [`state`]: the rules of one room ([`state::SignalRoom`]), pure, which the room engine
//!   ([`crate::engine`]) drives: one actor per room, on its home node; rooms outlive their home.
//! - [`SignalSessionActor`]: one per connection.

pub mod session;
pub mod state;

pub use session::SignalSessionActor;

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};

use crate::{ids::RoomId, payload::Payload};

/// A room's type, which decides its rules and which signals it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    /// Two users calling each other; signals are relayed between them.
    P2p,
    /// Many publishers (9 at most) through the media plane.
    M2m,
    /// Publishers promoted by the owner, many viewers, through the media plane.
    A2m,
    /// One publisher to many viewers (HLS).
    P2m,
}

impl Channel {
    /// Parses the `ch` field.
    pub fn parse(ch: &str) -> Option<Self> {
        Some(match ch {
            "p2p" => Channel::P2p,
            "m2m" => Channel::M2m,
            "a2m" => Channel::A2m,
            "p2m" => Channel::P2m,
            _ => return None,
        })
    }

    /// Whether its rooms' media go through the server's media plane.
    pub fn uses_media(self) -> bool {
        matches!(self, Channel::M2m | Channel::A2m)
    }

    /// The `ch` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::P2p => "p2p",
            Channel::M2m => "m2m",
            Channel::A2m => "a2m",
            Channel::P2m => "p2m",
        }
    }
}

/// One session of one user (a device, or a screenshare).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Peer {
    /// The user.
    pub user: Arc<str>,
    /// The session.
    pub session: Arc<str>,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.user, self.session)
    }
}

/// Who a signal is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum To {
    /// Every session of a user (p2p only).
    User(Arc<str>),
    /// One session.
    Session(Peer),
}

/// What a signal asks; each is one API route (`action`) and one signal name (`s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// `join` / `JOIN`
    Join,
    /// `leave` / `LEAVE`
    Leave,
    /// `updateVideo` / `UPDATE`
    Update,
    /// `heartbeat` / `HEARTBEAT`
    Heartbeat,
    /// `offer` / `OFFER`
    Offer,
    /// `answer` / `ANSWER`
    Answer,
    /// `iceCandidate` / `ICE`
    Ice,
    /// `watch` / `WATCH`
    Watch,
    /// `kick` / `KICK`
    Kick,
    /// `publishRequest` / `PUBLISH_REQUEST`
    PublishRequest,
    /// `publishAccept` / `PUBLISH_ACCEPT`
    PublishAccept,
    /// `publishReject` / `PUBLISH_REJECT`
    PublishReject,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 12] = [
        Action::Join,
        Action::Leave,
        Action::Update,
        Action::Heartbeat,
        Action::Offer,
        Action::Answer,
        Action::Ice,
        Action::Watch,
        Action::Kick,
        Action::PublishRequest,
        Action::PublishAccept,
        Action::PublishReject,
    ];

    /// The API route (`action` of the client's frame).
    pub fn route(self) -> &'static str {
        match self {
            Action::Join => "join",
            Action::Leave => "leave",
            Action::Update => "updateVideo",
            Action::Heartbeat => "heartbeat",
            Action::Offer => "offer",
            Action::Answer => "answer",
            Action::Ice => "iceCandidate",
            Action::Watch => "watch",
            Action::Kick => "kick",
            Action::PublishRequest => "publishRequest",
            Action::PublishAccept => "publishAccept",
            Action::PublishReject => "publishReject",
        }
    }

    /// The signal name (`s`).
    pub fn signal(self) -> &'static str {
        match self {
            Action::Join => "JOIN",
            Action::Leave => "LEAVE",
            Action::Update => "UPDATE",
            Action::Heartbeat => "HEARTBEAT",
            Action::Offer => "OFFER",
            Action::Answer => "ANSWER",
            Action::Ice => "ICE",
            Action::Watch => "WATCH",
            Action::Kick => "KICK",
            Action::PublishRequest => "PUBLISH_REQUEST",
            Action::PublishAccept => "PUBLISH_ACCEPT",
            Action::PublishReject => "PUBLISH_REJECT",
        }
    }

    /// The action of API route `route`.
    pub fn from_route(route: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.route() == route)
    }

    /// The action of signal name `s`.
    pub fn from_signal(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.signal() == s)
    }
}

/// A decoded, validated signal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signal {
    /// What it asks.
    pub action: Action,
    /// The room's channel.
    pub ch: Channel,
    /// The room.
    pub rid: RoomId,
    /// The sending session (from `ss`).
    pub from: Peer,
    /// The sender's session info as sent (`ss`), shown to others in publisher lists.
    pub ss: Payload,
    /// The target, for signals that have one.
    pub to: Option<To>,
    /// `ve` (video enabled), where given.
    pub ve: Option<bool>,
    /// `ae` (audio enabled), where given.
    pub ae: Option<bool>,
    /// `op.roomCreating` of a JOIN.
    pub creating: bool,
    /// The SDP of an OFFER or ANSWER for the media plane (`m2m`/`a2m` only: p2p signals are
    /// relayed as sent, never read).
    pub sdp: Option<String>,
    /// `op.hlsForwarding` of an OFFER.
    pub hls: bool,
    /// `eg` of a JOIN (the engine), as sent.
    pub eg: Option<Payload>,
    /// `bid` of a HEARTBEAT, as sent.
    pub bid: Option<Payload>,
    /// `send_ack` of a HEARTBEAT.
    pub send_ack: bool,
    /// The whole signal as sent: an error ack's `b.req`, and what a p2p peer receives.
    pub raw: Payload,
}

/// A p2p signal in room `r` from `from`, whose raw form names it (`"Offer from a/1"`), for tests.
#[cfg(test)]
pub(crate) fn test_signal(action: Action, from: &Peer, to: Option<To>) -> Signal {
    Signal {
        action,
        ch: Channel::P2p,
        rid: RoomId::new("r"),
        from: from.clone(),
        ss: Payload::string(&from.to_string()),
        to,
        ve: None,
        ae: None,
        creating: false,
        sdp: None,
        hls: false,
        eg: None,
        bid: None,
        send_ack: false,
        raw: Payload::string(&format!("{action:?} from {from}")),
    }
}
