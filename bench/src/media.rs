//! The `media` scenario: `--rooms` m2m rooms on one node, each with one publisher sending Opus
//! (50 frames a second) and `--viewers` viewers, every one a real WebRTC client (str0m) with
//! its own socket. Reports answer → connected percentiles, forwarded streams per server core
//! with their loss, and the server's memory per peer connection.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use switchboard_bench::rtc::RtcClient;

use crate::{
    servers::Servers,
    stats,
    ws::{self, Rx, Tx},
    Figure,
};

/// How much media to set up.
pub(crate) struct Plan {
    /// Rooms, one publisher each.
    pub(crate) rooms: usize,
    /// Viewers per room.
    pub(crate) viewers: usize,
    /// The measured window.
    pub(crate) measure: Duration,
}

/// Opus frames a publisher sends per second.
const FRAMES_PER_SEC: f64 = 50.0;

/// What the clients' tasks share with the scenario.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    connected: AtomicUsize,
    frames: AtomicU64,
}

struct Session {
    tx: Tx,
    rx: Rx,
    frame: Value,
}

impl Session {
    async fn open(url: &str, room: &str, user: &str) -> Result<Self, String> {
        let (tx, rx) = ws::connect(&format!("{url}/signals")).await?;
        let ss = json!({"userId": user, "sessionId": format!("{user}1"), "host": "Web"});
        let frame = json!({"ch": "m2m", "rid": room, "ss": ss});
        Ok(Self { tx, rx, frame })
    }

    /// Sends signal `s` (action `action`) with `extra` fields and waits for its ack.
    async fn ask(&mut self, action: &str, s: &str, extra: Value) -> Result<Value, String> {
        let mut data = self.frame.clone();
        data["s"] = json!(s);
        if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
            data.extend(extra.clone());
        }
        ws::send(&mut self.tx, json!({"action": action, "data": data}).to_string()).await?;
        loop {
            let text = ws::until(&mut self.rx, &format!("\"s\":\"{s}\"")).await?;
            let ack: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            if ack["c"] == 200 {
                return Ok(ack);
            }
            if ack.get("c").is_some() {
                return Err(format!("{s} refused: {text}"));
            }
        }
    }
}

/// Runs `client` in its own task until told to stop, noting when it connected (from now) and
/// the frames it receives; the connect time.
fn run(mut client: RtcClient, shared: Arc<Shared>) -> tokio::task::JoinHandle<Option<Duration>> {
    let start = Instant::now();
    tokio::spawn(async move {
        let (mut connected, mut counted) = (None, 0);
        client
            .run_until(Duration::from_secs(3600), |seen| {
                if connected.is_none() && seen.connected {
                    connected = Some(start.elapsed());
                    shared.connected.fetch_add(1, Ordering::Relaxed);
                }
                shared.frames.fetch_add(seen.frames - counted, Ordering::Relaxed);
                counted = seen.frames;
                shared.stop.load(Ordering::Relaxed)
            })
            .await;
        connected
    })
}

/// This process's CPU time.
fn own_cpu() -> f64 {
    stats::cpu_seconds(std::process::id())
}

/// Sets up the plan's rooms on `url`, measures, and tears everything down.
pub(crate) async fn run_plan(
    url: &str,
    plan: &Plan,
    servers: &Servers,
) -> Result<Vec<Figure>, String> {
    let shared = Arc::new(Shared::default());
    let mut rooms = Vec::with_capacity(plan.rooms);
    for r in 0..plan.rooms {
        let room = format!("media{r}");
        let publisher = Session::open(url, &room, "pub").await?;
        let mut viewers = Vec::with_capacity(plan.viewers);
        for v in 0..plan.viewers {
            viewers.push(Session::open(url, &room, &format!("view{v}")).await?);
        }
        rooms.push((room, publisher, viewers));
    }
    let rss_before = servers.rss_bytes();
    let (mut publishers, mut watchers) = (Vec::new(), Vec::new());
    for (_, publisher, viewers) in &mut rooms {
        publisher.ask("join", "JOIN", json!({"op": {"roomCreating": true}})).await?;
        let mut client = RtcClient::new().await.map_err(|e| e.to_string())?;
        let ack = publisher.ask("offer", "OFFER", json!({"sdp": client.offer_audio()})).await?;
        client.accept_answer(ack["b"]["sdp"].as_str().unwrap_or_default())?;
        client.start_sending();
        publishers.push(run(client, shared.clone()));
        for viewer in viewers.iter_mut() {
            viewer.ask("join", "JOIN", json!({})).await?;
            let to = json!({"userId": "pub", "sessionId": "pub1"});
            let ack = viewer.ask("watch", "WATCH", json!({"to": to})).await?;
            let offer = ack["b"]["pps"][0]["sdp"].as_str().unwrap_or_default();
            let (client, answer) = RtcClient::answering(offer).await.map_err(|e| e.to_string())?;
            let mut data = viewer.frame.clone();
            data["s"] = json!("ANSWER");
            data["to"] = to;
            data["sdp"] = json!(answer);
            let frame = json!({"action": "answer", "data": data}).to_string();
            ws::send(&mut viewer.tx, frame).await?;
            watchers.push(run(client, shared.clone()));
        }
    }
    let peers = publishers.len() + watchers.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while shared.connected.load(Ordering::Relaxed) < peers {
        if Instant::now() > deadline {
            let n = shared.connected.load(Ordering::Relaxed);
            return Err(format!("{n} of {peers} peer connections connected"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_after = servers.rss_bytes();
    // One second for every stream to flow, then the measured window.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (frames_before, cpu_before, own_before) =
        (shared.frames.load(Ordering::Relaxed), servers.cpu_seconds(), own_cpu());
    let started = Instant::now();
    tokio::time::sleep(plan.measure).await;
    let secs = started.elapsed().as_secs_f64();
    let received = (shared.frames.load(Ordering::Relaxed) - frames_before) as f64;
    let server_cpu = servers.cpu_seconds() - cpu_before;
    let client_cpu = own_cpu() - own_before;
    shared.stop.store(true, Ordering::Relaxed);
    let mut connect_us: Vec<u64> = Vec::new();
    for task in publishers.into_iter().chain(watchers) {
        if let Ok(Some(took)) = task.await {
            connect_us.push(took.as_micros() as u64);
        }
    }
    connect_us.sort_unstable();
    let streams = (plan.rooms * plan.viewers) as f64;
    let expected = streams * FRAMES_PER_SEC * secs;
    let cores = server_cpu / secs;
    Ok(vec![
        ("rooms", plan.rooms as f64, ""),
        ("forwarded_streams", streams, ""),
        ("answer_to_connected_p50", stats::percentile(&connect_us, 0.50) / 1000.0, "ms"),
        ("answer_to_connected_p99", stats::percentile(&connect_us, 0.99) / 1000.0, "ms"),
        ("frames_received", received, ""),
        ("loss", (1.0 - received / expected.max(1.0)).max(0.0) * 100.0, "%"),
        ("server_cpu_sec", server_cpu, "s"),
        ("client_cpu_sec", client_cpu, "s"),
        ("server_cores_busy", cores, ""),
        ("streams_per_server_core", streams / cores.max(1e-9), ""),
        ("server_cpu_per_stream", server_cpu / secs / streams.max(1.0) * 1e6 / 1000.0, "ms/s"),
        (
            "server_rss_per_peer",
            rss_after.saturating_sub(rss_before) as f64 / peers as f64 / 1024.0,
            "KiB",
        ),
    ])
}
