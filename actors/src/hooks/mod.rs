//! Room lifecycle hooks: what a room's home node tells the edge when a room of a tenant that
//! wants to hear of its rooms (its webhook) is created or closed and when a participant joins
//! or leaves. The room's actor announces each once, in the room's order, and never waits for
//! anyone to hear it: the sink ([`HookSink`]) only queues.
//!
//! Where announced hooks wait to be delivered, and how they become events ([`Entry`]):
//!
//! - On a single node, each tenant's events wait in a bounded queue of this node ([`Feed`]'s
//!   local form): each hook is one event.
//! - In a cluster, every node writes its hooks, in order, to the cluster's webhook ledger in
//!   Redis ([`ledger`]), which keeps each room's participants (and the node each is on) beyond
//!   the life of any node, and turns hooks into events exactly once: a room rebuilt on a new
//!   home announcing its survivors again adds nothing, and when a node dies, every node sweeps
//!   its participants out (and closes the rooms that died with it). Each tenant's events wait
//!   in one Redis stream until delivered; one node at a time (holding the tenant's lease)
//!   delivers them, in order, and another takes over within seconds if it dies.

mod ledger;

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use tokio::sync::mpsc;

use crate::{
    cluster::{Cluster, Membership},
    ids::{NodeId, RoomId, Tenant},
};

/// Most events one tenant may have waiting on a single node.
const LOCAL_QUEUE: usize = 10_000;
/// Most events a feed hands over at once.
const BATCH: usize = 32;

/// What happened to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookKind {
    /// Its first participant is in.
    RoomCreated,
    /// Its last participant is out, or it ended.
    RoomClosed,
    /// A participant joined.
    ParticipantJoined,
    /// A participant left (or was removed, or its connection ended).
    ParticipantLeft,
}

impl HookKind {
    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            HookKind::RoomCreated => "room_created",
            HookKind::RoomClosed => "room_closed",
            HookKind::ParticipantJoined => "participant_joined",
            HookKind::ParticipantLeft => "participant_left",
        }
    }
}

/// One thing that happened to a room, on its home node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomHook {
    /// What.
    pub kind: HookKind,
    /// The room's dialect (`rooms`, `signals`, `mediasoup`).
    pub dialect: &'static str,
    /// The room (its tenant with it).
    pub room: RoomId,
    /// The participant, for joins and leaves, and the node it is connected to.
    pub participant: Option<(String, NodeId)>,
    /// The room's home (this node).
    pub home: NodeId,
    /// Which of the room's lives on a home this is: its home's claim of the name (0 on a
    /// single node). A room that dies with its home comes back as another.
    pub instance: u64,
    /// Whether this home took the room over from a dead one (its survivors rebuilt it here),
    /// rather than creating it.
    pub continues: bool,
    /// Whether the room outlives its home (rebuilt on a new one when its home dies).
    pub outlives: bool,
    /// Its place among the room's hooks on this home, from 1.
    pub seq: u64,
}

/// One event as delivered: what happened, to which room, when, where it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique among the tenant's events (a receiver may drop one it has seen).
    pub id: String,
    /// The [`HookKind`]'s name.
    pub event: String,
    /// The room's dialect.
    pub dialect: String,
    /// The room's name (without its tenant).
    pub room: String,
    /// The participant, for joins and leaves.
    pub participant: Option<String>,
    /// The node that recorded it (the room's home, or the node that swept a dead one).
    pub node: String,
    /// Its place among the room's events, from 1.
    pub seq: u64,
    /// When it was recorded, in milliseconds since the Unix epoch.
    pub at: u64,
}

/// Where a node's room actors hand their hooks, and which tenants want them.
#[derive(Clone)]
pub struct HookSink {
    tenants: Arc<HashSet<Tenant>>,
    sink: Arc<dyn Fn(RoomHook) + Send + Sync>,
}

impl fmt::Debug for HookSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookSink").field("tenants", &self.tenants).finish_non_exhaustive()
    }
}

impl HookSink {
    /// Hooks of `tenants`' rooms go to `sink` (which must not block).
    fn new(tenants: HashSet<Tenant>, sink: impl Fn(RoomHook) + Send + Sync + 'static) -> Self {
        Self { tenants: Arc::new(tenants), sink: Arc::new(sink) }
    }

    /// Whether the rooms of `tenant` are announced.
    pub fn wants(&self, tenant: &Tenant) -> bool {
        self.tenants.contains(tenant)
    }

    /// Hands `hook` on.
    pub fn tell(&self, hook: RoomHook) {
        (self.sink)(hook);
    }
}

/// Where one tenant's events wait until delivered. Its deliverer takes a batch
/// ([`Feed::next`]), delivers each in order and reports it ([`Feed::done`]).
pub enum Feed {
    /// A single node's queue.
    Local(mpsc::Receiver<Entry>),
    /// The cluster's ledger: delivered by whichever node holds the tenant's lease.
    Shared {
        /// The node's handle on its cluster.
        cluster: Cluster,
        /// Whose events.
        tenant: Tenant,
    },
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Feed::Local(_) => f.write_str("Feed::Local"),
            Feed::Shared { tenant, .. } => write!(f, "Feed::Shared({tenant})"),
        }
    }
}

