//! `Client`: a real WebSocket client speaking the `cmd` dialect, with expectations that wait
//! for events under a timeout (never a sleep).

use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{protocol::frame::coding::CloseCode, Message},
    MaybeTlsStream, WebSocketStream,
};

use super::{Node, PATIENCE};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One `cmd` client: a sending half and a receiving half that can be used concurrently.
pub struct Client {
    /// The sending half.
    pub tx: Tx,
    /// The receiving half.
    pub rx: Rx,
    /// Its sId, once registered through [`Client::register`].
    pub name: String,
    /// The node that accepted it (its `x-switchboard-node` header).
    pub node: String,
}

/// The sending half of a client.
pub struct Tx(SplitSink<Ws, Message>);

/// The receiving half of a client.
pub struct Rx {
    stream: SplitStream<Ws>,
    name: String,
    /// The latest roster this client received: its current view of who is online.
    roster: Option<Vec<Value>>,
    /// A roster received but not parsed yet (newer than `roster`).
    unparsed_roster: Option<String>,
}

/// How a connection ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Close(u16),
    /// The TCP connection ended without a close frame.
    Dropped,
}

impl Client {
    /// Connects to `node`'s `/cmd` endpoint.
    pub async fn connect(node: &Node) -> Self {
        Self::connect_url(&node.ws("/cmd")).await
    }

    /// Connects to a `cmd` endpoint by URL (a node, or a load balancer in front of nodes).
    pub async fn connect_url(url: &str) -> Self {
        let (ws, response) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("WebSocket handshake");
        let node = response.headers().get("x-switchboard-node").expect("the node's header");
        let node = node.to_str().expect("an ASCII node id").to_owned();
        let (sink, stream) = ws.split();
        Self {
            tx: Tx(sink),
            rx: Rx { stream, name: String::new(), roster: None, unparsed_roster: None },
            name: String::new(),
            node,
        }
    }

    /// Connects and registers `name`, consuming the `sId` echo and the first `clu`, which lists
    /// the client itself.
    pub async fn register(node: &Node, name: &str) -> Self {
        Self::register_url(&node.ws("/cmd"), name).await
    }

    /// Connects to `url` and registers `name`, as [`Client::register`].
    pub async fn register_url(url: &str, name: &str) -> Self {
        let mut client = Self::connect_url(url).await;
        client.send(json!({"cmd": "sId", "sId": name})).await;
        assert_eq!(client.recv().await, json!({"cmd": "sId", "sId": name}));
        client.name = name.to_owned();
        client.rx.name = name.to_owned();
        client.clu_until(|list| list.iter().any(|e| e["sId"] == name)).await;
        client
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.tx.send(message).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.tx.send_text(text).await;
    }

    /// Sends raw text, reporting failure instead of panicking (for floods the server cuts off).
    pub async fn try_send_text(&mut self, text: &str) -> Result<(), ()> {
        self.tx.0.send(Message::text(text)).await.map_err(|_| ())
    }

    /// Sends a raw frame.
    pub async fn send_message(&mut self, message: Message) {
        self.tx.0.send(message).await.expect("send");
    }

    /// Both halves, for sending and receiving at once.
    pub fn split(&mut self) -> (&mut Tx, &mut Rx) {
        (&mut self.tx, &mut self.rx)
    }

    /// The next text frame, raw.
    pub async fn recv_text(&mut self) -> String {
        self.rx.recv_text().await
    }

    /// The next text frame, parsed.
    pub async fn recv(&mut self) -> Value {
        self.rx.recv().await
    }

    /// The next frame that is not a `clu`.
    pub async fn recv_skipping_clu(&mut self) -> Value {
        self.rx.recv_skipping_clu().await
    }

    /// Waits for the next frame, which must be `cmd`; returns it.
    pub async fn expect(&mut self, cmd: &str) -> Value {
        self.rx.expect(cmd).await
    }

    /// Waits for the next non-`clu` frame, which must be `cmd`.
    pub async fn expect_skipping_clu(&mut self, cmd: &str) -> Value {
        let message = self.rx.recv_skipping_clu().await;
        assert_eq!(message["cmd"], cmd, "{}: expected {cmd}, got {message}", self.name);
        message
    }

    /// Waits for the next frame, which must be `{cmd:'error', code}`.
    pub async fn expect_error(&mut self, code: u16) {
        let message = self.recv().await;
        assert_eq!(message, json!({"cmd": "error", "code": code}), "{}", self.name);
    }

    /// Waits until this client's view of the roster (its latest `clu`) satisfies `pred`;
    /// returns that list. Any frame other than `clu` meanwhile fails the test.
    pub async fn clu_until(&mut self, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        if let Some(list) = self.rx.roster().filter(|l| pred(l)) {
            return list.clone();
        }
        loop {
            let message = self.expect("clu").await;
            let list = message["list"].as_array().expect("clu has a list").clone();
            if pred(&list) {
                return list;
            }
        }
    }

    /// Proves nothing else is queued for this client: sends a frame that is answered with 9002
    /// and expects that answer next.
    pub async fn expect_nothing_pending(&mut self) {
        self.send(json!({"cmd": "no-such-cmd"})).await;
        self.expect_error(9002).await;
    }

