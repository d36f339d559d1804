//! `Node`: the real `switchboard` binary on a free port, killed when dropped.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::mpsc,
};

use super::PATIENCE;

/// A running node process.
pub struct Node {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its node id, as it logged it.
    id: String,
    /// What it logged up to and including the line with its address.
    startup: Vec<String>,
    /// Every later line read so far (by [`Node::wait_for_log`] or [`Node::logged`]).
    history: std::sync::Mutex<Vec<String>>,
    log: std::sync::Mutex<mpsc::Receiver<String>>,
}

impl Node {
    /// Starts a node with default settings.
    pub fn start() -> Self {
        Self::with_args(&[])
    }

    /// Starts a node with extra command-line flags.
    pub fn with_args(args: &[&str]) -> Self {
        let filter = std::env::var("SWITCHBOARD_TEST_RUST_LOG").unwrap_or_else(|_| "info".into());
        Self::with_log(args, &filter)
    }

    /// Starts a node with extra flags and log filter `filter` (`RUST_LOG` syntax), for tests
    /// that wait for a log line.
    pub fn with_log(args: &[&str], filter: &str) -> Self {
        Self::launch(&[], "127.0.0.1:0", args, filter)
    }

    /// Starts a node listening on `listen` (port 0 for a free one), with extra flags.
    pub fn listening_on(listen: &str, args: &[&str]) -> Self {
        Self::launch(&[], listen, args, "info")
    }

    /// Starts a node under `prlimit` with open-file limits `soft` and `hard`, with extra flags.
    pub fn with_open_files(soft: u64, hard: u64, args: &[&str]) -> Self {
        let limit = format!("--nofile={soft}:{hard}");
        Self::launch(&["prlimit", &limit, "--"], "127.0.0.1:0", args, "info")
    }

    /// Starts the binary (behind `wrapper`, a command and its arguments, if any) listening on
    /// `listen`, and waits for its address.
    fn launch(wrapper: &[&str], listen: &str, args: &[&str], filter: &str) -> Self {
        let binary = env!("CARGO_BIN_EXE_switchboard");
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(super::scratch::tool(program));
                command.args(rest).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--listen", listen])
            .args(args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the switchboard binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("SWITCHBOARD_TEST_LOG").is_some() {
                    eprintln!("[node] {line}");
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut startup = Vec::new();
        let (id, addr) = loop {
            let line = log.recv_timeout(PATIENCE).expect("the node logs its address in time");
            // `… node <id>: listening on <addr>`
            if let Some((head, addr)) = line.split_once(": listening on ") {
                let id = head.rsplit_once("node ").map_or("", |(_, id)| id).to_owned();
                let addr = addr.trim().parse().expect("a socket address");
                startup.push(line);
                break (id, addr);
            }
            startup.push(line);
        };
        let history = std::sync::Mutex::default();
        Self { child, addr, id, startup, history, log: std::sync::Mutex::new(log) }
    }

    /// Starts node `id` of the cluster beside `redis`, with extra flags.
    pub fn clustered(redis: &super::Redis, id: &str, args: &[&str]) -> Self {
        Self::clustered_at(&redis.url(), id, args)
    }

    /// Starts node `id` of the cluster whose Redis is at `url`, with extra flags.
    pub fn clustered_at(url: &str, id: &str, args: &[&str]) -> Self {
        let mut all = vec!["--redis-url", url, "--node-id", id];
        all.extend_from_slice(args);
        let node = Self::with_args(&all);
        node.wait_for_log("cluster reachable");
        node
    }

    /// Its node id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The line of its start-up log containing `needle`, if any.
    pub fn logged_at_start(&self, needle: &str) -> Option<&str> {
        self.startup.iter().find(|line| line.contains(needle)).map(String::as_str)
    }

    /// Kills the process at once (SIGKILL): no drain, no deregistration.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Asks the process to drain and exit (SIGTERM).
    pub fn sigterm(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its status.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "the node did not exit in time");
            // Block on the log pipe rather than spin: it closes when the process exits.
            let _ = self.log.lock().expect("log lock").recv_timeout(PATIENCE / 100);
        }
    }

    /// Polling requests this node forwarded to another (from its metrics).
    pub fn forwarded_polls(&self) -> u64 {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.addr).expect("connect");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut body = String::new();
        stream.read_to_string(&mut body).expect("read");
        body.lines()
            .find_map(|l| l.strip_prefix("switchboard_eio_forwarded_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("the metric is exported")
    }

    /// The HTTP base URL (what Socket.IO clients are given).
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL of `path`.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A line containing `needle` the node has logged since it started listening, if any (what
    /// it logged so far, without waiting).
    pub fn logged(&self, needle: &str) -> Option<String> {
        let mut history = self.history.lock().expect("history lock");
        history.extend(self.log.lock().expect("log lock").try_iter());
        history.iter().find(|line| line.contains(needle)).cloned()
    }

    /// Waits until the node logs a line containing `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .log
                .lock()
                .expect("log lock")
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            self.history.lock().expect("history lock").push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// GETs `path` and returns the status code and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path).await.expect("the node answers HTTP")
    }

    /// Waits until `GET path` answers `status`.
    pub async fn wait_for_status(&self, path: &str, status: u16) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(20));
        loop {
            if http_get(self.addr, path).await.is_some_and(|(s, _)| s == status) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{path} never answered {status}");
            tick.tick().await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GETs `path` from `addr`: the status code and body, or `None` if nothing answers.
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    request(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).await
}

/// POSTs `body` to `path` on `addr`: the status code and body, or `None` if nothing answers.
pub async fn http_post(addr: SocketAddr, path: &str, body: &str) -> Option<(u16, String)> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    request(addr, head + body).await
}

/// Sends `method path` (no body) to `addr` with `bearer` as its `Authorization: Bearer`, if
/// given: the status code and body, or `None` if nothing answers.
pub async fn http_bearer(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> Option<(u16, String)> {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let length = if method == "GET" { "" } else { "Content-Length: 0\r\n" };
    let head =
        format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}{length}Connection: close\r\n\r\n");
    request(addr, head).await
}

/// Sends one raw HTTP/1.1 request and reads the whole response.
async fn request(addr: SocketAddr, raw: String) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(raw.as_bytes()).await.ok()?;
    let mut buf = String::new();
    tokio::time::timeout(PATIENCE, stream.read_to_string(&mut buf)).await.ok()?.ok()?;
    let status = buf.split_whitespace().nth(1).and_then(|s| s.parse().ok())?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Some((status, body))
}

/// The value of `series` (its name and labels, as exported) in the Prometheus exposition
/// `text`; fails the test if it is not there.
pub fn metric(text: &str, series: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(&format!("{series} ")));
    line.and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {series}:\n{text}"))
}
