//! How each measured server's clients pair up and wrap a signal. Every dialect yields the same
//! [`Pair`]: two connected clients that can send each other signals, and what each side's
//! frames put around a signal's body, so the scenarios need not know the protocol.

pub(crate) mod cmd;
pub(crate) mod matchbox;
pub(crate) mod peerjs;
pub(crate) mod rooms;

use std::sync::atomic::{AtomicUsize, Ordering};

use clap::ValueEnum;

use crate::ws::{Rx, Tx};

/// One client of a pair.
pub(crate) struct Side {
    /// Its sending half.
    pub(crate) tx: Tx,
    /// Its receiving half.
    pub(crate) rx: Rx,
    /// What its frames to the other side put before a signal's body.
    pub(crate) head: String,
    /// And after it.
    pub(crate) tail: String,
}

/// Two clients that can signal each other.
pub(crate) struct Pair {
    /// The first client (on the left server).
    pub(crate) a: Side,
    /// The second client (on the right server).
    pub(crate) b: Side,
}

/// The protocol the load speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Dialect {
    /// switchboard's `cmd` (seed 000): a call in ACTIVE, `icecandidate` frames.
    Cmd,
    /// seed 003 over Socket.IO 4 (switchboard's `rooms`, or the socket.io baseline): a room of
    /// two, `signal-send` events.
    Rooms,
    /// The PeerJS server's protocol: `CANDIDATE` messages to a peer id.
    Peerjs,
    /// matchbox_server's protocol: a room of two, `Signal` requests to a peer id.
    Matchbox,
}

impl Dialect {
    /// Opens pair `i`, its first client on `left` and its second on `right` (base URLs,
    /// `ws://host:port`).
    pub(crate) async fn pair(self, left: &str, right: &str, i: usize) -> Result<Pair, String> {
        match self {
            Dialect::Cmd => cmd::pair(left, right, i).await,
            Dialect::Rooms => rooms::pair(left, right, i).await,
            Dialect::Peerjs => peerjs::pair(left, right, i).await,
            Dialect::Matchbox => matchbox::pair(left, right, i).await,
        }
    }
}

/// A name unique to pair `i` of this process (a sweep opens pair 0 again for every point, while
/// the previous point's clients may still be leaving).
pub(crate) fn unique(what: &str, i: usize) -> String {
    static OPENED: AtomicUsize = AtomicUsize::new(0);
    let n = OPENED.fetch_add(1, Ordering::Relaxed);
    format!("{what}{i}-{}-{n}", std::process::id())
}

/// Opens `n` pairs, a few at a time (a join storm is its own scenario).
pub(crate) async fn connect_pairs(
    dialect: Dialect,
    left: &str,
    right: &str,
    n: usize,
) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(32) {
        let opened =
            futures_util::future::join_all(chunk.iter().map(|&i| dialect.pair(left, right, i)));
        for p in opened.await {
            pairs.push(p?);
        }
    }
    Ok(pairs)
}
