//! The media plane: an embedded SFU (str0m) for the rooms that need one.
//!
//! [`MediaPlane`] is the handle the room actors hold. Behind it run media workers, one thread
//! each (one per core by default), each owning one UDP socket and the peer connections
//! (str0m `Rtc`s) of the rooms assigned to it by hash, so that a room's publishers and viewers
//! meet on one thread and a peer connection never crosses threads.
//!
//! - [`worker`]: the worker's loop: its socket, its operations, time.
//! - [`peer`]: one peer connection, guarded so that a panic inside it ends that peer only.
//! - [`demux`]: which peer a datagram is for, by STUN username and then by source address.
//! - [`outbox`]: the worker's socket, with a bounded queue for what it cannot send at once.
//! - [`direct`], [`transport`]: transports without SDP (mediasoup's), their producers and
//!   consumers, and how RTP moves from one to the others.
//!
//! The vocabulary is the SFU's, not a dialect's: a room (a key), a publisher's uplink (its
//! offer answered), a viewer's downlink per watched publisher (the server's offer, answered by
//! the viewer). Dialects map their signals onto it.

mod demux;
mod direct;
mod outbox;
mod peer;
mod rtp;
mod transport;
mod worker;

pub use direct::{
    Codec, CodecName, Dtls, DtlsRole, Gone, IceParameters, Kind, Stats, Stream, TransportParams,
};

use std::{
    hash::BuildHasher,
    net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use tokio::sync::{mpsc, oneshot};

/// How the media plane is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Whether this node runs the media plane.
    pub enabled: bool,
    /// The address the workers' UDP sockets bind to.
    pub bind: IpAddr,
    /// The address clients are told to send media to; found out at start when unset.
    pub announce: Option<IpAddr>,
    /// The first worker's UDP port (worker `i` binds `port + i`); 0 picks free ports.
    pub port: u16,
    /// How many media workers (threads, each with one socket).
    pub workers: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            announce: None,
            port: 0,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Why a media operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The SDP could not be parsed or was refused.
    #[error("the SDP was refused: {0}")]
    BadSdp(String),
    /// The watched session publishes nothing (yet).
    #[error("the session publishes no media")]
    NotPublishing,
    /// An answer came with no offer of the server's waiting for it.
    #[error("no offer of the server's is waiting for an answer")]
    NoOffer,
    /// Parameters (DTLS, RTP) that the media plane cannot use.
    #[error("{0}")]
    BadParameters(String),
    /// No transport of that key.
    #[error("no such transport")]
    NoTransport,
    /// The media plane is off on this node.
    #[error("the media plane is not enabled on this server")]
    Disabled,
    /// The worker failed (it stopped, or the peer connection failed).
    #[error("the media worker failed: {0}")]
    Failed(String),
}

/// What a media worker is asked. Replies travel back on the oneshot, if any.
#[derive(Debug)]
enum Op {
    /// Answers `offer` of `publisher`'s uplink (creating it, or renegotiating it: an ICE
    /// restart or new tracks).
    Publish { room: String, publisher: String, offer: String, reply: Reply<String> },
    /// Opens `viewer`'s downlink of `publisher`'s uplink and answers with the server's offer.
    Watch { room: String, viewer: String, publisher: String, reply: Reply<String> },
    /// Applies `viewer`'s answer to its downlink of `publisher`.
    Answer { room: String, viewer: String, publisher: String, answer: String, reply: Reply<()> },
    /// `session` is gone: its uplink and downlinks close, and every downlink of its uplink.
    Leave { room: String, session: String },
    /// The room is over: every peer connection of it closes.
    Close { room: String },
    /// Work on a transport driven without SDP ([`direct`]).
    Transport { room: String, op: direct::TransportOp },
}

type Reply<T> = oneshot::Sender<Result<T, MediaError>>;

/// What one worker has done, for the metrics.
#[derive(Debug, Default)]
pub struct WorkerLoad {
    /// Peer connections open.
    pub peers: AtomicU64,
    /// Media frames forwarded to viewers.
    pub forwarded_frames: AtomicU64,
    /// Bytes of media forwarded to viewers.
    pub forwarded_bytes: AtomicU64,
    /// RTP packets forwarded to consumers (transports without SDP).
    pub forwarded_packets: AtomicU64,
    /// Data channel messages forwarded to viewers.
    pub forwarded_messages: AtomicU64,
    /// Datagrams no peer connection took (garbage, unknown ufrags, stale addresses).
    pub dropped_datagrams: AtomicU64,
    /// Datagrams kept because they came before the viewer's answer (replayed once it is).
    pub early_datagrams: AtomicU64,
    /// Datagrams not sent: the socket's buffer and the queue behind it were full.
    pub send_drops: AtomicU64,
    /// Peer connections closed for having no working ICE for 30 s.
    pub ice_failures: AtomicU64,
    /// Peer connections str0m failed (DTLS, SRTP or SCTP errors).
    pub dtls_failures: AtomicU64,
    /// Peer connections ended by a panic inside str0m (the worker and its other peers go on).
    pub panics: AtomicU64,
}

struct Worker {
    ops: mpsc::UnboundedSender<Op>,
    addr: SocketAddr,
    load: Arc<WorkerLoad>,
}

