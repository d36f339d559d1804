//! `switchboard-bench`: the load generator. It starts the server it measures (switchboard, or a
//! baseline users would pick instead), drives real WebSocket clients through that server's
//! protocol, and prints one line per figure (and, with `--json`, one JSON object).
//!
//! Scenarios:
//! - `relay`: N pairs in ACTIVE calls relay ~300-byte ICE-candidate-like signals both ways, each
//!   sender keeping at most `--window` unacknowledged; delivered messages per second and per
//!   server CPU-second.
//! - `latency`: the same pairs at a fixed total rate; one-way latency percentiles from a sender
//!   timestamp in each payload (both ends are in this process, so one clock). On a shared
//!   virtual machine the hypervisor's steal time wrecks tail latency: every scenario reports it
//!   (`host_steal_sec`), and `--attempts N` measures up to N times and keeps the first
//!   undisturbed attempt (else the least disturbed).
//! - `idle`: `--clients` clients connected and joined in pairs, then idle; the servers'
//!   resident memory per client (up to 19,000: the open-file limit is 20,000 per process, and
//!   connections come from 127.0.0.1 to 127.0.0.8 so no source runs out of ports).
//! - `sweep`: `latency` at each of `--rates` for switchboard (rooms on one node and on two,
//!   cmd) and every baseline, one after another; writes the plot to `--svg`.
//! - `storm`: `--clients` clients connect and pair up at once (`--concurrency` at a time);
//!   seconds until every one is joined.
//!
//! Topologies: `single` (one node) or `cross` (two nodes and one redis-server, every pair split
//! across the nodes so every signal crosses Redis). Pin with `--server-cpu` / `--client-cpu` on
//! a 2-core machine so a figure means "what one server core does".
//!
//! Servers: `switchboard` (dialect `cmd` or `rooms`), and the baselines `peerjs`, `matchbox` and
//! `socketio` (seed 003 rooms on socket.io 4; `cross` adds its Redis adapter), installed from
//! their registries by `bench/peers/install` into `--peers-dir`.

mod crowd;
mod dialects;
mod load;
mod media;
mod plot;
mod servers;
mod stats;
mod sweep;
mod ws;

use dialects::Dialect;
use servers::Server;

use std::time::Duration;

use clap::{Parser, ValueEnum};

/// What to measure.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Scenario {
    /// Delivered messages per second with a bounded window.
    Relay,
    /// One-way latency percentiles at a fixed rate.
    Latency,
    /// `--clients` connected, joined, idle clients: server memory per client.
    Idle,
    /// `--clients` clients connect and join rooms of two at once: time until all joined.
    Storm,
    /// Latency at each of `--rates` for switchboard and every baseline; writes `--svg`.
    Sweep,
    /// `--rooms` idle rooms of two over `--clients` clients (each pair shares many rooms):
    /// server memory per room beyond the clients' own.
    Rooms,
    /// `--publishers` m2m rooms, each a publisher sending Opus to `--viewers` viewers through
    /// the media plane (real WebRTC clients): streams per server core, loss, connect times.
    Media,
}

