//! What a `mediasoup` room asks of the media plane ([`Media`]) and what that came to
//! ([`MediaDone`]), and the JSON shapes of what follows (PROTOCOLS.md §4.5). Transports,
//! producers and consumers are keyed on the plane by the peer's connection, so that two
//! connections of a room never share a key.

use std::future::ready;

use futures_util::FutureExt;
use serde_json::{json, Number, Value};

use super::{ConsumerInfo, DtlsParameters, MediasoupRoom, PeerId};
use crate::{
    engine::Pending,
    ids::RoomId,
    media::{Dtls, DtlsRole, Gone, IceParameters, MediaError, MediaPlane, Stream, TransportParams},
};

/// What every `mediasoup` room of a node is set up with.
#[derive(Debug, Clone, Default)]
pub struct MediasoupConfig {
    /// The node's media plane, if it runs one.
    pub media: Option<MediaPlane>,
}

/// Work for the media plane; `reply` is the request to answer with what it comes to.
#[derive(Debug)]
pub enum Media {
    /// Creates transport `id` of `peer`.
    CreateTransport {
        /// Its peer.
        peer: PeerId,
        /// The client's id for it.
        id: u64,
        /// The client's DTLS parameters, if given.
        dtls: Option<DtlsParameters>,
        /// The request.
        reply: Option<Number>,
    },
    /// Starts DTLS on transport `id` of `peer`.
    Connect {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
        /// The client's DTLS parameters.
        dtls: DtlsParameters,
        /// The request, if it was one.
        reply: Option<Number>,
    },
    /// New ICE credentials for transport `id` of `peer`.
    Restart {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
        /// The request.
        reply: Option<Number>,
    },
    /// Closes transport `id` of `peer`.
    CloseTransport {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
    },
    /// Receives producer `id` of `peer` on its transport `transport`.
    Produce {
        /// Its peer.
        peer: PeerId,
        /// The producer.
        id: u64,
        /// Its send transport.
        transport: u64,
        /// Its stream.
        stream: Stream,
        /// Whether it starts paused.
        paused: bool,
        /// The request.
        reply: Option<Number>,
    },
    /// Sends consumer `id` of `peer` on its transport `transport`.
    Consume {
        /// Its peer.
        peer: PeerId,
        /// The consumer.
        id: u64,
        /// Its receive transport.
        transport: u64,
        /// The producer's peer and id.
        of: (PeerId, u64),
        /// Its stream.
        stream: Stream,
        /// The producer's payload types and the consumer's.
        pts: Vec<(u8, u8)>,
        /// Whether it starts paused.
        paused: bool,
        /// The request.
        reply: Option<Number>,
    },
    /// Waits for transport `id` of `peer` to end.
    Watch {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
        /// Its end.
        gone: Gone,
    },
    /// Reports on `target` of `peer` after `interval` ms.
    Stats {
        /// Its peer.
        peer: PeerId,
        /// What to report on.
        target: super::Target,
        /// In how many milliseconds.
        interval: u64,
    },
    /// Pauses or resumes a producer or consumer (by key).
    Pause(String, bool),
    /// Closes a producer or consumer (by key).
    CloseSource(String),
    /// The peer is out: its transports close.
    Leave(PeerId),
    /// The room is over.
    Close,
}

/// What a [`Media`] effect came to: the request to answer, and the answer.
#[derive(Debug)]
pub enum MediaDone {
    /// Transport `id` of `peer` exists, or not.
    Transport {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
        /// The request.
        reply: Option<Number>,
        /// Its parameters and its end, and the DTLS role the client gave.
        result: Result<(TransportParams, Gone, Option<DtlsRole>), MediaError>,
    },
    /// What `target` of `peer` has done so far.
    Stats {
        /// Its peer.
        peer: PeerId,
        /// The target.
        target: super::Target,
        /// Its figures.
        result: Result<crate::media::Stats, MediaError>,
    },
    /// Transport `id` of `peer` ended (its room closed it, or it failed).
    TransportGone {
        /// Its peer.
        peer: PeerId,
        /// The transport.
        id: u64,
        /// Why.
        why: String,
    },
    /// Producer `id` of `peer` is received, or not.
    Produced {
        /// Its peer.
        peer: PeerId,
        /// The producer.
        id: u64,
        /// The request.
        reply: Option<Number>,
        /// Whether it is.
        result: Result<(), MediaError>,
    },
    /// Consumer `id` of `peer` is sent on transport `transport`, or not.
    Consumed {
        /// Its peer.
        peer: PeerId,
        /// The consumer.
        id: u64,
        /// Its transport.
        transport: u64,
        /// The request.
        reply: Option<Number>,
        /// Whether it is.
        result: Result<(), MediaError>,
    },
    /// Any other request: its answer's data, or why it failed.
    Answered {
        /// Its peer.
        peer: PeerId,
        /// The request.
        reply: Option<Number>,
        /// The answer.
        result: Result<Value, MediaError>,
    },
}

