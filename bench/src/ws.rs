//! The load generator's WebSocket plumbing: connect (Nagle off), send a text frame, and read
//! until a frame containing some text arrives.

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use futures_util::{
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use socket2::SockRef;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;
/// The sending half of a client.
pub(crate) type Tx = SplitSink<Ws, Message>;
/// The receiving half of a client.
pub(crate) type Rx = SplitStream<Ws>;

/// How long one setup step (a handshake, a join) may take.
pub(crate) const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// How many loopback source addresses connections are spread over (127.0.0.1 to .8), so tens
/// of thousands of them never exhaust one address's ephemeral ports.
const SOURCES: usize = 8;

/// Connects to `url` (`ws://127.0.0.1:port/...`) from the next of the [`SOURCES`].
pub(crate) async fn connect(url: &str) -> Result<(Tx, Rx), String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) % SOURCES;
    let source = SocketAddr::from(([127, 0, 0, 1 + n as u8], 0));
    let server = server_addr(url)?;
    let open = async {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket.bind(source).map_err(|e| format!("bind {source}: {e}"))?;
        let stream = socket.connect(server).await.map_err(|e| format!("{url}: {e}"))?;
        // Nagle's algorithm would hold small frames back for delayed ACKs: measure the server.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        // Closed with a reset, so no port is left in TIME_WAIT: tens of thousands of those
        // from earlier runs made each `bind` above a long port search in this single-threaded
        // generator, stalling every client (and servers then timed out their requests).
        SockRef::from(&stream).set_linger(Some(Duration::ZERO)).map_err(|e| e.to_string())?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        Ok::<_, String>(ws)
    };
    let ws = tokio::time::timeout(STEP_TIMEOUT, open)
        .await
        .map_err(|_| format!("{url}: no handshake in time"))??;
    Ok(ws.split())
}

/// The `host:port` of a `ws://` URL, as a socket address.
fn server_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url.strip_prefix("ws://").ok_or_else(|| format!("{url}: not ws://"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    authority.parse().map_err(|e| format!("{url}: {e}"))
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
