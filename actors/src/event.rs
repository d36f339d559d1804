//! `Event`: everything the core tells a client, independent of any wire format.

use std::sync::{Arc, OnceLock};

use bytestring::ByteString;
use serde::{Deserialize, Serialize};

use crate::{
    command::CallSignal,
    error::ClientError,
    ids::{CallId, ClientName},
    payload::Payload,
};

/// Something the core tells one client. Dialects encode events into frames.
///
/// Events cross nodes (serde) when their client is on another node; rosters never do: each node
/// builds its own from its replica of the cluster's presence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// The client's name was registered.
    Registered {
        /// The name, as stored.
        name: ClientName,
    },
    /// The list of registered clients changed. The same `Arc` goes to every recipient.
    #[serde(skip)]
    Roster(Arc<Roster>),
    /// The client opened call `call` (sent to the caller only).
    CallOpened {
        /// The new session's id.
        call: CallId,
    },
    /// Call `call` moved to `phase` (sent to both members).
    CallPhase {
        /// The call.
        call: CallId,
        /// Its new phase.
        phase: Phase,
    },
    /// The other member of `call` sent a signal.
    Signal {
        /// The call.
        call: CallId,
        /// The sender.
        from: ClientName,
        /// What it sent, payload untouched.
        signal: CallSignal,
    },
    /// The other member of `call` disconnected.
    PeerLeft {
        /// The call.
        call: CallId,
        /// Who left.
        peer: ClientName,
    },
    /// Another client sent this one a notification.
    Notified {
        /// The sender.
        from: ClientName,
        /// The notification kind as the sender gave it.
        kind: Option<Payload>,
    },
    /// A request of this client failed.
    Error(ClientError),
    /// A `rooms` event (only `rooms` sockets receive these).
    Room(crate::rooms::RoomEvent),
    /// A `signals` reply (only `signals` sessions receive these; node-local for now).
    #[serde(skip)]
    Signals(crate::signals::state::Reply),
    /// A `mediasoup` answer or notice (only `mediasoup` peers receive these).
    #[serde(skip)]
    Mediasoup(crate::mediasoup::Told),
    /// A toy dialect's event, in the room engine's own tests.
    #[cfg(test)]
    #[serde(skip)]
    Test(String),
}

/// The phase of a 1:1 call session, as clients see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase {
    /// Created; no offer yet.
    New,
    /// An offer is out; waiting for the answer.
    Pending,
    /// Offer answered; media may flow.
    Active,
    /// Over (rejected, stopped or a member left).
    Closed,
}

/// Whether a registered client is free or in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Presence {
    /// Free; receives roster updates.
    Waiting,
    /// In a call; receives no roster updates.
    Calling,
}

/// One line of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// The client's name.
    pub name: ClientName,
    /// Whether it is free or in a call.
    pub presence: Presence,
}

/// A snapshot of every registered client, in registration order, shared by all recipients.
///
/// Rosters are the protocol's O(N²) part: N recipients of an N-entry list. The snapshot is
/// therefore built once per update and encoded once: the first writer to encode it stores the
/// frame in [`Roster::encoded`] and every other recipient reuses it. Only one dialect renders
/// rosters (each dialect has its own namespace), so one cached frame suffices.
#[derive(Debug)]
pub struct Roster {
    entries: Vec<RosterEntry>,
    encoded: OnceLock<ByteString>,
}

impl Roster {
    /// A snapshot of `entries`.
    pub fn new(entries: Vec<RosterEntry>) -> Self {
        Self { entries, encoded: OnceLock::new() }
    }

    /// The entries, in registration order.
    pub fn entries(&self) -> &[RosterEntry] {
        &self.entries
    }

    /// The encoded frame, encoding it with `encode` on first use.
    pub fn encoded(&self, encode: impl FnOnce(&[RosterEntry]) -> ByteString) -> ByteString {
        self.encoded.get_or_init(|| encode(&self.entries)).clone()
    }
}
