//! A worker's transports without SDP ([`super::direct`]): str0m in RTP mode, set up through
//! its Direct API. A producer is one expected receive stream on its send transport; a consumer
//! is one declared send stream on its receive transport. Each RTP packet of a producer is
//! written to each of its consumers' streams, with the consumer's payload type; str0m gives it
//! the consumer's SSRC, sequence and SRTP context, and answers the consumer's RTCP (NACKs from
//! its resend cache, PLIs passed to the producer as keyframe requests).

use std::time::Instant;

use tokio::sync::oneshot;

use str0m::{
    config::Fingerprint,
    format::{Codec as Str0mCodec, FormatParams},
    ice::StunMessage,
    media::{Frequency, KeyframeRequestKind, MediaKind, Mid, Pt},
    rtp::{RtpPacket, RtpWrite, Ssrc},
    IceCreds, Rtc, RtcConfig,
};

use super::{
    direct::{
        Codec, CodecName, Dtls, DtlsRole, Gone, IceParameters, Kind, Stream, TransportOp,
        TransportParams,
    },
    peer::{Ended, Happened, Peer, PeerId, Role},
    worker::Worker,
    MediaError,
};

/// What a transport carries.
#[derive(Debug, Default)]
pub(super) struct Transport {
    /// Told why, once the transport is gone.
    gone: Option<oneshot::Sender<String>>,
    /// Why it ended, if the worker ended it (rather than its room closing it).
    ended: Option<String>,
    /// The client's ICE ufrag, as its checks name it.
    client_ufrag: Option<String>,
    /// The next mid's number.
    next_mid: u32,
    producers: Vec<Produced>,
    consumers: Vec<Consuming>,
}

/// A producer: a stream this transport receives.
#[derive(Debug)]
struct Produced {
    ssrc: Ssrc,
    kind: MediaKind,
    paused: bool,
    /// Its consumers: their transport and SSRC.
    consumers: Vec<(PeerId, Ssrc)>,
}

/// A consumer: a stream this transport sends, copied from a producer.
#[derive(Debug)]
struct Consuming {
    mid: Mid,
    ssrc: Ssrc,
    /// The producer: its transport and SSRC.
    producer: (PeerId, Ssrc),
    /// The producer's payload types and this consumer's.
    pts: Vec<(Pt, Pt)>,
    paused: bool,
}

impl Transport {
    fn mid(&mut self, prefix: char) -> Mid {
        self.next_mid += 1;
        Mid::from(format!("{prefix}{}", self.next_mid).as_str())
    }
}

fn kind(kind: Kind) -> MediaKind {
    match kind {
        Kind::Audio => MediaKind::Audio,
        Kind::Video => MediaKind::Video,
    }
}

/// RTP mode, no header extensions (none are offered to clients), and payload types `codecs`.
fn config(codecs: &[Codec]) -> RtcConfig {
    let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs().clear_extension_map();
    for codec in codecs {
        let (name, format) = match codec.name {
            CodecName::Opus => (
                Str0mCodec::Opus,
                FormatParams {
                    min_p_time: Some(10),
                    use_inband_fec: Some(true),
                    ..Default::default()
                },
            ),
            CodecName::Vp8 => (Str0mCodec::Vp8, FormatParams::default()),
            CodecName::H264 => (
                Str0mCodec::H264,
                FormatParams {
                    level_asymmetry_allowed: Some(true),
                    packetization_mode: Some(1),
                    profile_level_id: Some(0x42e01f),
                    ..Default::default()
                },
            ),
        };
        let rate = match codec.clock_rate {
            48_000 => Frequency::FORTY_EIGHT_KHZ,
            _ => Frequency::NINETY_KHZ,
        };
        let rtx = codec.rtx.map(Pt::from);
        config.codec_config().add_config(codec.pt.into(), rtx, name, rate, codec.channels, format);
    }
    config
}

fn failed(what: &str) -> MediaError {
    MediaError::Failed(format!("{what}: the transport failed"))
}

