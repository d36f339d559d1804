//! One `signals` room, as pure state: every signal returns what each session is told, in
//! order. The room engine ([`crate::engine`]) drives it as the dialect's [`crate::engine::Rules`]
//! (in [`rules`]). Rules from PROTOCOLS.md §2.3 (and the decisions the seed leaves open, each
//! marked *Decision*):
//!
//! - JOIN creates the room only with `op.roomCreating` (4022 if it exists, 4001 if it does not
//!   and is not being created); a JOIN of a session already in the room is answered again and
//!   changes nothing (clients resend JOIN when an ack is late). The creator publishes; in `p2p`
//!   every member publishes, at most two users (*Decision*: a third gets 4051, "room is full");
//!   in `m2m`/`a2m`/`p2m` later members watch until the owner accepts their publish request.
//! - The owner is the oldest publisher; ownership passes on as publishers leave.
//! - Any change to the publishers (join, leave, kick, promotion, `ve`/`ae`) pushes
//!   `PUBLISH_LIST_CHANGED` to every participant.
//! - p2p OFFER/ANSWER/ICE are relayed as sent to every session of a target user, or to one
//!   session. In `m2m`/`a2m` they (and WATCH) go to the media plane ([`media`]); members who
//!   leave take their peer connections with them.

mod media;
mod rehome;
mod reply;
mod rules;

pub use media::{Media, MediaDone, SignalsConfig};
pub use rehome::Survivor;
pub use reply::{Listed, Refusal, Reply, Role};
pub use rules::Memo;

use super::{Action, Channel, Peer, Signal, To};
use crate::{ids::RoomId, payload::Payload};

/// What one signal causes: replies for sessions, in order.
pub type Out = Vec<(Peer, Reply)>;

/// Publisher limits per channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most publishers in an `m2m` room.
    pub m2m_publishers: usize,
    /// Most publishers in an `a2m` room.
    pub a2m_publishers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { m2m_publishers: 9, a2m_publishers: 9 }
    }
}

#[derive(Debug, Clone)]
struct Member {
    peer: Peer,
    ss: Payload,
    /// Publisher since this tick (ownership goes to the oldest), or a viewer.
    publisher_since: Option<u64>,
    ve: bool,
    ae: bool,
}

#[derive(Debug)]
struct Room {
    rid: RoomId,
    ch: Channel,
    eg: Option<Payload>,
    members: Vec<Member>,
    /// For a room rebuilt after its home died: the tick its survivors' publisher ranks count
    /// from, so publishers rejoining later slot in by their old order.
    adopted_base: Option<u64>,
}

impl Room {
    fn listed(&self) -> Vec<Listed> {
        let mut publishers: Vec<&Member> =
            self.members.iter().filter(|m| m.publisher_since.is_some()).collect();
        publishers.sort_by_key(|m| m.publisher_since);
        publishers
            .into_iter()
            .map(|m| Listed { peer: m.peer.clone(), ss: m.ss.clone(), ve: m.ve, ae: m.ae })
            .collect()
    }

    fn owner(&self) -> Option<&Peer> {
        self.members
            .iter()
            .filter(|m| m.publisher_since.is_some())
            .min_by_key(|m| m.publisher_since)
            .map(|m| &m.peer)
    }

    fn member(&self, peer: &Peer) -> Option<&Member> {
        self.members.iter().find(|m| m.peer == *peer)
    }