/// Where the clients go.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Topology {
    /// One node.
    Single,
    /// Two nodes and one Redis; every pair spans both nodes.
    Cross,
}

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "switchboard-bench", about = "Load generator for switchboard")]
struct Opts {
    /// The scenario.
    scenario: Scenario,
    /// The server to measure.
    #[arg(long, value_enum, default_value = "switchboard")]
    server: Server,
    /// The protocol to speak (default: the server's own; switchboard's default is `cmd`).
    #[arg(long, value_enum)]
    dialect: Option<Dialect>,
    /// How many of it to start.
    #[arg(long, value_enum, default_value = "single")]
    topology: Topology,
    /// Where `bench/peers/install` put the baselines.
    #[arg(long, default_value = "target/bench-peers")]
    peers_dir: std::path::PathBuf,
    /// Client pairs.
    #[arg(long, default_value_t = 50)]
    pairs: usize,
    /// Unacknowledged messages per sender (relay).
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Total messages per second over all senders (latency).
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// Measurement time in seconds (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Most latency measurements per figure (latency, sweep), each on fresh connections: the
    /// first with host steal time under 1 % of the measured time is reported, else the one
    /// with the least.
    #[arg(long, default_value_t = 1)]
    attempts: usize,
    /// Offered loads of the sweep, in signals per second.
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,5000,10000,20000")]
    rates: Vec<u64>,
    /// Where the sweep writes its plot.
    #[arg(long, default_value = "latency-vs-load.svg")]
    svg: std::path::PathBuf,
    /// Clients (idle, storm); they pair up, so an odd one is left out.
    #[arg(long, default_value_t = 10_000)]
    clients: usize,
    /// Clients setting up at once (idle, storm).
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// Rooms of two to open (rooms).
    #[arg(long, default_value_t = 100_000)]
    rooms: usize,
    /// Media rooms, one publisher each (media).
    #[arg(long, default_value_t = 10)]
    publishers: usize,
    /// Viewers per media room (media).
    #[arg(long, default_value_t = 10)]
    viewers: usize,
    /// Worker threads of each switchboard node (each hosts a shard of the room engine).
    #[arg(long, default_value_t = 1)]
    server_workers: usize,
    /// Payload size of each signal in bytes.
    #[arg(long, default_value_t = 300)]
    size: usize,
    /// CPU list the servers (nodes and Redis) are pinned to with taskset, e.g. "0".
    #[arg(long)]
    server_cpu: Option<String>,
    /// CPU this process pins itself to, e.g. "1".
    #[arg(long)]
    client_cpu: Option<String>,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    let opts = Opts::parse();
    if let Some(cpu) = &opts.client_cpu {
        if let Err(e) = servers::pin_self(cpu) {
            eprintln!("cannot pin the load generator to CPU {cpu}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    // Every client is a socket: take the whole open-file allowance (servers inherit it).
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("cannot raise the open-file limit: {e}");
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start a runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&opts)) {
        Ok(figures) => {
            for (name, value, unit) in &figures {
                println!("{name:<28} {value:>14.3} {unit}");
            }
            if opts.json {
                let object: serde_json::Map<_, _> =
                    figures.iter().map(|(n, v, _)| (n.to_string(), serde_json::json!(v))).collect();
                println!("{}", serde_json::Value::Object(object));
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One figure: name, value, unit.
pub(crate) type Figure = (&'static str, f64, &'static str);

async fn run(opts: &Opts) -> Result<Vec<Figure>, String> {
    let dialect = opts.dialect.unwrap_or(match opts.server {
        Server::Switchboard => Dialect::Cmd,
        Server::Peerjs => Dialect::Peerjs,
        Server::Matchbox => Dialect::Matchbox,
        Server::Socketio => Dialect::Rooms,
    });
    if let Scenario::Sweep = opts.scenario {
        let plan = sweep::Plan {
            rates: &opts.rates,
            pairs: opts.pairs,
            size: opts.size,
            measure: Duration::from_secs(opts.seconds),
            attempts: opts.attempts,
            server_cpu: opts.server_cpu.as_deref(),
            peers: &opts.peers_dir,
        };
        let svg = sweep::run(&plan).await?;
        std::fs::write(&opts.svg, svg).map_err(|e| format!("{}: {e}", opts.svg.display()))?;
        return Ok(vec![("points", (opts.rates.len() * 7) as f64, "")]);
    }
    let cross = opts.topology == Topology::Cross;
    let cpu = opts.server_cpu.as_deref();
    let workers = opts.server_workers;
    let cluster = servers::Servers::start(opts.server, cross, cpu, &opts.peers_dir, workers)?;
    let (left, right) = cluster.urls();
    if opts.scenario == Scenario::Media {
        let plan = media::Plan {
            rooms: opts.publishers,
            viewers: opts.viewers,
            measure: Duration::from_secs(opts.seconds),
        };
        return media::run_plan(&left, &plan, &cluster).await;
    }
    if opts.scenario == Scenario::Rooms {
        let urls = (left.as_str(), right.as_str());
        return crowd::many_rooms(urls, opts.clients, opts.rooms, &cluster).await;
    }
    if matches!(opts.scenario, Scenario::Idle | Scenario::Storm) {
        let urls = (left.as_str(), right.as_str());
        let crowd = crowd::gather(dialect, urls, opts.clients, opts.concurrency, &cluster).await?;
        let grown = crowd.rss_after.saturating_sub(crowd.rss_before) as f64;
        return Ok(vec![
            ("clients", crowd.clients as f64, ""),
            ("all_joined_after", crowd.secs, "s"),
            ("server_cpu_sec", crowd.server_cpu, "s"),
            ("client_cpu_sec", crowd.client_cpu, "s"),
            ("server_rss_before", crowd.rss_before as f64 / 1_048_576.0, "MiB"),
            ("server_rss_with_clients", crowd.rss_after as f64 / 1_048_576.0, "MiB"),
            ("server_rss_per_client", grown / crowd.clients.max(1) as f64 / 1024.0, "KiB"),
        ]);
    }
    let measure = Duration::from_secs(opts.seconds);
    let mut figures = vec![("pairs", opts.pairs as f64, "")];
    match opts.scenario {
        Scenario::Idle | Scenario::Storm | Scenario::Sweep | Scenario::Rooms | Scenario::Media => {}
        Scenario::Relay => {
            let pairs = dialects::connect_pairs(dialect, &left, &right, opts.pairs).await?;
            let threads_before = cluster.thread_cpu_seconds();
            let result = load::relay(pairs, opts.window, opts.size, measure, &cluster).await?;
            let spread = stats::spread(&threads_before, &cluster.thread_cpu_seconds(), 8);
            figures.push(("delivered_per_sec", result.delivered as f64 / result.secs, "msg/s"));
            figures.push(("server_cpu_sec", result.server_cpu, "s"));
            figures.push(("client_cpu_sec", result.client_cpu, "s"));
            figures.push((
                "delivered_per_server_cpu_sec",
                result.delivered as f64 / result.server_cpu.max(1e-9),
                "msg/CPU-s",
            ));
            figures.push(("host_steal_sec", result.steal, "s"));
            figures.push(("node_threads_busy", spread.busy as f64, ""));
            figures.push(("busiest_thread_cpu_sec", spread.busiest, "s"));
            figures.push(("busiest_over_mean_of_8", spread.ratio, ""));
        }
        Scenario::Latency => {
            let plan = load::LatencyPlan {
                dialect,
                pairs: opts.pairs,
                rate: opts.rate,
                size: opts.size,
                measure,
                attempts: opts.attempts,
            };
            let result = load::quietest_latency(&plan, (&left, &right), &cluster).await?;
            let ms = |q| stats::percentile(&result.latencies_us, q) / 1000.0;
            figures.push(("offered_per_sec", opts.rate as f64, "msg/s"));
            figures.push(("delivered", result.latencies_us.len() as f64, "msg"));
            figures.push(("latency_p50", ms(0.50), "ms"));
            figures.push(("latency_p99", ms(0.99), "ms"));
            figures.push(("latency_p999", ms(0.999), "ms"));
            figures.push(("server_cpu_sec", result.server_cpu, "s"));
            figures.push(("client_cpu_sec", result.client_cpu, "s"));
            figures.push(("host_steal_sec", result.steal, "s"));
        }
    }
    Ok(figures)
}