/// Starts DTLS against the client's `dtls`: the server takes the other side.
fn start_dtls(peer: &mut Peer, dtls: &Dtls) -> Result<(), MediaError> {
    let fingerprint: Fingerprint = format!("{} {}", dtls.algorithm, dtls.fingerprint)
        .parse()
        .map_err(|e| MediaError::BadParameters(format!("dtlsParameters fingerprint: {e}")))?;
    let active = dtls.role != DtlsRole::Client;
    let started = peer.direct(|api| {
        api.set_remote_fingerprint(fingerprint);
        api.start_dtls(active)
    });
    match started {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) => Err(MediaError::BadParameters(format!("dtlsParameters: {e}"))),
        None => Err(failed("DTLS")),
    }
}

/// A STUN request names its client's ICE ufrag (`USERNAME` is `server:client`). A transport
/// is told no client credentials (mediasoup's clients send none), so it learns them from the
/// checks: str0m's ICE-lite agent answers only once it knows them, and answers only checks
/// that name them (its password it never needs: the answers are signed with the server's).
pub(super) fn learn_client_ufrag(peer: &mut Peer, data: &[u8]) {
    if !matches!(peer.role, Role::Transport(_)) || !matches!(data.first(), Some(0..=3)) {
        return;
    }
    let Ok(stun) = StunMessage::parse(data) else { return };
    let Some((_, client)) = stun.split_username() else { return };
    let Some(transport) = transport_of(peer) else { return };
    if transport.client_ufrag.as_deref() == Some(client) {
        return;
    }
    let ufrag = client.to_owned();
    transport.client_ufrag = Some(ufrag.clone());
    peer.direct(|api| api.set_remote_ice_credentials(IceCreds { ufrag, pass: String::new() }));
}

/// Peer `peer` ends for reason `why`: a transport keeps why, for whoever waits on it.
pub(super) fn ended(peer: &mut Peer, why: &Ended) {
    if let Some(transport) = transport_of(peer) {
        transport.ended = Some(match why {
            Ended::NoIce => "no ICE for 30 s".to_owned(),
            Ended::Failed(e) => format!("failed: {e}"),
            Ended::Panicked => "failed: the transport panicked".to_owned(),
            Ended::Closed => "closed by its client".to_owned(),
        });
    }
}

fn transport_of(peer: &mut Peer) -> Option<&mut Transport> {
    match &mut peer.role {
        Role::Transport(transport) => Some(transport),
        _ => None,
    }
}

impl Worker {
    pub(super) fn on_transport_op(&mut self, room: &str, op: TransportOp) {
        match op {
            TransportOp::Create { key, session, codecs, dtls, reply } => {
                let _ = reply.send(self.create_transport(room, &key, &session, &codecs, dtls));
            }
            TransportOp::Connect { key, dtls, reply } => {
                let connected = self.transport(room, &key).and_then(|id| {
                    let peer = self.peers.get_mut(&id).ok_or(MediaError::NoTransport)?;
                    start_dtls(peer, &dtls)?;
                    self.drive(id);
                    Ok(())
                });
                let _ = reply.send(connected);
            }
            TransportOp::Restart { key, reply } => {
                let _ = reply.send(self.restart_transport(room, &key));
            }
            TransportOp::Close { key } => {
                if let Ok(id) = self.transport(room, &key) {
                    self.remove(id);
                }
            }
            TransportOp::Produce { transport, producer, stream, paused, reply } => {
                let _ = reply.send(self.produce(room, &transport, producer, stream, paused));
            }
            TransportOp::Consume { transport, consumer, producer, stream, pts, paused, reply } => {
                let made = self.consume(room, &transport, consumer, &producer, stream, pts, paused);
                let _ = reply.send(made);
            }
            TransportOp::Pause { key, paused } => self.pause_source(room, &key, paused),
            TransportOp::CloseSource { key } => self.close_source(room, &key),
        }
    }

