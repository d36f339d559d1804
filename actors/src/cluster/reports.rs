//! Nodes' load reports: each node keeps one short-lived key in Redis saying what it holds (the
//! edge decides what: each tenant's clients and rooms, so limits hold across the cluster), and
//! reads its live peers'. A dead node's report expires with it; a report is never older than
//! its time to live.

use std::time::Duration;

use super::{Cluster, ClusterError, OP_TIMEOUT};
use crate::ids::NodeId;

impl Cluster {
    /// Reports `body` as this node's load, for `ttl`.
    pub async fn report(&self, body: &str, ttl: Duration) -> Result<(), ClusterError> {
        let mut conn = self.conn()?;
        let mut cmd = redis::cmd("SET");
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        cmd.arg(self.inner.keys.report(&self.inner.node)).arg(body).arg("PX").arg(ms);
        match tokio::time::timeout(OP_TIMEOUT, cmd.query_async::<()>(&mut conn)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(ClusterError::Unavailable),
        }
    }

    /// The reports of the peers this node sees alive (those that have one).
    pub async fn reports(&self) -> Result<Vec<(NodeId, String)>, ClusterError> {
        let peers = self.peer_ids();
        if peers.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn()?;
        let mut cmd = redis::cmd("MGET");
        for peer in peers.iter() {
            cmd.arg(self.inner.keys.report(peer));
        }
        match tokio::time::timeout(OP_TIMEOUT, cmd.query_async::<Vec<Option<String>>>(&mut conn))
            .await
        {
            Ok(Ok(bodies)) => Ok(peers
                .iter()
                .zip(bodies)
                .filter_map(|(peer, body)| Some((peer.clone(), body?)))
                .collect()),
            _ => Err(ClusterError::Unavailable),
        }
    }
}
