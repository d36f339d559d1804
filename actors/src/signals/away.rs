//! What a node knows of the rooms homed on other nodes that its own sessions are in: enough to
//! route their signals to the home, to tell the home when they disconnect, and to rebuild the
//! room on a new home if the old one dies (the last publisher list heard gives the order).

use std::collections::{HashMap, HashSet};

use super::{
    state::{Listed, Reply, Survivor},
    Channel, Peer,
};
use crate::{ids::NodeId, ids::RoomId, payload::Payload};

/// A room homed elsewhere, as this node knows it.
#[derive(Debug)]
pub(super) struct Away {
    /// Its home; `None` while the room is moving to a new home.
    pub(super) home: Option<NodeId>,
    pub(super) ch: Channel,
    pub(super) eg: Option<Payload>,
    /// The last publisher list heard.
    pub(super) pps: Vec<Listed>,
    /// This node's sessions in it.
    pub(super) members: HashSet<Peer>,
}

impl Away {
    /// The room's members on this node, as survivors for a new home; `ss_of` gives a viewer's
    /// session info (a publisher's is in the list).
    pub(super) fn survivors(&self, ss_of: impl Fn(&Peer) -> Option<Payload>) -> Vec<Survivor> {
        self.members
            .iter()
            .filter_map(|peer| {
                let rank = self.pps.iter().position(|l| l.peer == *peer);
                let listed = rank.map(|r| &self.pps[r]);
                let ss = match listed {
                    Some(l) => l.ss.clone(),
                    None => ss_of(peer)?,
                };
                Some(Survivor {
                    peer: peer.clone(),
                    ss,
                    rank,
                    ve: listed.is_none_or(|l| l.ve),
                    ae: listed.is_none_or(|l| l.ae),
                })
            })
            .collect()
    }
}

/// Every room homed elsewhere with sessions of this node, and which rooms each session is in.
#[derive(Debug, Default)]
pub(super) struct Aways {
    rooms: HashMap<RoomId, Away>,
    of: HashMap<Peer, HashSet<RoomId>>,
}

impl Aways {
    pub(super) fn get(&self, rid: &RoomId) -> Option<&Away> {
        self.rooms.get(rid)
    }

    pub(super) fn get_mut(&mut self, rid: &RoomId) -> Option<&mut Away> {
        self.rooms.get_mut(rid)
    }

    pub(super) fn insert(&mut self, rid: RoomId, away: Away) {
        for peer in &away.members {
            self.of.entry(peer.clone()).or_default().insert(rid.clone());
        }
        self.rooms.insert(rid, away);
    }

    pub(super) fn remove(&mut self, rid: &RoomId) -> Option<Away> {
        let away = self.rooms.remove(rid)?;
        for peer in &away.members {
            self.unlink(peer, rid);
        }
        Some(away)
    }

    fn unlink(&mut self, peer: &Peer, rid: &RoomId) {
        if let Some(rooms) = self.of.get_mut(peer) {
            rooms.remove(rid);
            if rooms.is_empty() {
                self.of.remove(peer);
            }
        }
    }

    /// Local session `peer` is out of room `rid`; a room with no local session left is
    /// forgotten.
    pub(super) fn leave(&mut self, rid: &RoomId, peer: &Peer) {
        let Some(away) = self.rooms.get_mut(rid) else { return };
        away.members.remove(peer);
        if away.members.is_empty() {
            self.rooms.remove(rid);
        }
        self.unlink(peer, rid);
    }

    /// Local session `peer` is gone: it leaves every room; returns the homes to tell.
    pub(super) fn drop_peer(&mut self, peer: &Peer) -> HashSet<NodeId> {
        let rids = self.of.get(peer).cloned().unwrap_or_default();
        let mut homes = HashSet::new();
        for rid in rids {
            if let Some(home) = self.rooms.get(&rid).and_then(|a| a.home.clone()) {
                homes.insert(home);
            }
            self.leave(&rid, peer);
        }
        homes
    }

    /// The rooms homed on `node`.
    pub(super) fn homed_on(&self, node: &NodeId) -> Vec<RoomId> {
        let on = |a: &&Away| a.home.as_ref() == Some(node);
        self.rooms.iter().filter(|(_, a)| on(a)).map(|(rid, _)| rid.clone()).collect()
    }

    /// Learns from `reply`, delivered by `home` to local session `peer`, which rooms there the
    /// session is in and their latest publisher lists.
    pub(super) fn note(&mut self, home: &NodeId, peer: &Peer, reply: &Reply) {
        match reply {
            Reply::Joined { rid, pps, ch, eg, .. } => {
                let away = self.rooms.entry(rid.clone()).or_insert_with(|| Away {
                    home: Some(home.clone()),
                    ch: *ch,
                    eg: eg.clone(),
                    pps: Vec::new(),
                    members: HashSet::new(),
                });
                away.home = Some(home.clone());
                away.pps.clone_from(pps);
                away.members.insert(peer.clone());
                self.of.entry(peer.clone()).or_default().insert(rid.clone());
            }
            Reply::PublishListChanged { rid, pps } | Reply::Heartbeat { rid, pps, .. } => {
                if let Some(away) = self.rooms.get_mut(rid) {
                    away.pps.clone_from(pps);
                }
            }
            Reply::Kicked { rid, .. } => self.leave(rid, peer),
            Reply::Forward(_) | Reply::Invalid { .. } | Reply::Refused { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(user: &str) -> Peer {
        Peer { user: user.into(), session: "1".into() }
    }

    fn listed(user: &str) -> Listed {
        Listed { peer: peer(user), ss: Payload::string(user), ve: false, ae: true }
    }

    #[test]
    fn replies_from_the_home_track_membership_and_survivors_keep_their_rank() {
        let (home, rid) = (NodeId::new("h"), RoomId::new("m"));
        let mut aways = Aways::default();
        let joined = |pps: Vec<Listed>| Reply::Joined {
            rid: RoomId::new("m"),
            pps,
            ch: Channel::M2m,
            role: super::super::state::Role::Viewer,
            eg: None,
        };
        aways.note(&home, &peer("v"), &joined(vec![listed("o")]));
        aways.note(&home, &peer("p"), &joined(vec![listed("o")]));
        let changed =
            Reply::PublishListChanged { rid: rid.clone(), pps: vec![listed("o"), listed("p")] };
        aways.note(&home, &peer("p"), &changed);
        assert_eq!(aways.homed_on(&home), std::slice::from_ref(&rid));

        let away = aways.get(&rid).expect("the room");
        let mut survivors = away.survivors(|p| Some(Payload::string(&format!("ss of {p}"))));
        survivors.sort_by(|a, b| a.peer.cmp(&b.peer));
        let seen: Vec<(String, Option<usize>, bool, String)> = survivors
            .iter()
            .map(|s| (s.peer.user.to_string(), s.rank, s.ve, s.ss.get().to_owned()))
            .collect();
        assert_eq!(
            seen,
            [
                ("p".into(), Some(1), false, "\"p\"".into()),
                ("v".into(), None, true, "\"ss of v/1\"".into())
            ]
        );

        // Kicked, then gone: the room is forgotten with its last local session.
        aways.note(
            &home,
            &peer("v"),
            &Reply::Kicked { rid: rid.clone(), req: Payload::string("k") },
        );
        assert_eq!(aways.get(&rid).map(|a| a.members.len()), Some(1));
        assert_eq!(
            aways.drop_peer(&peer("p")).into_iter().collect::<Vec<_>>(),
            std::slice::from_ref(&home)
        );
        assert!(aways.get(&rid).is_none());
        assert!(aways.drop_peer(&peer("p")).is_empty());
    }
}
