//! `cmd` pairs for the scenarios: each pair registers, opens a session and reaches ACTIVE, then
//! relays ICE-candidate-like signals both ways.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use tokio::{net::TcpStream, sync::Semaphore};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::{servers::Cluster, stats::cpu_seconds};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Tx = SplitSink<Ws, Message>;
type Rx = SplitStream<Ws>;

/// Two clients in an ACTIVE session.
pub(crate) struct Pair {
    a: (Tx, Rx),
    b: (Tx, Rx),
    session: String,
}

const STEP_TIMEOUT: Duration = Duration::from_secs(15);

async fn connect(url: &str) -> Result<(Tx, Rx), String> {
    // Nagle's algorithm would hold small frames back for delayed ACKs: measure the server.
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(ws.split())
}

async fn send(tx: &mut Tx, text: String) -> Result<(), String> {
    tx.send(Message::text(text)).await.map_err(|e| e.to_string())
}

/// Reads until a text frame contains `needle`; returns it.
async fn until(rx: &mut Rx, needle: &str) -> Result<String, String> {
    let wait = async {
        while let Some(message) = rx.next().await {
            if let Message::Text(text) = message.map_err(|e| e.to_string())? {
                if text.contains(needle) {
                    return Ok(text.to_string());
                }
            }
        }
        Err("connection closed".to_owned())
    };
    tokio::time::timeout(STEP_TIMEOUT, wait).await.map_err(|_| format!("no {needle} in time"))?
}

