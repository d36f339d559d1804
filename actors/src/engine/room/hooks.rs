//! What a room announces of itself ([`crate::hooks`]) when its tenant wants to hear of its
//! rooms: its participants as they come and go, its creation before its first participant and
//! its close after its last. Held by the room's actor, boxed, only for such rooms.

use super::Place;
use crate::{
    engine::{Engine, Rules},
    hooks::{HookKind, HookSink, RoomHook},
    ids::{NodeId, RoomId},
};

/// A room's announcements so far. See the module docs.
pub(super) struct Announced<R: Rules> {
    sink: HookSink,
    home: NodeId,
    /// Those announced as joined and not yet as left, with the node each was last on.
    participants: Vec<(R::Member, NodeId)>,
    created: bool,
    seq: u64,
    /// The room's life on this home: its claim of the name (0 until claimed, and on a single
    /// node).
    pub(super) instance: u64,
    /// Whether the room moved here from a dead home, its survivors rebuilding it.
    continues: bool,
}

impl<R: Rules> Announced<R> {
    /// The announcements of room `room` of `engine`, if its tenant wants them.
    pub(super) fn for_room(engine: &Engine<R>, room: &RoomId) -> Option<Box<Self>> {
        let sink = engine.hooks().filter(|sink| sink.wants(room.tenant()))?.clone();
        Some(Box::new(Self {
            sink,
            home: engine.node().clone(),
            participants: Vec::new(),
            created: false,
            seq: 0,
            instance: 0,
            continues: false,
        }))
    }

    fn tell(&mut self, room: &RoomId, kind: HookKind, participant: Option<(&R::Member, &NodeId)>) {
        self.seq += 1;
        self.sink.tell(RoomHook {
            kind,
            dialect: R::NAMESPACE,
            room: room.clone(),
            participant: participant.map(|(member, node)| (R::identity(member), node.clone())),
            home: self.home.clone(),
            instance: self.instance,
            continues: self.continues,
            outlives: R::OUTLIVES_HOME,
            seq: self.seq,
        });
    }

    /// Survivors of the room's previous home are joining it: if it was not announced here yet,
    /// it is that room, moved here, not a new one.
    pub(super) fn moved_in(&mut self) {
        if !self.created {
            self.continues = true;
        }
    }

    /// `member` is in the room, connected to node `at`: announced as joined unless it was
    /// already (after the room's creation, if it is the first). One that is on another node
    /// now (it reconnected there) is announced again, so the cluster's ledger knows where it
    /// is (and adds no event: it is in already).
    pub(super) fn present(&mut self, room: &RoomId, member: &R::Member, at: &NodeId) {
        match self.participants.iter_mut().find(|(m, _)| m == member) {
            Some((_, node)) if node == at => return,
            Some((_, node)) => *node = at.clone(),
            None => {
                if !self.created {
                    self.created = true;
                    self.tell(room, HookKind::RoomCreated, None);
                }
                self.participants.push((member.clone(), at.clone()));
            }
        }
        self.tell(room, HookKind::ParticipantJoined, Some((member, at)));
    }

    /// The cluster's ledger may have lost the room (Redis lost its data, or swept this node
    /// while it was cut off): the room and its participants are announced again (the ledger
    /// adds events only for what it does not know).
    pub(super) fn retell(&mut self, room: &RoomId) {
        if !self.created {
            return;
        }
        self.tell(room, HookKind::RoomCreated, None);
        for (member, at) in self.participants.clone() {
            self.tell(room, HookKind::ParticipantJoined, Some((&member, &at)));
        }
    }

    /// `member` is out of the room: announced as left if it was in.
    pub(super) fn absent(&mut self, room: &RoomId, member: &R::Member) {
        let Some(i) = self.participants.iter().position(|(m, _)| m == member) else { return };
        let (member, at) = self.participants.remove(i);
        self.tell(room, HookKind::ParticipantLeft, Some((&member, &at)));
    }

    /// The room is over here: whoever is still in leaves, then it closes (if it ever opened).
    pub(super) fn over(&mut self, room: &RoomId) {
        for (member, at) in std::mem::take(&mut self.participants) {
            self.tell(room, HookKind::ParticipantLeft, Some((&member, &at)));
        }
        if std::mem::take(&mut self.created) {
            self.tell(room, HookKind::RoomClosed, None);
        }
    }
}

/// The node `member` of `members` is connected to.
pub(super) fn where_is<'a, R: Rules>(
    members: &'a [(R::Member, Place)],
    member: &R::Member,
    engine: &'a Engine<R>,
) -> &'a NodeId {
    match members.iter().find(|(m, _)| m == member) {
        Some((_, Place::There(node))) => node,
        _ => engine.node(),
    }
}
