//! Rooms outlive their home node. When a room's home dies (or loses the room's name), the nodes
//! of its surviving members rebuild it on a new home from what each knows of its own sessions:
//! [`SignalRooms::adopt`] takes those [`Survivor`]s, [`SignalRooms::evict`] gives a room up.

use serde::{Deserialize, Serialize};

use super::{Channel, Listed, Member, Out, Room, SignalRooms};
use crate::{ids::RoomId, payload::Payload, signals::Peer};

/// Most publisher ranks one adopted room keeps apart; a larger rank counts as the last.
const RANK_SPAN: u64 = 1 << 20;

/// A member of a room whose home is gone, as its own node knows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Survivor {
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

/// A room given up by this node: what its members need to rebuild it elsewhere.
#[derive(Debug, Clone)]
pub struct Evicted {
    /// Its channel.
    pub ch: Channel,
    /// Its engine, as its creator gave it.
    pub eg: Option<Payload>,
    /// Its publishers, oldest first.
    pub pps: Vec<Listed>,
    /// Every member and its session info.
    pub members: Vec<(Peer, Payload)>,
}

impl SignalRooms {
    /// Rebuilds room `rid` from `survivors`, or adds them to it: publishers keep their order by
    /// rank (whichever node reports them first), so the oldest surviving publisher owns the
    /// room. Every member is told the publisher list.
    pub fn adopt(
        &mut self,
        rid: &RoomId,
        ch: Channel,
        eg: Option<Payload>,
        survivors: Vec<Survivor>,
    ) -> Out {
        let base = match self.rooms.get(rid).and_then(|r| r.adopted_base) {
            Some(base) => base,
            None => {
                let base = self.tick + 1;
                self.tick += RANK_SPAN;
                base
            }
        };
        let room = self.rooms.entry(rid.clone()).or_insert_with(|| Room {
            ch,
            eg,
            members: Vec::new(),
            adopted_base: None,
        });
        room.adopted_base = Some(base);
        let mut added = Vec::new();
        for s in survivors {
            if room.member(&s.peer).is_some() {
                continue;
            }
            added.push(s.peer.clone());
            let rank = s.rank.map(|r| u64::try_from(r).unwrap_or(u64::MAX).min(RANK_SPAN - 1));
            room.members.push(Member {
                peer: s.peer,
                ss: s.ss,
                publisher_since: rank.map(|r| base + r),
                ve: s.ve,
                ae: s.ae,
            });
        }
        if room.members.is_empty() {
            self.rooms.remove(rid);
            self.closed.push(rid.clone());
            return Vec::new();
        }
        let out = room.changed(rid);
        for peer in &added {
            self.indexed(peer, rid);
        }
        out
    }

    /// Takes room `rid` out of this node, telling nobody.
    pub fn evict(&mut self, rid: &RoomId) -> Option<Evicted> {
        let room = self.rooms.remove(rid)?;
        for m in &room.members {
            self.unindexed(&m.peer, rid);
        }
        Some(Evicted {
            ch: room.ch,
            pps: room.listed(),
            members: room.members.iter().map(|m| (m.peer.clone(), m.ss.clone())).collect(),
            eg: room.eg,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::state::Reply;

    fn survivor(user: &str, rank: Option<usize>) -> Survivor {
        let peer = Peer { user: user.into(), session: "1".into() };
        Survivor { ss: Payload::string(user), peer, rank, ve: true, ae: false }
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
        let mut rooms = SignalRooms::default();
        let rid = RoomId::new("m");
        // The new home's own survivors: the second and fourth publishers and a viewer.
        let out = rooms.adopt(
            &rid,
            Channel::M2m,
            None,
            vec![survivor("p4", Some(3)), survivor("v", None), survivor("p2", Some(1))],
        );
        assert_eq!(listed(&out), ["p2", "p4"]);
        assert_eq!(out.len(), 3, "every member hears the list");
        // Another node's survivor was older than both: it owns the room.
        let out = rooms.adopt(&rid, Channel::M2m, None, vec![survivor("p1", Some(0))]);
        assert_eq!(listed(&out), ["p1", "p2", "p4"]);
        // Reported twice (a retried rejoin): nothing changes.
        let out = rooms.adopt(&rid, Channel::M2m, None, vec![survivor("p1", Some(0))]);
        assert_eq!(listed(&out), ["p1", "p2", "p4"]);
        assert_eq!(rooms.members(&rid).len(), 4);
        let evicted = rooms.evict(&rid).expect("the room");
        assert_eq!(evicted.pps.len(), 3);
        assert_eq!(evicted.members.len(), 4);
        assert!(!rooms.contains(&rid));
        // Nobody survived: no room.
        assert!(rooms.adopt(&rid, Channel::M2m, None, Vec::new()).is_empty());
        assert_eq!(rooms.take_closed(), std::slice::from_ref(&rid));
        assert!(!rooms.contains(&rid));
    }
}
