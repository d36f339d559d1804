//! The servers under measurement, each optionally pinned to a CPU with `taskset`, killed when
//! dropped: switchboard (one node, or two nodes and a redis-server), and the baselines users
//! would pick instead (installed by `bench/peers/install`): PeerJS server,
//! matchbox_server, and a socket.io 4 room server (one node, or two with its Redis adapter).

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use clap::ValueEnum;

use crate::stats::{cpu_seconds, rss_bytes};

/// Pins this process (and the threads it starts later) to `cpus`.
pub(crate) fn pin_self(cpus: &str) -> Result<(), String> {
    let status = Command::new("taskset")
        .args(["-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("taskset exited with {status}"))
}

/// Which server to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Server {
    /// This project's node.
    Switchboard,
    /// PeerJS server (npm `peer`); single node only.
    Peerjs,
    /// matchbox_server (crates.io); single node only.
    Matchbox,
    /// socket.io 4 with seed 003's rooms; two nodes through `@socket.io/redis-adapter`.
    Socketio,
}

/// The processes of one measured setup.
pub(crate) struct Servers {
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

impl Servers {
    /// Starts `server`: one process, or (with `cross`) a redis-server and two.
    pub(crate) fn start(
        server: Server,
        cross: bool,
        cpu: Option<&str>,
        peers: &Path,
        workers: usize,
    ) -> Result<Self, String> {
        let peers = &peers.canonicalize().unwrap_or_else(|_| peers.to_owned());
        let dir = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut servers = Self { children: Vec::new(), urls: Vec::new(), dir };
        if cross && matches!(server, Server::Peerjs | Server::Matchbox) {
            return Err(format!("{server:?} has no cluster mode"));
        }
        let redis = if cross { Some(servers.redis(cpu)?) } else { None };
        for i in 0..if cross { 2 } else { 1 } {
            let url = match server {
                Server::Switchboard => servers.switchboard(i, redis.as_deref(), cpu, workers)?,
                Server::Peerjs => servers.peerjs(peers, cpu)?,
                Server::Matchbox => servers.matchbox(peers, cpu)?,
                Server::Socketio => servers.socketio(peers, redis.as_deref(), cpu)?,
            };
            servers.urls.push(url);
        }
        Ok(servers)
    }

    fn spawn(&mut self, mut command: Command, what: &str) -> Result<&mut Child, String> {
        let child = command.spawn().map_err(|e| format!("{what}: {e}"))?;
        self.children.push(child);
        self.children.last_mut().ok_or_else(|| "no child".to_owned())
    }

    /// Starts a redis-server on a unix socket; returns the socket's path.
    fn redis(&mut self, cpu: Option<&str>) -> Result<String, String> {
        let socket = self.dir.join("redis.sock").display().to_string();
        let mut c = command("redis-server", cpu);
        c.args(["--port", "0", "--save", "", "--appendonly", "no", "--unixsocket", &socket]);
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let stdout = self.spawn(c, "redis-server")?.stdout.take().ok_or("redis stdout")?;
        wait_lines(stdout, &["ready to accept connections"])?;
        Ok(socket)
    }

    fn switchboard(
        &mut self,
        i: usize,
        redis: Option<&str>,
        cpu: Option<&str>,
        workers: usize,
    ) -> Result<String, String> {
        let bin = std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("switchboard");
        let mut c = command(&bin.to_string_lossy(), cpu);
        c.args(["--listen", "127.0.0.1:0", "--rate-per-sec", "0", "--outbound-queue", "4096"]);
        c.args(["--workers", &workers.max(1).to_string(), "--eio-ping-interval-ms", "600000"]);
        c.args(["--eio-ping-timeout-ms", "600000", "--node-id", &format!("bench{i}")]);
        // Media: on loopback, one worker per HTTP worker (so a figure is per pinned core).
        c.args([
            "--media-announce-ip",
            "127.0.0.1",
            "--media-workers",
            &workers.max(1).to_string(),
        ]);
        c.args(["--signals-heartbeat-timeout-ms", "600000"]);
        if let Some(socket) = redis {
            c.args(["--redis-url", &format!("redis+unix://{socket}")]);
        }
        c.env("RUST_LOG", "warn,switchboard=info,switchboard_actors::cluster=info");
        c.stdout(Stdio::null()).stderr(Stdio::piped());
        let stderr = self.spawn(c, &bin.display().to_string())?.stderr.take().ok_or("stderr")?;
        let needles: &'static [&'static str] = if redis.is_some() {
            &["listening on ", "cluster reachable"]
        } else {
            &["listening on "]
        };
        let lines = wait_lines(stderr, needles)?;
        let addr = lines[0].rsplit("listening on ").next().unwrap_or_default().trim().to_owned();
        Ok(format!("ws://{addr}"))
    }

    fn peerjs(&mut self, peers: &Path, cpu: Option<&str>) -> Result<String, String> {
        let port = free_port()?;
        let mut c = command("node", cpu);
        c.arg(peers.join("node_modules/peer/dist/bin/peerjs.js"));
        // On 127.0.0.1 like every other server: its default, `::`, also claims the port on
        // 127.0.0.2-8, where the load generator's clients take theirs (a port still held
        // there made `listen` fail with EADDRINUSE).
        c.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--key", "peerjs"]);
        // Its default refuses clients past 5,000; the crowd scenarios bring up to 19,000.
        c.args(["--path", "/", "--concurrent_limit", "100000"]);
        c.stdout(Stdio::piped()).stderr(Stdio::null());
        let stdout = self.spawn(c, "peerjs")?.stdout.take().ok_or("peerjs stdout")?;
        wait_lines(stdout, &["started peerserver"])?;
        Ok(format!("ws://127.0.0.1:{port}"))
    }

    fn matchbox(&mut self, peers: &Path, cpu: Option<&str>) -> Result<String, String> {
        let port = free_port()?;
        let bin = peers.join("cargo/bin/matchbox_server");
        let mut c = command(&bin.to_string_lossy(), cpu);
        c.arg(format!("127.0.0.1:{port}"));
        c.env("RUST_LOG", "info").stdout(Stdio::piped()).stderr(Stdio::null());
        let stdout = self.spawn(c, "matchbox_server")?.stdout.take().ok_or("matchbox stdout")?;
        wait_lines(stdout, &["matchbox signaling server"])?;
        // It says so just before it binds.
        wait_port(port)?;
        Ok(format!("ws://127.0.0.1:{port}"))
    }

    fn socketio(
        &mut self,
        peers: &Path,
        redis: Option<&str>,
        cpu: Option<&str>,
    ) -> Result<String, String> {
        let port = free_port()?;
        let mut c = command("node", cpu);
        c.arg(peers.join("socketio-rooms.js")).arg(port.to_string());
        c.args(redis);
        c.current_dir(peers).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let stdout = self.spawn(c, "socket.io server")?.stdout.take().ok_or("node stdout")?;
        wait_lines(stdout, &["listening"])?;
        Ok(format!("ws://127.0.0.1:{port}"))
    }

    /// The base URLs the two halves of each pair connect to.
    pub(crate) fn urls(&self) -> (String, String) {
        let left = self.urls[0].clone();
        let right = self.urls.get(1).cloned().unwrap_or_else(|| left.clone());
        (left, right)
    }

    /// Resident memory of every server process, in bytes.
    pub(crate) fn rss_bytes(&self) -> u64 {
        self.children.iter().map(|c| rss_bytes(c.id())).sum()
    }

    /// CPU seconds used so far by each thread of the first server process (a node), by
    /// thread id.
    pub(crate) fn thread_cpu_seconds(&self) -> Vec<(u32, f64)> {
        self.children.first().map_or_else(Vec::new, |c| crate::stats::thread_cpu_seconds(c.id()))
    }

    /// CPU seconds used so far by every server process.
    pub(crate) fn cpu_seconds(&self) -> f64 {
        self.children.iter().map(|c| cpu_seconds(c.id())).sum()
    }
}

/// Waits until something accepts connections on 127.0.0.1:`port` (up to 15 s). Servers start
/// before any client exists, so blocking this thread holds nothing up.
#[allow(clippy::disallowed_methods)]
fn wait_port(port: u16) -> Result<(), String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err(format!("nothing listens on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// A port free right now on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
