//! `Core`: the node's core actors, started once per node and handed to the edge.

use actix::{Actor, Addr};

use crate::{
    cluster::{BridgeActor, Cluster, ClusterConfig, Leave, Routes, Topic},
    connection::{ConnectionActor, ConnectionConfig},
    directory::{DirectoryActor, DirectoryConfig},
    engine::Engine,
    hooks::Hooks,
    ids::NodeId,
    link::ClientLink,
    mediasoup::MediasoupRoom,
    rooms::Room,
    signals::state::SignalRoom,
};

/// The core's configuration, as the edge builds it from the node's config.
#[derive(Debug, Clone, Default)]
pub struct CoreConfig {
    /// Per-connection tunables.
    pub connection: ConnectionConfig,
    /// Directory tunables.
    pub directory: DirectoryConfig,
    /// The cluster to join; `None` runs a single node with nothing else needed.
    pub cluster: Option<ClusterConfig>,
    /// `signals` rooms' publisher limits, and the media plane their `m2m`/`a2m` rooms use.
    pub signals: crate::signals::state::SignalsConfig,
    /// `mediasoup` rooms' media plane (the node's one, as `signals` has it).
    pub mediasoup: crate::mediasoup::media::MediasoupConfig,
    /// Where frames of topic `edge` go: the edge's own cross-node requests.
    pub edge: Option<actix::Recipient<crate::cluster::Inbox>>,
    /// The tenants whose rooms announce themselves (they have webhooks).
    pub hook_tenants: std::collections::HashSet<crate::ids::Tenant>,
    /// Each tenant's most rooms on this node.
    pub room_quotas: std::sync::Arc<crate::engine::RoomQuotas>,
    /// Where frames of topic `admin` go: operators' requests and other nodes' answers.
    pub admin: Option<actix::Recipient<crate::cluster::Inbox>>,
    /// How many shards each room engine has: one per worker thread that hosts them (see
    /// [`Core::host_shard`]). Zero counts as one.
    pub shards: usize,
}

/// Handles to one node's core actors. Cheap to clone; passed explicitly (no global registry,
/// so several nodes can run in one process).
#[derive(Debug, Clone)]
pub struct Core {
    /// This node.
    pub node: NodeId,
    /// The node's directory.
    pub directory: Addr<DirectoryActor>,
    /// The `rooms` dialect's room engine.
    pub rooms: Engine<Room>,
    /// The `signals` dialect's room engine.
    pub signals: Engine<SignalRoom>,
    /// The `mediasoup` dialect's room engine.
    pub mediasoup: Engine<MediasoupRoom>,
    cluster: Option<(Cluster, Addr<BridgeActor>)>,
    /// Where this node writes its rooms' hooks, in a cluster with webhooks.
    ledger: Option<crate::hooks::Writer>,
    config: CoreConfig,
}

/// Each tenant's webhook events, for the edge to deliver ([`Core::start`] hands them over).
pub type HookFeeds = std::collections::HashMap<crate::ids::Tenant, crate::hooks::Feed>;

