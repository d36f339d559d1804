//! `SioDriver`: real socket.io-client 2.x and 4.x sockets, in one Node.js process running
//! `tests/js/rooms-driver.js`, driven line by line; expectations wait under a timeout.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    sync::mpsc,
};

use serde_json::{json, Value};

use super::{scratch::tool, PATIENCE};

/// The driver process and what it printed, per client.
pub struct SioDriver {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    /// Lines read but not yet expected, in order.
    pending: Vec<Value>,
}

/// Which transports a client may use.
#[derive(Debug, Clone, Copy)]
pub enum Transports {
    /// The default: long-polling first, then an upgrade to WebSocket.
    Default,
    /// WebSocket only.
    WebSocket,
    /// Long-polling only.
    Polling,
}

impl Transports {
    fn json(self) -> Value {
        match self {
            Transports::Default => json!(["polling", "websocket"]),
            Transports::WebSocket => json!(["websocket"]),
            Transports::Polling => json!(["polling"]),
        }
    }
}

impl SioDriver {
    /// Starts the driver (the npm packages must be installed: `./.ci/test` does it).
    pub fn start() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
        assert!(
            std::path::Path::new(dir).join("node_modules/sio4").is_dir(),
            "socket.io clients are not installed: run ./.ci/test (npm ci in tests/js)"
        );
        let mut child = Command::new(tool("node"))
            .arg("rooms-driver.js")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin, lines, pending: Vec::new() }
    }

    fn command(&mut self, command: Value) {
        writeln!(self.stdin, "{command}").expect("the driver reads commands");
    }

    /// Connects client `name` with socket.io-client `version` (2 or 4) to `url` (http://…) and
    /// returns its socket id.
    pub fn connect(
        &mut self,
        name: &str,
        version: u8,
        url: &str,
        transports: Transports,
    ) -> String {
        let connected = self.connect_with(name, version, url, transports, json!({}));
        connected.unwrap_or_else(|e| panic!("{name} failed: {e}"))
    }

    /// [`SioDriver::connect`] with more options (`query`, `auth`); the socket id, or the
    /// client's connect error.
    pub fn connect_with(
        &mut self,
        name: &str,
        version: u8,
        url: &str,
        transports: Transports,
        options: Value,
    ) -> Result<String, String> {
        let mut command = json!({"op": "connect", "client": name, "version": version, "url": url,
            "transports": transports.json()});
        if let (Some(command), Some(options)) = (command.as_object_mut(), options.as_object()) {
            command.extend(options.clone());
        }
        self.command(command);
        let line =
            self.expect_line(name, |l| l.get("connected").is_some() || l.get("error").is_some());
        match line["connected"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => Err(line["error"].as_str().unwrap_or_default().to_owned()),
        }
    }

    /// Client `name` emits `event` with `args`.
    pub fn emit(&mut self, name: &str, event: &str, args: Value) {
        self.command(json!({"op": "emit", "client": name, "event": event, "args": args}));
    }

    /// Client `name` sends `count` numbered signals to `target` in `room` as fast as it can.
    pub fn burst(&mut self, name: &str, room: &str, target: &str, count: u64) {
        self.command(
            json!({"op": "burst", "client": name, "room": room, "target": target, "count": count}),
        );
    }

    /// Client `name` emits `event` with `args`, asking for an acknowledgement.
    pub fn emit_with_ack(&mut self, name: &str, event: &str, args: Value) {
        self.command(json!({"op": "emit-ack", "client": name, "event": event, "args": args}));
    }

    /// Waits for client `name`'s next report, which must be the acknowledgement of `event`.
    pub fn expect_ack(&mut self, name: &str, event: &str) -> Value {
        let line = self.expect_line(name, |l| l["acked"] == event);
        line["args"].clone()
    }

    /// Client `name` writes an Engine.IO message of binary data.
    pub fn binary(&mut self, name: &str, bytes: &[u8]) {
        self.command(json!({"op": "binary", "client": name, "bytes": bytes}));
    }

    /// Client `name` writes a raw Engine.IO message packet (`packet` is the Socket.IO part).
    pub fn raw(&mut self, name: &str, packet: &str) {
        self.command(json!({"op": "raw", "client": name, "packet": packet}));
    }

    /// Client `name` disconnects.
    pub fn close(&mut self, name: &str) {
        self.command(json!({"op": "close", "client": name}));
    }

    /// Waits for the next line of client `name` that satisfies `pred` (other lines of `name`
    /// before it are a failure unless they are transport upgrades).
    fn expect_line(&mut self, name: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) =
                self.pending.iter().position(|l| l["client"] == name && !is_transport_news(l))
            {
                let line = self.pending.remove(i);
                assert!(pred(&line), "{name}: unexpected {line}");
                return line;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{name}: nothing within {PATIENCE:?}"));
            self.pending.push(line);
        }
    }

    /// Waits for client `name`'s next event, which must be `event`; returns its arguments.
    pub fn expect(&mut self, name: &str, event: &str) -> Value {
        let line = self.expect_line(name, |l| l["event"] == event);
        line["args"].clone()
    }

    /// Waits for client `name` to be disconnected; returns the reason.
    pub fn expect_disconnect(&mut self, name: &str) -> String {
        let line = self.expect_line(name, |l| l.get("disconnected").is_some());
        line["disconnected"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits until client `name` reports an upgrade to WebSocket.
    pub fn expect_upgrade(&mut self, name: &str) {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) =
                self.pending.iter().position(|l| l["client"] == name && l.get("upgraded").is_some())
            {
                self.pending.remove(i);
                return;
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line =
                self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("{name}: no upgrade"));
            self.pending.push(line);
        }
    }

    /// Asserts nothing else has arrived for client `name` (call after a barrier event).
    pub fn expect_quiet(&mut self, name: &str) {
        while let Ok(line) = self.lines.try_recv() {
            self.pending.push(line);
        }
        let extra: Vec<&Value> =
            self.pending.iter().filter(|l| l["client"] == name && !is_transport_news(l)).collect();
        assert!(extra.is_empty(), "{name}: unexpected {extra:?}");
    }
}

/// Whether `line` is not a Socket.IO happening: a transport upgrade or a failed upgrade attempt
/// (behind a balancer a probe may reach another node than the session's, and the client just
/// keeps polling), or the driver's note that a burst was written.
fn is_transport_news(line: &Value) -> bool {
    line.get("upgraded").is_some()
        || line.get("upgradeError").is_some()
        || line.get("sent").is_some()
}

impl Drop for SioDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
