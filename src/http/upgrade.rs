//! WebSocket upgrades. The HTTP dispatcher hands every request that asks for `Upgrade:
//! websocket` here, with its TCP stream: the handshake is checked, the request is routed by
//! path through [`ENDPOINTS`], and the endpoint either refuses it (an HTTP response, then the
//! stream is closed) or accepts it (`101`, then the stream is the endpoint's [`Socket`] for the
//! connection's life). An endpoint reads the request's query string and the subprotocols the
//! client offers from its [`Handshake`], and names the one it speaks when it accepts.
//! Requests without the header go to the routes in [`super::routes`] as usual.

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;

use actix_http::{
    h1,
    ws::{hash_key, verify_handshake, HandshakeError},
    Request, StatusCode,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

use super::{eio, mediasoup, signals, socket::Socket, ws, NodeState};
use crate::protocol::cmd::Cmd;

/// The stream as the dispatcher hands it over.
pub(crate) type Framed = actix_codec::Framed<TcpStream, h1::Codec>;

/// A WebSocket endpoint: takes a checked handshake and serves the connection to its end.
type Endpoint = fn(Handshake, Arc<NodeState>) -> LocalBoxFuture<'static, ()>;

/// The WebSocket endpoints by path. A new dialect is one more line here (and its codec).
const ENDPOINTS: &[(&str, Endpoint)] = &[
    ("/cmd", |h, node| Box::pin(ws::accept_cmd(h, node, Arc::new(Cmd)))),
    ("/signals", |h, node| Box::pin(signals::accept(h, node))),
    ("/socket.io/", |h, node| Box::pin(eio::upgrade(h, node))),
    ("/mediasoup", |h, node| Box::pin(mediasoup::accept(h, node))),
];

/// A WebSocket handshake waiting for its endpoint's answer.
pub(super) struct Handshake {
    io: TcpStream,
    read: Vec<u8>,
    accept: [u8; 28],
    node: String,
    query: String,
    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order.
    protocols: Vec<String>,
    /// The node's counters (refusals are counted by status).
    metrics: Arc<crate::metrics::Metrics>,
}

impl Handshake {
    /// The request's query string (empty if none).
    pub(super) fn query(&self) -> &str {
        &self.query
    }

    /// Whether the client offered subprotocol `protocol`.
    pub(super) fn offers(&self, protocol: &str) -> bool {
        self.protocols.iter().any(|p| p.eq_ignore_ascii_case(protocol))
    }

    /// Answers with an HTTP error and closes the stream.
    pub(super) async fn refuse(self, status: StatusCode, content_type: &str, body: &str) {
        self.metrics.refused(status.as_u16());
        let reason = status.canonical_reason().unwrap_or("");
        let head = format!(
            "HTTP/1.1 {} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             connection: close\r\n{}: {}\r\n\r\n",
            status.as_u16(),
            body.len(),
            super::NODE_HEADER,
            self.node,
        );
        let mut io = self.io;
        let sent = async {
            io.write_all(head.as_bytes()).await?;
            io.write_all(body.as_bytes()).await?;
            io.shutdown().await
        };
        if let Err(e) = sent.await {
            log::debug!("refusing an upgrade: {e}");
        }
    }

    /// Refuses a client whose access token was refused: 401, and why.
    pub(super) async fn unauthorized(self, why: crate::auth::Refused) {
        let body = format!("{why}\n");
        self.refuse(StatusCode::UNAUTHORIZED, "text/plain", &body).await;
    }

    /// Refuses a client over its tenant's limit: 429, and which.
    pub(super) async fn too_many(self, why: &str) {
        self.refuse(StatusCode::TOO_MANY_REQUESTS, "text/plain", &format!("{why}\n")).await;
    }

    /// Refuses a client because the node is full or draining.
    pub(super) async fn busy(self) {
        let busy = "node full or draining\n";
        self.refuse(StatusCode::SERVICE_UNAVAILABLE, "text/plain", busy).await;
    }

    /// Switches protocols: the stream is a WebSocket with frames up to `frame` bytes and
    /// messages up to `message` (`None` if the client is already gone).
    pub(super) async fn accept(self, frame: usize, message: usize) -> Option<Socket> {
        self.accept_speaking(None, frame, message).await
    }

    /// [`Handshake::accept`], naming `protocol` (one the client offered) as the connection's
    /// subprotocol.
    pub(super) async fn accept_speaking(
        mut self,
        protocol: Option<&str>,
        frame: usize,
        message: usize,
    ) -> Option<Socket> {
        let accept = std::str::from_utf8(&self.accept).unwrap_or_default();
        let protocol =
            protocol.map(|p| format!("sec-websocket-protocol: {p}\r\n")).unwrap_or_default();
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
             sec-websocket-accept: {accept}\r\n{protocol}{}: {}\r\n\r\n",
            super::NODE_HEADER,
            self.node,
        );
        if let Err(e) = self.io.write_all(head.as_bytes()).await {
            log::debug!("accepting an upgrade: {e}");
            return None;
        }
        Some(Socket::new(self.io, self.read, frame, message))
    }
}

