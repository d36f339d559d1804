//! Crowds of clients: the `idle` and `storm` scenarios.
//!
//! Both open `clients / 2` pairs (each dialect's way of making two clients reachable to each
//! other: a call, a room of two, two registered peer ids), at most `concurrency` setting up at
//! once. `storm` reports how long until every client was joined; `idle` then leaves them
//! connected and reports the servers' resident memory per client.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::{dialects::Dialect, dialects::Pair, servers::Servers, stats::cpu_seconds};

/// What a crowd cost.
pub(crate) struct Crowd {
    /// Clients connected and joined.
    pub(crate) clients: usize,
    /// Seconds from the first connect until the last client was joined.
    pub(crate) secs: f64,
    /// Server resident memory before the crowd came, in bytes (every server process).
    pub(crate) rss_before: u64,
    /// And with the crowd connected and idle.
    pub(crate) rss_after: u64,
    /// Server CPU seconds the setup took.
    pub(crate) server_cpu: f64,
    /// And the load generator's own, to show when it was the limit.
    pub(crate) client_cpu: f64,
}

/// How long the crowd idles before the servers' memory is read, so lazily grown buffers and
/// deferred frees settle.
const SETTLE: Duration = Duration::from_secs(2);

/// Connects `clients` clients of `dialect` in pairs across `left` and `right`.
pub(crate) async fn gather(
    dialect: Dialect,
    (left, right): (&str, &str),
    clients: usize,
    concurrency: usize,
    servers: &Servers,
) -> Result<Crowd, String> {
    let rss_before = servers.rss_bytes();
    let cpu_before = servers.cpu_seconds();
    let client_before = cpu_seconds(std::process::id());
    let start = Instant::now();
    let opened: Vec<Result<Pair, String>> = futures_util::stream::iter(0..clients / 2)
        .map(|i| dialect.pair(left, right, i))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let secs = start.elapsed().as_secs_f64();
    let server_cpu = servers.cpu_seconds() - cpu_before;
    let client_cpu = cpu_seconds(std::process::id()) - client_before;
    let pairs = opened.into_iter().collect::<Result<Vec<Pair>, String>>()?;
    tokio::time::sleep(SETTLE).await;
    let rss_after = servers.rss_bytes();
    let clients = pairs.len() * 2;
    drop(pairs);
    Ok(Crowd { clients, secs, rss_before, rss_after, server_cpu, client_cpu })
}
