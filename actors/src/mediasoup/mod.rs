//! The `mediasoup` dialect's vocabulary (seed 004, PROTOCOLS.md §4): peers of a room, each
//! with transports it creates, producers it sends on them and consumers it receives of the
//! other peers' producers. Both of its vocabularies (the seed's draft Sender/Receiver names
//! and mediasoup-client 2.x's Producer/Consumer names) mean the same [`Ask`]s and [`Notice`]s;
//! the edge names them as the peer speaks.
//!
//! - [`caps`]: the server's RTP capabilities and what follows from them.
//! - [`room`]: the rules of one room ([`MediasoupRoom`]), pure, which the room engine drives:
//!   one actor per room, on its home node; a room dies with its home (its media are there).
//! - [`media`]: what the rules ask of the media plane, and what that came to.

pub mod caps;
pub mod media;
pub mod room;
mod rules;
mod sources;
mod stats;
#[cfg(test)]
mod tests;

pub use room::MediasoupRoom;

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use crate::{ids::RoomId, media::Kind};

/// One peer: its name in its room, and its connection (a name is unique in a room; two
/// connections naming the same peer are two members, and the room refuses the second).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerId {
    /// The peer's name (`peerName`).
    pub name: Arc<str>,
    /// Its connection, unique in the cluster.
    pub conn: Arc<str>,
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.conn)
    }
}

/// What a peer asks of its room: a request (answered under `id`) or a notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// The room (from the peer's URL).
    pub room: RoomId,
    /// The protoo request's id; `None` for a notification, which nothing answers.
    pub id: Option<Number>,
    /// What it asks.
    pub ask: Ask,
}

/// A codec, a header extension, an encoding: RTP parameters as mediasoup's clients send them
/// (fields the server does not read are kept as sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpCodec {
    /// `opus`, `VP8`, `rtx`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `audio/opus`…
    pub mime_type: String,
    /// Its clock rate.
    pub clock_rate: u32,
    /// Its payload type.
    pub payload_type: u8,
    /// Audio channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// RTCP feedback.
    #[serde(default)]
    pub rtcp_feedback: Vec<Value>,
    /// Format parameters (`apt` for RTX).
    #[serde(default)]
    pub parameters: serde_json::Map<String, Value>,
}

/// An encoding's retransmission stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtxSsrc {
    /// Its SSRC.
    pub ssrc: u32,
}

/// One encoding of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// Its SSRC.
    #[serde(default)]
    pub ssrc: Option<u32>,
    /// Its retransmissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtx: Option<RtxSsrc>,
}

/// RTCP parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rtcp {
    /// The stream's CNAME.
    #[serde(default)]
    pub cname: Option<String>,
    /// Reduced-size RTCP.
    #[serde(default)]
    pub reduced_size: Option<bool>,
    /// RTCP multiplexed with RTP.
    #[serde(default)]
    pub mux: Option<bool>,
}

/// A stream's RTP parameters (`rtpParameters`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RtpParameters {
    /// Its media codec first, then its RTX codec, if any.
    pub codecs: Vec<RtpCodec>,
    /// Header extensions.
    #[serde(default)]
    pub header_extensions: Vec<Value>,
    /// Its encodings (one: no simulcast here).
    #[serde(default)]
    pub encodings: Vec<Encoding>,
    /// RTCP.
    #[serde(default)]
    pub rtcp: Rtcp,
}

/// A transport's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// The client sends (producers).
    Send,
    /// The client receives (consumers).
    Recv,
}

/// DTLS parameters, as sent (`{role, fingerprints: [{algorithm, value}]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtlsParameters {
    /// `auto`, `client` or `server`.
    pub role: String,
    /// The last fingerprint (the one mediasoup's clients use).
    pub algorithm: String,
    /// Its value, `AB:CD:…`.
    pub value: String,
}

/// What a peer asks, in one vocabulary (the edge maps both of the dialect's onto it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Ask {
    /// `join`: enter the room under the connection's peer name.
    Join {
        /// Its receiving capabilities (`None`: the draft's client sends none).
        rtp_capabilities: Option<Value>,
        /// A spy sees the others and is not seen.
        spy: bool,
        /// `appData`.
        app_data: Value,
    },
    /// `leave`.
    Leave {
        /// `appData`.
        app_data: Value,
    },
    /// `createTransport`.
    CreateTransport {
        /// The client's id for it.
        id: u64,
        /// Its direction (the draft's: `Send` when it gives DTLS parameters).
        direction: Direction,
        /// The client's DTLS parameters, if given now.
        dtls: Option<DtlsParameters>,
        /// `appData`.
        app_data: Value,
    },
    /// `updateTransport`: the client's DTLS parameters.
    UpdateTransport {
        /// The transport.
        id: u64,
        /// Its client's DTLS parameters.
        dtls: DtlsParameters,
    },
    /// `restartTransport`: new ICE credentials.
    RestartTransport {
        /// The transport.
        id: u64,
    },
    /// `closeTransport`.
    CloseTransport {
        /// The transport.
        id: u64,
    },
    /// `createProducer` (the draft's `createReceiver`).
    CreateProducer {
        /// The client's id for it.
        id: u64,
        /// Its kind.
        kind: Kind,
        /// The send transport it is on.
        transport: u64,
        /// What it sends.
        rtp: RtpParameters,
        /// Whether it starts paused.
        paused: bool,
        /// `appData`.
        app_data: Value,
    },
    /// `updateProducer`: new RTP parameters of the same stream.
    UpdateProducer {
        /// The producer.
        id: u64,
        /// Its parameters now.
        rtp: RtpParameters,
    },
    /// `pauseProducer`/`resumeProducer` (the draft's `pauseReceiver`/`resumeReceiver`).
    PauseProducer {
        /// The producer.
        id: u64,
        /// Paused or resumed.
        paused: bool,
    },
    /// `closeProducer` (the draft's `closeReceiver`).
    CloseProducer {
        /// The producer.
        id: u64,
    },
    /// `enableConsumer` (the draft's `enableSender`).
    EnableConsumer {
        /// The consumer.
        id: u64,
        /// The receive transport (`None`: the draft names none; the peer's only one).
        transport: Option<u64>,
        /// Whether it starts paused.
        paused: bool,
    },
    /// `pauseConsumer`/`resumeConsumer` (the draft's `stopSender`/`playSender`).
    PauseConsumer {
        /// The consumer.
        id: u64,
        /// Paused or resumed.
        paused: bool,
    },
    /// `enable…Stats` (with an interval) or `disable…Stats` (without): the server reports
    /// what the target has done every interval.
    Stats {
        /// What to report on.
        target: Target,
        /// How often, in milliseconds; `None` stops the reports.
        interval: Option<u64>,
    },
    /// `setConsumerPreferredProfile`.
    SetConsumerProfile {
        /// The consumer.
        id: u64,
        /// The profile asked for.
        profile: String,
    },
}