    fn transport(&self, room: &str, key: &str) -> Result<PeerId, MediaError> {
        let room = self.rooms.get(room).ok_or(MediaError::NoTransport)?;
        room.transports.get(key).copied().ok_or(MediaError::NoTransport)
    }

    fn create_transport(
        &mut self,
        room: &str,
        key: &str,
        session: &str,
        codecs: &[Codec],
        dtls: Option<Dtls>,
    ) -> Result<(TransportParams, Gone), MediaError> {
        if self.transport(room, key).is_ok() {
            return Err(MediaError::BadParameters(format!("transport {key} exists")));
        }
        let (gone, goes) = Gone::channel();
        let role =
            Role::Transport(Box::new(Transport { gone: Some(gone), ..Transport::default() }));
        let (crypto, local) = (self.crypto.clone(), self.local);
        let mut peer = Peer::with_config(room, session, role, config(codecs), &crypto, local)?;
        let (fingerprint, creds) = peer
            .direct(|api| (api.local_dtls_fingerprint().clone(), api.local_ice_credentials()))
            .ok_or_else(|| failed("creating"))?;
        if let Some(dtls) = &dtls {
            start_dtls(&mut peer, dtls)?;
        }
        let id = self.add(peer);
        self.rooms.entry(room.to_owned()).or_default().transports.insert(key.to_owned(), id);
        self.drive(id);
        let fingerprint = fingerprint.to_string();
        let fingerprint = fingerprint.split_once(' ').map_or("", |(_, hex)| hex).to_owned();
        let ice = IceParameters { ufrag: creds.ufrag, pwd: creds.pass };
        Ok((TransportParams { ice, candidate: local, fingerprint }, goes))
    }

    fn restart_transport(&mut self, room: &str, key: &str) -> Result<IceParameters, MediaError> {
        let id = self.transport(room, key)?;
        let peer = self.peers.get_mut(&id).ok_or(MediaError::NoTransport)?;
        let creds = IceCreds::new();
        let set = creds.clone();
        peer.direct(move |api| api.set_local_ice_credentials(set))
            .ok_or_else(|| failed("restarting"))?;
        peer.ufrag = creds.ufrag.clone();
        self.demux.name(id, &creds.ufrag);
        self.drive(id);
        Ok(IceParameters { ufrag: creds.ufrag, pwd: creds.pass })
    }

