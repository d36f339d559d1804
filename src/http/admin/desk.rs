//! `AdminDesk`: one per node, the admin API's way to the whole cluster. Asked for every
//! node's report ([`Gather`]), it asks each peer it sees alive (topic `admin`), adds its own,
//! and answers with what came within [`ASK_TIMEOUT`]; asked by a peer, it answers with this
//! node's report. It also passes drain orders ([`Drain`]) to the node they name, and
//! disconnect and close orders ([`DisconnectClients`], [`CloseRoom`]) to every node.
//!
//! A report ([`NodeReport`]) is built on demand from the node's own counts (clients by dialect
//! and tenant) and its room engines' census (the rooms homed here, their members): nothing is
//! kept for it, and nothing on the relay path waits for it.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Weak},
    time::Duration,
};

use actix::{Actor, AsyncContext, Context, Handler, Message};
use serde::{Deserialize, Serialize};
use switchboard_actors::{
    cluster::Inbox, cluster::Topic, engine::RoomCensus, NodeId, RoomId, Tenant,
};
use tokio::sync::oneshot;

use super::index;
use crate::http::{quota::ClientKind, NodeState};

/// How long a gathering waits for peers' reports.
pub(crate) const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// One node's state, as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeReport {
    /// Its configured id.
    pub(crate) node: String,
    /// This run of it in the cluster (`n1~3fa9c2`); absent on a single node.
    pub(crate) member: Option<String>,
    /// Whether it is draining (refusing new clients).
    pub(crate) draining: bool,
    /// Its connected clients, by dialect and tenant (non-zero counts only).
    pub(crate) clients: Vec<ClientCount>,
    /// The rooms homed on it.
    pub(crate) rooms: Vec<RoomEntry>,
}

/// How many clients of one dialect and tenant a node has.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ClientCount {
    pub(crate) dialect: String,
    /// Empty for the default tenant.
    pub(crate) tenant: String,
    pub(crate) clients: usize,
}

/// One room, on its home node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomEntry {
    pub(crate) dialect: String,
    /// Empty for the default tenant.
    pub(crate) tenant: String,
    pub(crate) room: String,
    /// Its members, on every node.
    pub(crate) members: usize,
    /// Those connected to its home.
    pub(crate) here: usize,
}

/// What nodes tell each other on topic `admin`.
#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    /// Send your report for gathering `req` back to the asking node.
    Ask { req: u64 },
    /// The sender's report for gathering `req`.
    Report { req: u64, report: NodeReport },
    /// Drain (refuse new clients, close connected ones with "going away", leave the cluster).
    Drain,
    /// Disconnect the clients of `order`.
    Disconnect(Order),
    /// Close a room, if it is homed here.
    Close(RoomOrder),
}

/// Which room to close: `room` of `dialect` (`rooms`, `signals`, `mediasoup`) in `tenant` ("":
/// the default tenant).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RoomOrder {
    #[serde(default)]
    pub(crate) tenant: String,
    pub(crate) dialect: String,
    pub(crate) room: String,
}

impl RoomOrder {
    /// Closes the room if it is homed on `node`; false if the order names no tenant or room
    /// dialect there is.
    fn carry_out(&self, node: &NodeState) -> bool {
        let Ok(tenant) = Tenant::try_from(self.tenant.clone()) else { return false };
        let room = RoomId::new(&self.room).in_tenant(&tenant);
        let core = &node.core;
        match self.dialect.as_str() {
            "rooms" => core.rooms.close(room),
            "signals" => core.signals.close(room),
            "mediasoup" => core.mediasoup.close(room),
            _ => return false,
        }
        true
    }
}

/// Close a room wherever it is homed. Sender: the admin API. Reply: false if the order names no
/// tenant or room dialect there is.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub(crate) struct CloseRoom(pub(crate) RoomOrder);

/// Which clients to disconnect: those whose token names them `sub` in `tenant` ("": the
/// default tenant), of `dialect` if given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Order {
    #[serde(default)]
    pub(crate) tenant: String,
    pub(crate) sub: String,
    pub(crate) dialect: Option<String>,
}

impl Order {
    /// The index's message for this order; `None` if it names no tenant or dialect there is.
    fn message(&self) -> Option<index::Disconnect> {
        let tenant = Tenant::try_from(self.tenant.clone()).ok()?;
        let kind = match &self.dialect {
            None => None,
            Some(name) => Some(ClientKind::ALL.into_iter().find(|k| k.name() == name)?),
        };
        Some(index::Disconnect { tenant, sub: self.sub.clone(), kind })
    }
}

