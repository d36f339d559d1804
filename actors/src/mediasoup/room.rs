//! One `mediasoup` room, as pure state: every request pushes what each peer is told, and the
//! media work it needs as effects ([`super::media::Media`]), answered when the media plane has
//! done it. The room engine ([`crate::engine`]) drives it (in [`super::rules`]).
//!
//! Semantics are mediasoup v2's (PROTOCOLS.md §4.4–4.8): a peer joins under its connection's
//! name (a name already in the room is refused, the first peer untouched); each producer a
//! peer creates gives every other peer that can receive it a consumer (`newConsumer`), which
//! that peer enables on one of its receive transports; pausing or closing a producer tells its
//! consumers' peers; a peer that leaves (or whose connection or node is gone) is announced to
//! the others as closed. Spies see the others and are not announced.

use serde_json::{json, Value};

use super::{
    media::{self, Media},
    ConsumerInfo, Direction, Notice, PeerId, Refusal, RtpParameters, Told,
};
use crate::{
    engine::Out,
    media::{Kind, Stream},
};

/// Most transports one peer may have at once (mediasoup-client uses two: one each way); each
/// is a peer connection on the media plane.
pub(super) const MAX_TRANSPORTS: usize = 8;

/// Most producers one peer may have at once (a camera, a microphone, screens).
pub(super) const MAX_PRODUCERS: usize = 16;

/// A transport of a peer.
#[derive(Debug)]
pub(super) struct Transport {
    pub(super) id: u64,
    pub(super) direction: Direction,
    pub(super) app_data: Value,
    /// Its stats' interval (ms), while they are reported.
    pub(super) stats: Option<u64>,
}

/// A producer of a peer; `ready` once the media plane receives it.
#[derive(Debug)]
pub(super) struct Producer {
    pub(super) id: u64,
    pub(super) kind: Kind,
    pub(super) transport: u64,
    pub(super) rtp: RtpParameters,
    pub(super) stream: Stream,
    pub(super) paused: bool,
    pub(super) app_data: Value,
    pub(super) ready: bool,
    /// Its stats' interval (ms), while they are reported.
    pub(super) stats: Option<u64>,
}

/// A consumer a peer has of another peer's producer.
#[derive(Debug)]
pub(super) struct Consumer {
    pub(super) id: u64,
    /// The producer's peer and id.
    pub(super) of: (PeerId, u64),
    pub(super) info: ConsumerInfo,
    pub(super) stream: Stream,
    pub(super) pts: Vec<(u8, u8)>,
    /// Paused by its own peer.
    pub(super) paused: bool,
    /// The receive transport it is enabled on.
    pub(super) enabled: Option<u64>,
    /// Its stats' interval (ms), while they are reported.
    pub(super) stats: Option<u64>,
}

/// A peer in the room.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) id: PeerId,
    pub(super) app_data: Value,
    pub(super) capabilities: Option<Value>,
    pub(super) spy: bool,
    pub(super) transports: Vec<Transport>,
    pub(super) producers: Vec<Producer>,
    pub(super) consumers: Vec<Consumer>,
}

/// One room (empty before its first join). See the module docs.
#[derive(Debug, Default)]
pub struct MediasoupRoom {
    pub(super) members: Vec<Member>,
    /// It existed and every peer left.
    pub(super) over: bool,
}

/// An answer to request `id` (nothing for a notification).
pub(super) fn answer(
    out: &mut Out<MediasoupRoom>,
    to: &PeerId,
    id: Option<&serde_json::Number>,
    result: Result<Value, Refusal>,
) {
    if let Some(id) = id {
        let result = result.map(|data| data.to_string());
        out.push((to.clone(), Told::Answer { id: id.clone(), result }));
    }
}

impl MediasoupRoom {
    pub(super) fn member(&self, peer: &PeerId) -> Option<&Member> {
        self.members.iter().find(|m| m.id == *peer)
    }

