//! Room lifecycle hooks: what a room's home node tells the edge when a room of a tenant that
//! wants to hear of its rooms (its webhook) is created or closed and when a participant joins
//! or leaves. The room's actor announces each once, in the room's order, and never waits for
//! anyone to hear it: the sink ([`HookSink`]) only queues.

use std::{collections::HashSet, fmt, sync::Arc};

use crate::ids::{RoomId, Tenant};

/// What happened to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Its first participant is in.
    RoomCreated,
    /// Its last participant is out, or it ended.
    RoomClosed,
    /// A participant joined.
    ParticipantJoined,
    /// A participant left (or was removed, or its connection ended).
    ParticipantLeft,
}

impl HookKind {
    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::RoomCreated => "room_created",
            HookKind::RoomClosed => "room_closed",
            HookKind::ParticipantJoined => "participant_joined",
            HookKind::ParticipantLeft => "participant_left",
        }
    }
}

/// One thing that happened to a room, on its home node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomHook {
    /// What.
    pub kind: HookKind,
    /// The room's dialect (`rooms`, `signals`, `mediasoup`).
    pub dialect: &'static str,
    /// The room (its tenant with it).
    pub room: RoomId,
    /// The participant, for joins and leaves.
    pub participant: Option<String>,
    /// Its place among the room's hooks on this home, from 1.
    pub seq: u64,
}

/// Where a node's room actors hand their hooks, and which tenants want them.
#[derive(Clone)]
pub struct HookSink {
    tenants: Arc<HashSet<Tenant>>,
    sink: Arc<dyn Fn(RoomHook) + Send + Sync>,
}

impl fmt::Debug for HookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSink").field("tenants", &self.tenants).finish_non_exhaustive()
    }
}

impl HookSink {
    /// Hooks of `tenants`' rooms go to `sink` (which must not block).
    pub fn new(tenants: HashSet<Tenant>, sink: impl Fn(RoomHook) + Send + Sync + 'static) -> Self {
        Self { tenants: Arc::new(tenants), sink: Arc::new(sink) }
    }

    /// Whether the rooms of `tenant` are announced.
    pub fn wants(&self, tenant: &Tenant) -> bool {
        self.tenants.contains(tenant)
    }

    /// Hands `hook` on.
    pub fn tell(&self, hook: RoomHook) {
        (self.sink)(hook);
    }
}