    fn publisher_users(&self) -> Vec<&str> {
        let mut users: Vec<&str> = self
            .members
            .iter()
            .filter(|m| m.publisher_since.is_some())
            .map(|m| &*m.peer.user)
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// The sessions `to` names in this room.
    fn targets(&self, to: &To) -> Vec<Peer> {
        self.members
            .iter()
            .filter(|m| match to {
                To::User(user) => m.peer.user == *user,
                To::Session(peer) => m.peer == *peer,
            })
            .map(|m| m.peer.clone())
            .collect()
    }

    fn joined(&self, role: Role) -> Reply {
        Reply::Joined {
            rid: self.rid.clone(),
            pps: self.listed(),
            ch: self.ch,
            role,
            eg: self.eg.clone(),
            offers: Vec::new(),
        }
    }

    fn changed(&self) -> Out {
        let pps = self.listed();
        self.members
            .iter()
            .map(|m| {
                let reply = Reply::PublishListChanged { rid: self.rid.clone(), pps: pps.clone() };
                (m.peer.clone(), reply)
            })
            .collect()
    }
}

/// One `signals` room (before its creation, and after it is over, none). See the module docs.
#[derive(Debug, Default)]
pub struct SignalRoom {
    room: Option<Room>,
    limits: Limits,
    tick: u64,
    /// It existed and every member left.
    over: bool,
    /// Work for the media plane handed since the engine last took it.
    media: Vec<Media>,
}

fn refuse(signal: &Signal, refusal: Refusal) -> Out {
    let reply = Reply::Refused { action: signal.action, refusal, req: signal.raw.clone() };
    vec![(signal.from.clone(), reply)]
}

impl SignalRoom {
    /// A room under `limits`.
    pub fn new(limits: Limits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Applies one signal.
    pub fn apply(&mut self, signal: &Signal) -> Out {
        match signal.action {
            Action::Join => self.join(signal),
            Action::Leave => self.leave(signal),
            Action::Update => self.update(signal),
            Action::Heartbeat => self.heartbeat(signal),
            Action::Offer | Action::Answer | Action::Ice | Action::Watch => self.relay(signal),
            Action::Kick => self.kick(signal),
            Action::PublishRequest => self.publish_request(signal),
            Action::PublishAccept => self.publish_answer(signal, true),
            Action::PublishReject => self.publish_answer(signal, false),
        }
    }

    /// Session `peer` is gone (disconnected, or silent past the heartbeat timeout): it leaves,
    /// as if it had sent LEAVE.
    pub fn disconnect(&mut self, peer: &Peer) -> Out {
        self.remove(std::slice::from_ref(peer))
    }

    /// Sessions `peers` all leave at once (an operator closed the room).
    pub fn close_all(&mut self, peers: &[Peer]) -> Out {
        self.remove(peers)
    }

    /// The members.
    pub fn members(&self) -> Vec<Peer> {
        self.room
            .as_ref()
            .map(|r| r.members.iter().map(|m| m.peer.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether session `peer` is in the room.
    pub fn has_peer(&self, peer: &Peer) -> bool {
        self.room.as_ref().is_some_and(|r| r.member(peer).is_some())
    }

    /// Whether the room existed and every member left.
    pub fn is_over(&self) -> bool {
        self.over
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    fn join(&mut self, signal: &Signal) -> Out {
        let out = self.enter(signal);
        self.offer_publishers(&signal.from, out)
    }

    fn enter(&mut self, signal: &Signal) -> Out {
        let tick = self.next_tick();
        let rid = &signal.rid;
        let from = &signal.from;
        let member = |role: Role| Member {
            peer: from.clone(),
            ss: signal.ss.clone(),
            publisher_since: (role == Role::Publisher).then_some(tick),
            ve: signal.ve.unwrap_or(true),
            ae: signal.ae.unwrap_or(true),
        };
        let Some(room) = self.room.as_mut() else {
            if !signal.creating || self.over {
                return refuse(signal, Refusal::RoomNotFound);
            }
            let room = Room {
                rid: rid.clone(),
                ch: signal.ch,
                eg: signal.eg.clone(),
                members: vec![member(Role::Publisher)],
                adopted_base: None,
            };
            let joined = room.joined(Role::Publisher);
            self.room = Some(room);
            return vec![(from.clone(), joined)];
        };
        if room.ch != signal.ch {
            return refuse(signal, Refusal::UnsupportedChannel);
        }
        if let Some(existing) = room.member(from) {
            // A repeated JOIN (the client's watchdog): answer again, change nothing.
            let role =
                if existing.publisher_since.is_some() { Role::Publisher } else { Role::Viewer };
            return vec![(from.clone(), room.joined(role))];
        }
        if signal.creating {
            return refuse(signal, Refusal::RoomExists);
        }
        let role = match room.ch {
            Channel::P2p => {
                let users = room.publisher_users();
                if users.len() >= 2 && !users.contains(&&*from.user) {
                    return refuse(signal, Refusal::PermissionDenied);
                }
                Role::Publisher
            }
            Channel::M2m | Channel::A2m | Channel::P2m => Role::Viewer,
        };
        room.members.push(member(role));
        let mut out = vec![(from.clone(), room.joined(role))];
        if role == Role::Publisher {
            out.extend(room.changed());
        }
        out
    }

    /// Removes `peers`; publishers leaving push the new list to the others.
    fn remove(&mut self, peers: &[Peer]) -> Out {
        let Some(room) = self.room.as_mut() else { return Vec::new() };
        let had_publisher =
            room.members.iter().any(|m| peers.contains(&m.peer) && m.publisher_since.is_some());
        let gone: Vec<Peer> = room
            .members
            .iter()
            .filter(|m| room.ch.uses_media() && peers.contains(&m.peer))
            .map(|m| m.peer.clone())
            .collect();
        room.members.retain(|m| !peers.contains(&m.peer));
        let over = room.members.is_empty();
        if !gone.is_empty() {
            self.media_left(&gone, over);
        }
        let Some(room) = self.room.as_mut() else { return Vec::new() };
        if over {
            self.room = None;
            self.over = true;
            Vec::new()
        } else if had_publisher {
            room.changed()
        } else {
            Vec::new()
        }
    }

    /// The room of `signal`, with the sender a member, or the refusal.
    fn checked(&self, signal: &Signal) -> Result<&Room, Refusal> {
        let room = self.room.as_ref().ok_or(Refusal::RoomNotFound)?;
        if room.ch != signal.ch {
            return Err(Refusal::UnsupportedChannel);
        }
        room.member(&signal.from).ok_or(Refusal::NotRoomMember)?;
        Ok(room)
    }

    fn leave(&mut self, signal: &Signal) -> Out {
        if let Err(refusal) = self.checked(signal) {
            return refuse(signal, refusal);
        }
        // LEAVE has no success ack.
        self.remove(std::slice::from_ref(&signal.from))
    }

    fn update(&mut self, signal: &Signal) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if room.member(&signal.from).is_some_and(|m| m.publisher_since.is_none()) {
            return refuse(signal, Refusal::PermissionDenied);
        }
        let Some(room) = self.room.as_mut() else { return Vec::new() };
        if let Some(m) = room.members.iter_mut().find(|m| m.peer == signal.from) {
            m.ve = signal.ve.unwrap_or(m.ve);
            m.ae = signal.ae.unwrap_or(m.ae);
        }
        room.changed()
    }

    fn heartbeat(&mut self, signal: &Signal) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if !signal.send_ack {
            return Vec::new();
        }
        let ack = Reply::Heartbeat {
            rid: signal.rid.clone(),
            pps: room.listed(),
            bid: signal.bid.clone(),
        };
        vec![(signal.from.clone(), ack)]
    }

    fn relay(&mut self, signal: &Signal) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if room.ch != Channel::P2p {
            return self.media_signal(signal);
        }
        let Some(to) = &signal.to else { return refuse(signal, Refusal::RecipientNotMember) };
        let targets: Vec<Peer> =
            room.targets(to).into_iter().filter(|p| *p != signal.from).collect();
        if targets.is_empty() {
            // A session that is gone while its user is still here has left; anyone else was
            // never a member.
            let user_here = match to {
                To::Session(peer) => room.members.iter().any(|m| m.peer.user == peer.user),
                To::User(_) => false,
            };
            let refusal = if user_here && signal.action == Action::Answer {
                Refusal::UserLeft
            } else {
                Refusal::RecipientNotMember
            };
            return refuse(signal, refusal);
        }
        targets.into_iter().map(|peer| (peer, Reply::Forward(signal.raw.clone()))).collect()
    }

    fn kick(&mut self, signal: &Signal) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if room.owner() != Some(&signal.from) {
            return refuse(signal, Refusal::PermissionDenied);
        }
        let Some(to) = &signal.to else { return refuse(signal, Refusal::RecipientNotMember) };
        let kicked: Vec<Peer> =
            room.targets(to).into_iter().filter(|p| *p != signal.from).collect();
        if kicked.is_empty() {
            return refuse(signal, Refusal::RecipientNotMember);
        }
        // *Decision*: the kicked sessions receive the KICK itself, then are out of the room.
        let kick = || Reply::Kicked { rid: signal.rid.clone(), req: signal.raw.clone() };
        let mut out: Out = kicked.iter().map(|p| (p.clone(), kick())).collect();
        out.extend(self.remove(&kicked));
        out
    }

    fn publish_request(&mut self, signal: &Signal) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if room.member(&signal.from).is_some_and(|m| m.publisher_since.is_some()) {
            return refuse(signal, Refusal::AlreadyPublisher);
        }
        match room.owner() {
            Some(owner) => vec![(owner.clone(), Reply::Forward(signal.raw.clone()))],
            None => refuse(signal, Refusal::PermissionDenied),
        }
    }

