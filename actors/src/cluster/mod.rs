//! The cluster: how a node finds its peers, claims cluster-wide names and reaches things that
//! live on other nodes, through one Redis.
//!
//! - Every node has an **inbox channel**; a message for something on node N is one `PUBLISH` to
//!   N's inbox, never a broadcast to every node. A broadcast (presence) is one publish per peer,
//!   encoded once. Publishes are queued without blocking and pipelined by one task.
//! - **Names** (a `cmd` sId, later rooms) are claimed atomically in one hash, each recording its
//!   owner node, plus a per-node set so a dead node's names can be released without a scan.
//! - **Liveness**: each node refreshes its score in a sorted set every heartbeat interval (Redis
//!   clock). A peer whose score is older than the TTL is dead: every node that notices sweeps it
//!   (an idempotent script releases its names) and tells its own actors, so its clients' peers
//!   hear of it within TTL + one interval.
//! - Redis holds nothing a node cannot rebuild: a node whose entry vanished (Redis restarted
//!   empty, or it was swept while cut off) claims its names again and resends its presence.
//!
//! [`Cluster`] is the cheap, cloneable handle the core publishes and claims through;
//! [`BridgeActor`] owns the Redis connections and the liveness of peers.

mod bridge;
mod frame;
mod keys;
mod ledger;
mod liveness;
#[cfg(test)]
pub mod memory;
mod reports;
mod scripts;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use actix::Message;
use bytes::Bytes;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, oneshot, watch};

pub use bridge::{BridgeActor, Leave, Routes};
pub use frame::{Dropped, Frame, Topic};
pub use liveness::{Change, Liveness, Pace};

use crate::ids::{Named, NodeId};
use keys::Keys;

/// Most frames queued for publishing before publishes fail as unavailable.
const OUTBOX_CAPACITY: usize = 65_536;
/// Longest a claim, release or lookup may take before it counts as Redis being unreachable.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// How a node joins its cluster.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://host:port[/db]` or `redis+unix:///path`.
    pub redis_url: String,
    /// Prefix of every key and channel, so several clusters can share one Redis.
    pub prefix: String,
    /// Time between two heartbeats of this node.
    pub heartbeat_interval: Duration,
    /// A peer silent for longer than this is dead.
    pub node_ttl: Duration,
}

/// Why a cluster operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// Redis is unreachable (or the publish queue is full); retrying later may work.
    #[error("cluster unavailable")]
    Unavailable,
    /// Another node holds the name.
    #[error("name taken")]
    Taken,
}

/// A frame from another node, for the actor owning its topic.
///
/// Sender: the bridge's subscriber task. Handler: the topic's owner (the directory for `cmd`).
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Inbox {
    /// The node that sent it.
    pub origin: NodeId,
    /// The topic's JSON body.
    pub body: Bytes,
}

/// A change in the cluster, for every actor that keeps state about other nodes.
///
/// Sender: `BridgeActor`. Handlers: the directory (and later the room homes).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum Membership {
    /// A peer appeared: send it what it must know about this node.
    Up(NodeId),
    /// A peer is gone (dead, or left cleanly): forget it; its clients left.
    Down(NodeId),
    /// This node's registration vanished (Redis restarted empty, or a sweep after it was cut
    /// off): claim its names again.
    Reclaim,
    /// Messages from peers may have been lost (the subscription broke): resynchronise.
    Resync,
}

pub(crate) enum Out {
    Frame(NodeId, Frame),
    Flush(oneshot::Sender<()>),
}

struct Inner {
    node: NodeId,
    config: ClusterConfig,
    keys: Keys,
    out: mpsc::Sender<Out>,
    conn: watch::Receiver<Option<ConnectionManager>>,
    healthy: AtomicBool,
    /// What crossed between this node and the others.
    traffic: Traffic,
    /// The peers this node sees alive (written by the bridge on every change).
    peers: watch::Sender<Arc<[NodeId]>>,
}

/// What crossed between a node and the others, for its metrics.
#[derive(Debug, Default)]
pub struct Traffic {
    sent: AtomicU64,
    received: AtomicU64,
    redis_rtt_us: AtomicU64,
}

