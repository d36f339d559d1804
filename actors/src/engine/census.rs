//! What operators see and do of a dialect's rooms on this node: the census (each room homed
//! here, with how many members it has and how many of them are connected here), and closing a
//! room.
//!
//! Asked through the engine ([`super::Engine::census`]): each shard asks its rooms' actors
//! ([`Count`]) and answers with their counts ([`super::shard::Input::Census`]). Nothing on the
//! relay path waits for it.

use actix::{Handler, Message};
use tokio::sync::oneshot;

use super::{room::RoomActor, Engine, Rules};
use crate::ids::RoomId;

/// One room homed on this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCensus {
    /// The room (its tenant with it).
    pub room: RoomId,
    /// Its members, on every node.
    pub members: usize,
    /// Those of them connected to this node.
    pub here: usize,
}

/// How many members a room has. Sender: its shard, for a census. Handler: the room's actor.
#[derive(Debug, Message)]
#[rtype(result = "RoomCensus")]
pub(super) struct Count;

impl<R: Rules> Handler<Count> for RoomActor<R> {
    type Result = actix::MessageResult<Count>;

    fn handle(&mut self, _: Count, _: &mut Self::Context) -> Self::Result {
        actix::MessageResult(self.census())
    }
}

impl<R: Rules> Engine<R> {
    /// Closes room `room` if it is homed on this node ([`Rules::close`]); nothing otherwise.
    pub fn close(&self, room: RoomId) {
        let shard = self.room_shard(&room);
        self.send(shard, super::shard::Input::Close { room });
    }

    /// Every room homed on this node, in no order (an empty list if the node is shutting
    /// down).
    pub async fn census(&self) -> Vec<RoomCensus> {
        let mut answers = Vec::with_capacity(self.shards());
        for shard in 0..self.shards() {
            let (reply, answer) = oneshot::channel();
            self.send(shard, super::shard::Input::Census { reply });
            answers.push(answer);
        }
        let mut rooms = Vec::new();
        for answer in answers {
            rooms.extend(answer.await.unwrap_or_default());
        }
        rooms
    }
}

/// Counts the rooms of `actors` and hands their census to `reply`, without holding back the
/// shard that asks.
pub(super) async fn count<R: Rules>(
    actors: Vec<actix::Addr<RoomActor<R>>>,
    reply: oneshot::Sender<Vec<RoomCensus>>,
) {
    let asked: Vec<_> = actors.iter().map(|actor| actor.send(Count)).collect();
    let mut rooms = Vec::with_capacity(asked.len());
    for answer in asked {
        // A room that stopped meanwhile is simply not counted.
        if let Ok(room) = answer.await {
            rooms.push(room);
        }
    }
    let _ = reply.send(rooms);
}
