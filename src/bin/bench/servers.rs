//! The servers under measurement: one node, or two nodes and a redis-server, each optionally
//! pinned to a CPU with `taskset`. Killed when dropped.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::stats::cpu_seconds;

/// Pins this process (and the threads it starts later) to `cpus`.
pub(crate) fn pin_self(cpus: &str) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(["-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("taskset exited with {status}"))
}

/// The processes of one topology.
pub(crate) struct Cluster {
    children: Vec<Child>,
    urls: Vec<String>,
    dir: PathBuf,
}

fn command(program: &str, cpu: Option<&str>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpu, program]);
            c
        }
        None => Command::new(program),
    }
}

/// Reads a child's output until lines containing each of `needles` went by, in order; returns
/// those lines. The rest of the output is drained (and dropped) so the child never blocks.
fn wait_lines(
    stream: impl std::io::Read + Send + 'static,
    needles: &'static [&'static str],
) -> Result<Vec<String>, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut next = 0;
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if next < needles.len() && line.to_ascii_lowercase().contains(needles[next]) {
                next += 1;
                let _ = tx.send(line);
            }
        }
    });
    needles
        .iter()
        .map(|needle| {
            rx.recv_timeout(Duration::from_secs(15))
                .map_err(|_| format!("no {needle:?} line in time"))
        })
        .collect()
}

impl Cluster {
    /// Starts one node, or (with `cross`) a redis-server and two nodes.
    pub(crate) fn start(cross: bool, cpu: Option<&str>) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut cluster = Self { children: Vec::new(), urls: Vec::new(), dir };
        let node_bin =
            std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("switchboard");
        let mut node_args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--rate-per-sec",
            "0",
            "--outbound-queue",
            "4096",
            "--workers",
            "1",
        ]
        .map(String::from)
        .to_vec();
        if cross {
            let socket = cluster.dir.join("redis.sock");
            let mut redis = command("redis-server", cpu)
                .args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket"])
                .arg(&socket)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("redis-server: {e}"))?;
            let stdout = redis.stdout.take().ok_or("redis stdout")?;
            cluster.children.push(redis);
            wait_lines(stdout, &["ready to accept connections"])?;
            node_args.push("--redis-url".into());
            node_args.push(format!("redis+unix://{}", socket.display()));
        }
        for i in 0..if cross { 2 } else { 1 } {
            let mut child = command(&node_bin.to_string_lossy(), cpu)
                .args(&node_args)
                .args(["--node-id", &format!("bench{i}")])
                .env("RUST_LOG", "warn,switchboard=info,switchboard_actors::cluster=info")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("{}: {e}", node_bin.display()))?;
            let stderr = child.stderr.take().ok_or("node stderr")?;
            cluster.children.push(child);
            let needles: &'static [&'static str] =
                if cross { &["listening on ", "cluster reachable"] } else { &["listening on "] };
            let lines = wait_lines(stderr, needles)?;
            let addr =
                lines[0].rsplit("listening on ").next().unwrap_or_default().trim().to_owned();
            cluster.urls.push(format!("ws://{addr}/cmd"));
        }
        Ok(cluster)
    }

    /// The URLs the two halves of each pair connect to.
    pub(crate) fn urls(&self) -> (String, String) {
        let left = self.urls[0].clone();
        let right = self.urls.get(1).cloned().unwrap_or_else(|| left.clone());
        (left, right)
    }

    /// CPU seconds used so far by every server process.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        self.children.iter().map(|c| cpu_seconds(c.id())).sum()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