impl Traffic {
    /// Frames queued for other nodes.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Frames received from other nodes.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The last heartbeat's round trip to Redis.
    pub fn redis_rtt(&self) -> Duration {
        Duration::from_micros(self.redis_rtt_us.load(Ordering::Relaxed))
    }

    fn received_one(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    fn heartbeat_took(&self, rtt: Duration) {
        let micros = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        self.redis_rtt_us.store(micros, Ordering::Relaxed);
    }
}

/// The node's handle on the cluster. Cheap to clone; `Send + Sync`, so connection actors on
/// every worker thread publish through it directly.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
    /// Tests of the core: an in-process bus instead of Redis.
    #[cfg(test)]
    memory: Option<memory::MemoryBus>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.inner.node)
            .field("healthy", &self.is_healthy())
            .finish_non_exhaustive()
    }
}

/// What [`BridgeActor::start`] needs beyond the handle: the ends of the channels the handle
/// feeds.
pub(crate) struct Plumbing {
    out: mpsc::Receiver<Out>,
    conn: watch::Sender<Option<ConnectionManager>>,
}

impl Cluster {
    /// A handle for node `node`, and the plumbing its bridge takes over.
    fn new(node: NodeId, config: ClusterConfig) -> (Self, Plumbing) {
        let (out_tx, out_rx) = mpsc::channel(OUTBOX_CAPACITY);
        let (conn_tx, conn_rx) = watch::channel(None);
        let keys = Keys::new(&config.prefix);
        let inner = Inner {
            node,
            config,
            keys,
            out: out_tx,
            conn: conn_rx,
            healthy: AtomicBool::new(false),
            peers: watch::Sender::new(Arc::from([])),
            traffic: Traffic::default(),
        };
        let cluster = Self {
            inner: Arc::new(inner),
            #[cfg(test)]
            memory: None,
        };
        (cluster, Plumbing { out: out_rx, conn: conn_tx })
    }

    /// This node.
    pub fn node(&self) -> &NodeId {
        &self.inner.node
    }

    /// The cluster's configuration.
    pub fn config(&self) -> &ClusterConfig {
        &self.inner.config
    }

    /// Whether Redis answered the last heartbeat.
    pub fn is_healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// What crossed between this node and the others.
    pub fn traffic(&self) -> &Traffic {
        &self.inner.traffic
    }

    /// How many peer nodes this node currently sees alive.
    pub fn peers(&self) -> usize {
        self.inner.peers.borrow().len()
    }

    /// The peer nodes this node currently sees alive.
    pub fn peer_ids(&self) -> Arc<[NodeId]> {
        self.inner.peers.borrow().clone()
    }

    fn set_peers(&self, peers: Arc<[NodeId]>) {
        self.inner.peers.send_replace(peers);
    }

    fn set_healthy(&self, healthy: bool) {
        if self.inner.healthy.swap(healthy, Ordering::Relaxed) != healthy {
            if healthy {
                log::info!("node {}: cluster reachable", self.inner.node);
            } else {
                log::warn!("node {}: cluster unreachable", self.inner.node);
            }
        }
    }

    /// Encodes `body` for `topic` as a frame from this node.
    pub fn frame(&self, topic: Topic, body: &impl serde::Serialize) -> Result<Frame, ClusterError> {
        Frame::encode(&self.inner.node, topic, body).map_err(|e| {
            log::error!("cannot encode a cluster frame: {e}");
            ClusterError::Unavailable
        })
    }

    /// Queues `frame` for node `to`'s inbox. Never waits; fails at once while Redis is
    /// unreachable, so the caller can tell its client.
    pub fn publish(&self, to: &NodeId, frame: &Frame) -> Result<(), ClusterError> {
        #[cfg(test)]
        if let Some(bus) = &self.memory {
            return bus.publish(&self.inner.node, to, frame);
        }
        if !self.is_healthy() {
            return Err(ClusterError::Unavailable);
        }
        self.inner
            .out
            .try_send(Out::Frame(to.clone(), frame.clone()))
            .map_err(|_| ClusterError::Unavailable)?;
        self.inner.traffic.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Encodes `body` once and queues it for node `to`.
    pub fn send(
        &self,
        to: &NodeId,
        topic: Topic,
        body: &impl serde::Serialize,
    ) -> Result<(), ClusterError> {
        self.publish(to, &self.frame(topic, body)?)
    }

    /// Resolves once every frame queued before the call has been handed to Redis (or dropped
    /// because Redis is unreachable).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.inner.out.send(Out::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    fn conn(&self) -> Result<ConnectionManager, ClusterError> {
        self.inner.conn.borrow().clone().ok_or(ClusterError::Unavailable)
    }