impl Core {
    /// Starts the core actors of node `node` on the current actix arbiter; with a cluster
    /// configured, the bridge starts connecting to Redis in the background. Returns the core
    /// and the feeds of the webhook events of its rooms.
    pub fn start(node: NodeId, config: CoreConfig) -> (Self, HookFeeds) {
        // The room engines of this node (as `id` in `cluster`, if clustered), and its hooks.
        let engines = |id: &NodeId, cluster: Option<&Cluster>| {
            let hooks = (!config.hook_tenants.is_empty())
                .then(|| Hooks::start(id, config.hook_tenants.clone(), cluster));
            let sink = hooks.as_ref().map(|hooks| hooks.sink.clone());
            let (shards, quotas) = (config.shards, &config.room_quotas);
            let engines = (
                Engine::new(id.clone(), cluster.cloned(), (), shards)
                    .with_tenancy(sink.clone(), quotas.clone()),
                Engine::new(id.clone(), cluster.cloned(), config.signals.clone(), shards)
                    .with_tenancy(sink.clone(), quotas.clone()),
                Engine::new(id.clone(), cluster.cloned(), config.mediasoup.clone(), shards)
                    .with_tenancy(sink, quotas.clone()),
            );
            (engines, hooks)
        };
        let Some(cluster_config) = config.cluster.clone() else {
            let directory = DirectoryActor::new(node.clone(), config.directory.clone(), None);
            let ((rooms, signals, mediasoup), hooks) = engines(&node, None);
            let directory = directory.start();
            let feeds = hooks.map(|hooks| hooks.feeds).unwrap_or_default();
            let core = Self {
                node,
                directory,
                rooms,
                signals,
                mediasoup,
                cluster: None,
                ledger: None,
                config,
            };
            return (core, feeds);
        };
        let member = node.incarnation();
        log::info!("node {node}: joins its cluster as {member}");
        let (cluster, bridge) = BridgeActor::handle(member.clone(), cluster_config);
        let directory =
            DirectoryActor::new(member.clone(), config.directory.clone(), Some(cluster.clone()))
                .start();
        let ((rooms, signals, mediasoup), hooks) = engines(&member, Some(&cluster));
        let (feeds, membership, ledger) = match hooks {
            Some(Hooks { feeds, membership, ledger, .. }) => (feeds, membership, ledger),
            None => (HookFeeds::default(), None, None),
        };
        let mut routes = Routes::default()
            .topic(Topic::Cmd, directory.clone().recipient())
            .member(directory.clone().recipient())
            .topic_with(Topic::Rooms, rooms.inbox())
            .member_with(rooms.membership())
            .topic_with(Topic::Signals, signals.inbox())
            .member_with(signals.membership())
            .topic_with(Topic::Mediasoup, mediasoup.inbox())
            .member_with(mediasoup.membership());
        if let Some(edge) = config.edge.clone() {
            routes = routes.topic(Topic::Edge, edge);
        }
        if let Some(admin) = config.admin.clone() {
            routes = routes.topic(Topic::Admin, admin);
        }
        if let Some(membership) = membership {
            routes = routes.member_with(membership);
        }
        let bridge = bridge.start(routes);
        let cluster = Some((cluster, bridge));
        (Self { node, directory, rooms, signals, mediasoup, cluster, ledger, config }, feeds)
    }

    /// Hosts the next shard of each room engine on the current thread's arbiter: each worker
    /// thread calls it once, so rooms spread over every worker. False once all are hosted.
    pub fn host_shard(&self) -> bool {
        // The engines have as many shards each, so they run out together.
        let rooms = self.rooms.host_next();
        let signals = self.signals.host_next();
        let mediasoup = self.mediasoup.host_next();
        rooms || signals || mediasoup
    }

    /// Hosts every shard not yet hosted on the current thread's arbiter (a node on one
    /// thread, as in tests).
    pub fn host_all_shards(&self) {
        while self.host_shard() {}
    }

    /// Starts the actor of a new connection reached through `link`, on the current arbiter.
    pub fn connect(&self, link: ClientLink) -> Addr<ConnectionActor> {
        ConnectionActor::new(link, self.directory.clone(), self.config.connection.clone()).start()
    }

    /// Seats a new `rooms` socket `id`, reached through `link`, in the `rooms` engine.
    pub fn connect_room_socket(
        &self,
        id: crate::ids::SocketId,
        link: ClientLink,
    ) -> crate::rooms::RoomSocket {
        self.rooms.seat(id, link)
    }

    /// Starts the actor of a new `signals` connection reached through `link`.
    pub fn connect_signals(
        &self,
        link: ClientLink,
        heartbeat_timeout: std::time::Duration,
        keepalive: std::time::Duration,
    ) -> Addr<crate::signals::SignalSessionActor> {
        crate::signals::SignalSessionActor::new(link, self.signals.clone(), heartbeat_timeout)
            .with_keepalive(keepalive)
            .start()
    }

    /// The node's handle on its cluster, if clustered.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref().map(|(cluster, _)| cluster)
    }

    /// The node's media plane, if it runs one.
    pub fn media(&self) -> Option<&crate::media::MediaPlane> {
        self.config.signals.media.as_ref()
    }

    /// Whether the node is clustered.
    pub fn is_clustered(&self) -> bool {
        self.cluster.is_some()
    }

    /// Whether the node can serve its whole cluster: always on a single node; in a cluster,
    /// while Redis answers.
    pub fn is_ready(&self) -> bool {
        self.cluster.as_ref().is_none_or(|(cluster, _)| cluster.is_healthy())
    }

    /// Deregisters the node from its cluster (peers are told at once); a no-op on a single
    /// node. Resolves when done.
    pub async fn leave(&self) {
        if let Some(ledger) = &self.ledger {
            ledger.flush(std::time::Duration::from_secs(5)).await;
        }
        if let Some((_, bridge)) = &self.cluster {
            let _ = bridge.send(Leave).await;
        }
    }
}
