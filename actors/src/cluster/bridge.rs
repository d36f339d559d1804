//! `BridgeActor`: the node's Redis connections and its view of which peers are alive.
//!
//! Started once per clustered node by [`crate::node::Core::start`]. It runs two tasks: the
//! subscriber (connects with capped backoff, reads this node's inbox, routes each frame by topic
//! straight to the actor that owns it, and hands the command connection to the handle) and the
//! publisher (drains the handle's queue and pipelines every queued `PUBLISH` in one round trip).
//! The actor itself heartbeats, folds readings into [`Liveness`], sweeps dead peers and tells
//! every listener of a [`Membership`] change.

use std::time::{Duration, Instant};

use actix::{
    Actor, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, Recipient,
    ResponseActFuture, WrapFuture,
};
use futures_util::StreamExt;
use redis::{aio::ConnectionManager, Value};
use serde::{Deserialize, Serialize};

use super::{
    scripts, Change, Cluster, ClusterError, Dropped, Frame, Inbox, Liveness, Membership, Out, Pace,
    Plumbing, Topic, OP_TIMEOUT,
};
use crate::ids::NodeId;

/// Most frames pipelined in one round trip.
const MAX_BATCH: usize = 1024;
/// Backoff between reconnection attempts: doubles from the first value up to the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// How long a sweep marker tells a swept node that it was declared dead.
const SWEPT_MARKER_TTL_MS: u64 = 24 * 3600 * 1000;

/// One receiver of what the bridge routes: an actor's mailbox, or an engine's shards.
type Deliver<T> = std::sync::Arc<dyn Fn(T) + Send + Sync>;

/// Where the bridge delivers what it receives: a registry of topics, so a new dialect is one
/// more [`Routes::topic`] where the node starts its actors, not a field here.
#[derive(Clone, Default)]
pub struct Routes {
    /// Who takes each topic's frames (the bridge itself takes [`Topic::Node`]).
    topics: std::collections::HashMap<Topic, Deliver<Inbox>>,
    /// Everyone told of membership changes.
    members: Vec<Deliver<Membership>>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("topics", &self.topics.keys().collect::<Vec<_>>())
            .field("members", &self.members.len())
            .finish()
    }
}

impl Routes {
    /// These routes, with `topic`'s frames delivered to actor `to`.
    pub fn topic(self, topic: Topic, to: Recipient<Inbox>) -> Self {
        self.topic_with(topic, move |msg| to.do_send(msg))
    }

    /// These routes, with `topic`'s frames handed to `to` (on the bridge's reading task: `to`
    /// must only dispatch).
    pub fn topic_with(mut self, topic: Topic, to: impl Fn(Inbox) + Send + Sync + 'static) -> Self {
        self.topics.insert(topic, std::sync::Arc::new(to));
        self
    }

    /// These routes, with actor `to` told of every membership change.
    pub fn member(self, to: Recipient<Membership>) -> Self {
        self.member_with(move |change| to.do_send(change))
    }

    /// Hands `msg` to whoever takes `topic`'s frames; false if nobody does.
    pub(super) fn deliver(&self, topic: Topic, msg: Inbox) -> bool {
        let Some(to) = self.topics.get(&topic) else { return false };
        to(msg);
        true
    }

    /// These routes, with `to` told of every membership change.
    pub fn member_with(mut self, to: impl Fn(Membership) + Send + Sync + 'static) -> Self {
        self.members.push(std::sync::Arc::new(to));
        self
    }
}

/// Deregister this node: tell every peer it is leaving, release its names, drop its entry.
///
/// Sender: the edge, at the end of a drain. Handler: `BridgeActor`. Replies once done (or once
/// it is clear Redis cannot be reached).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Leave;

/// The body of a `node` topic frame.
#[derive(Debug, Serialize, Deserialize)]
enum NodeFrame {
    /// The sender is leaving the cluster now.
    Left,
}

/// One heartbeat's view of the cluster.
#[derive(Debug, Default)]
struct Reading {
    added: bool,
    swept: bool,
    alive: Vec<NodeId>,
    expired: Vec<NodeId>,
}

#[derive(Debug, Message)]
#[rtype(result = "()")]
enum Link {
    Connected,
    Disconnected,
}

