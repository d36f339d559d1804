//! Messages handled by [`CallActor`](super::CallActor).

use actix::Message;

use super::Member;
use crate::{command::CallSignal, error::ErrorKind, ids::ClientName, link::ClientLink};

/// A member sends a signal into the call.
///
/// Sender: the member's `ConnectionActor`, after checking the call id is its own.
/// Handler: `CallActor`, which applies the state machine and forwards to the other member.
/// Reply: `Ok` once forwarded; the error to tell the sender otherwise (a refused transition,
/// or a failed delivery, which also ends the call).
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ErrorKind>")]
pub struct RelaySignal {
    /// The sending member.
    pub from: ClientName,
    /// The signal, payload untouched.
    pub signal: CallSignal,
}

/// A member on another node sends a signal into the call.
///
/// Sender: the home node's `DirectoryActor`, for a `Relay` frame; it uses `do_send`, which keeps
/// the member's signals in order however full the mailbox is (an awaited `send` per frame could
/// not). Handler: `CallActor`, as [`RelaySignal`], except that a refusal is pushed to `reply`
/// itself. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct RemoteRelay {
    /// The signal.
    pub relay: RelaySignal,
    /// The sender, as reachable on its node: told of a refusal.
    pub reply: Member,
}

/// A member on this node sends a signal that does not end the call, and goes on without
/// waiting for it.
///
/// Sender: the member's `ConnectionActor`, after checking the call id is its own.
/// Handler: `CallActor`, as [`RelaySignal`], except that a refusal is pushed to `reply`, the
/// sender's link, itself. No reply: the relay path carries no reply channel, future or
/// actor address per signal.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct LocalRelay {
    /// The signal.
    pub relay: RelaySignal,
    /// The sender's link: told of a refusal.
    pub reply: ClientLink,
}

/// A member's connection went away.
///
/// Sender: the member's `ConnectionActor`, when it stops. Handler: `CallActor`, which tells the
/// other member (`leave`, then phase CLOSED) and ends the call. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct MemberLeft {
    /// Who left.
    pub name: ClientName,
}
