//! Prometheus metrics: a few counters and gauges per node, rendered as text at `/metrics`.
//!
//! One `Metrics` per node (shared by its workers through an `Arc`), not a global registry, so
//! several nodes can run in one process.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering::Relaxed},
};

use switchboard_actors::CloseReason;

/// The node's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Clients connected now.
    pub connections_open: AtomicU64,
    /// Clients ever accepted.
    pub connections_total: AtomicU64,
    /// Upgrade requests refused because the node was full.
    pub connections_refused: AtomicU64,
    /// Error frames written to clients (every dialect's refusals).
    pub errors_out: AtomicU64,
    /// Engine.IO polling requests forwarded to the node holding their session.
    pub eio_forwarded: AtomicU64,
    /// Clients the node admits (the configured limit, or less if open files cannot hold it).
    pub max_clients: AtomicU64,
    /// The process's open-file limit.
    pub open_files_limit: AtomicU64,
    closes: [AtomicU64; CloseReason::ALL.len()],
    /// Handshakes refused, by the HTTP status of [`REFUSALS`].
    refusals: [AtomicU64; REFUSALS.len()],
    /// Clients' messages refused, by dialect and code.
    protocol_refusals: ProtocolRefusals,
}

/// A refusal as its dialect words it to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// An error code: `cmd` (9000–9402), `signals` (2001, 4001, …), `mediasoup` (protoo's).
    Number(u16),
    /// A `rooms` `error` event's message.
    Message(&'static str),
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Code::Number(code) => write!(f, "{code}"),
            Code::Message(message) => f.write_str(message),
        }
    }
}