impl Feed {
    /// The next events to deliver, oldest first; waits until there are some (in a cluster,
    /// and until this node leads the tenant's deliveries). `None` once no more can come.
    pub async fn next(&mut self) -> Option<Vec<Entry>> {
        match self {
            Feed::Local(queue) => {
                let mut batch = vec![queue.recv().await?];
                while batch.len() < BATCH {
                    let Ok(entry) = queue.try_recv() else { break };
                    batch.push(entry);
                }
                Some(batch)
            }
            Feed::Shared { cluster, tenant } => loop {
                match cluster.lead_hooks(tenant, BATCH).await {
                    Ok(Some(batch)) if !batch.is_empty() => return Some(batch),
                    Ok(Some(_)) => tokio::time::sleep(ledger::IDLE_POLL).await,
                    Ok(None) | Err(_) => tokio::time::sleep(ledger::FOLLOWER_POLL).await,
                }
            },
        }
    }

    /// Whether this node may go on delivering (called while an event is retried, so a
    /// deliverer keeps its lease). Always on a single node.
    pub async fn hold(&mut self) -> bool {
        match self {
            Feed::Local(_) => true,
            Feed::Shared { cluster, tenant } => {
                matches!(cluster.lead_hooks(tenant, 0).await, Ok(Some(_)))
            }
        }
    }

    /// Event `id` was delivered (or given up on): it is removed. False if this node no longer
    /// leads the tenant's deliveries (the rest of its batch is left to the new leader).
    pub async fn done(&mut self, id: &str) -> bool {
        match self {
            Feed::Local(_) => true,
            Feed::Shared { cluster, tenant } => {
                matches!(cluster.hook_delivered(tenant, id).await, Ok(true))
            }
        }
    }
}

/// A node's webhook plumbing: the sink its rooms announce to, each tenant's feed, and (in a
/// cluster) what the ledger must hear of the cluster.
pub struct Hooks {
    /// Where the node's rooms announce themselves.
    pub sink: HookSink,
    /// Each tenant's events, for the edge to deliver.
    pub feeds: HashMap<Tenant, Feed>,
    /// In a cluster: where changes of membership go (a dead node is swept).
    pub membership: Option<Box<dyn Fn(Membership) + Send + Sync>>,
    /// In a cluster: resolves once every hook told so far is in the ledger.
    pub ledger: Option<ledger::Writer>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks").field("sink", &self.sink).field("feeds", &self.feeds).finish()
    }
}

pub use ledger::Writer;

impl Hooks {
    /// The hooks of `tenants`' rooms on node `node`: queued here on a single node, written to
    /// `cluster`'s ledger otherwise. Starts the ledger's writer on the current runtime.
    pub fn start(node: &NodeId, tenants: HashSet<Tenant>, cluster: Option<&Cluster>) -> Self {
        match cluster {
            None => Self::local(node, tenants),
            Some(cluster) => {
                let writer = ledger::Writer::start(cluster.clone());
                let feeds = tenants
                    .iter()
                    .map(|t| {
                        (t.clone(), Feed::Shared { cluster: cluster.clone(), tenant: t.clone() })
                    })
                    .collect();
                let (records, sweeps) = (writer.clone(), writer.clone());
                Self {
                    sink: HookSink::new(tenants, move |hook| records.record(hook)),
                    feeds,
                    membership: Some(Box::new(move |change| {
                        if let Membership::Down(node) = change {
                            sweeps.sweep(node);
                        }
                    })),
                    ledger: Some(writer),
                }
            }
        }
    }

    fn local(node: &NodeId, tenants: HashSet<Tenant>) -> Self {
        let mut queues = HashMap::new();
        let mut feeds = HashMap::new();
        for tenant in &tenants {
            let (tx, rx) = mpsc::channel(LOCAL_QUEUE);
            queues.insert(tenant.clone(), tx);
            feeds.insert(tenant.clone(), Feed::Local(rx));
        }
        let next = AtomicU64::new(1);
        let node = node.clone();
        let sink = HookSink::new(tenants, move |hook: RoomHook| {
            let Some(queue) = queues.get(hook.room.tenant()) else { return };
            let id = format!("{node}-{}", next.fetch_add(1, Ordering::Relaxed));
            if let Err(e) = queue.try_send(entry(&hook, id, &node, now_ms())) {
                log::warn!("webhook: tenant queue full or gone, an event is dropped: {e}");
            }
        });
        Self { sink, feeds, membership: None, ledger: None }
    }
}

/// `hook` as event `id`, recorded by `node` at `at`.
fn entry(hook: &RoomHook, id: String, node: &NodeId, at: u64) -> Entry {
    Entry {
        id,
        event: hook.kind.name().to_owned(),
        dialect: hook.dialect.to_owned(),
        room: hook.room.as_str().to_owned(),
        participant: hook.participant.as_ref().map(|(p, _)| p.clone()),
        node: node.name().to_owned(),
        seq: hook.seq,
        at,
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
