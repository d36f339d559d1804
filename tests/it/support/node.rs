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
    log: std::sync::Mutex<mpsc::Receiver<String>>,
}

impl Node {
    /// Starts a node with default settings.
    pub fn start() -> Self {
        Self::with_args(&[])
    }

    /// Starts a node with extra command-line flags.
    pub fn with_args(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("SWITCHBOARD_TEST_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
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
        let addr = loop {
            let line = log.recv_timeout(PATIENCE).expect("the node logs its address in time");
            if let Some((_, addr)) = line.split_once("listening on ") {
                break addr.trim().parse().expect("a socket address");
            }
        };
        Self { child, addr, log: std::sync::Mutex::new(log) }
    }

    /// The WebSocket URL of `path`.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
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
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.expect("connect");
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut buf = String::new();
        tokio::time::timeout(PATIENCE, stream.read_to_string(&mut buf))
            .await
            .expect("in time")
            .expect("read");
        let status =
            buf.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
        (status, body)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