/// The key of room `rid` on the media plane.
fn room_key(rid: &RoomId) -> String {
    format!("mediasoup/{rid}")
}

fn transport_key(peer: &PeerId, id: u64) -> String {
    format!("{}/t{id}", peer.conn)
}

/// The media plane's key of producer `id` of `peer`.
pub(super) fn producer_key(peer: &PeerId, id: u64) -> String {
    format!("{}/p{id}", peer.conn)
}

/// The media plane's key of consumer `id` (the server's, unique in the room).
pub(super) fn consumer_key(id: u64) -> String {
    format!("c{id}")
}

/// A fresh server-side id (as mediasoup's: a random 8-digit number).
pub(super) fn fresh_id() -> u64 {
    rand::Rng::gen_range(&mut rand::thread_rng(), 10_000_000..100_000_000)
}

/// A fresh SSRC for a consumer's stream.
pub(super) fn fresh_ssrc() -> u32 {
    rand::Rng::gen_range(&mut rand::thread_rng(), 100_000_000..900_000_000)
}

fn dtls(params: &DtlsParameters) -> Dtls {
    let role = match params.role.as_str() {
        "client" => DtlsRole::Client,
        "server" => DtlsRole::Server,
        _ => DtlsRole::Auto,
    };
    Dtls { role, algorithm: params.algorithm.clone(), fingerprint: params.value.clone() }
}

/// `iceParameters`.
pub(super) fn ice_json(ice: &IceParameters) -> Value {
    json!({"usernameFragment": ice.ufrag, "password": ice.pwd, "iceLite": true})
}

/// The answer to `createTransport`: the server's role is the other side of the client's.
fn transport_json(params: &TransportParams, client: Option<DtlsRole>) -> Value {
    let role = match client {
        Some(DtlsRole::Server) | Some(DtlsRole::Auto) => "client",
        Some(DtlsRole::Client) => "server",
        None => "auto",
    };
    json!({
        "iceParameters": ice_json(&params.ice),
        "iceCandidates": [{
            "foundation": "udpcandidate",
            "priority": 1_078_862_079u32,
            "ip": params.candidate.ip().to_string(),
            "port": params.candidate.port(),
            "type": "host",
            "protocol": "udp",
            "family": if params.candidate.is_ipv4() { "ipv4" } else { "ipv6" },
        }],
        "dtlsParameters": {
            "role": role,
            "fingerprints": [{"algorithm": "sha-256", "value": params.fingerprint}],
        },
    })
}

/// A consumer as announced: `newConsumer`'s fields, a peer's `consumers` entries.
pub fn consumer_json(info: &ConsumerInfo) -> Value {
    json!({
        "id": info.id,
        "kind": match info.kind { crate::media::Kind::Audio => "audio", crate::media::Kind::Video => "video" },
        "peerName": &*info.peer_name,
        "rtpParameters": info.rtp,
        "paused": info.paused,
        "preferredProfile": "default",
        "effectiveProfile": "default",
        "appData": info.app_data,
    })
}

/// A peer as the others see it: its consumers by both vocabularies' names (`consumers`,
/// the draft's `senders`).
pub(super) fn peer_json(name: &str, consumers: &[&ConsumerInfo], app_data: &Value) -> Value {
    let consumers: Vec<Value> = consumers.iter().map(|c| consumer_json(c)).collect();
    json!({"name": name, "consumers": consumers, "senders": consumers, "appData": app_data})
}

