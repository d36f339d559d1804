//! `Place`: where a test's clients connect: one node, or nginx over three clustered nodes.

use std::sync::Mutex;

use super::{Client, Nginx, Node, Redis};

/// Where a test's sessions connect: one node, or nginx round-robin over three clustered nodes.
pub struct Place {
    url: String,
    /// `ws://` and the host of the node or of nginx.
    base: String,
    /// The node of the latest session, so the next one lands elsewhere.
    last: Mutex<String>,
    nodes: Vec<Node>,
    _cluster: Option<(Redis, Nginx)>,
}

impl Place {
    /// One node started with `args`.
    pub fn one(args: &[&str]) -> Self {
        let node = Node::with_args(args);
        let (url, base) = (node.ws("/signals"), node.ws(""));
        Self { url, base, last: Mutex::default(), nodes: vec![node], _cluster: None }
    }

    /// Nodes `n1`, `n2` and `n3` beside one Redis, started with `args`, behind nginx.
    pub fn three(args: &[&str]) -> Self {
        let redis = Redis::start();
        let nodes: Vec<Node> =
            ["n1", "n2", "n3"].iter().map(|id| Node::clustered(&redis, id, args)).collect();
        let nginx = Nginx::start(&nodes.iter().collect::<Vec<_>>());
        let (url, base) = (nginx.ws("/signals"), nginx.ws(""));
        Self { url, base, last: Mutex::default(), nodes, _cluster: Some((redis, nginx)) }
    }

    /// The WebSocket URL of `path` (with its query) here.
    pub fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The node a client last connected to.
    pub fn last_node(&self) -> String {
        self.last.lock().expect("unpoisoned").clone()
    }

    /// Notes that a client connected to `node`.
    pub fn landed(&self, node: &str) {
        node.clone_into(&mut self.last.lock().expect("unpoisoned"));
    }

    /// A new `signals` session; in a cluster, on another node than the previous session.
    pub async fn session(&self) -> Client {
        let last = self.last.lock().expect("unpoisoned").clone();
        self.session_avoiding(&[&last]).await
    }

    /// A new session on none of the nodes `avoid` (on one node, anywhere).
    pub async fn session_avoiding(&self, avoid: &[&str]) -> Client {
        // Round-robin reaches every node within a few connections per nginx worker.
        for _ in 0..32 {
            let client = Client::connect_url(&self.url).await;
            if self.nodes.len() == 1 || !avoid.contains(&client.node.as_str()) {
                *self.last.lock().expect("unpoisoned") = client.node.clone();
                return client;
            }
        }
        panic!("nginx never balanced a connection away from {avoid:?}");
    }

    /// Kills Redis, keeps it down for `outage` once every node has noticed, and restarts it
    /// empty; returns when every node is ready again.
    pub async fn redis_outage(&mut self, outage: std::time::Duration) {
        let (redis, _) = self._cluster.as_mut().expect("a cluster");
        let nodes: Vec<&Node> = self.nodes.iter().collect();
        redis.outage(&nodes, outage).await;
    }

    /// The nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Kills node `id` at once (SIGKILL).
    pub fn kill9(&mut self, id: &str) {
        let node = self.nodes.iter_mut().find(|n| n.id() == id).expect("a node of this place");
        node.kill9();
    }
}
