//! `Command`: everything a client can ask of the core, independent of any wire format.
//!
//! Dialects decode frames into commands; the core never sees a frame.

use crate::{
    ids::{CallId, ClientName, Tenant},
    payload::Payload,
};

/// A client intent, as decoded by a dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Claim `name` as this connection's identity.
    Register {
        /// The requested name.
        name: ClientName,
    },
    /// Open a 1:1 call session with `callee`.
    OpenCall {
        /// Who to call.
        callee: ClientName,
    },
    /// Send a signal into call `call`, to its other member.
    Signal {
        /// The call session named by the client.
        call: CallId,
        /// What to send.
        signal: CallSignal,
    },
    /// Send a notification to any registered client, in a call or not.
    Notify {
        /// The receiver.
        to: ClientName,
        /// What kind of notification; opaque to the core, absent if the client sent none.
        kind: Option<Payload>,
    },
}

impl Command {
    /// The command's kind, used to give errors their context.
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::Register { .. } => CommandKind::Register,
            Command::OpenCall { .. } => CommandKind::OpenCall,
            Command::Signal { signal, .. } => signal.kind(),
            Command::Notify { .. } => CommandKind::Notify,
        }
    }

    /// The same command with every name it holds in `tenant`'s namespace (a client names only
    /// its own tenant's clients).
    pub fn in_tenant(self, tenant: &Tenant) -> Self {
        match self {
            Command::Register { name } => Command::Register { name: name.in_tenant(tenant) },
            Command::OpenCall { callee } => Command::OpenCall { callee: callee.in_tenant(tenant) },
            Command::Notify { to, kind } => Command::Notify { to: to.in_tenant(tenant), kind },
            signal @ Command::Signal { .. } => signal,
        }
    }
}

/// A signal one call member sends the other. Payloads are opaque.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CallSignal {
    /// An SDP offer (starts or renegotiates the call).
    Offer(Payload),
    /// An SDP answer to the pending offer.
    Answer(Payload),
    /// A trickled ICE candidate.
    Candidate(Payload),
    /// The callee declines the call.
    Reject,
    /// Either member ends the call.
    Stop,
}

impl CallSignal {
    /// The signal's command kind.
    pub fn kind(&self) -> CommandKind {
        match self {
            CallSignal::Offer(_) => CommandKind::Offer,
            CallSignal::Answer(_) => CommandKind::Answer,
            CallSignal::Candidate(_) => CommandKind::Candidate,
            CallSignal::Reject => CommandKind::Reject,
            CallSignal::Stop => CommandKind::Stop,
        }
    }
}

/// The kind of a command, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CommandKind {
    /// [`Command::Register`].
    Register,
    /// [`Command::OpenCall`].
    OpenCall,
    /// [`CallSignal::Offer`].
    Offer,
    /// [`CallSignal::Answer`].
    Answer,
    /// [`CallSignal::Candidate`].
    Candidate,
    /// [`CallSignal::Reject`].
    Reject,
    /// [`CallSignal::Stop`].
    Stop,
    /// [`Command::Notify`].
    Notify,
}