    /// Like [`Client::expect_nothing_pending`], tolerating roster updates in between.
    pub async fn expect_nothing_but_clu_pending(&mut self) {
        self.send(json!({"cmd": "no-such-cmd"})).await;
        let message = self.recv_skipping_clu().await;
        assert_eq!(message, json!({"cmd": "error", "code": 9002}), "{}", self.name);
    }

    /// The next text frame, or `None` once the connection has ended (with or without a close
    /// frame).
    pub async fn try_recv_text(&mut self) -> Option<String> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.rx.stream.next())
                .await
                .unwrap_or_else(|_| panic!("{}: nothing within {PATIENCE:?}", self.name));
            match next {
                Some(Ok(Message::Text(text))) => return Some(text.to_string()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(other)) => panic!("{}: expected a text frame, got {other:?}", self.name),
            }
        }
    }

    /// Waits for the connection to end, skipping any frames still queued before it.
    pub async fn expect_end(&mut self) -> Ended {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next =
                tokio::time::timeout_at(deadline, self.rx.stream.next()).await.unwrap_or_else(
                    |_| panic!("{}: connection still open after {PATIENCE:?}", self.name),
                );
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return Ended::Close(frame.code.into()),
                Some(Ok(Message::Close(None))) => return Ended::Close(CloseCode::Status.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::Dropped,
            }
        }
    }

    /// Closes the connection cleanly.
    pub async fn close(mut self) {
        let _ = self.tx.0.close().await;
        // Drain until the server's close arrives or the socket ends.
        let drain = async { while let Some(Ok(_)) = self.rx.stream.next().await {} };
        let _ = tokio::time::timeout(PATIENCE, drain).await;
    }

    /// Drops the TCP connection without a close handshake (a crashed client).
    pub fn abort(self) {
        drop(self);
    }
}

impl Tx {
    /// Sends a JSON message.
    pub async fn send(&mut self, message: Value) {
        self.send_text(&message.to_string()).await;
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.0.send(Message::text(text)).await.expect("send");
    }

    /// Sends several text frames in one write (so the server likely reads them together).
    pub async fn send_batch(&mut self, texts: &[&str]) {
        for text in texts {
            self.0.feed(Message::text(*text)).await.expect("send");
        }
        self.0.flush().await.expect("send");
    }
}

impl Rx {
    /// The next text frame, raw.
    pub async fn recv_text(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("{}: no frame within {PATIENCE:?}", self.name));
            match next {
                Some(Ok(Message::Text(text))) => return text.to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("{}: expected a text frame, got {other:?}", self.name),
            }
        }
    }

    /// Waits for the server's next WebSocket ping (no text frame may come first).
    pub async fn expect_ping(&mut self) {
        let next = tokio::time::timeout(PATIENCE, self.stream.next()).await;
        match next.unwrap_or_else(|_| panic!("{}: no ping within {PATIENCE:?}", self.name)) {
            Some(Ok(Message::Ping(_))) => {}
            other => panic!("{}: expected a ping, got {other:?}", self.name),
        }
    }

    /// The next text frame, parsed.
    pub async fn recv(&mut self) -> Value {
        let text = self.recv_text().await;
        let message: Value = serde_json::from_str(&text).expect("the server sends JSON");
        if message["cmd"] == "clu" {
            self.roster = message["list"].as_array().cloned();
            self.unparsed_roster = None;
        }
        message
    }

    /// The next frame that is not a `clu`. Rosters are only remembered, not parsed: with
    /// hundreds of clients they are most of the traffic.
    pub async fn recv_skipping_clu(&mut self) -> Value {
        loop {
            let text = self.recv_text().await;
            if text.starts_with(r#"{"cmd":"clu","#) {
                self.unparsed_roster = Some(text);
                continue;
            }
            return serde_json::from_str(&text).expect("the server sends JSON");
        }
    }

    /// The latest roster received, if any.
    fn roster(&mut self) -> Option<&Vec<Value>> {
        if let Some(text) = self.unparsed_roster.take() {
            let message: Value = serde_json::from_str(&text).expect("the server sends JSON");
            self.roster = message["list"].as_array().cloned();
        }
        self.roster.as_ref()
    }

    /// Waits for the next frame, which must be `cmd`; returns it.
    pub async fn expect(&mut self, cmd: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["cmd"], cmd, "{}: expected {cmd}, got {message}", self.name);
        message
    }
}

/// The state of `name` in a `clu` list, if listed.
pub fn state_of(list: &[Value], name: &str) -> Option<u64> {
    list.iter().find(|e| e["sId"] == name).and_then(|e| e["state"].as_u64())
}

/// Opens a session from `a` to `b` and returns its id, checking the reference's messages.
pub async fn open_session(a: &mut Client, b: &mut Client) -> String {
    a.send(json!({"cmd": "session", "opponentId": b.name})).await;
    let session = a.expect_skipping_clu("session").await["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(session.len(), 8);
    assert!(session.bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(a.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 1}));
    // The callee gets no `session`, only the state update.
    assert_eq!(
        b.recv_skipping_clu().await,
        json!({"cmd": "ssu", "sessionId": session, "state": 1})
    );
    session
}
