//! What the engines of one dialect on different nodes tell each other, as the body of a frame
//! of the dialect's topic; and how a received frame reaches the shard that owns what it names.

use serde::{Deserialize, Serialize};

use super::{handle::Engine, shard::Input, Rules};
use crate::{cluster::Inbox, ids::RoomId};

/// Events for members of one node, each with its member, in order.
pub(super) type Events<R> = Vec<(<R as Rules>::Member, <R as Rules>::Event)>;

/// A message between two nodes' engines of one dialect.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Wire<R: Rules> {
    /// A member of the sender asks the room's home (the receiver).
    Command {
        /// The member, on the sender.
        member: R::Member,
        /// Its command.
        command: R::Command,
    },
    /// Events of room `room` (homed on the sender) for members on the receiver, in order.
    Deliver {
        /// The room.
        room: RoomId,
        /// Each event and its member.
        events: Events<R>,
        /// Members that are no longer in the room (or never got in): their next command for
        /// it is routed afresh.
        left: Vec<R::Member>,
    },
    /// A member of the sender is gone: it leaves these rooms homed on the receiver.
    Gone {
        /// The member.
        member: R::Member,
        /// Its rooms there.
        rooms: Vec<RoomId>,
    },
    /// Members of the sender rejoin room `room`, whose home moved to the receiver.
    Rejoin {
        /// The room.
        room: RoomId,
        /// Each member and what it brings.
        survivors: Vec<(R::Member, R::Survivor)>,
    },
    /// The receiver thinks the sender is the home of room `room`, and it is not (any more):
    /// find the home again.
    Moved {
        /// The room.
        room: RoomId,
    },
}

impl<R: Rules> Engine<R> {
    /// Hands a frame of the dialect's topic from node `msg.origin` to the shards it concerns:
    /// a command or a departure to its room's shard, events to each member's shard.
    pub(super) fn receive(&self, msg: Inbox) {
        let wire = match serde_json::from_slice::<Wire<R>>(&msg.body) {
            Ok(wire) => wire,
            Err(e) => {
                log::warn!(
                    "node {}: bad {} frame from {}: {e}",
                    self.node(),
                    R::NAMESPACE,
                    msg.origin
                );
                return;
            }
        };
        let origin = msg.origin;
        match wire {
            Wire::Command { member, command } => {
                let shard = self.room_shard(R::room(&command));
                self.send(shard, Input::Remote { origin, member, command });
            }
            Wire::Gone { member, rooms } => {
                for room in rooms {
                    let shard = self.room_shard(&room);
                    self.send(
                        shard,
                        Input::Gone { origin: origin.clone(), member: member.clone(), room },
                    );
                }
            }
            Wire::Rejoin { room, survivors } => {
                let shard = self.room_shard(&room);
                self.send(shard, Input::Rejoin { origin, room, survivors });
            }
            Wire::Moved { room } => {
                for shard in 0..self.shards() {
                    let (origin, room) = (origin.clone(), room.clone());
                    self.send(shard, Input::Moved { origin, room });
                }
            }
            Wire::Deliver { room, events, left } => {
                if self.shards() == 1 {
                    self.send(0, Input::Delivered { origin, room, events, left });
                    return;
                }
                let mut split: Vec<(Vec<_>, Vec<_>)> =
                    (0..self.shards()).map(|_| (Vec::new(), Vec::new())).collect();
                for (member, event) in events {
                    split[self.member_shard(&member)].0.push((member, event));
                }
                for member in left {
                    split[self.member_shard(&member)].1.push(member);
                }
                for (shard, (events, left)) in split.into_iter().enumerate() {
                    if !events.is_empty() || !left.is_empty() {
                        let (origin, room) = (origin.clone(), room.clone());
                        self.send(shard, Input::Delivered { origin, room, events, left });
                    }
                }
            }
        }
    }
}