    /// Runs one script invocation with the op timeout.
    async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, ClusterError> {
        let mut conn = self.conn()?;
        match tokio::time::timeout(OP_TIMEOUT, invocation.invoke_async(&mut conn)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                log::warn!("node {}: redis: {e}", self.inner.node);
                Err(ClusterError::Unavailable)
            }
            Err(_) => Err(ClusterError::Unavailable),
        }
    }

    /// The claims hash's field of `name` in `namespace`: `namespace:name` in the default
    /// tenant, `namespace@tenant:name` in another (a tenant's name has no `:`, so no name of
    /// one tenant spells another's).
    fn field(namespace: &str, name: &(impl Named + ?Sized)) -> String {
        match name.tenant().name() {
            None => format!("{namespace}:{}", name.as_str()),
            Some(tenant) => format!("{namespace}@{tenant}:{}", name.as_str()),
        }
    }

    /// Claims `name` in `namespace` for this node, cluster-wide. Returns the claim's
    /// cluster-wide sequence number (claims are listed in that order).
    pub async fn claim(&self, namespace: &str, name: &impl Named) -> Result<u64, ClusterError> {
        #[cfg(test)]
        if let Some(bus) = &self.memory {
            return bus.claim(&self.inner.node, Self::field(namespace, name));
        }
        let k = &self.inner.keys;
        let mut inv = scripts::CLAIM.prepare_invoke();
        inv.key(k.names()).key(k.owned(&self.inner.node)).key(k.seq());
        inv.arg(Self::field(namespace, name)).arg(self.inner.node.as_str());
        let seq: i64 = self.invoke(inv).await?;
        u64::try_from(seq).map_err(|_| ClusterError::Taken)
    }

    /// Releases this node's claim `seq` of `name` in `namespace` (a newer claim of the same
    /// name is left alone).
    pub async fn release(
        &self,
        namespace: &str,
        name: &impl Named,
        seq: u64,
    ) -> Result<(), ClusterError> {
        #[cfg(test)]
        if let Some(bus) = &self.memory {
            return bus.release(&self.inner.node, &Self::field(namespace, name), seq);
        }
        let k = &self.inner.keys;
        let mut inv = scripts::RELEASE.prepare_invoke();
        inv.key(k.names()).key(k.owned(&self.inner.node));
        inv.arg(Self::field(namespace, name)).arg(format!("{}|{seq}", self.inner.node));
        self.invoke::<i64>(inv).await.map(drop)
    }

    /// Releases claim `seq` as [`Cluster::release`] does; while Redis cannot be reached, keeps
    /// trying in the background (every second, for 30 s) and resolves at once.
    pub async fn release_or_retry<N>(&self, namespace: &str, name: &N, seq: u64)
    where
        N: Named + Clone + Send + Sync + 'static,
    {
        if self.release(namespace, name, seq).await.is_ok() {
            return;
        }
        let (cluster, namespace, name) = (self.clone(), namespace.to_owned(), name.clone());
        tokio::spawn(async move {
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if cluster.release(&namespace, &name, seq).await.is_ok() {
                    return;
                }
            }
        });
    }

    /// The node holding `name` in `namespace`, if any.
    pub async fn lookup(
        &self,
        namespace: &str,
        name: &impl Named,
    ) -> Result<Option<NodeId>, ClusterError> {
        #[cfg(test)]
        if let Some(bus) = &self.memory {
            return bus.lookup(&Self::field(namespace, name));
        }
        let mut conn = self.conn()?;
        let mut cmd = redis::cmd("HGET");
        cmd.arg(self.inner.keys.names()).arg(Self::field(namespace, name));
        let get = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(OP_TIMEOUT, get).await {
            Ok(Ok(claim)) => Ok(claim
                .as_deref()
                .and_then(|c| c.rsplit_once('|'))
                .map(|(node, _)| NodeId::new(node))),
            _ => Err(ClusterError::Unavailable),
        }
    }
}
