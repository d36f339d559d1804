//! A worker's transports without SDP ([`super::direct`]): str0m in RTP mode, set up through
//! its Direct API. A producer is one expected receive stream on its send transport; a consumer
//! is one declared send stream on its receive transport. Each RTP packet of a producer is
//! written to each of its consumers' streams, with the consumer's payload type; str0m gives it
//! the consumer's SSRC, sequence and SRTP context, and answers the consumer's RTCP (NACKs from
//! its resend cache, PLIs passed to the producer as keyframe requests: [`super::rtp`]).

use tokio::sync::oneshot;

use str0m::{
    config::Fingerprint,
    format::{Codec as Str0mCodec, FormatParams},
    ice::StunMessage,
    media::{Frequency, MediaKind, Mid, Pt},
    rtp::Ssrc,
    IceCreds, Rtc, RtcConfig,
};

use super::{
    direct::{
        Codec, CodecName, Dtls, DtlsRole, Gone, IceParameters, Kind, Stats, Stream, TransportOp,
        TransportParams,
    },
    peer::{Ended, Peer, PeerId, Role},
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
    pub(super) producers: Vec<Produced>,
    pub(super) consumers: Vec<Consuming>,
}

/// A producer: a stream this transport receives.
#[derive(Debug)]
pub(super) struct Produced {
    pub(super) ssrc: Ssrc,
    pub(super) kind: MediaKind,
    pub(super) paused: bool,
    /// RTP packets received, and their payload bytes.
    pub(super) counted: (u64, u64),
    /// Its consumers: their transport and SSRC.
    pub(super) consumers: Vec<(PeerId, Ssrc)>,
}

/// A consumer: a stream this transport sends, copied from a producer.
#[derive(Debug)]
pub(super) struct Consuming {
    pub(super) mid: Mid,
    pub(super) ssrc: Ssrc,
    pub(super) kind: MediaKind,
    /// RTP packets sent, and their payload bytes.
    pub(super) counted: (u64, u64),
    /// The producer's (extended) sequence number just before this consumer's first packet:
    /// the consumer numbers its packets from 1 (see [`super::rtp::rebased`]).
    pub(super) seq_base: Option<u64>,
    /// The producer: its transport and SSRC.
    pub(super) producer: (PeerId, Ssrc),
    /// The producer's payload types and this consumer's.
    pub(super) pts: Vec<(Pt, Pt)>,
    pub(super) paused: bool,
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

pub(super) fn transport_of(peer: &mut Peer) -> Option<&mut Transport> {
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
            TransportOp::Stats { key, reply } => {
                let _ = reply.send(self.stats(room, &key));
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
        let produced = Produced { ssrc, kind, paused, counted: (0, 0), consumers: Vec::new() };
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
        let kind = kind(stream.kind);
        peer.direct(|api| {
            api.declare_media(mid, kind);
            api.declare_stream_tx(ssrc, rtx, mid, None);
        })
        .ok_or_else(|| failed("consuming"))?;
        let pts = pts.into_iter().map(|(from, to)| (Pt::from(from), Pt::from(to))).collect();
        let producer = (up, up_ssrc);
        let consuming =
            Consuming { mid, ssrc, kind, counted: (0, 0), seq_base: None, producer, pts, paused };
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

    fn stats(&mut self, room: &str, key: &str) -> Result<Stats, MediaError> {
        if let Ok(id) = self.transport(room, key) {
            let peer = self.peers.get(&id).ok_or(MediaError::NoTransport)?;
            let (bytes_received, bytes_sent) = peer.bytes;
            return Ok(Stats::Transport {
                bytes_received,
                bytes_sent,
                connected: peer.stalled.is_none(),
            });
        }
        let &(id, ssrc) = self
            .rooms
            .get(room)
            .and_then(|r| r.sources.get(key))
            .ok_or(MediaError::NotPublishing)?;
        let t = self.peers.get_mut(&id).and_then(transport_of).ok_or(MediaError::NoTransport)?;
        let stream = |kind: MediaKind, received, (packets, bytes): (u64, u64)| {
            let kind = if kind == MediaKind::Audio { Kind::Audio } else { Kind::Video };
            Stats::Stream { kind, ssrc, received, packets, bytes }
        };
        if let Some(p) = t.producers.iter().find(|p| *p.ssrc == ssrc) {
            return Ok(stream(p.kind, true, p.counted));
        }
        let c = t.consumers.iter().find(|c| *c.ssrc == ssrc).ok_or(MediaError::NotPublishing)?;
        Ok(stream(c.kind, false, c.counted))
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
        let Some(peer) = self.peers.get_mut(&down) else { return };
        let room = peer.room.clone();
        if let Some(t) = transport_of(peer) {
            t.consumers.retain(|c| c.ssrc != ssrc);
        }
        if let Some(r) = self.rooms.get_mut(&room) {
            r.sources.retain(|_, source| *source != (down, *ssrc));
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
}
