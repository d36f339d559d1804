//! Tenants' limits across the cluster: every second this node reports each limited tenant's
//! clients and rooms here to Redis (a report that expires unless renewed), reads its live
//! peers' reports, and counts what they hold against the tenant's `max_clients` and
//! `max_rooms` ([`super::quota`], [`switchboard_actors::engine::RoomQuotas`]). A limit then
//! holds across the cluster within what the nodes admit in one report's time; while Redis is
//! unreachable, each node goes on with the others' last counts.

use std::{
    collections::BTreeMap,
    sync::{Arc, Weak},
    time::Duration,
};

use switchboard_actors::{cluster::Cluster, Tenant};

use super::NodeState;

/// How often a node reports and reads.
const EVERY: Duration = Duration::from_secs(1);
/// How long a report lasts: a node that stops reporting (dead) counts for this long at most.
const TTL: Duration = Duration::from_secs(3);

/// One tenant's load on one node: `[clients, rooms]`.
type Load = [usize; 2];

/// Starts the reports of `node` (in a cluster, when some tenant has a client or room limit), on
/// the current thread's runtime; they end with the node.
pub(crate) fn start(node: &Arc<NodeState>) {
    let limited = node.config.tenants.values().any(|t| t.max_clients > 0 || t.max_rooms > 0);
    if !limited || !node.core.is_clustered() {
        return;
    }
    let node = Arc::downgrade(node);
    actix::spawn(report_and_read(node));
}

async fn report_and_read(node: Weak<NodeState>) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        let Some(cluster) = node.core.cluster().cloned() else { return };
        exchange(&node, &cluster).await;
    }
}

/// One report, and the peers' read.
async fn exchange(node: &NodeState, cluster: &Cluster) {
    let mut mine: BTreeMap<&str, Load> = BTreeMap::new();
    for (tenant, clients) in node.quotas.limited() {
        mine.entry(tenant.name().unwrap_or_default()).or_default()[0] = clients;
    }
    for (tenant, rooms) in node.room_quotas.here() {
        mine.entry(tenant.name().unwrap_or_default()).or_default()[1] = rooms;
    }
    let body = serde_json::to_string(&mine).unwrap_or_default();
    if let Err(e) = cluster.report(&body, TTL).await {
        log::debug!("node {}: load not reported: {e}", node.core.node);
    }
    let Ok(reports) = cluster.reports().await else { return };
    let mut elsewhere: BTreeMap<String, Load> = BTreeMap::new();
    for (peer, body) in reports {
        let Ok(load) = serde_json::from_str::<BTreeMap<String, Load>>(&body) else {
            log::warn!("node {}: {peer}'s load report is not one: {body:?}", node.core.node);
            continue;
        };
        for (tenant, [clients, rooms]) in load {
            let sum = elsewhere.entry(tenant).or_default();
            sum[0] += clients;
            sum[1] += rooms;
        }
    }
    for name in mine.keys() {
        let tenant = Tenant::new(name).unwrap_or_default();
        let [clients, rooms] = elsewhere.get(*name).copied().unwrap_or_default();
        node.quotas.set_elsewhere(&tenant, clients);
        node.room_quotas.set_elsewhere(&tenant, rooms);
    }
}