/// Disconnect, on every node, the clients of `order`. Sender: the admin API. Reply: how many
/// this node closed (`None`: the order names no tenant or dialect there is); the others close
/// theirs as the order reaches them.
#[derive(Debug, Message)]
#[rtype(result = "Option<usize>")]
pub(crate) struct DisconnectClients(pub(crate) Order);

/// Gives the desk its node, once the node's state exists. Sender: the node's start.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct UseNode(pub(crate) Weak<NodeState>);

/// Every node's report, by node id. Sender: the admin API. Reply: through `reply`.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Gather {
    pub(crate) reply: oneshot::Sender<Vec<NodeReport>>,
}

/// Drain node `node` (its configured id or its cluster member id). Sender: the admin API.
/// Reply: whether such a node is this one or a peer seen alive.
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub(crate) struct Drain {
    pub(crate) node: String,
}

struct Gathering {
    waiting: HashSet<NodeId>,
    reports: Vec<NodeReport>,
    reply: oneshot::Sender<Vec<NodeReport>>,
}

/// The node's admin desk. See the module docs.
#[derive(Default)]
pub(crate) struct AdminDesk {
    node: Weak<NodeState>,
    pending: HashMap<u64, Gathering>,
    next: u64,
}

impl Actor for AdminDesk {
    type Context = Context<Self>;
}

/// This node's report.
async fn report(node: Arc<NodeState>) -> NodeReport {
    let core = &node.core;
    let censuses = [
        ("rooms", core.rooms.census().await),
        ("signals", core.signals.census().await),
        ("mediasoup", core.mediasoup.census().await),
    ];
    let rooms = censuses.into_iter().flat_map(|(dialect, census)| {
        census.into_iter().map(move |RoomCensus { room, members, here }| RoomEntry {
            dialect: dialect.into(),
            tenant: room.tenant().name().unwrap_or_default().into(),
            room: room.as_str().into(),
            members,
            here,
        })
    });
    let clients =
        node.quotas.clients().filter(|(_, _, n)| *n > 0).map(|(tenant, kind, n)| ClientCount {
            dialect: kind.name().into(),
            tenant: tenant.name().unwrap_or_default().into(),
            clients: n,
        });
    NodeReport {
        node: core.node.to_string(),
        member: core.cluster().map(|c| c.node().to_string()),
        draining: node.draining.load(std::sync::atomic::Ordering::Relaxed),
        clients: clients.collect(),
        rooms: rooms.collect(),
    }
}

impl AdminDesk {
    /// Adds `from`'s report to gathering `req`; answers it once nobody else is awaited.
    fn reported(&mut self, req: u64, from: &NodeId, report: NodeReport) {
        let Some(gathering) = self.pending.get_mut(&req) else { return };
        if gathering.waiting.remove(from) {
            gathering.reports.push(report);
        }
        if gathering.waiting.is_empty() {
            self.answer(req);
        }
    }

    fn answer(&mut self, req: u64) {
        if let Some(gathering) = self.pending.remove(&req) {
            let mut reports = gathering.reports;
            reports.sort_by(|a, b| (&a.node, &a.member).cmp(&(&b.node, &b.member)));
            let _ = gathering.reply.send(reports);
        }
    }

    /// Drains this node in the background.
    fn drain_here(&self) {
        if let Some(node) = self.node.upgrade() {
            actix::spawn(async move { node.drain().await });
        }
    }
}

impl Handler<UseNode> for AdminDesk {
    type Result = ();

    fn handle(&mut self, msg: UseNode, _: &mut Context<Self>) {
        self.node = msg.0;
    }
}

impl Handler<Gather> for AdminDesk {
    type Result = ();

