//! Transports without SDP (ORTC style, as mediasoup's clients use them): the client and the
//! server exchange ICE and DTLS parameters and RTP parameters as objects, and the server drives
//! str0m through its Direct API in RTP mode. A send transport carries its client's producers
//! (each one RTP stream, by SSRC); a receive transport carries consumers, each a copy of one
//! producer's stream under the consumer's own SSRC and the server's payload types.
//!
//! Keys are the dialect's: a transport, producer or consumer key is unique in its room.

use std::{future::Future, net::SocketAddr};

use super::{MediaError, MediaPlane, Op};

/// Which side of DTLS a client takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtlsRole {
    /// Either; the server then takes the client side.
    Auto,
    /// The client side (it sends the ClientHello).
    Client,
    /// The server side.
    Server,
}

/// A client's DTLS parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dtls {
    /// The side it takes.
    pub role: DtlsRole,
    /// Its certificate's fingerprint algorithm (`sha-256`).
    pub algorithm: String,
    /// Its certificate's fingerprint, `AB:CD:…`.
    pub fingerprint: String,
}

/// A transport's ICE credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceParameters {
    /// The username fragment.
    pub ufrag: String,
    /// The password.
    pub pwd: String,
}

/// What a client needs to connect to a new transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportParams {
    /// Its ICE credentials (the server is ICE-lite).
    pub ice: IceParameters,
    /// Its one candidate: UDP, the announced address.
    pub candidate: SocketAddr,
    /// Its certificate's fingerprint, `AB:CD:…`, by SHA-256.
    pub fingerprint: String,
}

/// A transport's end: resolves with why it ended (`closed` when its room closed it).
#[derive(Debug)]
pub struct Gone(pub(super) tokio::sync::oneshot::Receiver<String>);

impl Gone {
    /// A transport's end, and what tells it.
    pub(crate) fn channel() -> (tokio::sync::oneshot::Sender<String>, Self) {
        let (tell, told) = tokio::sync::oneshot::channel();
        (tell, Self(told))
    }

    /// Why the transport ended, once it has.
    pub async fn wait(self) -> String {
        self.0.await.unwrap_or_else(|_| "the media worker stopped".to_owned())
    }
}

/// A track's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

/// A codec the media plane forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecName {
    /// Opus.
    Opus,
    /// VP8.
    Vp8,
    /// H.264.
    H264,
}

/// One payload type of a transport's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// The codec.
    pub name: CodecName,
    /// Its payload type.
    pub pt: u8,
    /// The payload type of its retransmissions (RTX), if any.
    pub rtx: Option<u8>,
    /// Its clock rate.
    pub clock_rate: u32,
    /// Its channels (audio).
    pub channels: Option<u8>,
}

/// One RTP stream: its SSRC and its retransmissions' SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// What it carries.
    pub kind: Kind,
    /// Its SSRC.
    pub ssrc: u32,
    /// The SSRC of its retransmissions, if any.
    pub rtx: Option<u32>,
}

/// What a transport, a producer or a consumer has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stats {
    /// A transport.
    Transport {
        /// Bytes of the datagrams it received.
        bytes_received: u64,
        /// Bytes of the datagrams it sent.
        bytes_sent: u64,
        /// Whether ICE and DTLS are up.
        connected: bool,
    },
    /// A producer (`received`) or a consumer (not): its stream's RTP packets and payload bytes.
    Stream {
        /// Its kind.
        kind: Kind,
        /// Its SSRC.
        ssrc: u32,
        /// Whether it is a producer's stream (received) or a consumer's (sent).
        received: bool,
        /// RTP packets.
        packets: u64,
        /// Their payload bytes.
        bytes: u64,
    },
}

/// What a transport is asked.
#[derive(Debug)]
pub(super) enum TransportOp {
    /// Creates transport `key` of `session` with payload types `codecs`; with `dtls`, it
    /// starts DTLS as soon as ICE is up (a send transport whose client gave its parameters).
    Create {
        key: String,
        session: String,
        codecs: Vec<Codec>,
        dtls: Option<Dtls>,
        reply: super::Reply<(TransportParams, Gone)>,
    },
    /// Starts DTLS on transport `key` against the client's `dtls`.
    Connect { key: String, dtls: Dtls, reply: super::Reply<()> },
    /// New ICE credentials for transport `key`.
    Restart { key: String, reply: super::Reply<IceParameters> },
    /// Closes transport `key` with its producers and consumers.
    Close { key: String },
    /// Receives producer `producer`'s `stream` on transport `transport`.
    Produce {
        transport: String,
        producer: String,
        stream: Stream,
        paused: bool,
        reply: super::Reply<()>,
    },
    /// Sends producer `producer`'s RTP on transport `transport` as consumer `consumer`:
    /// `stream`, with each of the producer's payload types in `pts` rewritten.
    Consume {
        transport: String,
        consumer: String,
        producer: String,
        stream: Stream,
        pts: Vec<(u8, u8)>,
        paused: bool,
        reply: super::Reply<()>,
    },
    /// What transport, producer or consumer `key` has done so far.
    Stats { key: String, reply: super::Reply<Stats> },
    /// Pauses or resumes producer or consumer `key`.
    Pause { key: String, paused: bool },
    /// Closes producer or consumer `key`.
    CloseSource { key: String },
}