/// The handle on this node's media plane; cheap to clone. See the module docs.
#[derive(Clone)]
pub struct MediaPlane {
    workers: Arc<[Worker]>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for MediaPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaPlane").field("addresses", &self.addresses()).finish()
    }
}

impl MediaPlane {
    /// Starts the media workers of `config`; `None` when the media plane is off.
    pub fn start(config: &MediaConfig) -> std::io::Result<Option<Self>> {
        if !config.enabled {
            return Ok(None);
        }
        let announce = config.announce.unwrap_or_else(|| reachable_address(config.bind));
        let mut workers = Vec::with_capacity(config.workers.max(1));
        for i in 0..config.workers.max(1) {
            let port = if config.port == 0 { 0 } else { config.port.saturating_add(i as u16) };
            let socket = bind(SocketAddr::new(config.bind, port))?;
            let addr = SocketAddr::new(announce, socket.local_addr()?.port());
            let load = Arc::new(WorkerLoad::default());
            let (ops, inbox) = mpsc::unbounded_channel();
            worker::spawn(i, socket, addr, inbox, load.clone())?;
            workers.push(Worker { ops, addr, load });
        }
        let plane = Self { workers: workers.into(), hasher: foldhash::fast::FixedState::default() };
        log::info!(
            "media plane: {} worker(s), clients send media to {:?}",
            config.workers.max(1),
            plane.addresses()
        );
        Ok(Some(plane))
    }

    /// The addresses clients send media to, one per worker.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.addr).collect()
    }

    /// Each worker's load.
    pub fn loads(&self) -> Vec<Arc<WorkerLoad>> {
        self.workers.iter().map(|w| w.load.clone()).collect()
    }

    fn worker(&self, room: &str) -> &Worker {
        &self.workers[(self.hasher.hash_one(room) % self.workers.len() as u64) as usize]
    }

    /// Queues `op` for `room`'s worker now (so operations of one room keep their order) and
    /// awaits the reply.
    fn ask<T: Send + 'static>(
        &self,
        room: &str,
        op: impl FnOnce(Reply<T>) -> Op,
    ) -> impl std::future::Future<Output = Result<T, MediaError>> + 'static {
        let (reply, answer) = oneshot::channel();
        let sent = self.worker(room).ops.send(op(reply)).is_ok();
        async move {
            if !sent {
                return Err(MediaError::Failed("the worker has stopped".into()));
            }
            answer.await.unwrap_or_else(|_| Err(MediaError::Failed("no reply".into())))
        }
    }

    /// Answers `publisher`'s `offer` in `room`: the SDP answer.
    pub fn publish(
        &self,
        room: &str,
        publisher: &str,
        offer: String,
    ) -> impl std::future::Future<Output = Result<String, MediaError>> + 'static {
        let (r, p) = (room.to_owned(), publisher.to_owned());
        self.ask(room, move |reply| Op::Publish { room: r, publisher: p, offer, reply })
    }

    /// Opens `viewer`'s downlink of `publisher` in `room`: the server's SDP offer.
    pub fn watch(
        &self,
        room: &str,
        viewer: &str,
        publisher: &str,
    ) -> impl std::future::Future<Output = Result<String, MediaError>> + 'static {
        let (r, v, p) = (room.to_owned(), viewer.to_owned(), publisher.to_owned());
        self.ask(room, move |reply| Op::Watch { room: r, viewer: v, publisher: p, reply })
    }

    /// Applies `viewer`'s `answer` to its downlink of `publisher` in `room`.
    pub fn answer(
        &self,
        room: &str,
        viewer: &str,
        publisher: &str,
        answer: String,
    ) -> impl std::future::Future<Output = Result<(), MediaError>> + 'static {
        let (r, v, p) = (room.to_owned(), viewer.to_owned(), publisher.to_owned());
        self.ask(room, move |reply| Op::Answer { room: r, viewer: v, publisher: p, answer, reply })
    }

    /// `session` left `room`: its peer connections, and its viewers', close at once.
    pub fn leave(&self, room: &str, session: &str) {
        let op = Op::Leave { room: room.to_owned(), session: session.to_owned() };
        let _ = self.worker(room).ops.send(op);
    }

    /// `room` is over: every peer connection of it closes.
    pub fn close(&self, room: &str) {
        let _ = self.worker(room).ops.send(Op::Close { room: room.to_owned() });
    }
}

/// A non-blocking UDP socket on `addr` with buffers for bursts (a frame to a room's viewers
/// leaves as one datagram per viewer at once).
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    const BUFFER: usize = 4 << 20;
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // The kernel caps these at net.core.{w,r}mem_max; whatever it grants is kept.
    let _ = socket.set_send_buffer_size(BUFFER);
    let _ = socket.set_recv_buffer_size(BUFFER);
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// The address to announce when none is configured: the bound address if it is a specific
/// one; otherwise the address of the interface this host routes outward through (found
/// without sending anything), or loopback on a host with no route at all.
fn reachable_address(bind: IpAddr) -> IpAddr {
    if !bind.is_unspecified() {
        return bind;
    }
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).map(|()| s))
        .and_then(|s| s.local_addr());
    match probe {
        Ok(addr) if !addr.ip().is_unspecified() => addr.ip(),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// A fresh id for a peer connection of this process.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod direct_tests;
