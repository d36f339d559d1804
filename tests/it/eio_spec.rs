//! The `rooms` endpoint checked against the published Engine.IO v4 and Socket.IO v5 protocol
//! specifications (and their reference test suites), with raw HTTP requests and WebSockets:
//! binary data, closing, upgrades, connect timeout, malformed packets and acknowledgements.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    client::{Client, Ended},
    node::{http_get, http_post},
    sio::{SioDriver, Transports},
    Node,
};

const V4: &str = "/socket.io/?EIO=4&transport=polling";

/// A v4 polling session whose Socket.IO socket is connected; its sid.
async fn polling_session(node: &Node) -> String {
    let (status, body) = http_get(node.addr, V4).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let open: serde_json::Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
    let sid = open["sid"].as_str().unwrap().to_owned();
    assert_eq!(http_post(node.addr, &poll(&sid), "40").await.unwrap(), (200, "ok".into()));
    let (_, ack) = http_get(node.addr, &poll(&sid)).await.unwrap();
    assert!(ack.starts_with("40{\"sid\""), "{ack}");
    sid
}

fn poll(sid: &str) -> String {
    format!("{V4}&sid={sid}")
}

/// A v4 WebSocket session: the client and the open packet.
async fn websocket(node: &Node, query: &str) -> (Client, String) {
    let mut c =
        Client::connect_url(&node.ws(&format!("/socket.io/?EIO=4&transport=websocket{query}")))
            .await;
    let open = c.recv_text().await;
    assert!(open.starts_with("0{"), "{open}");
    (c, open)
}

/// A v4 WebSocket session with its Socket.IO socket connected.
async fn connected_websocket(node: &Node) -> Client {
    let (mut c, _) = websocket(node, "").await;
    c.send_text("40").await;
    assert!(c.recv_text().await.starts_with("40{"));
    c
}

#[tokio::test]
async fn a_base64_binary_packet_in_a_polling_payload_gets_an_error_event_and_the_session_goes_on() {
    let node = Node::start();
    let sid = polling_session(&node).await;
    let path = poll(&sid);
    let body = "bAQIDBA==\u{1e}42[\"room-leave\",\"x\"]";
    assert_eq!(http_post(node.addr, &path, body).await.unwrap(), (200, "ok".into()));
    let (status, answer) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        "42[\"error\",\"binary messages are not supported\"]\u{1e}42[\"not-in-room\",\"x\"]"
    );
}

