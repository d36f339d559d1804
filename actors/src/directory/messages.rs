//! Messages handled by [`DirectoryActor`](super::DirectoryActor).

use actix::{Message, Recipient};

use crate::{
    call::{Member, Side},
    connection::messages::CallMembership,
    error::ErrorKind,
    event::Event,
    ids::{CallId, ClientName, ConnId},
    link::ClientLink,
    payload::Payload,
};

/// Claim a name for a connection.
///
/// Sender: `ConnectionActor`, for `Command::Register`. Handler: `DirectoryActor`.
/// Reply: `Ok` once registered. The directory has then already queued `Registered` to the link,
/// before the first roster that lists the name. `Err(NameTaken)` otherwise.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ErrorKind>")]
pub struct Register {
    /// The requested name.
    pub name: ClientName,
    /// The connection claiming it.
    pub conn: ConnId,
    /// Its outbound queue.
    pub link: ClientLink,
    /// Its actor, told when it joins or leaves a call.
    pub actor: Recipient<CallMembership>,
}

/// Release a name.
///
/// Sender: `ConnectionActor`, when it stops. Handler: `DirectoryActor`. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Unregister {
    /// The name.
    pub name: ClientName,
    /// The connection that held it; a mismatch means a stale request and is ignored.
    pub conn: ConnId,
}

/// Open a 1:1 call.
///
/// Sender: `ConnectionActor`, for `Command::OpenCall`. Handler: `DirectoryActor`, which checks
/// both members, starts a `CallActor`, queues `CallOpened` to the caller and phase NEW to both.
/// Reply: `Ok`, or why the call cannot be opened.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ErrorKind>")]
pub struct OpenCall {
    /// Who calls.
    pub caller: ClientName,
    /// Who is called.
    pub callee: ClientName,
}

/// Deliver a notification.
///
/// Sender: `ConnectionActor`, for `Command::Notify`. Handler: `DirectoryActor`.
/// Reply: `Ok` once queued to the receiver; `PeerNotFound` or a delivery error otherwise.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), ErrorKind>")]
pub struct Notify {
    /// The sender.
    pub from: ClientName,
    /// The receiver.
    pub to: ClientName,
    /// The opaque notification kind.
    pub kind: Option<Payload>,
}

/// A call is over.
///
/// Sender: `CallActor`, as it stops. Handler: `DirectoryActor`, which frees both members, then
/// pushes `deliveries` in order, tells both connections they left the call, and schedules a
/// roster update. A member on another node gets all of that from its own node's directory, in
/// one message. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct CallEnded {
    /// The call.
    pub call: CallId,
    /// `[caller, callee]`.
    pub members: [Member; 2],
    /// The final events (forwarded stop/reject, leave, phase CLOSED) and who gets each, in
    /// order.
    pub deliveries: Vec<(Side, Event)>,
}
