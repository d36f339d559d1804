//! The `mediasoup` room as the room engine drives it: [`MediasoupRoom`] as the dialect's
//! [`Rules`]. A room dies with its home node (its media live there): the peers on other nodes
//! are told `closed`.

use serde_json::json;

use super::{
    media::{MediaDone, MediasoupConfig},
    room::answer,
    Ask, Direction, MediasoupRoom, Notice, PeerId, Refusal, Request, Told,
};
use crate::{
    cluster::Topic,
    engine::{Absent, Out, Pending, Rules},
    event::Event,
    ids::RoomId,
};

impl Rules for MediasoupRoom {
    type Member = PeerId;
    type Command = Request;
    type Event = Told;
    type Config = MediasoupConfig;
    type Memo = ();
    type Survivor = ();
    type Effect = super::media::Media;
    type Outcome = MediaDone;

    const NAMESPACE: &'static str = "mediasoup";
    const TOPIC: Topic = Topic::Mediasoup;
    const OUTLIVES_HOME: bool = false;
    const JOINING_CREATES: bool = true;

    fn new(_: &MediasoupConfig) -> Self {
        Self::default()
    }

    /// The peerName alone (the connection is the node's business).
    fn identity(peer: &PeerId) -> String {
        peer.name.to_string()
    }

    fn room(request: &Request) -> &RoomId {
        &request.room
    }

    /// An unknown room is created by a join, as mediasoup-demo's server does.
    fn creates(request: &Request) -> bool {
        matches!(request.ask, Ask::Join { .. })
    }

    fn apply(&mut self, _: &RoomId, from: &PeerId, request: Request, out: &mut Out<Self>) {
        let Request { id: reply, ask, .. } = request;
        let joined = self.has_peer(from);
        if !joined && !matches!(ask, Ask::Join { .. }) {
            return answer(out, from, reply.as_ref(), Err(Refusal::NotJoined));
        }
        match ask {
            Ask::Join { rtp_capabilities, spy, app_data } => {
                self.join(from, reply.as_ref(), rtp_capabilities, spy, app_data, out);
            }
            Ask::Leave { .. } => {
                answer(out, from, reply.as_ref(), Ok(json!({})));
                self.remove(from, out);
            }
            Ask::CreateTransport { id, direction, dtls, app_data } => {
                self.create_transport(from, reply, id, direction, dtls, app_data, out);
            }
            Ask::UpdateTransport { id, dtls } => match self.transport(from, id, None) {
                Ok(_) => {
                    let peer = from.clone();
                    out.effect(super::media::Media::Connect { peer, id, dtls, reply });
                }
                Err(refusal) => answer(out, from, reply.as_ref(), Err(refusal)),
            },
            Ask::RestartTransport { id } => match self.transport(from, id, None) {
                Ok(_) => out.effect(super::media::Media::Restart { peer: from.clone(), id, reply }),
                Err(refusal) => answer(out, from, reply.as_ref(), Err(refusal)),
            },
            Ask::CloseTransport { id } => {
                let result = self.transport(from, id, None).map(|_| json!({}));
                answer(out, from, reply.as_ref(), result);
                self.close_transport(from, id, out);
            }
            Ask::CreateProducer { id, kind, transport, rtp, paused, app_data } => {
                self.create_producer(from, reply, id, kind, transport, rtp, paused, app_data, out);
            }
            Ask::UpdateProducer { id, rtp } => {
                self.update_producer(from, reply.as_ref(), id, rtp, out);
            }
            Ask::PauseProducer { id, paused } => {
                self.pause_producer(from, reply.as_ref(), id, paused, out);
            }
            Ask::CloseProducer { id } => {
                let has = self.member(from).is_some_and(|m| m.producers.iter().any(|p| p.id == id));
                let result = if has { Ok(json!({})) } else { Err(Refusal::NoProducer(id)) };
                answer(out, from, reply.as_ref(), result);
                self.close_producer(from, id, out);
            }
            Ask::EnableConsumer { id, transport, paused } => {
                self.enable_consumer(from, reply, id, transport, paused, out);
            }
            Ask::PauseConsumer { id, paused } => {
                self.pause_consumer(from, reply.as_ref(), id, paused, out);
            }
            Ask::SetConsumerProfile { id, .. } => self.set_profile(from, reply.as_ref(), id, out),
            Ask::Stats { target, interval } => {
                self.enable_stats(from, reply.as_ref(), target, interval, out);
            }
        }
    }

    fn depart(&mut self, _: &RoomId, peer: &PeerId, out: &mut Out<Self>) {
        self.remove(peer, out);
    }

    fn evict(&mut self, _: &RoomId, out: &mut Out<Self>) {
        self.end(out);
    }

    /// Every peer is told the room closed, as when its home ends it.
    fn close(&mut self, _: &RoomId, out: &mut Out<Self>) {
        self.end(out);
    }

    fn has(&self, peer: &PeerId) -> bool {
        self.has_peer(peer)
    }

    fn is_over(&self) -> bool {
        self.over
    }

    fn refuse(_: &RoomId, _: &PeerId, request: Request, why: Absent) -> Told {
        let refusal = match why {
            Absent::NoRoom => Refusal::NotJoined,
            // Two nodes created the room at once, and the other one's claim won: try again.
            Absent::Taken | Absent::Unavailable => Refusal::Unavailable,
            Absent::Limited => Refusal::RoomLimit,
        };
        match request.id {
            Some(id) => Told::Answer { id, result: Err(refusal) },
            // A notification is answered by nothing; the edge sends nothing for this.
            None => Told::Notify(Notice::Ignored),
        }
    }

    fn home_lost(_: &RoomId) -> Option<Told> {
        Some(Told::Notify(Notice::RoomClosed))
    }

    fn wrap(told: Told) -> Event {
        Event::Mediasoup(told)
    }

    fn remember((): &mut (), _: &Told) {}

    fn remember_own((): &mut (), _: &Request) {}

    fn recall((): &mut (), (): &()) {}

    fn survivor((): &(), _: &PeerId) -> Option<()> {
        None
    }

    fn give_up(&mut self, _: &mut Out<Self>) -> Vec<(PeerId, ())> {
        Vec::new()
    }

    fn perform(config: &MediasoupConfig, room: &RoomId, effect: Self::Effect) -> Pending<Self> {
        super::media::perform(config, room, effect)
    }

    fn resume(&mut self, _: &RoomId, done: MediaDone, out: &mut Out<Self>) {
        self.media_done(done, out);
    }

    fn adopt(&mut self, _: &RoomId, _: Vec<(PeerId, ())>, _: &mut Out<Self>) {}
}

impl Direction {
    /// The direction a draft client's `createTransport` means: it gives DTLS parameters for
    /// a send transport only.
    pub fn of_draft(gives_dtls: bool) -> Self {
        if gives_dtls {
            Direction::Send
        } else {
            Direction::Recv
        }
    }
}
