//! The load generator's WebSocket plumbing: connect (Nagle off), send a text frame, and read
//! until a frame containing some text arrives.

use std::time::Duration;

use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// The sending half of a client.
pub(crate) type Tx = SplitSink<Ws, Message>;
/// The receiving half of a client.
pub(crate) type Rx = SplitStream<Ws>;

/// How long one setup step (a handshake, a join) may take.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects to `url`.
pub(crate) async fn connect(url: &str) -> Result<(Tx, Rx), String> {
    // Nagle's algorithm would hold small frames back for delayed ACKs: measure the server.
    let connect = tokio_tungstenite::connect_async_with_config(url, None, true);
    let (ws, _) = tokio::time::timeout(STEP_TIMEOUT, connect)
        .await
        .map_err(|_| format!("{url}: no handshake in time"))?
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(ws.split())
}

/// Sends one text frame.
pub(crate) async fn send(tx: &mut Tx, text: String) -> Result<(), String> {
    tx.send(Message::text(text)).await.map_err(|e| e.to_string())
}

/// Reads until a text frame contains `needle`; returns it.
pub(crate) async fn until(rx: &mut Rx, needle: &str) -> Result<String, String> {
    let wait = async {
        while let Some(message) = rx.next().await {
            if let Message::Text(text) = message.map_err(|e| e.to_string())? {
                if text.contains(needle) {
                    return Ok(text.to_string());
                }
            }
        }
        Err("connection closed".to_owned())
    };
    tokio::time::timeout(STEP_TIMEOUT, wait).await.map_err(|_| format!("no {needle} in time"))?
}
