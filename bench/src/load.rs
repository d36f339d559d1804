//! The measured loads, for any dialect's [`Pair`]s: relay throughput with a bounded window,
//! and one-way latency at a fixed rate. A signal's body is an ICE-candidate-like JSON object
//! (`{"t":…,"sdpMid":"0","candidate":"…"}`, `t` the sender's timestamp in latency runs) that
//! each dialect wraps in its own frame and the receiver finds by its `"sdpMid"` marker.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    dialects::{connect_pairs, Dialect, Pair, Side},
    servers::Servers,
    stats::{cpu_seconds, host_steal_seconds},
    ws::{Rx, Tx},
};

/// What marks a relayed signal in a received frame.
const MARKER: &str = r#""sdpMid":"0""#;

/// `side`'s frame of about `size` bytes carrying a candidate; `stamp` is written as `"t"` when
/// given.
fn candidate(side: (&str, &str), size: usize, stamp: Option<u64>) -> String {
    let (head, tail) = side;
    let t = stamp.map_or(String::new(), |t| format!(r#""t":{t},"#));
    let open = format!(r#"{head}{{{t}{MARKER},"candidate":""#);
    let pad = size.saturating_sub(open.len() + 2 + tail.len()).max(1);
    format!("{open}{}\"}}{tail}", "x".repeat(pad))
}

/// One direction of a pair: a sender, the other side's receiver, and the sender's framing.
struct Direction {
    tx: Tx,
    rx: Rx,
    head: String,
    tail: String,
}

/// A pair's two directions: a → b, then b → a.
fn directions(Pair { a, b }: Pair) -> [Direction; 2] {
    let (Side { tx: a_tx, rx: a_rx, head: a_head, tail: a_tail }, b) = (a, b);
    let Side { tx: b_tx, rx: b_rx, head: b_head, tail: b_tail } = b;
    [
        Direction { tx: a_tx, rx: b_rx, head: a_head, tail: a_tail },
        Direction { tx: b_tx, rx: a_rx, head: b_head, tail: b_tail },
    ]
}

/// Relay results.
pub(crate) struct Relay {
    pub(crate) delivered: u64,
    pub(crate) secs: f64,
    pub(crate) server_cpu: f64,
    pub(crate) client_cpu: f64,
    /// Host steal time during the measurement ([`host_steal_seconds`]).
    pub(crate) steal: f64,
}

/// Measures relay throughput: every sender keeps at most `window` signals in flight.
pub(crate) async fn relay(
    pairs: Vec<Pair>,
    window: usize,
    size: usize,
    measure: Duration,
    servers: &Servers,
) -> Result<Relay, String> {
    let delivered = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for pair in pairs {
        for Direction { mut tx, mut rx, head, tail } in directions(pair) {
            let frame = candidate((&head, &tail), size, None);
            let credit = Arc::new(Semaphore::new(window));
            let send_credit = credit.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    // Every signal the window allows now leaves in one write.
                    let Ok(permit) = send_credit.acquire().await else { return };
                    permit.forget();
                    let ready = send_credit.available_permits();
                    let more = match send_credit.try_acquire_many(ready as u32) {
                        Ok(permits) => {
                            permits.forget();
                            ready
                        }
                        Err(_) => 0,
                    };
                    for _ in 0..=more {
                        if tx.feed(Message::text(frame.clone())).await.is_err() {
                            return;
                        }
                    }
                    if tx.flush().await.is_err() {
                        return;
                    }
                }
            }));
            let counter = delivered.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(message)) = rx.next().await {
                    if matches!(&message, Message::Text(t) if t.contains(MARKER)) {
                        counter.fetch_add(1, Ordering::Relaxed);
                        credit.add_permits(1);
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (d0, s0, c0) =
        (delivered.load(Ordering::Relaxed), servers.cpu_seconds(), cpu_seconds(std::process::id()));
    let steal0 = host_steal_seconds();
    let t0 = Instant::now();
    tokio::time::sleep(measure).await;
    let secs = t0.elapsed().as_secs_f64();
    let result = Relay {
        delivered: delivered.load(Ordering::Relaxed) - d0,
        secs,
        server_cpu: servers.cpu_seconds() - s0,
        client_cpu: cpu_seconds(std::process::id()) - c0,
        steal: host_steal_seconds() - steal0,
    };
    for task in tasks {
        task.abort();
    }
    Ok(result)
}

/// Latency results.
pub(crate) struct Latency {
    pub(crate) latencies_us: Vec<u64>,
    pub(crate) server_cpu: f64,
    pub(crate) client_cpu: f64,
    /// Host steal time during the measurement ([`host_steal_seconds`]).
    pub(crate) steal: f64,
}

/// A latency measurement: what to offer, and how many times to try.
pub(crate) struct LatencyPlan {
    pub(crate) dialect: Dialect,
    pub(crate) pairs: usize,
    /// Signals per second over all senders.
    pub(crate) rate: u64,
    pub(crate) size: usize,
    pub(crate) measure: Duration,
    /// Most measurements, each on freshly connected pairs: the first the host left alone
    /// (steal under [`QUIET_STEAL`] of the measured time) is kept, else the least disturbed.
    /// The same rule for every server, so ratios stay fair.
    pub(crate) attempts: usize,
}

/// Steal time, as a share of the measured time, under which an attempt counts as undisturbed.
const QUIET_STEAL: f64 = 0.01;

/// Runs `plan` against the servers at `urls` and returns its first undisturbed attempt, or the
/// least disturbed of them all.
pub(crate) async fn quietest_latency(
    plan: &LatencyPlan,
    urls: (&str, &str),
    servers: &Servers,
) -> Result<Latency, String> {
    let mut quietest: Option<Latency> = None;
    for _ in 0..plan.attempts.max(1) {
        let pairs = connect_pairs(plan.dialect, urls.0, urls.1, plan.pairs).await?;
        let attempt = latency(pairs, plan.rate, plan.size, plan.measure, servers).await?;
        let quiet = attempt.steal < QUIET_STEAL * plan.measure.as_secs_f64();
        if quietest.as_ref().is_none_or(|q| attempt.steal < q.steal) {
            quietest = Some(attempt);
        }
        if quiet {
            break;
        }
    }
    quietest.ok_or_else(|| "no attempt".to_owned())
}

/// Measures one-way latency at `rate` signals per second in total.
pub(crate) async fn latency(
    pairs: Vec<Pair>,
    rate: u64,
    size: usize,
    measure: Duration,
    servers: &Servers,
) -> Result<Latency, String> {
    let epoch = Instant::now();
    let senders = (pairs.len() * 2) as f64;
    let period = Duration::from_secs_f64(senders / rate.max(1) as f64);
    let warmup = Duration::from_secs(1);
    let (start, end) = (warmup, warmup + measure);
    let stop = Arc::new(AtomicBool::new(false));
    let mut receivers = Vec::new();
    let mut senders_tasks = Vec::new();
    for (i, pair) in pairs.into_iter().enumerate() {
        for (offset, Direction { mut tx, mut rx, head, tail }) in
            directions(pair).into_iter().enumerate()
        {
            let stop = stop.clone();
            // Spread the senders' ticks over the period.
            let phase = period.mul_f64(((2 * i + offset) as f64 / senders).fract());
            senders_tasks.push(tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + phase, period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let t = epoch.elapsed().as_micros() as u64;
                    let frame = candidate((&head, &tail), size, Some(t));
                    if tx.send(Message::text(frame)).await.is_err() {
                        return;
                    }
                }
            }));
            receivers.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                while let Ok(Some(Ok(message))) = tokio::time::timeout(
                    (end + Duration::from_secs(2)).saturating_sub(epoch.elapsed()),
                    rx.next(),
                )
                .await
                {
                    let Message::Text(text) = message else { continue };
                    let Some(t) = stamp(&text) else { continue };
                    let now = epoch.elapsed().as_micros() as u64;
                    if Duration::from_micros(t) >= start && Duration::from_micros(t) < end {
                        samples.push(now.saturating_sub(t));
                    }
                    if Duration::from_micros(t) >= end {
                        break;
                    }
                }
                samples
            }));
        }
    }
    tokio::time::sleep(start.saturating_sub(epoch.elapsed())).await;
    let (s0, c0, steal0) =
        (servers.cpu_seconds(), cpu_seconds(std::process::id()), host_steal_seconds());
    tokio::time::sleep(end.saturating_sub(epoch.elapsed())).await;
    let (s1, c1, steal1) =
        (servers.cpu_seconds(), cpu_seconds(std::process::id()), host_steal_seconds());
    let mut latencies_us = Vec::new();
    for receiver in receivers {
        latencies_us.extend(receiver.await.map_err(|e| e.to_string())?);
    }
    stop.store(true, Ordering::Relaxed);
    for sender in senders_tasks {
        sender.abort();
    }
    Ok(Latency { latencies_us, server_cpu: s1 - s0, client_cpu: c1 - c0, steal: steal1 - steal0 })
}

/// The sender timestamp in a relayed candidate.
fn stamp(text: &str) -> Option<u64> {
    let at = text.find(r#""t":"#)? + 4;
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}
