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

/// The `rooms` scenario: `clients` Socket.IO clients in pairs across `left` and `right`, each
/// pair then opening its share of `rooms` rooms of two (the first creates, the second joins,
/// each step pipelined). Reports the servers' resident memory per room beyond the clients'.
pub(crate) async fn many_rooms(
    (left, right): (&str, &str),
    clients: usize,
    rooms: usize,
    servers: &Servers,
) -> Result<Vec<crate::Figure>, String> {
    use crate::ws::{send, until};
    let pairs = crate::dialects::connect_pairs(Dialect::Rooms, left, right, clients / 2).await?;
    tokio::time::sleep(SETTLE).await;
    let rss_before = servers.rss_bytes();
    let per_pair = rooms.div_ceil(pairs.len().max(1));
    let start = Instant::now();
    let opened: Vec<Result<(usize, Pair), String>> =
        futures_util::stream::iter(pairs.into_iter().enumerate())
            .map(|(i, mut pair)| async move {
                let names: Vec<String> = (0..per_pair).map(|k| format!("m{i}-{k}")).collect();
                for name in &names {
                    send(&mut pair.a.tx, format!(r#"42["room-create","{name}"]"#)).await?;
                }
                for _ in &names {
                    until(&mut pair.a.rx, "room-created").await?;
                }
                for name in &names {
                    send(&mut pair.b.tx, format!(r#"42["room-join","{name}"]"#)).await?;
                }
                for _ in &names {
                    until(&mut pair.b.rx, "room-joined").await?;
                    until(&mut pair.a.rx, "client-joined").await?;
                }
                Ok::<_, String>((names.len(), pair))
            })
            .buffer_unordered(64)
            .collect()
            .await;
    let secs = start.elapsed().as_secs_f64();
    // The clients stay connected (their rooms open) until the memory is read.
    let kept = opened.into_iter().collect::<Result<Vec<(usize, Pair)>, _>>()?;
    let opened: usize = kept.iter().map(|(n, _)| n).sum();
    tokio::time::sleep(SETTLE).await;
    let rss_after = servers.rss_bytes();
    drop(kept);
    let grown = rss_after.saturating_sub(rss_before) as f64;
    Ok(vec![
        ("rooms", opened as f64, ""),
        ("clients", clients as f64, ""),
        ("all_open_after", secs, "s"),
        ("server_rss_with_clients", rss_before as f64 / 1_048_576.0, "MiB"),
        ("server_rss_with_rooms", rss_after as f64 / 1_048_576.0, "MiB"),
        ("server_rss_per_room", grown / opened.max(1) as f64, "B"),
    ])
}
