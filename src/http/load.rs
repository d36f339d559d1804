//! Tenants' limits across the cluster: every second this node reports to Redis each limited
//! tenant's clients, rooms and messages per second here (a report that expires unless
//! renewed), reads its live peers' reports, and counts what they hold against the tenant's
//! `max_clients` and `max_rooms` ([`super::quota`], [`switchboard_actors::engine::RoomQuotas`])
//! and leaves its clients here what the others leave of `max_messages_per_s` (at least an even
//! share). A limit then holds across the cluster within what the nodes admit in one report's
//! time; while Redis is unreachable, each node goes on with the others' last counts.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use switchboard_actors::{cluster::Cluster, Tenant};

use super::NodeState;

/// How often a node reports and reads.
const EVERY: Duration = Duration::from_secs(1);
/// How long a report lasts: a node that stops reporting (dead) counts for this long at most.
const TTL: Duration = Duration::from_secs(3);

/// One tenant's load on one node: clients, rooms, messages per second (a list, so a report
/// with fewer or more figures still reads).
type Load = Vec<u64>;

/// Starts the reports of `node` (in a cluster, when some tenant has a limit), on the current
/// thread's runtime; they end with the node.
pub(crate) fn start(node: &Arc<NodeState>) {
    let limited = node
        .config
        .tenants
        .values()
        .any(|t| t.max_clients > 0 || t.max_rooms > 0 || t.max_messages_per_s > 0);
    if !limited || !node.core.is_clustered() {
        return;
    }
    let node = Arc::downgrade(node);
    actix::spawn(report_and_read(node));
}

/// Each tenant's messages here so far, and when they were counted.
#[derive(Default)]
struct Sent {
    totals: HashMap<Tenant, u64>,
    at: Option<Instant>,
}

async fn report_and_read(node: Weak<NodeState>) {
    let mut tick = tokio::time::interval(EVERY);
    let mut sent = Sent::default();
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        let Some(cluster) = node.core.cluster().cloned() else { return };
        exchange(&node, &cluster, &mut sent).await;
    }
}

/// One report, and the peers' read.
async fn exchange(node: &NodeState, cluster: &Cluster, sent: &mut Sent) {
    let now = Instant::now();
    let elapsed = sent.at.replace(now).map(|at| now.duration_since(at).as_secs_f64());
    let mut mine: BTreeMap<String, Load> = BTreeMap::new();
    fn load<'a>(mine: &'a mut BTreeMap<String, Load>, tenant: &Tenant) -> &'a mut Load {
        mine.entry(tenant.name().unwrap_or_default().to_owned()).or_insert_with(|| vec![0; 3])
    }
    for (tenant, clients, total) in node.quotas.limited() {
        let before = sent.totals.insert(tenant.clone(), total);
        let rate = match (before, elapsed) {
            (Some(before), Some(secs)) if secs > 0.0 => total.saturating_sub(before) as f64 / secs,
            _ => 0.0,
        };
        let figures = load(&mut mine, tenant);
        (figures[0], figures[2]) = (clients as u64, rate.round() as u64);
    }
    for (tenant, rooms) in node.room_quotas.limited_here() {
        load(&mut mine, tenant)[1] = rooms as u64;
    }
    let body = serde_json::to_string(&mine).unwrap_or_default();
    if let Err(e) = cluster.report(&body, TTL).await {
        log::debug!("node {}: load not reported: {e}", node.core.node);
    }
    let Ok(reports) = cluster.reports().await else { return };
    let peers = reports.len();
    let mut elsewhere: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for (peer, body) in reports {
        let Ok(load) = serde_json::from_str::<BTreeMap<String, Load>>(&body) else {
            log::warn!("node {}: {peer}'s load report is not one: {body:?}", node.core.node);
            continue;
        };
        for (tenant, figures) in load {
            let sum = elsewhere.entry(tenant).or_default();
            for (sum, figure) in sum.iter_mut().zip(figures) {
                *sum += figure;
            }
        }
    }
    for name in mine.keys() {
        let tenant = Tenant::new(name).unwrap_or_default();
        let [clients, rooms, rate] = elsewhere.get(name).copied().unwrap_or_default();
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        node.quotas.set_elsewhere(&tenant, count(clients), rate, peers);
        node.room_quotas.set_elsewhere(&tenant, count(rooms));
    }
}
