//! The node's writer to the cluster's webhook ledger ([`crate::cluster`] keeps it in Redis):
//! one task that records the node's hooks, and sweeps dead nodes, in the order they were
//! handed to it. A step Redis refuses (unreachable) is retried until it is taken, so nothing
//! is reordered; while Redis stays away the queue fills, and then the newest hooks are
//! dropped (and logged).

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{now_ms, RoomHook};
use crate::{cluster::Cluster, ids::NodeId};

/// Most steps waiting for the ledger.
const QUEUE: usize = 65_536;
/// The wait before a step Redis did not take is tried again.
const RETRY: Duration = Duration::from_millis(500);
/// How often a node that does not lead a tenant's deliveries asks for the lead.
pub(super) const FOLLOWER_POLL: Duration = Duration::from_secs(1);
/// How often the leader looks for new events when it has delivered them all.
pub(super) const IDLE_POLL: Duration = Duration::from_millis(100);

enum Step {
    /// A room's hook, and when it happened.
    Record(RoomHook, u64),
    /// A node is gone: its participants leave, the rooms that die with it close.
    Sweep(NodeId),
    /// Answer once every step before is in the ledger.
    Flush(oneshot::Sender<()>),
}

/// The handle on a node's ledger writer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Writer {
    steps: mpsc::Sender<Step>,
}

impl std::fmt::Debug for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Record(hook, _) => write!(f, "record {:?}", hook.kind),
            Step::Sweep(node) => write!(f, "sweep {node}"),
            Step::Flush(_) => f.write_str("flush"),
        }
    }
}

impl Writer {
    /// Starts the writer of `cluster`'s node on the current runtime.
    pub(super) fn start(cluster: Cluster) -> Self {
        let (steps, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write(cluster, queue));
        Self { steps }
    }

    fn push(&self, step: Step) {
        if let Err(e) = self.steps.try_send(step) {
            log::warn!("webhook ledger: queue full or gone, dropped: {:?}", e.into_inner());
        }
    }

    /// Records `hook`, which happened now.
    pub(super) fn record(&self, hook: RoomHook) {
        self.push(Step::Record(hook, now_ms()));
    }

    /// Sweeps dead node `node` out of the ledger.
    pub(super) fn sweep(&self, node: NodeId) {
        self.push(Step::Sweep(node));
    }

    /// Resolves once every hook handed over so far is in the ledger (or `within` passed).
    pub async fn flush(&self, within: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.steps.send(Step::Flush(tx)).await.is_ok() {
            let _ = tokio::time::timeout(within, rx).await;
        }
    }
}

/// Takes the steps from `queue`, one at a time, each until Redis takes it.
async fn write(cluster: Cluster, mut queue: mpsc::Receiver<Step>) {
    while let Some(step) = queue.recv().await {
        loop {
            let taken = match &step {
                Step::Record(hook, at) => cluster.record_hook(hook, *at).await.map(|added| {
                    if added < 0 {
                        log::warn!("webhook ledger: {} events waiting; dropped {hook:?}", -added);
                    }
                }),
                Step::Sweep(node) => cluster.sweep_hooks(node, now_ms()).await.map(|events| {
                    if events > 0 {
                        log::info!("webhook ledger: node {node} swept, {events} events");
                    }
                }),
                Step::Flush(_) => Ok(()),
            };
            if taken.is_ok() {
                break;
            }
            tokio::time::sleep(RETRY).await;
        }
        if let Step::Flush(done) = step {
            let _ = done.send(());
        }
    }
}