    fn produce(
        &mut self,
        room: &str,
        transport: &str,
        producer: String,
        stream: Stream,
        paused: bool,
    ) -> Result<(), MediaError> {
        let id = self.transport(room, transport)?;
        if self.rooms.get(room).is_some_and(|r| r.sources.contains_key(&producer)) {
            return Err(MediaError::BadParameters(format!("producer {producer} exists")));
        }
        let peer = self.peers.get_mut(&id).ok_or(MediaError::NoTransport)?;
        let t = transport_of(peer).ok_or(MediaError::NoTransport)?;
        let ssrc = Ssrc::from(stream.ssrc);
        if t.producers.iter().any(|p| p.ssrc == ssrc) {
            let why = format!("ssrc {} is received already", stream.ssrc);
            return Err(MediaError::BadParameters(why));
        }
        let mid = t.mid('p');
        let kind = kind(stream.kind);
        let rtx = stream.rtx.map(Ssrc::from);
        peer.direct(|api| {
            api.declare_media(mid, kind);
            api.expect_stream_rx(ssrc, rtx, mid, None);
        })
        .ok_or_else(|| failed("producing"))?;
        let produced = Produced { ssrc, kind, paused, consumers: Vec::new() };
        transport_of(peer).ok_or(MediaError::NoTransport)?.producers.push(produced);
        self.rooms.entry(room.to_owned()).or_default().sources.insert(producer, (id, stream.ssrc));
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn consume(
        &mut self,
        room: &str,
        transport: &str,
        consumer: String,
        producer: &str,
        stream: Stream,
        pts: Vec<(u8, u8)>,
        paused: bool,
    ) -> Result<(), MediaError> {
        let id = self.transport(room, transport)?;
        let sources = self.rooms.get(room).map(|r| &r.sources);
        if sources.is_some_and(|s| s.contains_key(&consumer)) {
            return Err(MediaError::BadParameters(format!("consumer {consumer} exists")));
        }
        let &(up, up_ssrc) =
            sources.and_then(|s| s.get(producer)).ok_or(MediaError::NotPublishing)?;
        let up_ssrc = Ssrc::from(up_ssrc);
        let peer = self.peers.get_mut(&id).ok_or(MediaError::NoTransport)?;
        let t = transport_of(peer).ok_or(MediaError::NoTransport)?;
        let mid = t.mid('c');
        let (ssrc, rtx) = (Ssrc::from(stream.ssrc), stream.rtx.map(Ssrc::from));
        peer.direct(|api| {
            api.declare_media(mid, kind(stream.kind));
            api.declare_stream_tx(ssrc, rtx, mid, None);
        })
        .ok_or_else(|| failed("consuming"))?;
        let pts = pts.into_iter().map(|(from, to)| (Pt::from(from), Pt::from(to))).collect();
        let consuming = Consuming { mid, ssrc, producer: (up, up_ssrc), pts, paused };
        transport_of(peer).ok_or(MediaError::NoTransport)?.consumers.push(consuming);
        let produced = self
            .peers
            .get_mut(&up)
            .and_then(transport_of)
            .and_then(|t| t.producers.iter_mut().find(|p| p.ssrc == up_ssrc));
        produced.ok_or(MediaError::NotPublishing)?.consumers.push((id, ssrc));
        self.rooms.entry(room.to_owned()).or_default().sources.insert(consumer, (id, stream.ssrc));
        self.keyframe(up, up_ssrc);
        Ok(())
    }

    /// Asks producer `ssrc` on transport `up` for a keyframe, if it is video.
    fn keyframe(&mut self, up: PeerId, ssrc: Ssrc) {
        let Some(peer) = self.peers.get_mut(&up) else { return };
        let video = transport_of(peer)
            .and_then(|t| t.producers.iter().find(|p| p.ssrc == ssrc))
            .is_some_and(|p| p.kind == MediaKind::Video);
        if video {
            peer.direct(|api| {
                if let Some(rx) = api.stream_rx(&ssrc) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                }
            });
            self.drive(up);
        }
    }

    fn pause_source(&mut self, room: &str, key: &str, paused: bool) {
        let Some(&(id, ssrc)) = self.rooms.get(room).and_then(|r| r.sources.get(key)) else {
            return;
        };
        let ssrc = Ssrc::from(ssrc);
        let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
        let mut resumed = None;
        if let Some(p) = t.producers.iter_mut().find(|p| p.ssrc == ssrc) {
            p.paused = paused;
            resumed = Some((id, ssrc));
        } else if let Some(c) = t.consumers.iter_mut().find(|c| c.ssrc == ssrc) {
            c.paused = paused;
            resumed = Some(c.producer);
        }
        if let Some((up, up_ssrc)) = resumed.filter(|_| !paused) {
            self.keyframe(up, up_ssrc);
        }
    }

    fn close_source(&mut self, room: &str, key: &str) {
        let Some((id, ssrc)) = self.rooms.get_mut(room).and_then(|r| r.sources.remove(key)) else {
            return;
        };
        let ssrc = Ssrc::from(ssrc);
        let Some(peer) = self.peers.get_mut(&id) else { return };
        let Some(t) = transport_of(peer) else { return };
        if let Some(at) = t.producers.iter().position(|p| p.ssrc == ssrc) {
            let produced = t.producers.remove(at);
            peer.direct(|api| api.remove_stream_rx(ssrc));
            for (down, down_ssrc) in produced.consumers {
                self.drop_consumer(down, down_ssrc);
            }
        } else if let Some(at) = t.consumers.iter().position(|c| c.ssrc == ssrc) {
            let consuming = t.consumers.remove(at);
            peer.direct(|api| api.remove_stream_tx(ssrc));
            self.unlink(consuming.producer, (id, ssrc));
        }
    }