/// What stats are about: a transport, a producer or a consumer of the peer's, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// A transport.
    Transport(u64),
    /// A producer.
    Producer(u64),
    /// A consumer.
    Consumer(u64),
}

/// A consumer of a peer, as announced (`newConsumer`, a peer's `consumers`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerInfo {
    /// The consumer's id.
    pub id: u64,
    /// Its kind.
    pub kind: Kind,
    /// The peer whose producer it consumes.
    pub peer_name: Arc<str>,
    /// What it receives: the server's payload types, its own SSRC.
    pub rtp: RtpParameters,
    /// Whether its producer is paused.
    pub paused: bool,
    /// The producer's `appData`.
    pub app_data: Value,
}

/// What the room tells a peer unasked. Each is one server notification, named per vocabulary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Notice {
    /// `newPeer`: a peer joined, with the consumers this peer has of it.
    NewPeer {
        /// Its name.
        name: Arc<str>,
        /// This peer's consumers of its producers.
        consumers: Vec<ConsumerInfo>,
        /// Its `appData`.
        app_data: Value,
    },
    /// `peerClosed` (the draft's `peerLeft`).
    PeerClosed {
        /// Its name.
        name: Arc<str>,
        /// Its `appData`.
        app_data: Value,
    },
    /// `newConsumer` (the draft's `newSender`).
    NewConsumer(ConsumerInfo),
    /// `consumerClosed`/`consumerPaused`/`consumerResumed` (the draft's `sender…`).
    Consumer {
        /// The consumer.
        id: u64,
        /// The peer of its producer.
        peer_name: Arc<str>,
        /// What happened to it.
        change: Change,
        /// Its producer's `appData`.
        app_data: Value,
    },
    /// `transportClosed`: the server closed one of the peer's transports (it failed).
    TransportClosed {
        /// The transport.
        id: u64,
        /// Its `appData`.
        app_data: Value,
    },
    /// `producerClosed`: the server closed one of the peer's producers (its transport failed).
    ProducerClosed {
        /// The producer.
        id: u64,
        /// Its `appData`.
        app_data: Value,
    },
    /// `transportStats`/`producerStats`/`consumerStats`: what the target has done so far.
    Stats {
        /// The target.
        target: Target,
        /// A consumer's producer's peer.
        peer_name: Option<Arc<str>>,
        /// The figures, as mediasoup lists them.
        stats: Value,
    },
    /// `closed`: the room is gone (its home node died).
    RoomClosed,
    /// Nothing to tell (a notification the room could not take, which nothing answers).
    Ignored,
}

/// What happened to a consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// It is closed.
    Closed,
    /// Its producer paused.
    Paused,
    /// Its producer resumed.
    Resumed,
}

/// Why a request was refused: the core's reasons, which the edge turns into protoo error
/// responses (one exhaustive table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    /// The peer has not joined (or the room is gone).
    NotJoined,
    /// The connection has joined already.
    AlreadyJoined,
    /// Another peer of the room has this name.
    NameTaken,
    /// No transport of the peer has this id.
    NoTransport(u64),
    /// A transport of the peer has this id already.
    TransportExists(u64),
    /// The transport does not go the way the request needs.
    WrongDirection(u64),
    /// No producer of the peer has this id.
    NoProducer(u64),
    /// A producer of the peer has this id already.
    ProducerExists(u64),
    /// No consumer of the peer has this id (or its producer is closed).
    NoConsumer(u64),
    /// The peer has as many of these (`transports`, `producers`) as one peer may.
    TooMany(String, usize),
    /// The room would be new, and its tenant has all the rooms it may have.
    RoomLimit,
    /// The parameters cannot be served, for this reason.
    Unsupported(String),
    /// The media plane failed, for this reason.
    Media(String),
    /// The room's home cannot be reached now.
    Unavailable,
}

/// What a peer is told: the answer to one of its requests, or a notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Told {
    /// The answer to request `id`: its data, or why it was refused.
    Answer {
        /// The request's id, as sent.
        id: Number,
        /// Its data (a JSON object's text), or the refusal.
        result: Result<String, Refusal>,
    },
    /// A notice.
    Notify(Notice),
}