#[tokio::test]
async fn a_binary_websocket_frame_gets_an_error_event_and_later_packets_are_read() {
    let node = Node::start();
    let mut c = connected_websocket(&node).await;
    c.send_message(Message::Binary(vec![1, 2, 3, 4])).await;
    assert_eq!(c.recv_text().await, "42[\"error\",\"binary messages are not supported\"]");
    c.send_text("42[\"room-leave\",\"x\"]").await;
    assert_eq!(c.recv_text().await, "42[\"not-in-room\",\"x\"]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_close_releases_a_parked_poll_with_a_noop_and_forgets_the_sid() {
    let node = Node::with_log(&[], "info,switchboard::http::eio=debug");
    let sid = polling_session(&node).await;
    let path = poll(&sid);
    let parked = tokio::spawn({
        let (addr, path) = (node.addr, path.clone());
        async move { http_get(addr, &path).await }
    });
    node.wait_for_log(&format!("eio {sid}: poll parked"));
    assert_eq!(http_post(node.addr, &path, "1").await.unwrap(), (200, "ok".into()));
    assert_eq!(parked.await.unwrap().unwrap(), (200, "6".into()));
    assert_eq!(http_get(node.addr, &path).await.unwrap().0, 400);
}

#[tokio::test]
async fn other_http_methods_are_bad_requests() {
    let node = Node::start();
    for (method, path) in [("PUT", V4.to_owned()), ("DELETE", format!("{V4}&sid=abc"))] {
        let (status, body) = raw_request(&node, method, &path).await;
        assert_eq!(status, 400, "{method}: {body}");
        assert!(body.contains("\"code\""), "{body}");
    }
}

/// Sends a bodiless request with `method`: the status and body.
async fn raw_request(node: &Node, method: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

#[tokio::test]
async fn after_an_upgrade_polling_and_a_second_websocket_are_refused_and_the_first_goes_on() {
    let node = Node::start();
    let sid = polling_session(&node).await;
    let (mut ws, _) = {
        let url = node.ws(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"));
        (Client::connect_url(&url).await, ())
    };
    ws.send_text("2probe").await;
    assert_eq!(ws.recv_text().await, "3probe");
    ws.send_text("5").await;
    // The upgrade is done once the node has seen `5`: a round trip on the WebSocket shows it.
    ws.send_text("42[\"room-leave\",\"x\"]").await;
    assert_eq!(ws.recv_text().await, "42[\"not-in-room\",\"x\"]");
    assert_eq!(http_get(node.addr, &poll(&sid)).await.unwrap().0, 400, "polling after upgrade");
    let second = node.ws(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"));
    match tokio_tungstenite::connect_async(second).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400)
        }
        other => panic!("a second WebSocket for {sid} was not refused: {:?}", other.map(|_| ())),
    }
    ws.send_text("42[\"room-create\",\"r\"]").await;
    assert_eq!(ws.recv_text().await, "42[\"room-created\",\"r\"]");
}

#[tokio::test]
async fn a_client_that_never_connects_its_socket_is_closed_after_the_connect_timeout() {
    let node = Node::with_args(&[
        "--sio-connect-timeout-ms",
        "300",
        "--eio-ping-interval-ms",
        "250",
        "--eio-ping-timeout-ms",
        "5000",
    ]);
    let (mut idle, _) = websocket(&node, "").await;
    let mut connected = connected_websocket(&node).await;
    // The idle one is closed; the connected one answers three pings (750 ms, past the
    // timeout) and is still served.
    while let Some(ping) = idle.try_recv_text().await {
        assert_eq!(ping, "2");
        idle.send_text("3").await;
    }
    for _ in 0..3 {
        assert_eq!(connected.recv_text().await, "2");
        connected.send_text("3").await;
    }
    connected.send_text("42[\"room-leave\",\"x\"]").await;
    assert_eq!(connected.recv_text().await, "42[\"not-in-room\",\"x\"]");
}

#[tokio::test]
async fn malformed_socket_io_packets_and_events_before_connect_close_the_connection() {
    let node = Node::start();
    let mut bystander = connected_websocket(&node).await;
    bystander.send_text("42[\"room-create\",\"r\"]").await;
    assert_eq!(bystander.recv_text().await, "42[\"room-created\",\"r\"]");
    for bad in ["42{}", "42abc[\"room-join\",\"r\"]", "4zzz", "42[1]"] {
        let mut c = connected_websocket(&node).await;
        c.send_text(bad).await;
        assert!(matches!(c.expect_end().await, Ended::Close(_) | Ended::Dropped), "{bad}");
    }
    let (mut early, _) = websocket(&node, "").await;
    early.send_text("42[\"room-join\",\"r\"]").await;
    assert!(matches!(early.expect_end().await, Ended::Close(_) | Ended::Dropped));
    // Nobody joined the bystander's room, which still works.
    bystander.send_text("42[\"room-leave\",\"r\"]").await;
    assert_eq!(bystander.recv_text().await, "42[\"room-left\",\"r\",false]");
}

#[tokio::test]
async fn an_event_with_an_ack_id_is_acknowledged_after_its_answer() {
    let node = Node::start();
    let mut c = connected_websocket(&node).await;
    c.send_text("421[\"room-create\",\"r1\"]").await;
    assert_eq!(c.recv_text().await, "42[\"room-created\",\"r1\"]");
    assert_eq!(c.recv_text().await, "431[]");
    // Refused events are acknowledged too: the client's callback must not hang.
    c.send_text("4217[\"kick\"]").await;
    assert_eq!(c.recv_text().await, "42[\"error\",\"unknown event: kick\"]");
    assert_eq!(c.recv_text().await, "4317[]");
    // Over polling as well.
    let sid = polling_session(&node).await;
    let path = poll(&sid);
    assert_eq!(http_post(node.addr, &path, "422[\"room-create\",\"r2\"]").await.unwrap().0, 200);
    let (_, answer) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(answer, "42[\"room-created\",\"r2\"]\u{1e}432[]");
}

/// Real socket.io-client 2.x and 4.x, over each transport, get their `emit(…, callback)`
/// called.
#[test]
fn real_clients_get_their_acknowledgements() {
    let node = Node::start();
    let mut d = SioDriver::start();
    let clients = [
        ("v2ws", 2, Transports::WebSocket),
        ("v2poll", 2, Transports::Polling),
        ("v4ws", 4, Transports::WebSocket),
        ("v4poll", 4, Transports::Polling),
    ];
    for (name, version, transports) in clients {
        d.connect(name, version, &node.http(), transports);
        d.emit_with_ack(name, "room-create", json!([name]));
        assert_eq!(d.expect(name, "room-created"), json!([name]));
        assert_eq!(d.expect_ack(name, "room-create"), json!([]));
    }
}

/// Sends a POST to `path` announcing `length` body bytes but writing only `sent` of them
/// (writes the server refuses to take are ignored); the status the server answers with.
async fn partial_post(node: &Node, path: &str, length: usize, sent: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(node.addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {length}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let body = vec![b'4'; sent];
    let _ = tcp.write_all(&body).await;
    let mut response = Vec::new();
    let read = tokio::time::timeout(crate::support::PATIENCE, async {
        let mut chunk = [0u8; 1024];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&chunk[..n]),
            }
        }
    });
    read.await.expect("the node answers within its request timeout");
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{text}"))
}