/// The node's bridge to Redis. See the module docs.
#[derive(Debug)]
pub struct BridgeActor {
    cluster: Cluster,
    liveness: Liveness,
    routes: Routes,
    plumbing: Option<Plumbing>,
    beating: bool,
    leaving: bool,
    connected_before: bool,
}

impl std::fmt::Debug for Plumbing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plumbing")
    }
}

impl BridgeActor {
    /// Creates the handle of a clustered node `node`; `start` then gets the bridge running once
    /// the actors it routes to exist.
    pub fn handle(node: NodeId, config: super::ClusterConfig) -> (Cluster, BridgeStarter) {
        let (cluster, plumbing) = Cluster::new(node, config);
        (cluster.clone(), BridgeStarter { cluster, plumbing })
    }

    fn tell(&self, change: Membership) {
        for listener in &self.routes.members {
            listener(change.clone());
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.beating || self.leaving {
            return;
        }
        self.beating = true;
        let cluster = self.cluster.clone();
        let beat = async move { read_heartbeat(&cluster).await };
        ctx.spawn(beat.into_actor(self).map(|reading, this, ctx| {
            this.beating = false;
            match reading {
                Ok(reading) => this.on_reading(reading, ctx),
                Err(_) => this.cluster.set_healthy(false),
            }
        }));
    }

    fn on_reading(&mut self, reading: Reading, ctx: &mut Context<Self>) {
        if self.leaving {
            return;
        }
        self.cluster.set_healthy(true);
        log::trace!("node {}: heartbeat {reading:?}", self.cluster.node());
        if reading.swept {
            log::warn!("node {}: peers declared this node dead; rejoining", self.cluster.node());
            for change in self.liveness.reset() {
                self.on_change(change, ctx);
            }
        }
        if reading.added || reading.swept {
            self.tell(Membership::Reclaim);
        }
        let changes = self.liveness.observe(Instant::now(), &reading.alive, &reading.expired);
        for change in changes {
            self.on_change(change, ctx);
        }
    }

    /// Tells listeners of `change`; a death is swept first, so the dead node's names are free
    /// by the time anyone hears of it.
    fn on_change(&mut self, change: Change, ctx: &mut Context<Self>) {
        self.cluster.set_peers(self.liveness.peers().cloned().collect());
        match change {
            Change::Up(node) => {
                log::info!("node {}: peer {node} is up", self.cluster.node());
                self.tell(Membership::Up(node));
            }
            Change::Down(node) => {
                log::warn!("node {}: peer {node} is down", self.cluster.node());
                let cluster = self.cluster.clone();
                let dead = node.clone();
                let sweep = async move { sweep(&cluster, &dead).await };
                ctx.spawn(sweep.into_actor(self).map(move |_, this, _| {
                    this.tell(Membership::Down(node));
                }));
            }
        }
    }
}

/// A bridge that is created but not yet running. See [`BridgeActor::handle`].
pub struct BridgeStarter {
    cluster: Cluster,
    plumbing: Plumbing,
}

impl std::fmt::Debug for BridgeStarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeStarter").field("cluster", &self.cluster).finish()
    }
}

impl BridgeStarter {
    /// Starts the bridge on the current arbiter, delivering to `routes`.
    pub fn start(self, routes: Routes) -> Addr<BridgeActor> {
        let config = self.cluster.config();
        let pace = Pace {
            ttl: config.node_ttl,
            interval: config.heartbeat_interval,
            // A peer reconnects within its longest backoff, then heartbeats at once; a second
            // of slack for the connection itself.
            rejoin: BACKOFF.1 + config.heartbeat_interval + Duration::from_secs(1),
        };
        BridgeActor {
            liveness: Liveness::new(self.cluster.node().clone(), pace),
            cluster: self.cluster,
            routes,
            plumbing: Some(self.plumbing),
            beating: false,
            leaving: false,
            connected_before: false,
        }
        .start()
    }
}

impl Actor for BridgeActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let Some(Plumbing { out, conn }) = self.plumbing.take() else { return };
        actix::spawn(publish_loop(self.cluster.clone(), out));
        actix::spawn(subscribe_loop(
            self.cluster.clone(),
            conn,
            self.routes.clone(),
            ctx.address(),
        ));
        ctx.run_interval(self.cluster.config().heartbeat_interval, Self::heartbeat);
    }
}

impl Handler<Link> for BridgeActor {
    type Result = ();