/// Serves one upgrade request; resolves when its connection ends.
pub(crate) async fn serve(
    node: Arc<NodeState>,
    req: Request,
    framed: Framed,
) -> Result<(), actix_http::Error> {
    let head = req.head();
    let checked = verify_handshake(head).and_then(|()| {
        let key = head.headers.get(actix_http::header::SEC_WEBSOCKET_KEY);
        key.map(|key| hash_key(key.as_bytes())).ok_or(HandshakeError::BadWebsocketKey)
    });
    let path = head.uri.path().to_owned();
    let query = head.uri.query().unwrap_or("").to_owned();
    let protocols = offered(&head.headers);
    // The request and the dispatcher's buffers (8 KiB each, the request's bytes among them)
    // are not kept for the connection's life: only bytes the client sent after its request.
    drop(req);
    let parts = framed.into_parts();
    let read = parts.read_buf.to_vec();
    drop(parts.read_buf);
    drop(parts.write_buf);
    let (node_id, metrics) = (node.core.node.to_string(), node.metrics.clone());
    let handshake =
        |accept| Handshake { io: parts.io, read, accept, node: node_id, query, protocols, metrics };
    let accept = match checked {
        Ok(accept) => accept,
        Err(error) => {
            let (status, text) = refusal(&error);
            handshake([0; 28]).refuse(status, "text/plain", text).await;
            return Ok(());
        }
    };
    let handshake = handshake(accept);
    match ENDPOINTS.iter().find(|(at, _)| *at == path) {
        Some((_, endpoint)) => endpoint(handshake, node).await,
        None => handshake.refuse(StatusCode::NOT_FOUND, "text/plain", "not found\n").await,
    }
    Ok(())
}

/// The subprotocols a handshake offers, in order (the header may repeat, each a list).
fn offered(headers: &actix_http::header::HeaderMap) -> Vec<String> {
    headers
        .get_all(actix_http::header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The HTTP answer to a handshake that is not one.
pub(super) fn refusal(error: &HandshakeError) -> (StatusCode, &'static str) {
    match error {
        HandshakeError::GetMethodRequired => {
            (StatusCode::METHOD_NOT_ALLOWED, "a WebSocket handshake is a GET\n")
        }
        HandshakeError::NoWebsocketUpgrade => {
            (StatusCode::BAD_REQUEST, "no WebSocket Upgrade header\n")
        }
        HandshakeError::NoConnectionUpgrade => {
            (StatusCode::BAD_REQUEST, "no Connection: Upgrade header\n")
        }
        HandshakeError::NoVersionHeader => {
            (StatusCode::BAD_REQUEST, "no Sec-WebSocket-Version header\n")
        }
        HandshakeError::UnsupportedVersion => {
            (StatusCode::BAD_REQUEST, "unsupported WebSocket version\n")
        }
        HandshakeError::BadWebsocketKey => {
            (StatusCode::BAD_REQUEST, "missing or malformed Sec-WebSocket-Key\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_http::header::{HeaderMap, HeaderValue, SEC_WEBSOCKET_PROTOCOL};

    use super::offered;

    #[test]
    fn offered_subprotocols_are_read_in_order_from_every_header() {
        let mut headers = HeaderMap::new();
        assert!(offered(&headers).is_empty());
        headers.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static("protoo, chat"));
        headers.append(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(" x ,,"));
        assert_eq!(offered(&headers), ["protoo", "chat", "x"]);
    }
}
