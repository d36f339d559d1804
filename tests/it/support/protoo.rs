//! `ProtooPeer`: a real WebSocket client speaking protoo (subprotocol `protoo`) that carries
//! mediasoup messages as mediasoup-demo v2 does: requests as the protoo request
//! `mediasoup-request`, notifications as the protoo notification `mediasoup-notification`.
//! Notifications that arrive while it waits for a response are kept, in order.

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
    MaybeTlsStream, WebSocketStream,
};

use super::PATIENCE;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One protoo peer. See the module docs.
pub struct ProtooPeer {
    ws: Ws,
    next_id: u64,
    /// mediasoup notifications received and not yet taken.
    notices: VecDeque<Value>,
    /// The node that accepted it.
    pub node: String,
}

/// A request refused: its error code and reason.
pub type Refused = (u64, String);

impl ProtooPeer {
    /// Connects to `url` offering subprotocol `protoo`; the HTTP status if refused.
    pub async fn connect(url: &str) -> Result<Self, u16> {
        Self::connect_offering(url, Some("protoo")).await
    }

    /// Connects to `url` offering `protocol`; the HTTP status if refused.
    pub async fn connect_offering(url: &str, protocol: Option<&str>) -> Result<Self, u16> {
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let Some(protocol) = protocol {
            let value = HeaderValue::from_str(protocol).expect("a header value");
            request.headers_mut().insert("sec-websocket-protocol", value);
        }
        let connected = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .expect("an answer in time");
        let (ws, response) = match connected {
            Ok(ok) => ok,
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return Err(response.status().as_u16())
            }
            Err(e) => panic!("the handshake failed: {e}"),
        };
        let protocol = response.headers().get("sec-websocket-protocol");
        assert_eq!(protocol.and_then(|p| p.to_str().ok()), Some("protoo"), "protoo is spoken");
        let node = response.headers().get("x-switchboard-node").expect("the node's header");
        let node = node.to_str().expect("ASCII").to_owned();
        Ok(Self { ws, next_id: 1000, notices: VecDeque::new(), node })
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.to_owned())).await.expect("sent");
    }

    /// The next protoo message, within [`PATIENCE`].
    async fn next(&mut self) -> Value {
        self.next_within(PATIENCE).await
    }

    /// The next protoo message, within `limit` (pings are answered meanwhile).
    async fn next_within(&mut self, limit: std::time::Duration) -> Value {
        loop {
            let frame = tokio::time::timeout(limit, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("the connection is open")
                .expect("a frame");
            match frame {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Sends protoo request `method` with `data`; its response's data, or why it was refused.
    pub async fn protoo_request(&mut self, method: &str, data: Value) -> Result<Value, Refused> {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({"request": true, "id": id, "method": method, "data": data});
        self.send_text(&request.to_string()).await;
        loop {
            let message = self.next().await;
            if message["response"] == true && message["id"] == id {
                if message["ok"] == true {
                    return Ok(message["data"].clone());
                }
                let code = message["errorCode"].as_u64().expect("an error code");
                return Err((code, message["errorReason"].as_str().unwrap_or("").to_owned()));
            }
            self.keep(message);
        }
    }

    /// Sends mediasoup request `data` (`{method, ...}`); its answer, or why it was refused.
    pub async fn request(&mut self, data: Value) -> Result<Value, Refused> {
        self.protoo_request("mediasoup-request", data).await
    }

    /// Sends mediasoup notification `data` as a protoo notification.
    pub async fn notify(&mut self, mut data: Value) {
        data["notification"] = json!(true);
        let message =
            json!({"notification": true, "method": "mediasoup-notification", "data": data});
        self.send_text(&message.to_string()).await;
    }

    fn keep(&mut self, message: Value) {
        assert_eq!(message["notification"], true, "only notifications come unasked: {message}");
        assert_eq!(message["method"], "mediasoup-notification", "{message}");
        self.notices.push_back(message["data"].clone());
    }

    /// The next mediasoup notification, which must be `method`.
    pub async fn notification(&mut self, method: &str) -> Value {
        self.notification_within(method, PATIENCE).await
    }

    /// [`ProtooPeer::notification`], waiting up to `limit`.
    pub async fn notification_within(&mut self, method: &str, limit: std::time::Duration) -> Value {
        let notice = match self.notices.pop_front() {
            Some(notice) => notice,
            None => {
                let message = self.next_within(limit).await;
                self.keep(message);
                self.notices.pop_front().expect("kept")
            }
        };
        assert_eq!(notice["method"], method, "{notice}");
        assert_eq!(notice["notification"], true, "{notice}");
        notice
    }

    /// Forgets the notifications `method` received so far (reports that came before they
    /// were turned off).
    pub fn forget(&mut self, method: &str) {
        self.notices.retain(|n| n["method"] != method);
    }

    /// Asserts nothing arrives for a moment (what arrives is a failure).
    pub async fn expect_quiet(&mut self) {
        assert!(self.notices.is_empty(), "notifications pending: {:?}", self.notices);
        let quiet =
            tokio::time::timeout(std::time::Duration::from_millis(300), self.ws.next()).await;
        if let Ok(Some(Ok(Message::Text(text)))) = quiet {
            panic!("unexpected frame {text}");
        }
    }

    /// Waits for the server to close the connection; its close code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            let next =
                tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("closed in time");
            match next {
                Some(Ok(Message::Close(frame))) => return frame.map_or(1005, |f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("the connection failed before its close frame: {e}"),
                None => panic!("the connection ended without a close frame"),
            }
        }
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