#[tokio::test]
async fn a_post_of_any_size_over_the_limit_ends_the_session() {
    let node = Node::start();
    for size in [70_000, 1_500_000] {
        let sid = polling_session(&node).await;
        assert_eq!(partial_post(&node, &poll(&sid), size, size).await, 413, "{size} bytes");
        assert_eq!(http_get(node.addr, &poll(&sid)).await.unwrap(), (200, "1".into()), "{size}");
        assert_eq!(http_get(node.addr, &poll(&sid)).await.unwrap().0, 400, "{size}");
    }
}

#[tokio::test]
async fn a_post_whose_body_stops_coming_is_timed_out() {
    let node = Node::start();
    let sid = polling_session(&node).await;
    assert_eq!(partial_post(&node, &poll(&sid), 1000, 10).await, 408);
}

/// One POST whose packets get more replies than the per-client queue's usual depth (600
/// against 256, within the rate limit's burst) keeps its session: the client fetches them all.
#[tokio::test]
async fn a_post_with_hundreds_of_replies_keeps_its_session() {
    let node = Node::start();
    let sid = polling_session(&node).await;
    let path = poll(&sid);
    let body = vec!["42[\"room-leave\",\"x\"]"; 600].join("\u{1e}");
    assert_eq!(http_post(node.addr, &path, &body).await.unwrap(), (200, "ok".into()));
    let mut replies = 0;
    while replies < 600 {
        let (status, payload) = http_get(node.addr, &path).await.unwrap();
        assert_eq!(status, 200, "after {replies} replies");
        for packet in payload.split('\u{1e}') {
            assert_eq!(packet, "42[\"not-in-room\",\"x\"]");
            replies += 1;
        }
    }
    assert_eq!(replies, 600);
}

/// A socket's DISCONNECT (`41`) takes it out of the namespace and its rooms, but the Engine.IO
/// session goes on (it is still pinged) and may connect a new socket.
#[tokio::test]
async fn a_disconnected_socket_leaves_its_rooms_and_the_session_goes_on() {
    let node = Node::with_args(&["--eio-ping-interval-ms", "200", "--eio-ping-timeout-ms", "5000"]);
    let mut owner = connected_websocket(&node).await;
    owner.send_text("42[\"room-create\",\"r\"]").await;
    assert_eq!(next(&mut owner).await, "42[\"room-created\",\"r\"]");
    let mut c = connected_websocket(&node).await;
    c.send_text("42[\"room-join\",\"r\"]").await;
    let joined = next(&mut c).await;
    assert!(joined.starts_with("42[\"room-joined\",\"r\""), "{joined}");
    let client_joined = next(&mut owner).await;
    let id = client_joined
        .strip_prefix("42[\"client-joined\",\"r\",\"")
        .and_then(|rest| rest.strip_suffix("\"]"))
        .unwrap_or_else(|| panic!("{client_joined}"))
        .to_owned();
    c.send_text("41").await;
    assert_eq!(next(&mut owner).await, format!("42[\"client-left\",\"r\",\"{id}\"]"));
    // Still an Engine.IO session: pinged, and it may connect again.
    assert_eq!(c.recv_text().await, "2");
    c.send_text("3").await;
    c.send_text("40").await;
    assert!(next(&mut c).await.starts_with("40{\"sid\""));
    c.send_text("42[\"room-join\",\"r\"]").await;
    assert!(next(&mut c).await.starts_with("42[\"room-joined\",\"r\""));
}

/// The next frame that is not an Engine.IO ping (answered, so the session lives).
async fn next(c: &mut Client) -> String {
    loop {
        let text = c.recv_text().await;
        if text != "2" {
            return text;
        }
        c.send_text("3").await;
    }
}