    /// Consumer `ssrc` of transport `down` lost its producer: it sends nothing more.
    fn drop_consumer(&mut self, down: PeerId, ssrc: Ssrc) {
        if let Some(t) = self.peers.get_mut(&down).and_then(transport_of) {
            t.consumers.retain(|c| c.ssrc != ssrc);
        }
    }

    /// Producer `producer` no longer feeds consumer `consumer`.
    fn unlink(&mut self, producer: (PeerId, Ssrc), consumer: (PeerId, Ssrc)) {
        let Some(t) = self.peers.get_mut(&producer.0).and_then(transport_of) else { return };
        if let Some(p) = t.producers.iter_mut().find(|p| p.ssrc == producer.1) {
            p.consumers.retain(|c| *c != consumer);
        }
    }

    /// Transport `id` is gone: its producers' consumers send nothing more, and its consumers
    /// leave their producers.
    pub(super) fn forget_transport(&mut self, id: PeerId, mut transport: Transport) {
        if let Some(gone) = transport.gone.take() {
            let _ = gone.send(transport.ended.take().unwrap_or_else(|| "closed".to_owned()));
        }
        for produced in &transport.producers {
            for &(down, ssrc) in &produced.consumers {
                self.drop_consumer(down, ssrc);
            }
        }
        for consuming in &transport.consumers {
            self.unlink(consuming.producer, (id, consuming.ssrc));
        }
    }

    /// What happened on transport `id`.
    pub(super) fn on_transport_event(&mut self, id: PeerId, event: Happened) {
        match event {
            Happened::Rtp(packet) => self.forward_rtp(id, &packet),
            Happened::Keyframe(req) => {
                let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
                if let Some(c) = t.consumers.iter().find(|c| c.mid == req.mid) {
                    let (up, ssrc) = c.producer;
                    self.keyframe(up, ssrc);
                }
            }
            Happened::Connected => {
                let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
                let producers: Vec<_> = t.consumers.iter().map(|c| c.producer).collect();
                for (up, ssrc) in producers {
                    self.keyframe(up, ssrc);
                }
            }
            _ => {}
        }
    }

    /// Writes `packet`, received on transport `id`, to each consumer of its producer.
    fn forward_rtp(&mut self, id: PeerId, packet: &RtpPacket) {
        let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
        let Some(produced) = t.producers.iter().find(|p| p.ssrc == packet.header.ssrc) else {
            return;
        };
        if produced.paused {
            return;
        }
        let consumers = produced.consumers.clone();
        let now = Instant::now();
        for (down, ssrc) in consumers {
            let Some(peer) = self.peers.get_mut(&down) else { continue };
            if peer.stalled.is_some() {
                continue;
            }
            let Some(t) = transport_of(peer) else { continue };
            let Some(c) = t.consumers.iter().find(|c| c.ssrc == ssrc) else { continue };
            if c.paused {
                continue;
            }
            let pt = packet.header.payload_type;
            let Some(&(_, pt)) = c.pts.iter().find(|(from, _)| *from == pt) else { continue };
            let write = RtpWrite::new(
                pt,
                packet.seq_no,
                packet.header.timestamp,
                now,
                packet.payload.clone(),
            )
            .marker(packet.header.marker)
            .nackable(true);
            let written = peer.direct(|api| match api.stream_tx(&ssrc) {
                Some(tx) => {
                    tx.write_rtp(write);
                    true
                }
                None => false,
            });
            if written == Some(true) {
                let load = &self.load;
                load.forwarded_packets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let bytes = packet.payload.len() as u64;
                load.forwarded_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
            self.drive(down);
        }
    }
}