/// Starts `effect` of room `rid` on the node's media plane.
pub(super) fn perform(
    config: &MediasoupConfig,
    rid: &RoomId,
    effect: Media,
) -> Pending<MediasoupRoom> {
    let Some(plane) = &config.media else { return ready(off(effect)).boxed_local() };
    let room = room_key(rid);
    match effect {
        Media::CreateTransport { peer, id, dtls: given, reply } => {
            let role = given.as_ref().map(|d| dtls(d).role);
            let made = plane.create_transport(
                &room,
                &peer.conn,
                &transport_key(&peer, id),
                super::caps::transport_codecs(),
                given.as_ref().map(dtls),
            );
            async move {
                let result = made.await.map(|(params, gone)| (params, gone, role));
                Some(MediaDone::Transport { peer, id, reply, result })
            }
            .boxed_local()
        }
        Media::Connect { peer, id, dtls: given, reply } => {
            let done = plane.connect_transport(&room, &transport_key(&peer, id), dtls(&given));
            async move {
                let result = done.await.map(|()| json!({}));
                Some(MediaDone::Answered { peer, reply, result })
            }
            .boxed_local()
        }
        Media::Restart { peer, id, reply } => {
            let done = plane.restart_transport(&room, &transport_key(&peer, id));
            async move {
                let result = done.await.map(|ice| json!({"iceParameters": ice_json(&ice)}));
                Some(MediaDone::Answered { peer, reply, result })
            }
            .boxed_local()
        }
        Media::CloseTransport { peer, id } => {
            plane.close_transport(&room, &transport_key(&peer, id));
            ready(None).boxed_local()
        }
        Media::Produce { peer, id, transport, stream, paused, reply } => {
            let done = plane.produce(
                &room,
                &transport_key(&peer, transport),
                &producer_key(&peer, id),
                stream,
                paused,
            );
            async move { Some(MediaDone::Produced { peer, id, reply, result: done.await }) }
                .boxed_local()
        }
        Media::Consume { peer, id, transport, of, stream, pts, paused, reply } => {
            let done = plane.consume(
                &room,
                &transport_key(&peer, transport),
                &consumer_key(id),
                &producer_key(&of.0, of.1),
                stream,
                pts,
                paused,
            );
            async move {
                Some(MediaDone::Consumed { peer, id, transport, reply, result: done.await })
            }
            .boxed_local()
        }
        Media::Watch { peer, id, gone } => {
            async move { Some(MediaDone::TransportGone { peer, id, why: gone.wait().await }) }
                .boxed_local()
        }
        Media::Stats { peer, target, interval } => {
            let key = match target {
                super::Target::Transport(id) => transport_key(&peer, id),
                super::Target::Producer(id) => producer_key(&peer, id),
                super::Target::Consumer(id) => consumer_key(id),
            };
            let plane = plane.clone();
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(interval)).await;
                let result = plane.stats(&room, &key).await;
                Some(MediaDone::Stats { peer, target, result })
            }
            .boxed_local()
        }
        Media::Pause(key, paused) => {
            plane.pause(&room, &key, paused);
            ready(None).boxed_local()
        }
        Media::CloseSource(key) => {
            plane.close_source(&room, &key);
            ready(None).boxed_local()
        }
        Media::Leave(peer) => {
            plane.leave(&room, &peer.conn);
            ready(None).boxed_local()
        }
        Media::Close => {
            plane.close(&room);
            ready(None).boxed_local()
        }
    }
}

/// What an effect comes to on a node without a media plane.
fn off(effect: Media) -> Option<MediaDone> {
    let result = Err(MediaError::Disabled);
    match effect {
        Media::CreateTransport { peer, id, reply, .. } => {
            Some(MediaDone::Transport { peer, id, reply, result: Err(MediaError::Disabled) })
        }
        Media::Connect { peer, reply, .. } | Media::Restart { peer, reply, .. } => {
            Some(MediaDone::Answered { peer, reply, result })
        }
        Media::Produce { peer, id, reply, .. } => {
            Some(MediaDone::Produced { peer, id, reply, result: Err(MediaError::Disabled) })
        }
        Media::Consume { peer, id, transport, reply, .. } => Some(MediaDone::Consumed {
            peer,
            id,
            transport,
            reply,
            result: Err(MediaError::Disabled),
        }),
        Media::Stats { peer, target, .. } => {
            Some(MediaDone::Stats { peer, target, result: Err(MediaError::Disabled) })
        }
        Media::CloseTransport { .. }
        | Media::Watch { .. }
        | Media::Pause(..)
        | Media::CloseSource(_)
        | Media::Leave(_)
        | Media::Close => None,
    }
}

/// The answer to `createTransport`, from the transport's parameters and the client's role.
pub(super) fn transport_answer(params: &TransportParams, role: Option<DtlsRole>) -> Value {
    transport_json(params, role)
}
