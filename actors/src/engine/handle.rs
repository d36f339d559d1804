//! [`Engine`]: one dialect's engine on one node, as a cheap handle: the doors of its shards,
//! and which shard owns a member or a room.

use std::{
    hash::BuildHasher,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use actix::{Actor, AsyncContext};
use tokio::sync::mpsc;

use super::{
    quota::RoomQuotas,
    seat::Seat,
    shard::{Input, Shard},
    Rules,
};
use crate::{
    cluster::{Cluster, Inbox, Membership},
    hooks::HookSink,
    ids::{NodeId, RoomId},
    link::ClientLink,
};

/// What one shard holds now, for the node's metrics.
#[derive(Debug, Default)]
pub struct ShardLoad {
    /// Rooms homed here in this shard.
    pub rooms: AtomicU64,
    /// Members connected here in this shard.
    pub members: AtomicU64,
}

struct Inner<R: Rules> {
    node: NodeId,
    cluster: Option<Cluster>,
    config: R::Config,
    doors: Vec<mpsc::UnboundedSender<Input<R>>>,
    /// Each shard's receiving end until a worker hosts it.
    unhosted: Mutex<Vec<Option<mpsc::UnboundedReceiver<Input<R>>>>>,
    next: AtomicUsize,
    hasher: foldhash::fast::RandomState,
    load: Vec<ShardLoad>,
    hooks: Option<HookSink>,
    quotas: Arc<RoomQuotas>,
}

/// One dialect's engine on one node. Cheap to clone, `Send + Sync`: every worker's
/// connections reach their shards through it. See the module docs of [`super`].
pub struct Engine<R: Rules> {
    inner: Arc<Inner<R>>,
}

impl<R: Rules> Clone for Engine<R> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

impl<R: Rules> std::fmt::Debug for Engine<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("dialect", &R::NAMESPACE)
            .field("node", &self.inner.node)
            .field("shards", &self.inner.doors.len())
            .finish_non_exhaustive()
    }
}

impl<R: Rules> Engine<R> {
    /// The engine of node `node` with `shards` shards (at least one), clustered when `cluster`
    /// is given. Nothing runs until each shard is hosted ([`Engine::host_next`]); what is sent
    /// to a shard meanwhile waits for it.
    pub fn new(node: NodeId, cluster: Option<Cluster>, config: R::Config, shards: usize) -> Self {
        let (doors, receivers) = (0..shards.max(1)).map(|_| mpsc::unbounded_channel()).unzip();
        let receivers: Vec<_> = Vec::into_iter(receivers).map(Some).collect();
        let load = receivers.iter().map(|_| ShardLoad::default()).collect();
        Self {
            inner: Arc::new(Inner {
                node,
                cluster,
                config,
                doors,
                unhosted: Mutex::new(receivers),
                next: AtomicUsize::new(0),
                hasher: foldhash::fast::RandomState::default(),
                load,
                hooks: None,
                quotas: Arc::default(),
            }),
        }
    }

    /// The same engine, its rooms announcing themselves to `hooks` ([`crate::hooks`]) and
    /// counted in `quotas` (shared by the node's engines). Only before the engine is shared
    /// (at its node's start).
    pub fn with_tenancy(mut self, hooks: Option<HookSink>, quotas: Arc<RoomQuotas>) -> Self {
        let inner = Arc::get_mut(&mut self.inner).expect("set before the engine is shared");
        (inner.hooks, inner.quotas) = (hooks, quotas);
        self
    }

    /// Each tenant's rooms on this node.
    pub(super) fn quotas(&self) -> &RoomQuotas {
        &self.inner.quotas
    }

    /// Where its rooms announce themselves, if anywhere.
    pub fn hooks(&self) -> Option<&HookSink> {
        self.inner.hooks.as_ref()
    }

    /// Starts the next shard not yet running on the current thread's arbiter; false when
    /// every shard runs already.
    pub fn host_next(&self) -> bool {
        let index = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let receiver = {
            let mut unhosted =
                self.inner.unhosted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            unhosted.get_mut(index).and_then(Option::take)
        };
        let Some(receiver) = receiver else { return false };
        let thread = std::thread::current();
        let (node, dialect) = (self.node(), R::NAMESPACE);
        log::info!("node {node}: {dialect} shard {index} runs on thread {:?}", thread.name());
        let shard = Shard::new(index, self.clone());
        Shard::create(move |ctx| {
            ctx.add_stream(super::shard::Door(receiver));
            shard
        });
        true
    }

    /// Starts every shard not yet running on the current thread's arbiter.
    pub fn host_all(&self) {
        while self.host_next() {}
    }

    /// This node.
    pub fn node(&self) -> &NodeId {
        &self.inner.node
    }

    /// The node's cluster, if clustered.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.inner.cluster.as_ref()
    }

    /// What each room is configured with.
    pub fn config(&self) -> &R::Config {
        &self.inner.config
    }

    /// How many shards the engine has.
    pub fn shards(&self) -> usize {
        self.inner.doors.len()
    }

    /// What each shard holds now.
    pub fn load(&self) -> &[ShardLoad] {
        &self.inner.load
    }

    /// The shard that owns member `member` on this node.
    pub(super) fn member_shard(&self, member: &R::Member) -> usize {
        self.shard_of(member)
    }

    /// The shard that owns room `room` if it is homed on this node.
    pub(super) fn room_shard(&self, room: &RoomId) -> usize {
        self.shard_of(room)
    }

    fn shard_of(&self, key: &impl std::hash::Hash) -> usize {
        let shards = self.shards();
        if shards == 1 {
            return 0;
        }
        (self.inner.hasher.hash_one(key) % shards as u64) as usize
    }

    /// Queues `input` for shard `shard`; dropped if the node is shutting down.
    pub(super) fn send(&self, shard: usize, input: Input<R>) {
        let _ = self.inner.doors[shard].send(input);
    }

    /// Seats member `member`, reached through `link`; the seat's drop unseats it.
    pub fn seat(&self, member: R::Member, link: ClientLink) -> Seat<R> {
        Seat::new(self.clone(), member, link)
    }

    /// The bus's way into this engine: a frame of the dialect's topic from another node.
    pub fn inbox(&self) -> impl Fn(Inbox) + Send + Sync + 'static {
        let engine = self.clone();
        move |msg| engine.receive(msg)
    }

    /// The bus's way to tell this engine of a change in the cluster: every shard hears it.
    pub fn membership(&self) -> impl Fn(Membership) + Send + Sync + 'static {
        let engine = self.clone();
        move |change| {
            for shard in 0..engine.shards() {
                engine.send(shard, Input::Membership(change.clone()));
            }
        }
    }
}
