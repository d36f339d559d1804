//! Rooms outlive their home node. When a room's home dies (or loses the room's name), the nodes
//! of its surviving members rebuild it on a new home from what each knows of its own sessions:
//! [`SignalRoom::adopt`] takes those [`Survivor`]s, [`SignalRoom::survivors`] gives them all up.

use serde::{Deserialize, Serialize};

use super::{Channel, Member, Out, Room, SignalRoom};
use crate::{ids::RoomId, payload::Payload, signals::Peer};

/// Most publisher ranks one adopted room keeps apart; a larger rank counts as the last.
const RANK_SPAN: u64 = 1 << 20;

/// A member of a room whose home is gone, as its own node knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Survivor {
    /// The room's channel.
    pub ch: Channel,
    /// The room's engine, as its creator gave it.
    pub eg: Option<Payload>,
    /// The session.
    pub peer: Peer,
    /// Its session info.
    pub ss: Payload,
    /// Its place in the last publisher list its node heard, if it is a publisher.
    pub rank: Option<usize>,
    /// Video enabled.
    pub ve: bool,
    /// Audio enabled.
    pub ae: bool,
}

impl SignalRoom {
    /// Rebuilds room `rid` from `survivors`, or adds them to it: publishers keep their order by
    /// rank (whichever node reports them first), so the oldest surviving publisher owns the
    /// room. Every member is told the publisher list.
    pub fn adopt(&mut self, rid: &RoomId, survivors: Vec<Survivor>) -> Out {
        let base = match self.room.as_ref().and_then(|r| r.adopted_base) {
            Some(base) => base,
            None => {
                let base = self.tick + 1;
                self.tick += RANK_SPAN;
                base
            }
        };
        let Some(first) = survivors.first() else {
            if self.room.is_none() {
                self.over = true;
            }
            return Vec::new();
        };
        let (ch, eg) = (first.ch, first.eg.clone());
        let room = self.room.get_or_insert_with(|| Room {
            rid: rid.clone(),
            ch,
            eg,
            members: Vec::new(),
            adopted_base: None,
        });
        room.adopted_base = Some(base);
        for s in survivors {
            if room.member(&s.peer).is_some() {
                continue;
            }
            let rank = s.rank.map(|r| u64::try_from(r).unwrap_or(u64::MAX).min(RANK_SPAN - 1));
            room.members.push(Member {
                peer: s.peer,
                ss: s.ss,
                publisher_since: rank.map(|r| base + r),
                ve: s.ve,
                ae: s.ae,
            });
        }
        room.changed()
    }

    /// Every member as a survivor, for a new home, with the room given up here.
    pub fn survivors(&mut self) -> Vec<Survivor> {
        let Some(room) = self.room.take() else { return Vec::new() };
        self.over = true;
        let pps = room.listed();
        room.members
            .into_iter()
            .map(|m| {
                let rank = pps.iter().position(|l| l.peer == m.peer);
                Survivor {
                    ch: room.ch,
                    eg: room.eg.clone(),
                    peer: m.peer,
                    ss: m.ss,
                    rank,
                    ve: m.ve,
                    ae: m.ae,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::state::Reply;

    fn survivor(user: &str, rank: Option<usize>) -> Survivor {
        let peer = Peer { user: user.into(), session: "1".into() };
        let (ch, eg) = (Channel::M2m, None);
        Survivor { ch, eg, ss: Payload::string(user), peer, rank, ve: true, ae: false }
    }

    fn listed(out: &Out) -> Vec<String> {
        match out.first() {
            Some((_, Reply::PublishListChanged { pps, .. })) => {
                pps.iter().map(|l| l.peer.user.to_string()).collect()
            }
            other => panic!("expected a publisher list, got {other:?}"),
        }
    }

    #[test]
    fn survivors_rejoining_one_by_one_keep_their_publisher_order() {
        let mut room = SignalRoom::default();
        let rid = RoomId::new("m");
        // The new home's own survivors: the second and fourth publishers and a viewer.
        let out = room.adopt(
            &rid,
            vec![survivor("p4", Some(3)), survivor("v", None), survivor("p2", Some(1))],
        );
        assert_eq!(listed(&out), ["p2", "p4"]);
        assert_eq!(out.len(), 3, "every member hears the list");
        // Another node's survivor was older than both: it owns the room.
        let out = room.adopt(&rid, vec![survivor("p1", Some(0))]);
        assert_eq!(listed(&out), ["p1", "p2", "p4"]);
        // Reported twice (a retried rejoin): nothing changes.
        let out = room.adopt(&rid, vec![survivor("p1", Some(0))]);
        assert_eq!(listed(&out), ["p1", "p2", "p4"]);
        assert_eq!(room.members().len(), 4);
        let survivors = room.survivors();
        assert_eq!(survivors.iter().filter(|s| s.rank.is_some()).count(), 3);
        assert_eq!(survivors.len(), 4);
        assert!(room.is_over() && room.members().is_empty());
        // Nobody survived: no room.
        let mut empty = SignalRoom::default();
        assert!(empty.adopt(&rid, Vec::new()).is_empty());
        assert!(empty.is_over());
    }
}
