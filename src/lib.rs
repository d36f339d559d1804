//! switchboard: a WebRTC signaling node. This crate is the edge: HTTP and WebSocket glue, the
//! dialect codecs, configuration, metrics and [`run`]. The core (actors, commands, events) is
//! the `switchboard-actors` crate, which knows nothing of wire formats.
//!
//! # Layout
//!
//! - [`auth`]: access tokens (JWT): what a client's token grants.
//! - [`config`]: defaults → TOML file → environment → flags, validated.
//! - [`protocol`]: the dialect codecs (`cmd` today), pure functions with golden fixtures.
//! - [`http`]: routes, health/readiness, metrics, and the WebSocket reader/writer per client.
//! - [`metrics`]: Prometheus counters.
//! - [`probe`]: `--probe PATH`, the container health check.
//! - [`capacity`]: how many clients the open-file limit holds.

pub mod auth;
pub mod capacity;
pub mod config;
pub mod http;
pub mod metrics;
pub mod probe;
pub mod protocol;
pub mod webhook;

use std::{
    net::TcpListener,
    sync::{Arc, OnceLock},
};

use std::time::Duration;

use actix_http::{error::DispatchError, HttpService, Request};
use actix_service::{fn_service, map_config, ServiceFactoryExt};
use actix_web::{dev::AppConfig, middleware::DefaultHeaders, web, App};
use futures_util::future::LocalBoxFuture;
use switchboard_actors::{
    connection::ConnectionConfig, directory::DirectoryConfig, Core, CoreConfig, NodeId,
};
use tokio::net::TcpStream;

pub use config::Config;

/// Runs a node on `listener` until SIGINT or SIGTERM, which drain it (see
/// [`http::NodeState::drain`]). Must be called inside an actix System; every node started this
/// way has its own core, so several can share a process.
pub async fn run(mut config: Config, listener: TcpListener) -> std::io::Result<()> {
    let node = config.node_id.as_deref().map_or_else(NodeId::random, NodeId::new);
    let node_header = node.to_string();
    let node_header_log = node_header.clone();
    let workers = match config.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let capacity = capacity::Capacity::raise_and_plan(workers, config.limits.max_clients);
    config.limits.max_clients = capacity.max_clients;
    let addr = listener.local_addr()?;
    log::info!("node {node}: effective config {:?}", config.redacted());
    let media = switchboard_actors::media::MediaPlane::start(&config.media())?;
    let state = Arc::new(OnceLock::<web::Data<http::NodeState>>::new());
    let app_state = state.clone();
    let server = actix_server::Server::build()
        .workers(workers)
        .disable_signals()
        .shutdown_timeout(1)
        // Past this a worker stops accepting (clients wait in the kernel's backlog) rather than
        // see accepts fail for want of descriptors; the node's own limit answers 503 first.
        // (actix-server's default, 25,600 per worker, knows nothing of the open-file limit.)
        .max_concurrent_connections(capacity.per_worker)
        .listen("switchboard", listener, move || {
            // The first worker to start builds the node (its node-wide actors share that
            // worker's thread).
            let state = app_state
                .get_or_init(|| {
                    let media = media.clone();
                    let state = start_node(node.clone(), &config, capacity, workers, media);
                    let state = web::Data::new(state);
                    let weak = std::sync::Arc::downgrade(&state.clone().into_inner());
                    state.admin.do_send(http::admin::desk::UseNode(weak));
                    http::load::start(&state.clone().into_inner());
                    state
                })
                .clone();
            // Each worker hosts one shard of every room engine: rooms spread over all of them.
            state.core.host_shard();
            // Which node answered: behind a load balancer, operators (and tests) can tell.
            let served_by = DefaultHeaders::new().add((http::NODE_HEADER, node_header.clone()));
            let app = App::new().wrap(served_by).app_data(state.clone()).configure(http::routes);
            // What `HttpServer` would give the app; the app only reads its host and address.
            let app_config = AppConfig::__priv_test_new(false, addr.to_string(), addr);
            let node = state.into_inner();
            // WebSocket upgrades take the TCP stream itself (see `http::upgrade`).
            let upgrade = fn_service(move |(req, framed): (Request, http::upgrade::Framed)| {
                Box::pin(http::upgrade::serve(node.clone(), req, framed))
                    as LocalBoxFuture<'static, Result<(), actix_http::Error>>
            });
            let h1 = HttpService::build()
                .client_request_timeout(http::REQUEST_TIMEOUT)
                .client_disconnect_timeout(Duration::from_secs(1))
                .local_addr(addr)
                .upgrade(upgrade)
                .h1(map_config(app, move |()| app_config.clone()));
            fn_service(|io| std::future::ready(Ok::<_, DispatchError>(accepted(io)))).and_then(h1)
        })?
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        stop_signal().await;
        if let Some(state) = state.get() {
            state.drain().await;
        }
        handle.stop(true).await;
    });
    log::info!("node {}: listening on {addr}", node_header_log);
    server.await
}