    pub(super) fn member_mut(&mut self, peer: &PeerId) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == *peer)
    }

    /// Whether `peer` has joined.
    pub fn has_peer(&self, peer: &PeerId) -> bool {
        self.member(peer).is_some()
    }

    /// `peer` joins: it learns the others (each with its consumers of their producers), and
    /// they learn it unless it is a spy.
    pub(super) fn join(
        &mut self,
        from: &PeerId,
        id: Option<&serde_json::Number>,
        capabilities: Option<Value>,
        spy: bool,
        app_data: Value,
        out: &mut Out<Self>,
    ) {
        if self.has_peer(from) {
            return answer(out, from, id, Err(Refusal::AlreadyJoined));
        }
        if self.members.iter().any(|m| m.id.name == from.name) {
            return answer(out, from, id, Err(Refusal::NameTaken));
        }
        let mut member = Member {
            id: from.clone(),
            app_data: app_data.clone(),
            capabilities,
            spy,
            transports: Vec::new(),
            producers: Vec::new(),
            consumers: Vec::new(),
        };
        let sources: Vec<_> = self
            .members
            .iter()
            .flat_map(|m| m.producers.iter().filter(|p| p.ready).map(move |p| (m, p)))
            .collect();
        for (owner, producer) in sources {
            if let Some(consumer) = consumer_for(&member, owner, producer) {
                member.consumers.push(consumer);
            }
        }
        let peers: Vec<Value> = self
            .members
            .iter()
            .filter(|m| !m.spy)
            .map(|m| {
                let consumers: Vec<&ConsumerInfo> =
                    member.consumers.iter().filter(|c| c.of.0 == m.id).map(|c| &c.info).collect();
                media::peer_json(&m.id.name, &consumers, &m.app_data)
            })
            .collect();
        self.members.push(member);
        // The draft's client learns the server's capabilities here (it has no `queryRoom`).
        let capabilities = super::caps::room_capabilities();
        answer(out, from, id, Ok(json!({ "rtpCapabilities": capabilities, "peers": peers })));
        if spy {
            return;
        }
        for m in self.members.iter().filter(|m| m.id != *from) {
            let notice = Notice::NewPeer {
                name: from.name.clone(),
                consumers: Vec::new(),
                app_data: app_data.clone(),
            };
            out.push((m.id.clone(), Told::Notify(notice)));
        }
    }

    /// `peer` is out of the room (it left, or its connection or node is gone).
    pub(super) fn remove(&mut self, peer: &PeerId, out: &mut Out<Self>) {
        let Some(at) = self.members.iter().position(|m| m.id == *peer) else { return };
        let gone = self.members.remove(at);
        out.effect(Media::Leave(gone.id.clone()));
        for m in &mut self.members {
            m.consumers.retain(|c| c.of.0 != gone.id);
            if !gone.spy {
                let notice = Notice::PeerClosed {
                    name: gone.id.name.clone(),
                    app_data: gone.app_data.clone(),
                };
                out.push((m.id.clone(), Told::Notify(notice)));
            }
        }
        if self.members.is_empty() {
            self.over = true;
            out.effect(Media::Close);
        }
    }

    /// The room ends for everyone (its name is another node's now).
    pub(super) fn end(&mut self, out: &mut Out<Self>) {
        for m in std::mem::take(&mut self.members) {
            out.push((m.id, Told::Notify(Notice::RoomClosed)));
        }
        self.over = true;
        out.effect(Media::Close);
    }

    /// A new transport of `from`'s.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_transport(
        &mut self,
        from: &PeerId,
        reply: Option<serde_json::Number>,
        id: u64,
        direction: Direction,
        dtls: Option<super::DtlsParameters>,
        app_data: Value,
        out: &mut Out<Self>,
    ) {
        let Some(member) = self.member_mut(from) else {
            return answer(out, from, reply.as_ref(), Err(Refusal::NotJoined));
        };
        if member.transports.iter().any(|t| t.id == id) {
            return answer(out, from, reply.as_ref(), Err(Refusal::TransportExists(id)));
        }
        if member.transports.len() >= MAX_TRANSPORTS {
            let refusal = Refusal::TooMany("transports".into(), MAX_TRANSPORTS);
            return answer(out, from, reply.as_ref(), Err(refusal));
        }
        member.transports.push(Transport { id, direction, app_data, stats: None });
        out.effect(Media::CreateTransport { peer: from.clone(), id, dtls, reply });
    }

    /// The transport `id` of `from`, if it has one, going `direction` if given.
    pub(super) fn transport(
        &self,
        from: &PeerId,
        id: u64,
        direction: Option<Direction>,
    ) -> Result<&Transport, Refusal> {
        let member = self.member(from).ok_or(Refusal::NotJoined)?;
        let transport =
            member.transports.iter().find(|t| t.id == id).ok_or(Refusal::NoTransport(id))?;
        match direction {
            Some(d) if transport.direction != d => Err(Refusal::WrongDirection(id)),
            _ => Ok(transport),
        }
    }

    /// Closes transport `id` of `from`: its producers close (their consumers' peers are
    /// told), its consumers are no longer enabled.
    pub(super) fn close_transport(&mut self, from: &PeerId, id: u64, out: &mut Out<Self>) {
        let Some(member) = self.member_mut(from) else { return };
        let Some(at) = member.transports.iter().position(|t| t.id == id) else { return };
        member.transports.remove(at);
        let on_it: Vec<u64> =
            member.producers.iter().filter(|p| p.transport == id).map(|p| p.id).collect();
        for c in member.consumers.iter_mut().filter(|c| c.enabled == Some(id)) {
            c.enabled = None;
        }
        out.effect(Media::CloseTransport { peer: from.clone(), id });
        for producer in on_it {
            self.close_producer(from, producer, out);
        }
    }

    /// Transport `id` of `from` ended, for reason `why`: if the peer still has it (the media
    /// plane failed it, rather than the peer or the room closing it), the peer is told, and
    /// of each producer on it, which close with it.
    pub(super) fn transport_gone(
        &mut self,
        from: &PeerId,
        id: u64,
        why: &str,
        out: &mut Out<Self>,
    ) {
        let Some(member) = self.member(from) else { return };
        let Some(transport) = member.transports.iter().find(|t| t.id == id) else { return };
        log::info!("mediasoup: transport {id} of {from} ended: {why}");
        let app_data = transport.app_data.clone();
        let producers: Vec<(u64, Value)> = member
            .producers
            .iter()
            .filter(|p| p.transport == id)
            .map(|p| (p.id, p.app_data.clone()))
            .collect();
        out.push((from.clone(), Told::Notify(Notice::TransportClosed { id, app_data })));
        for (producer, app_data) in producers {
            out.push((
                from.clone(),
                Told::Notify(Notice::ProducerClosed { id: producer, app_data }),
            ));
        }
        self.close_transport(from, id, out);
    }

    /// Closes producer `id` of `from`: each consumer of it closes, and its peer is told.
    pub(super) fn close_producer(&mut self, from: &PeerId, id: u64, out: &mut Out<Self>) {
        let Some(member) = self.member_mut(from) else { return };
        let Some(at) = member.producers.iter().position(|p| p.id == id) else { return };
        let producer = member.producers.remove(at);
        out.effect(Media::CloseSource(media::producer_key(from, id)));
        for m in &mut self.members {
            let (gone, kept) = std::mem::take(&mut m.consumers)
                .into_iter()
                .partition(|c| c.of == (from.clone(), id));
            m.consumers = kept;
            for c in gone {
                out.effect(Media::CloseSource(media::consumer_key(c.id)));
                let notice = Notice::Consumer {
                    id: c.id,
                    peer_name: from.name.clone(),
                    change: super::Change::Closed,
                    app_data: producer.app_data.clone(),
                };
                out.push((m.id.clone(), Told::Notify(notice)));
            }
        }
    }
}

/// A consumer for `member` of `owner`'s `producer`, if `member` can receive it.
pub(super) fn consumer_for(
    member: &Member,
    owner: &Member,
    producer: &Producer,
) -> Option<Consumer> {
    if member.id == owner.id
        || !super::caps::can_receive(member.capabilities.as_ref(), &producer.rtp)
    {
        return None;
    }
    let id = media::fresh_id();
    let stream = Stream {
        kind: producer.kind,
        ssrc: media::fresh_ssrc(),
        rtx: producer.stream.rtx.map(|_| media::fresh_ssrc()),
    };
    let (rtp, pts) = super::caps::consumer_rtp(&producer.rtp, &stream);
    let info = ConsumerInfo {
        id,
        kind: producer.kind,
        peer_name: owner.id.name.clone(),
        rtp,
        paused: producer.paused,
        app_data: producer.app_data.clone(),
    };
    Some(Consumer {
        id,
        of: (owner.id.clone(), producer.id),
        info,
        stream,
        pts,
        paused: false,
        enabled: None,
        stats: None,
    })
}