    fn handle(&mut self, msg: Link, ctx: &mut Context<Self>) {
        match msg {
            Link::Connected => {
                if std::mem::replace(&mut self.connected_before, true) {
                    // Frames published to us while the subscription was down are lost.
                    self.tell(Membership::Resync);
                }
                self.heartbeat(ctx);
            }
            Link::Disconnected => self.cluster.set_healthy(false),
        }
    }
}

impl Handler<Inbox> for BridgeActor {
    type Result = ();

    fn handle(&mut self, msg: Inbox, ctx: &mut Context<Self>) {
        match serde_json::from_slice::<NodeFrame>(&msg.body) {
            Ok(NodeFrame::Left) => {
                log::info!("node {}: peer {} left the cluster", self.cluster.node(), msg.origin);
                if let Some(change) = self.liveness.left(&msg.origin) {
                    self.on_change(change, ctx);
                }
            }
            Err(e) => log::warn!("bad node frame from {}: {e}", msg.origin),
        }
    }
}

impl Handler<Leave> for BridgeActor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _msg: Leave, _ctx: &mut Context<Self>) -> Self::Result {
        self.leaving = true;
        if let Ok(frame) = self.cluster.frame(Topic::Node, &NodeFrame::Left) {
            for peer in self.liveness.peers() {
                let _ = self.cluster.publish(peer, &frame);
            }
        }
        let cluster = self.cluster.clone();
        Box::pin(
            async move {
                cluster.flush().await;
                if deregister(&cluster).await.is_ok() {
                    log::info!("node {}: left the cluster", cluster.node());
                }
                cluster.set_healthy(false);
            }
            .into_actor(self),
        )
    }
}

/// Releases every name this node holds and drops its entry.
async fn deregister(cluster: &Cluster) -> Result<(), ClusterError> {
    let k = &cluster.inner.keys;
    let me = cluster.node();
    let mut inv = scripts::LEAVE.prepare_invoke();
    inv.key(k.nodes()).key(k.names()).key(k.owned(me)).arg(me.as_str());
    cluster.invoke::<i64>(inv).await.map(drop).inspect_err(|e| {
        log::warn!("node {me}: could not deregister: {e}");
    })
}

/// Runs the heartbeat script and parses its reply.
async fn read_heartbeat(cluster: &Cluster) -> Result<Reading, ClusterError> {
    let k = &cluster.inner.keys;
    let me = cluster.node();
    let ttl = cluster.config().node_ttl.as_millis() as u64;
    let mut inv = scripts::HEARTBEAT.prepare_invoke();
    inv.key(k.nodes()).key(k.swept(me)).arg(me.as_str()).arg(ttl);
    let sent = Instant::now();
    let values: Vec<Value> = cluster.invoke(inv).await?;
    cluster.traffic().heartbeat_took(sent.elapsed());
    let mut reading = Reading::default();
    let mut iter = values.into_iter();
    let flag = |v: Option<Value>| matches!(v, Some(Value::Int(n)) if n > 0);
    reading.added = flag(iter.next());
    reading.swept = flag(iter.next());
    let mut past_separator = false;
    for value in iter {
        let Value::BulkString(bytes) = value else { continue };
        let Ok(name) = std::str::from_utf8(&bytes) else { continue };
        match (name.is_empty(), past_separator) {
            (true, _) => past_separator = true,
            (false, false) => reading.alive.push(NodeId::new(name)),
            (false, true) => reading.expired.push(NodeId::new(name)),
        }
    }
    Ok(reading)
}

/// Sweeps dead node `dead` (idempotent; a no-op if it heartbeated again).
async fn sweep(cluster: &Cluster, dead: &NodeId) {
    let k = &cluster.inner.keys;
    let ttl = cluster.config().node_ttl.as_millis() as u64;
    let mut inv = scripts::SWEEP.prepare_invoke();
    inv.key(k.nodes()).key(k.names()).key(k.owned(dead)).key(k.swept(dead));
    inv.arg(dead.as_str()).arg(ttl).arg(SWEPT_MARKER_TTL_MS);
    match cluster.invoke::<i64>(inv).await {
        Ok(-1) => log::info!("node {}: {dead} is alive after all", cluster.node()),
        Ok(n) => log::info!("node {}: swept {dead}, released {n} names", cluster.node()),
        Err(e) => log::warn!("node {}: could not sweep {dead}: {e}", cluster.node()),
    }
}