impl MediaPlane {
    fn transport_op<T: Send + 'static>(
        &self,
        room: &str,
        op: impl FnOnce(super::Reply<T>) -> TransportOp,
    ) -> impl Future<Output = Result<T, MediaError>> + 'static {
        let room_key = room.to_owned();
        self.ask(room, move |reply| Op::Transport { room: room_key, op: op(reply) })
    }

    fn transport_tell(&self, room: &str, op: TransportOp) {
        let _ = self.worker(room).ops.send(Op::Transport { room: room.to_owned(), op });
    }

    /// Creates transport `key` of `session` in `room`, receiving and sending `codecs`; with
    /// the client's `dtls`, DTLS starts once ICE is up. Its parameters, and its end.
    pub fn create_transport(
        &self,
        room: &str,
        session: &str,
        key: &str,
        codecs: Vec<Codec>,
        dtls: Option<Dtls>,
    ) -> impl Future<Output = Result<(TransportParams, Gone), MediaError>> + 'static {
        let (key, session) = (key.to_owned(), session.to_owned());
        self.transport_op(room, move |reply| TransportOp::Create {
            key,
            session,
            codecs,
            dtls,
            reply,
        })
    }

    /// Starts DTLS on transport `key` against the client's `dtls`.
    pub fn connect_transport(
        &self,
        room: &str,
        key: &str,
        dtls: Dtls,
    ) -> impl Future<Output = Result<(), MediaError>> + 'static {
        let key = key.to_owned();
        self.transport_op(room, move |reply| TransportOp::Connect { key, dtls, reply })
    }

    /// New ICE credentials for transport `key` (an ICE restart).
    pub fn restart_transport(
        &self,
        room: &str,
        key: &str,
    ) -> impl Future<Output = Result<IceParameters, MediaError>> + 'static {
        let key = key.to_owned();
        self.transport_op(room, move |reply| TransportOp::Restart { key, reply })
    }

    /// Closes transport `key`, with its producers (and their consumers) and its consumers.
    pub fn close_transport(&self, room: &str, key: &str) {
        self.transport_tell(room, TransportOp::Close { key: key.to_owned() });
    }

    /// Receives producer `producer`'s `stream` on transport `transport`.
    pub fn produce(
        &self,
        room: &str,
        transport: &str,
        producer: &str,
        stream: Stream,
        paused: bool,
    ) -> impl Future<Output = Result<(), MediaError>> + 'static {
        let (transport, producer) = (transport.to_owned(), producer.to_owned());
        self.transport_op(room, move |reply| TransportOp::Produce {
            transport,
            producer,
            stream,
            paused,
            reply,
        })
    }

    /// Sends producer `producer` on transport `transport` as consumer `consumer`: its own
    /// `stream`, each producer payload type rewritten as `pts` says.
    #[allow(clippy::too_many_arguments)]
    pub fn consume(
        &self,
        room: &str,
        transport: &str,
        consumer: &str,
        producer: &str,
        stream: Stream,
        pts: Vec<(u8, u8)>,
        paused: bool,
    ) -> impl Future<Output = Result<(), MediaError>> + 'static {
        let (transport, consumer, producer) =
            (transport.to_owned(), consumer.to_owned(), producer.to_owned());
        self.transport_op(room, move |reply| TransportOp::Consume {
            transport,
            consumer,
            producer,
            stream,
            pts,
            paused,
            reply,
        })
    }

    /// What transport, producer or consumer `key` has done so far.
    pub fn stats(
        &self,
        room: &str,
        key: &str,
    ) -> impl Future<Output = Result<Stats, MediaError>> + 'static {
        let key = key.to_owned();
        self.transport_op(room, move |reply| TransportOp::Stats { key, reply })
    }

    /// Pauses (or resumes) producer or consumer `key`: a paused one forwards nothing.
    pub fn pause(&self, room: &str, key: &str, paused: bool) {
        self.transport_tell(room, TransportOp::Pause { key: key.to_owned(), paused });
    }

    /// Closes producer or consumer `key` (a producer's consumers stop with it).
    pub fn close_source(&self, room: &str, key: &str) {
        self.transport_tell(room, TransportOp::CloseSource { key: key.to_owned() });
    }
}