/// One counter per dialect and code it can refuse with, each dialect's codes taken from its
/// own tables (so every code it sends has its series, zero until counted).
#[derive(Debug)]
struct ProtocolRefusals(Vec<(&'static str, Code, AtomicU64)>);

impl Default for ProtocolRefusals {
    fn default() -> Self {
        use crate::protocol::{cmd, mediasoup, rooms, signals};
        let numbers = |dialect: &'static str, codes: Vec<u16>| {
            codes.into_iter().map(move |c| (dialect, Code::Number(c), AtomicU64::new(0)))
        };
        let mut all: Vec<_> = numbers("cmd", cmd::codes::all()).collect();
        all.extend(numbers("signals", signals::codes::all()));
        all.extend(numbers("mediasoup", mediasoup::encode::CODES.to_vec()));
        let messages = rooms::events::all_refusals();
        all.extend(messages.into_iter().map(|m| ("rooms", Code::Message(m), AtomicU64::new(0))));
        Self(all)
    }
}

/// The statuses a client's handshake is refused with: a bad request, no valid token, a token
/// that does not grant what the URL names, a tenant at its limit (or an address with too many
/// handshakes), a node full or draining.
pub const REFUSALS: [u16; 5] = [400, 401, 403, 429, 503];

impl Metrics {
    /// Counts a handshake refused with `status` (one of [`REFUSALS`]).
    pub fn refused(&self, status: u16) {
        self.connections_refused.fetch_add(1, Relaxed);
        if let Some(i) = REFUSALS.iter().position(|s| *s == status) {
            self.refusals[i].fetch_add(1, Relaxed);
        }
    }

    /// Counts a client's message refused by `dialect` with `code` (an error frame sent).
    pub fn protocol_refused(&self, dialect: &str, code: Code) {
        self.errors_out.fetch_add(1, Relaxed);
        match self.protocol_refusals.0.iter().find(|(d, c, _)| *d == dialect && *c == code) {
            Some((_, _, count)) => drop(count.fetch_add(1, Relaxed)),
            None => log::warn!("metrics: {dialect} refused with {code}, a code of no series"),
        }
    }

    /// Counts a server-initiated close.
    pub fn closed(&self, reason: CloseReason) {
        if let Some(i) = CloseReason::ALL.iter().position(|r| *r == reason) {
            self.closes[i].fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                value.load(Relaxed)
            );
        };
        metric(
            "switchboard_connections_open",
            "gauge",
            "Clients connected now.",
            &self.connections_open,
        );
        metric(
            "switchboard_connections_total",
            "counter",
            "Clients accepted.",
            &self.connections_total,
        );
        metric(
            "switchboard_connections_refused_total",
            "counter",
            "Client handshakes refused (any reason; by status below).",
            &self.connections_refused,
        );
        metric(
            "switchboard_errors_out_total",
            "counter",
            "Refusals sent to clients (error frames, error acks and responses, error events).",
            &self.errors_out,
        );
        metric(
            "switchboard_eio_forwarded_total",
            "counter",
            "Engine.IO polling requests forwarded to the node holding their session.",
            &self.eio_forwarded,
        );
        metric(
            "switchboard_max_clients",
            "gauge",
            "Clients the node admits before refusing with 503.",
            &self.max_clients,
        );
        metric(
            "switchboard_open_files_limit",
            "gauge",
            "The process's open-file limit, which bounds its clients.",
            &self.open_files_limit,
        );
        let _ = writeln!(
            out,
            "# HELP switchboard_server_closes_total Connections closed by the server, by reason."
        );
        let _ = writeln!(out, "# TYPE switchboard_server_closes_total counter");
        for (reason, count) in CloseReason::ALL.iter().zip(&self.closes) {
            let _ = writeln!(
                out,
                "switchboard_server_closes_total{{reason=\"{reason:?}\"}} {}",
                count.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_refusals_total Client handshakes refused, by HTTP status.\n\
             # TYPE switchboard_refusals_total counter"
        );
        for (status, count) in REFUSALS.iter().zip(&self.refusals) {
            let count = count.load(Relaxed);
            let _ = writeln!(out, "switchboard_refusals_total{{status=\"{status}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_protocol_refusals_total Clients' messages refused, by dialect and \
             the code (rooms: the error event's message) they were refused with.\n\
             # TYPE switchboard_protocol_refusals_total counter"
        );
        for (dialect, code, count) in &self.protocol_refusals.0 {
            let count = count.load(Relaxed);
            let _ = writeln!(
                out,
                "switchboard_protocol_refusals_total{{dialect=\"{dialect}\",code=\"{code}\"}} {count}"
            );
        }
        out
    }
}

/// Appends the media plane's figures, one series per media worker.
pub fn render_media(
    body: &mut String,
    workers: &[std::sync::Arc<switchboard_actors::media::WorkerLoad>],
) {
    use switchboard_actors::media::WorkerLoad;
    type Pick = fn(&WorkerLoad) -> &AtomicU64;
    let series: [(&str, &str, &str, Pick); 11] = [
        ("switchboard_media_peer_connections", "gauge", "Peer connections open.", |w| &w.peers),
        (
            "switchboard_media_forwarded_frames_total",
            "counter",
            "Media frames forwarded to viewers.",
            |w| &w.forwarded_frames,
        ),
        (
            "switchboard_media_forwarded_bytes_total",
            "counter",
            "Media payload bytes forwarded to viewers.",
            |w| &w.forwarded_bytes,
        ),
        (
            "switchboard_media_forwarded_packets_total",
            "counter",
            "RTP packets forwarded to mediasoup consumers.",
            |w| &w.forwarded_packets,
        ),
        (
            "switchboard_media_forwarded_messages_total",
            "counter",
            "Data channel messages forwarded to viewers.",
            |w| &w.forwarded_messages,
        ),
        (
            "switchboard_media_dropped_datagrams_total",
            "counter",
            "UDP datagrams no peer connection took (garbage, unknown ICE ufrags, strangers).",
            |w| &w.dropped_datagrams,
        ),
        (
            "switchboard_media_early_datagrams_total",
            "counter",
            "Datagrams kept because they came before the viewer's answer (replayed after it).",
            |w| &w.early_datagrams,
        ),
        (
            "switchboard_media_send_drops_total",
            "counter",
            "Datagrams not sent: the socket's buffer and the queue behind it were full.",
            |w| &w.send_drops,
        ),
        (
            "switchboard_media_ice_failures_total",
            "counter",
            "Peer connections closed for having no working ICE for 30 s.",
            |w| &w.ice_failures,
        ),
        (
            "switchboard_media_dtls_failures_total",
            "counter",
            "Peer connections the WebRTC stack failed (DTLS, SRTP, SCTP errors).",
            |w| &w.dtls_failures,
        ),
        (
            "switchboard_media_panics_total",
            "counter",
            "Peer connections ended by a panic inside the WebRTC stack (the node goes on).",
            |w| &w.panics,
        ),
    ];
    for (name, kind, help, pick) in series {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (worker, load) in workers.iter().enumerate() {
            let value = pick(load).load(Relaxed);
            body.push_str(&format!("{name}{{worker=\"{worker}\"}} {value}\n"));
        }
    }
}
