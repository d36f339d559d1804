//! Producers and consumers of a `mediasoup` room, and what the media plane's answers come to.
//! Every request here is of a peer that has joined (the rules refuse others first).

use serde_json::{json, Number, Value};

use super::{
    caps,
    media::{self, Media, MediaDone},
    room::{answer, consumer_for, MediasoupRoom, Producer},
    Change, Direction, Notice, PeerId, Refusal, RtpParameters, Told,
};
use crate::{
    engine::Out,
    media::{Kind, MediaError},
};

fn media_refusal(why: MediaError) -> Refusal {
    match why {
        MediaError::BadParameters(why) | MediaError::BadSdp(why) => Refusal::Unsupported(why),
        MediaError::NoTransport => Refusal::Media("the transport is gone".into()),
        other => Refusal::Media(other.to_string()),
    }
}

impl MediasoupRoom {
    /// A new producer of `from`'s on its send transport `transport`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn create_producer(
        &mut self,
        from: &PeerId,
        reply: Option<Number>,
        id: u64,
        kind: Kind,
        transport: u64,
        rtp: RtpParameters,
        paused: bool,
        app_data: Value,
        out: &mut Out<Self>,
    ) {
        let checked = self.transport(from, transport, Some(Direction::Send)).map(|_| ());
        let checked = checked.and_then(|()| {
            let member = self.member(from).ok_or(Refusal::NotJoined)?;
            if member.producers.iter().any(|p| p.id == id) {
                return Err(Refusal::ProducerExists(id));
            }
            if member.producers.len() >= super::room::MAX_PRODUCERS {
                return Err(Refusal::TooMany("producers".into(), super::room::MAX_PRODUCERS));
            }
            caps::producer_stream(kind, &rtp).map_err(Refusal::Unsupported)
        });
        let stream = match checked {
            Ok(stream) => stream,
            Err(refusal) => return answer(out, from, reply.as_ref(), Err(refusal)),
        };
        let Some(member) = self.member_mut(from) else { return };
        let producer = Producer {
            id,
            kind,
            transport,
            rtp,
            stream,
            paused,
            app_data,
            ready: false,
            stats: None,
        };
        member.producers.push(producer);
        out.effect(Media::Produce { peer: from.clone(), id, transport, stream, paused, reply });
    }

    /// Producer `id` of `from`'s is received: every other peer that can receive it gets a
    /// consumer of it.
    fn produced(&mut self, from: &PeerId, id: u64, out: &mut Out<Self>) {
        let Some(owner) = self.member_mut(from) else { return };
        let Some(producer) = owner.producers.iter_mut().find(|p| p.id == id) else { return };
        producer.ready = true;
        let Some(owner) = self.member(from) else { return };
        let Some(producer) = owner.producers.iter().find(|p| p.id == id) else { return };
        let made: Vec<_> = self
            .members
            .iter()
            .enumerate()
            .filter_map(|(at, m)| consumer_for(m, owner, producer).map(|c| (at, c)))
            .collect();
        for (at, consumer) in made {
            let member = &mut self.members[at];
            out.push((member.id.clone(), Told::Notify(Notice::NewConsumer(consumer.info.clone()))));
            member.consumers.push(consumer);
        }
    }

    /// `updateProducer`: new parameters of the same stream.
    pub(super) fn update_producer(
        &mut self,
        from: &PeerId,
        reply: Option<&Number>,
        id: u64,
        rtp: RtpParameters,
        out: &mut Out<Self>,
    ) {
        let Some(p) = self.producer_mut(from, id) else {
            return answer(out, from, reply, Err(Refusal::NoProducer(id)));
        };
        let result = match caps::producer_stream(p.kind, &rtp) {
            Ok(stream) if stream == p.stream => {
                p.rtp = rtp;
                Ok(json!({}))
            }
            Ok(_) => Err(Refusal::Unsupported("a producer's SSRCs cannot change".into())),
            Err(why) => Err(Refusal::Unsupported(why)),
        };
        answer(out, from, reply, result);
    }

    /// Pauses or resumes producer `id` of `from`: its consumers' peers are told.
    pub(super) fn pause_producer(
        &mut self,
        from: &PeerId,
        reply: Option<&Number>,
        id: u64,
        paused: bool,
        out: &mut Out<Self>,
    ) {
        let Some(producer) = self.producer_mut(from, id) else {
            return answer(out, from, reply, Err(Refusal::NoProducer(id)));
        };
        let changed = producer.paused != paused;
        producer.paused = paused;
        let app_data = producer.app_data.clone();
        answer(out, from, reply, Ok(json!({})));
        if !changed {
            return;
        }
        out.effect(Media::Pause(media::producer_key(from, id), paused));
        let change = if paused { Change::Paused } else { Change::Resumed };
        for m in &mut self.members {
            for c in m.consumers.iter_mut().filter(|c| c.of == (from.clone(), id)) {
                c.info.paused = paused;
                let notice = Notice::Consumer {
                    id: c.id,
                    peer_name: from.name.clone(),
                    change,
                    app_data: app_data.clone(),
                };
                out.push((m.id.clone(), Told::Notify(notice)));
            }
        }
    }

    /// Enables consumer `id` of `from` on its receive transport `transport` (the draft names
    /// none: its newest receive transport).
    pub(super) fn enable_consumer(
        &mut self,
        from: &PeerId,
        reply: Option<Number>,
        id: u64,
        transport: Option<u64>,
        paused: bool,
        out: &mut Out<Self>,
    ) {
        let checked = (|| {
            let member = self.member(from).ok_or(Refusal::NotJoined)?;
            let transport = match transport {
                Some(t) => self.transport(from, t, Some(Direction::Recv))?.id,
                None => {
                    member
                        .transports
                        .iter()
                        .rev()
                        .find(|t| t.direction == Direction::Recv)
                        .ok_or(Refusal::NoTransport(0))?
                        .id
                }
            };
            let consumer =
                member.consumers.iter().find(|c| c.id == id).ok_or(Refusal::NoConsumer(id))?;
            if consumer.enabled.is_some() {
                return Err(Refusal::Unsupported(format!("consumer {id} is enabled already")));
            }
            Ok((transport, consumer.of.clone(), consumer.stream, consumer.pts.clone()))
        })();
        let (transport, of, stream, pts) = match checked {
            Ok(found) => found,
            Err(refusal) => return answer(out, from, reply.as_ref(), Err(refusal)),
        };
        if let Some(c) = self.consumer_mut(from, id) {
            c.paused = paused;
        }
        let peer = from.clone();
        out.effect(Media::Consume { peer, id, transport, of, stream, pts, paused, reply });
    }

    fn producer_mut(&mut self, from: &PeerId, id: u64) -> Option<&mut Producer> {
        self.member_mut(from)?.producers.iter_mut().find(|p| p.id == id)
    }

    fn consumer_mut(&mut self, from: &PeerId, id: u64) -> Option<&mut super::room::Consumer> {
        self.member_mut(from)?.consumers.iter_mut().find(|c| c.id == id)
    }

    /// Pauses or resumes consumer `id` of `from` (its own choice, whatever its producer does).
    pub(super) fn pause_consumer(
        &mut self,
        from: &PeerId,
        reply: Option<&Number>,
        id: u64,
        paused: bool,
        out: &mut Out<Self>,
    ) {
        let Some(consumer) = self.consumer_mut(from, id) else {
            return answer(out, from, reply, Err(Refusal::NoConsumer(id)));
        };
        consumer.paused = paused;
        out.effect(Media::Pause(media::consumer_key(id), paused));
        answer(out, from, reply, Ok(json!({})));
    }

    /// `setConsumerPreferredProfile`: one encoding per producer here (no simulcast), so the
    /// profile in effect stays `default`.
    pub(super) fn set_profile(
        &mut self,
        from: &PeerId,
        reply: Option<&Number>,
        id: u64,
        out: &mut Out<Self>,
    ) {
        let result = match self.consumer_mut(from, id) {
            Some(_) => Ok(json!({})),
            None => Err(Refusal::NoConsumer(id)),
        };
        answer(out, from, reply, result);
    }

    /// Applies what a media effect came to.
    pub(super) fn media_done(&mut self, done: MediaDone, out: &mut Out<Self>) {
        match done {
            MediaDone::Transport { peer, id, reply, result } => match result {
                Ok((params, gone, role)) => {
                    let answered = media::transport_answer(&params, role);
                    answer(out, &peer, reply.as_ref(), Ok(answered));
                    out.effect(Media::Watch { peer, id, gone });
                }
                Err(why) => {
                    if let Some(m) = self.member_mut(&peer) {
                        m.transports.retain(|t| t.id != id);
                    }
                    answer(out, &peer, reply.as_ref(), Err(media_refusal(why)));
                }
            },
            MediaDone::TransportGone { peer, id, why } => self.transport_gone(&peer, id, &why, out),
            MediaDone::Stats { peer, target, result } => {
                self.stats_done(&peer, target, result, out)
            }
            MediaDone::Produced { peer, id, reply, result } => match result {
                Ok(()) => {
                    answer(out, &peer, reply.as_ref(), Ok(json!({})));
                    self.produced(&peer, id, out);
                }
                Err(why) => {
                    if let Some(m) = self.member_mut(&peer) {
                        m.producers.retain(|p| p.id != id);
                    }
                    answer(out, &peer, reply.as_ref(), Err(media_refusal(why)));
                }
            },
            MediaDone::Consumed { peer, id, transport, reply, result } => {
                let consumer = self.consumer_mut(&peer, id);
                let result = match (result, consumer) {
                    (Ok(()), Some(c)) => {
                        c.enabled = Some(transport);
                        Ok(json!({
                            "paused": c.paused || c.info.paused,
                            "preferredProfile": "default",
                            "effectiveProfile": "default",
                        }))
                    }
                    (Ok(()), None) => Err(Refusal::NoConsumer(id)),
                    (Err(why), _) => Err(media_refusal(why)),
                };
                answer(out, &peer, reply.as_ref(), result);
            }
            MediaDone::Answered { peer, reply, result } => {
                if let Err(why) = &result {
                    log::debug!("mediasoup: {peer}: {why}");
                }
                answer(out, &peer, reply.as_ref(), result.map_err(media_refusal));
            }
        }
    }
}