    fn publish_answer(&mut self, signal: &Signal, accept: bool) -> Out {
        let room = match self.checked(signal) {
            Ok(room) => room,
            Err(refusal) => return refuse(signal, refusal),
        };
        if room.owner() != Some(&signal.from) {
            return refuse(signal, Refusal::PermissionDenied);
        }
        let target = match &signal.to {
            Some(To::Session(peer)) => room.member(peer).map(|m| m.peer.clone()),
            Some(To::User(user)) => {
                room.members.iter().find(|m| m.peer.user == *user).map(|m| m.peer.clone())
            }
            None => None,
        };
        let Some(target) = target else { return refuse(signal, Refusal::NotRoomMember) };
        let forward = (target.clone(), Reply::Forward(signal.raw.clone()));
        if !accept {
            return vec![forward];
        }
        if room.member(&target).is_some_and(|m| m.publisher_since.is_some()) {
            return refuse(signal, Refusal::AlreadyPublisher);
        }
        let limit = match room.ch {
            Channel::M2m => self.limits.m2m_publishers,
            Channel::A2m => self.limits.a2m_publishers,
            Channel::P2p | Channel::P2m => 1,
        };
        if room.listed().len() >= limit {
            return refuse(signal, Refusal::PermissionDenied);
        }
        let tick = self.next_tick();
        let Some(room) = self.room.as_mut() else { return Vec::new() };
        if let Some(m) = room.members.iter_mut().find(|m| m.peer == target) {
            m.publisher_since = Some(tick);
        }
        let mut out = vec![forward];
        out.extend(room.changed());
        out
    }
}

#[cfg(test)]
mod tests;