/// An accepted connection made ready for HTTP/1 and WebSocket traffic, with its peer's
/// address. Nagle's algorithm is turned off: signals are small and latency-bound, and frames
/// queued together already leave in one write, so it would only hold a signal back until the
/// client acknowledged the previous one (a millisecond and more; see the README's Performance
/// section). Done here because `H1Service::tcp` does not apply the builder's `tcp_nodelay`
/// (only its HTTP/2 paths do).
fn accepted(io: TcpStream) -> (TcpStream, Option<std::net::SocketAddr>) {
    if let Err(e) = io.set_nodelay(true) {
        log::debug!("TCP_NODELAY: {e}");
    }
    let peer = io.peer_addr().ok();
    (io, peer)
}

/// Starts node `node`'s core and Engine.IO registry on the current thread's arbiter.
fn start_node(
    node: NodeId,
    config: &Config,
    capacity: capacity::Capacity,
    workers: usize,
    media: Option<switchboard_actors::media::MediaPlane>,
) -> http::NodeState {
    let eio = actix::Actor::start(http::EioSessions::new(config.limits.pending_per_address));
    let admin = actix::Actor::start(http::admin::desk::AdminDesk::default());
    let webhooks = config.webhooks().expect("the webhooks were checked when the config was loaded");
    let room_quotas = Arc::new(config.room_quotas());
    let (core, feeds) = Core::start(
        node.clone(),
        CoreConfig {
            connection: ConnectionConfig { ping_interval: config.ping_interval() },
            directory: DirectoryConfig { roster_interval: config.roster_interval() },
            cluster: config.cluster(),
            edge: Some(eio.clone().recipient()),
            admin: Some(admin.clone().recipient()),
            hook_tenants: webhooks.keys().cloned().collect(),
            room_quotas: room_quotas.clone(),
            shards: workers,
            signals: switchboard_actors::signals::state::SignalsConfig {
                limits: switchboard_actors::signals::state::Limits {
                    m2m_publishers: config.signals.m2m_publishers,
                    a2m_publishers: config.signals.a2m_publishers,
                },
                media: media.clone(),
            },
            mediasoup: switchboard_actors::mediasoup::media::MediasoupConfig { media },
        },
    );
    webhook::start(&node, webhooks, feeds);
    if let Some(cluster) = core.cluster() {
        eio.do_send(http::UseCluster(cluster.clone()));
    }
    let state = http::NodeState::new(core, config.clone(), eio, admin, room_quotas);
    state
        .metrics
        .max_clients
        .store(capacity.max_clients as u64, std::sync::atomic::Ordering::Relaxed);
    state.metrics.open_files_limit.store(capacity.open_files, std::sync::atomic::Ordering::Relaxed);
    state
}

/// Resolves on the first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => log::info!("SIGTERM received"),
                _ = int.recv() => log::info!("SIGINT received"),
            }
        }
        _ => {
            log::error!("cannot listen for signals; stop the node with SIGKILL");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (io, _) = listener.accept().await.expect("accept");
        assert!(!io.nodelay().expect("nodelay"), "Nagle is on by default");
        let (io, peer) = accepted(io);
        assert!(io.nodelay().expect("nodelay"));
        assert_eq!(peer, Some(client.local_addr().expect("client addr")));
    }
}
