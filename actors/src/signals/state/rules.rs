//! The `signals` room as the room engine drives it: [`SignalRoom`] as the dialect's
//! [`Rules`], and [`Memo`], what a node remembers of a room homed elsewhere so that the room
//! outlives its home.

use super::{Listed, Media, MediaDone, Out, Refusal, Reply, SignalRoom, SignalsConfig, Survivor};
use crate::{
    cluster::Topic,
    engine::{self, Absent, Rules},
    event::Event,
    ids::RoomId,
    payload::Payload,
    signals::{Action, Channel, Peer, Signal},
};

/// What a node remembers of a room homed elsewhere for one of its sessions: enough to rebuild
/// the room on a new home (the last publisher list heard gives the publishers' order).
#[derive(Debug, Clone, Default)]
pub struct Memo {
    /// The room's channel and engine, once its JOIN was answered.
    room: Option<(Channel, Option<Payload>)>,
    /// The last publisher list heard.
    pps: Vec<Listed>,
    /// The session's own info, from its JOIN.
    ss: Option<Payload>,
}

/// Hands the engine `replies` and the media work the room handed meanwhile.
fn push(room: &mut SignalRoom, out: &mut engine::Out<SignalRoom>, replies: Out) {
    out.extend(replies);
    for effect in room.take_media() {
        out.effect(effect);
    }
}

impl Rules for SignalRoom {
    type Member = Peer;
    type Command = Signal;
    type Event = Reply;
    type Config = SignalsConfig;
    type Memo = Memo;
    type Survivor = Survivor;
    type Effect = Media;
    type Outcome = MediaDone;

    const NAMESPACE: &'static str = "signals";
    const TOPIC: Topic = Topic::Signals;
    const OUTLIVES_HOME: bool = true;

    fn new(config: &SignalsConfig) -> Self {
        SignalRoom::new(config.limits)
    }

    fn room(signal: &Signal) -> &RoomId {
        &signal.rid
    }

    fn creates(signal: &Signal) -> bool {
        signal.action == Action::Join && signal.creating
    }

    fn apply(&mut self, _: &RoomId, _: &Peer, signal: Signal, out: &mut engine::Out<Self>) {
        let replies = SignalRoom::apply(self, &signal);
        push(self, out, replies);
    }

    fn depart(&mut self, _: &RoomId, peer: &Peer, out: &mut engine::Out<Self>) {
        let replies = self.disconnect(peer);
        push(self, out, replies);
    }

    /// Never called: a `signals` room outlives its home ([`Rules::give_up`] instead).
    fn evict(&mut self, _: &RoomId, _: &mut engine::Out<Self>) {}

    /// Every session leaves, as if it had sent LEAVE (its media released), and is told the
    /// room has no publishers any more: the protocol has no word for a closed room.
    fn close(&mut self, room: &RoomId, out: &mut engine::Out<Self>) {
        let members = self.members();
        let replies = self.close_all(&members);
        push(self, out, replies);
        for peer in members {
            out.push((peer, Reply::PublishListChanged { rid: room.clone(), pps: Vec::new() }));
        }
    }

    fn has(&self, peer: &Peer) -> bool {
        self.has_peer(peer)
    }

    fn is_over(&self) -> bool {
        SignalRoom::is_over(self)
    }

    fn refuse(_: &RoomId, _: &Peer, signal: Signal, why: Absent) -> Reply {
        let refusal = match why {
            // A creating JOIN finds no room only where it was sent because the room existed
            // (on its home, which has closed it since): the client may try again.
            Absent::NoRoom if Self::creates(&signal) => Refusal::Unavailable,
            Absent::NoRoom => Refusal::RoomNotFound,
            Absent::Taken => Refusal::RoomExists,
            Absent::Unavailable => Refusal::Unavailable,
            Absent::Limited => Refusal::RoomLimit,
        };
        Reply::Refused { action: signal.action, refusal, req: signal.raw }
    }

    /// Never called: a `signals` room moves to a new home instead.
    fn home_lost(_: &RoomId) -> Option<Reply> {
        None
    }

    fn wrap(reply: Reply) -> Event {
        Event::Signals(reply)
    }

    fn remember(memo: &mut Memo, reply: &Reply) {
        match reply {
            Reply::Joined { pps, ch, eg, .. } => {
                memo.room = Some((*ch, eg.clone()));
                memo.pps.clone_from(pps);
            }
            Reply::PublishListChanged { pps, .. } | Reply::Heartbeat { pps, .. } => {
                memo.pps.clone_from(pps);
            }
            Reply::Forward(_)
            | Reply::Offered { .. }
            | Reply::Watching { .. }
            | Reply::Kicked { .. }
            | Reply::Invalid { .. }
            | Reply::Refused { .. } => {}
        }
    }

    fn remember_own(memo: &mut Memo, signal: &Signal) {
        if signal.action == Action::Join {
            memo.ss = Some(signal.ss.clone());
        }
    }

    fn recall(memo: &mut Memo, survivor: &Survivor) {
        memo.room = Some((survivor.ch, survivor.eg.clone()));
        memo.ss = Some(survivor.ss.clone());
    }

    fn survivor(memo: &Memo, peer: &Peer) -> Option<Survivor> {
        let (ch, eg) = memo.room.clone()?;
        let rank = memo.pps.iter().position(|l| l.peer == *peer);
        let listed = rank.map(|r| &memo.pps[r]);
        let ss = match listed {
            Some(l) => l.ss.clone(),
            None => memo.ss.clone()?,
        };
        let (ve, ae) = listed.map_or((true, true), |l| (l.ve, l.ae));
        Some(Survivor { ch, eg, peer: peer.clone(), ss, rank, ve, ae })
    }

    /// The room's media end here: publishers publish again on its new home.
    fn give_up(&mut self, out: &mut engine::Out<Self>) -> Vec<(Peer, Survivor)> {
        let survivors = self.survivors();
        if self.room.as_ref().is_some_and(|r| r.ch.uses_media()) {
            out.effect(Media::Close);
        }
        survivors.into_iter().map(|s| (s.peer.clone(), s)).collect()
    }

    fn perform(config: &SignalsConfig, rid: &RoomId, effect: Media) -> engine::Pending<Self> {
        super::media::perform(config, rid, effect)
    }

    fn resume(&mut self, rid: &RoomId, done: MediaDone, out: &mut engine::Out<Self>) {
        let replies = self.media_done(rid, done);
        push(self, out, replies);
    }

    fn adopt(
        &mut self,
        rid: &RoomId,
        survivors: Vec<(Peer, Survivor)>,
        out: &mut engine::Out<Self>,
    ) {
        let replies = SignalRoom::adopt(self, rid, survivors.into_iter().map(|(_, s)| s).collect());
        push(self, out, replies);
    }
}