async fn register(url: &str, name: &str) -> Result<(Tx, Rx), String> {
    let (mut tx, mut rx) = connect(url).await?;
    send(&mut tx, format!(r#"{{"cmd":"sId","sId":"{name}"}}"#)).await?;
    until(&mut rx, r#""cmd":"sId""#).await?;
    Ok((tx, rx))
}

async fn pair(left: &str, right: &str, i: usize) -> Result<Pair, String> {
    let tag = std::process::id();
    let (a_name, b_name) = (format!("a{i}-{tag}"), format!("b{i}-{tag}"));
    let (mut a, mut b) = (register(left, &a_name).await?, register(right, &b_name).await?);
    send(&mut a.0, format!(r#"{{"cmd":"session","opponentId":"{b_name}"}}"#)).await?;
    let opened = until(&mut a.1, r#""cmd":"session""#).await?;
    let session: serde_json::Value = serde_json::from_str(&opened).map_err(|e| e.to_string())?;
    let session = session["sessionId"].as_str().ok_or("no sessionId")?.to_owned();
    let frame = |cmd: &str, key: &str| {
        format!(
            r#"{{"cmd":"{cmd}","sessionId":"{session}","{key}":{{"type":"{key}","sdp":"v=0"}}}}"#
        )
    };
    send(&mut a.0, frame("call", "offer")).await?;
    until(&mut b.1, r#""cmd":"call""#).await?;
    send(&mut b.0, frame("accept", "answer")).await?;
    until(&mut a.1, r#""cmd":"accept""#).await?;
    for side in [&mut a.1, &mut b.1] {
        until(side, r#""state":3"#).await?;
    }
    Ok(Pair { a, b, session })
}

/// Opens `n` pairs, the first half of each on `left` and the other on `right`.
pub(crate) async fn connect_pairs(left: &str, right: &str, n: usize) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::with_capacity(n);
    // A few at a time: a join storm is its own scenario.
    for chunk in (0..n).collect::<Vec<_>>().chunks(32) {
        let opened = futures_util::future::join_all(chunk.iter().map(|&i| pair(left, right, i)));
        for p in opened.await {
            pairs.push(p?);
        }
    }
    Ok(pairs)
}

/// An ICE-candidate frame of about `size` bytes; `stamp` is written as `"t"` when given.
fn candidate(session: &str, size: usize, stamp: Option<u64>) -> String {
    let t = stamp.map_or(String::new(), |t| format!(r#""t":{t},"#));
    let head = format!(
        r#"{{"cmd":"icecandidate","sessionId":"{session}","icecandidate":{{{t}"sdpMid":"0","candidate":""#
    );
    let pad = size.saturating_sub(head.len() + 4).max(1);
    format!("{head}{}\"}}}}", "x".repeat(pad))
}

/// Relay results.
pub(crate) struct Relay {
    pub(crate) delivered: u64,
    pub(crate) secs: f64,
    pub(crate) server_cpu: f64,
    pub(crate) client_cpu: f64,
}

/// Measures relay throughput: every sender keeps at most `window` signals in flight.
pub(crate) async fn relay(
    pairs: Vec<Pair>,
    window: usize,
    size: usize,
    measure: Duration,
    cluster: &Cluster,
) -> Result<Relay, String> {
    let delivered = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for Pair { a, b, session } in pairs {
        let frame = candidate(&session, size, None);
        let ((a_tx, a_rx), (b_tx, b_rx)) = (a, b);
        for (mut tx, mut rx) in [(a_tx, b_rx), (b_tx, a_rx)] {
            let credit = Arc::new(Semaphore::new(window));
            let (send_credit, frame) = (credit.clone(), frame.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let Ok(permit) = send_credit.acquire().await else { return };
                    permit.forget();
                    if tx.send(Message::text(frame.clone())).await.is_err() {
                        return;
                    }
                }
            }));
            let counter = delivered.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(Ok(message)) = rx.next().await {
                    if matches!(&message, Message::Text(t) if t.contains(r#""cmd":"icecandidate""#))
                    {
                        counter.fetch_add(1, Ordering::Relaxed);
                        credit.add_permits(1);
                    }
                }
            }));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (d0, s0, c0) =
        (delivered.load(Ordering::Relaxed), cluster.cpu_seconds(), cpu_seconds(std::process::id()));
    let t0 = Instant::now();
    tokio::time::sleep(measure).await;
    let secs = t0.elapsed().as_secs_f64();
    let result = Relay {
        delivered: delivered.load(Ordering::Relaxed) - d0,
        secs,
        server_cpu: cluster.cpu_seconds() - s0,
        client_cpu: cpu_seconds(std::process::id()) - c0,
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
}

/// Measures one-way latency at `rate` signals per second in total.
pub(crate) async fn latency(
    pairs: Vec<Pair>,
    rate: u64,
    size: usize,
    measure: Duration,
    cluster: &Cluster,
) -> Result<Latency, String> {
    let epoch = Instant::now();
    let senders = (pairs.len() * 2) as f64;
    let period = Duration::from_secs_f64(senders / rate.max(1) as f64);
    let warmup = Duration::from_secs(1);
    let (start, end) = (warmup, warmup + measure);
    let stop = Arc::new(AtomicBool::new(false));
    let mut receivers = Vec::new();
    let mut senders_tasks = Vec::new();
    for (i, Pair { a, b, session }) in pairs.into_iter().enumerate() {
        let (a_tx, a_rx) = a;
        let (b_tx, b_rx) = b;
        for (mut tx, mut rx, offset) in [(a_tx, b_rx, 0usize), (b_tx, a_rx, 1)] {
            let session = session.clone();
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
                    if tx.send(Message::text(candidate(&session, size, Some(t)))).await.is_err() {
                        return;
                    }
                }
            }));
            receivers.push(tokio::spawn(async move {
                let mut samples = Vec::new();
                while let Ok(Some(Ok(message))) =
                    tokio::time::timeout(end + Duration::from_secs(2) - epoch.elapsed(), rx.next())
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
    let (s0, c0) = (cluster.cpu_seconds(), cpu_seconds(std::process::id()));
    tokio::time::sleep(end.saturating_sub(epoch.elapsed())).await;
    let (s1, c1) = (cluster.cpu_seconds(), cpu_seconds(std::process::id()));
    let mut latencies_us = Vec::new();
    for receiver in receivers {
        latencies_us.extend(receiver.await.map_err(|e| e.to_string())?);
    }
    stop.store(true, Ordering::Relaxed);
    for sender in senders_tasks {
        sender.abort();
    }
    Ok(Latency { latencies_us, server_cpu: s1 - s0, client_cpu: c1 - c0 })
}

/// The sender timestamp in a relayed candidate.
fn stamp(text: &str) -> Option<u64> {
    let at = text.find(r#""t":"#)? + 4;
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    text[at..at + digits].parse().ok()
}