/// Drains the handle's queue, pipelining every frame queued meanwhile into one round trip.
async fn publish_loop(cluster: Cluster, mut out: tokio::sync::mpsc::Receiver<Out>) {
    let mut channels = std::collections::HashMap::<NodeId, String>::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while out.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut pipe = redis::pipe();
        let mut frames = 0usize;
        let mut flushed = Vec::new();
        for item in batch.drain(..) {
            match item {
                Out::Frame(to, Frame(bytes)) => {
                    let channel =
                        channels.entry(to).or_insert_with_key(|to| cluster.inner.keys.inbox(to));
                    pipe.cmd("PUBLISH").arg(channel.as_str()).arg(bytes.as_ref()).ignore();
                    frames += 1;
                }
                Out::Flush(done) => flushed.push(done),
            }
        }
        if frames > 0 {
            match cluster.conn() {
                Ok(mut conn) => {
                    let sent = tokio::time::timeout(OP_TIMEOUT, pipe.query_async::<()>(&mut conn));
                    if !matches!(sent.await, Ok(Ok(()))) {
                        log::warn!("node {}: dropped {frames} frames: redis", cluster.node());
                        cluster.set_healthy(false);
                    }
                }
                Err(_) => log::warn!("node {}: dropped {frames} frames: no redis", cluster.node()),
            }
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

/// Keeps a subscription to this node's inbox (reconnecting with capped backoff) and the command
/// connection the handle uses; routes every received frame by topic.
async fn subscribe_loop(
    cluster: Cluster,
    conn: tokio::sync::watch::Sender<Option<ConnectionManager>>,
    routes: Routes,
    bridge: Addr<BridgeActor>,
) {
    let me = cluster.node().clone();
    let inbox = cluster.inner.keys.inbox(&me);
    let mut backoff = BACKOFF.0;
    let mut failures = 0u32;
    loop {
        match connect(&cluster, &inbox).await {
            Ok((manager, mut pubsub)) => {
                log::info!("node {me}: connected to redis, reading {inbox}");
                backoff = BACKOFF.0;
                failures = 0;
                conn.send_replace(Some(manager));
                bridge.do_send(Link::Connected);
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    cluster.traffic().received_one();
                    route(&me, msg.get_payload_bytes(), &routes, &bridge);
                }
                conn.send_replace(None);
                bridge.do_send(Link::Disconnected);
                log::warn!("node {me}: lost the redis subscription; reconnecting");
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_multiple_of(20) {
                    log::warn!("node {me}: cannot reach redis ({failures} attempts): {e}");
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

async fn connect(
    cluster: &Cluster,
    inbox: &str,
) -> redis::RedisResult<(ConnectionManager, redis::aio::PubSub)> {
    let client = redis::Client::open(cluster.config().redis_url.as_str())?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(OP_TIMEOUT)
        .set_response_timeout(OP_TIMEOUT)
        .set_number_of_retries(2)
        .set_max_delay(1000);
    let connecting = async {
        let manager = client.get_connection_manager_with_config(config).await?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(inbox).await?;
        Ok((manager, pubsub))
    };
    tokio::time::timeout(OP_TIMEOUT * 2, connecting).await.unwrap_or_else(|_| {
        Err(redis::RedisError::from((redis::ErrorKind::IoError, "connection timed out")))
    })
}

fn route(me: &NodeId, raw: &[u8], routes: &Routes, bridge: &Addr<BridgeActor>) {
    let (topic, origin, body) = match Frame::decode(raw) {
        Ok(frame) => frame,
        Err(Dropped::Malformed) => {
            log::warn!("node {me}: malformed cluster frame ({} bytes)", raw.len());
            return;
        }
        Err(Dropped::Version(version)) => {
            log::warn!(
                "node {me}: dropped a cluster frame of another version ({version:?}; this node \
                 speaks {})",
                super::frame::VERSION
            );
            return;
        }
    };
    if origin == *me {
        return;
    }
    let msg = Inbox { origin, body: bytes::Bytes::copy_from_slice(body) };
    if topic == Topic::Node {
        bridge.do_send(msg);
    } else {
        let origin = msg.origin.clone();
        if !routes.deliver(topic, msg) {
            log::debug!("node {me}: {topic:?} frame from {origin} dropped: nobody takes it");
        }
    }
}