    fn handle(&mut self, msg: Gather, ctx: &mut Context<Self>) {
        let Some(node) = self.node.upgrade() else { return };
        let (req, me) = (self.next, node.core.cluster().map(|c| c.node().clone()));
        self.next += 1;
        let me = me.unwrap_or_else(|| node.core.node.clone());
        let mut waiting = HashSet::from([me.clone()]);
        if let Some(cluster) = node.core.cluster() {
            for peer in cluster.peer_ids().iter() {
                if cluster.send(peer, Topic::Admin, &Wire::Ask { req }).is_ok() {
                    waiting.insert(peer.clone());
                }
            }
        }
        self.pending.insert(req, Gathering { waiting, reports: Vec::new(), reply: msg.reply });
        let addr = ctx.address();
        actix::spawn(async move {
            let report = report(node).await;
            addr.do_send(Reported { req, from: me, report });
        });
        ctx.run_later(ASK_TIMEOUT, move |desk, _| desk.answer(req));
    }
}

/// A report for gathering `req` came in. Sender: the desk itself (its own report).
#[derive(Debug, Message)]
#[rtype(result = "()")]
struct Reported {
    req: u64,
    from: NodeId,
    report: NodeReport,
}

impl Handler<Reported> for AdminDesk {
    type Result = ();

    fn handle(&mut self, msg: Reported, _: &mut Context<Self>) {
        self.reported(msg.req, &msg.from, msg.report);
    }
}

impl Handler<Drain> for AdminDesk {
    type Result = bool;

    fn handle(&mut self, msg: Drain, _: &mut Context<Self>) -> bool {
        let Some(node) = self.node.upgrade() else { return false };
        let names = |id: &NodeId| {
            let id = id.as_str();
            id == msg.node
                || id.split_once('~').is_some_and(|(configured, _)| configured == msg.node)
        };
        if names(&node.core.node) || node.core.cluster().is_some_and(|c| names(c.node())) {
            self.drain_here();
            return true;
        }
        let Some(cluster) = node.core.cluster() else { return false };
        let peers = cluster.peer_ids();
        let targets: Vec<_> = peers.iter().filter(|p| names(p)).collect();
        for peer in &targets {
            let _ = cluster.send(peer, Topic::Admin, &Wire::Drain);
        }
        !targets.is_empty()
    }
}

impl Handler<DisconnectClients> for AdminDesk {
    type Result = actix::ResponseFuture<Option<usize>>;

    fn handle(&mut self, msg: DisconnectClients, _: &mut Context<Self>) -> Self::Result {
        let (Some(node), Some(here)) = (self.node.upgrade(), msg.0.message()) else {
            return Box::pin(async { None });
        };
        if let Some(cluster) = node.core.cluster() {
            for peer in cluster.peer_ids().iter() {
                let _ = cluster.send(peer, Topic::Admin, &Wire::Disconnect(msg.0.clone()));
            }
        }
        Box::pin(async move { node.index.send(here).await.ok() })
    }
}

impl Handler<CloseRoom> for AdminDesk {
    type Result = bool;

    fn handle(&mut self, msg: CloseRoom, _: &mut Context<Self>) -> bool {
        let Some(node) = self.node.upgrade() else { return false };
        if !msg.0.carry_out(&node) {
            return false;
        }
        // Only the room's home finds it; every node is told rather than Redis asked.
        if let Some(cluster) = node.core.cluster() {
            for peer in cluster.peer_ids().iter() {
                let _ = cluster.send(peer, Topic::Admin, &Wire::Close(msg.0.clone()));
            }
        }
        true
    }
}

impl Handler<Inbox> for AdminDesk {
    type Result = ();

    fn handle(&mut self, msg: Inbox, _: &mut Context<Self>) {
        let wire = match serde_json::from_slice::<Wire>(&msg.body) {
            Ok(wire) => wire,
            Err(e) => return log::warn!("admin: a frame from {} is not ours: {e}", msg.origin),
        };
        match wire {
            Wire::Ask { req } => {
                let Some(node) = self.node.upgrade() else { return };
                actix::spawn(async move {
                    let report = report(node.clone()).await;
                    if let Some(cluster) = node.core.cluster() {
                        let _ =
                            cluster.send(&msg.origin, Topic::Admin, &Wire::Report { req, report });
                    }
                });
            }
            Wire::Report { req, report } => self.reported(req, &msg.origin, report),
            Wire::Drain => {
                log::info!("admin: {} asked this node to drain", msg.origin);
                self.drain_here();
            }
            Wire::Close(order) => {
                if let Some(node) = self.node.upgrade() {
                    order.carry_out(&node);
                }
            }
            Wire::Disconnect(order) => {
                let (Some(node), Some(here)) = (self.node.upgrade(), order.message()) else {
                    return;
                };
                node.index.do_send(here);
            }
        }
    }
}
