//! A WebSocket spoken by hand over TCP: for what no client library does on demand (frames cut
//! at chosen bytes, a client that never reads).

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use super::Node;

/// A TCP connection to `node`'s `path` after a completed WebSocket handshake (Nagle off, so
/// each write leaves as written).
pub async fn upgraded(node: &Node, path: &str) -> TcpStream {
    upgraded_with(node, path, "").await
}

/// [`upgraded`], offering subprotocol `protocol`.
pub async fn upgraded_speaking(node: &Node, path: &str, protocol: &str) -> TcpStream {
    upgraded_with(node, path, &format!("Sec-WebSocket-Protocol: {protocol}\r\n")).await
}

/// A WebSocket handshake to `node`'s `path` that the node refuses: its status and whole body
/// (the node closes the connection after it).
pub async fn refused(node: &Node, path: &str) -> (u16, String) {
    let mut tcp = handshake(node, path, "").await;
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.expect("the refusal");
    let status = response.get(9..12).and_then(|s| s.parse().ok()).expect("a status line");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    (status, body)
}

/// A TCP connection to `node` that has sent a WebSocket handshake for `path` with `headers`.
async fn handshake(node: &Node, path: &str, headers: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(node.addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let handshake = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{headers}\r\n"
    );
    tcp.write_all(handshake.as_bytes()).await.expect("handshake");
    tcp
}

async fn upgraded_with(node: &Node, path: &str, headers: &str) -> TcpStream {
    let mut tcp = handshake(node, path, headers).await;
    // The 101 response has no body; nothing else is sent before the client speaks.
    let mut response = Vec::new();
    while !response.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        assert_eq!(tcp.read(&mut byte).await.expect("response"), 1, "closed in the handshake");
        response.push(byte[0]);
    }
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 101"), "{response}");
    tcp
}

/// `payload` as a client's masked text frame (16-bit length when it needs one).
pub fn masked_text(payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&u16::try_from(n).expect("under 64 KiB").to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}
