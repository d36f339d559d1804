//! `Redis`: a real `redis-server` on a Unix socket in a scratch directory, killed when dropped.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc,
};

use super::{scratch::tool, Scratch, PATIENCE};

/// A running (or stopped) redis-server.
pub struct Redis {
    dir: Scratch,
    child: Option<Child>,
}

impl Redis {
    /// Starts an empty redis-server.
    pub fn start() -> Self {
        let mut redis = Self { dir: Scratch::new("redis"), child: None };
        redis.restart();
        redis
    }

    /// Its Unix socket.
    pub fn socket(&self) -> std::path::PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// The URL nodes join with.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Runs one command with `redis-cli` and returns its reply.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(tool("redis-cli"))
            .arg("-s")
            .arg(self.socket())
            .args(args)
            .output()
            .expect("redis-cli runs");
        assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Kills the server at once (SIGKILL); its data is gone (no persistence).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Kills the server, keeps it down for `outage` once every node of `nodes` has noticed
    /// (`/readyz` 503), and restarts it empty; returns when every node is ready again.
    pub async fn outage(&mut self, nodes: &[&super::Node], outage: std::time::Duration) {
        self.kill();
        for node in nodes {
            node.wait_for_status("/readyz", 503).await;
        }
        // The outage itself is the scenario, not a wait for an outcome.
        tokio::time::sleep(outage).await;
        self.restart();
        for node in nodes {
            node.wait_for_status("/readyz", 200).await;
        }
    }

    /// Starts the server again, empty, on the same socket.
    pub fn restart(&mut self) {
        self.kill();
        let mut child = Command::new(tool("redis-server"))
            .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocketperm", "700"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.to_ascii_lowercase().contains("ready to accept connections") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(PATIENCE).expect("redis-server is ready in time");
        self.child = Some(child);
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
