//! The node's metrics of what it refuses, by dialect and the code each dialect refuses with,
//! and of what Socket.IO clients are sent: real clients of each dialect on one node, each
//! refused once, then `/metrics` read.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    signals::signal,
    support::{
        node::{http_get, http_post, metric as value},
        protoo::ProtooPeer,
        Client, Node,
    },
};

/// The series of `dialect`'s refusals with `code`.
fn refusals(dialect: &str, code: &str) -> String {
    format!("switchboard_protocol_refusals_total{{dialect=\"{dialect}\",code=\"{code}\"}}")
}

#[tokio::test]
async fn refusals_are_counted_by_dialect_and_code_and_socket_io_messages_out_are_counted() {
    let node = Node::start();
    // cmd: a frame that is not JSON, 9000.
    let mut cmd = Client::connect(&node).await;
    cmd.send_text("not json").await;
    cmd.expect_error(9000).await;
    // signals: a signal it cannot read, 2001.
    let mut signals = Client::connect_url(&node.ws("/signals")).await;
    signal(&mut signals, "join", json!({"s": "JOIN"})).await;
    assert_eq!(signals.recv().await["c"], 2001);
    // mediasoup: a method it does not know, 400; a request before join, the room's 403.
    let url = node.ws("/mediasoup?roomId=m&peerName=p");
    let mut peer = ProtooPeer::connect(&url).await.expect("admitted");
    let unknown = peer.protoo_request("no-such-method", json!({})).await;
    assert_eq!(unknown.err().map(|e| e.0), Some(400));
    let early = peer.request(json!({"method": "createTransport", "id": 1, "direction": "send"}));
    assert_eq!(early.await.err().map(|e| e.0), Some(403));
    // rooms, over a WebSocket: an event with arguments of the wrong type.
    let mut ws = Client::connect_url(&node.ws("/socket.io/?EIO=4&transport=websocket")).await;
    assert!(ws.recv_text().await.starts_with("0{"));
    ws.send_text("40").await;
    assert!(ws.recv_text().await.starts_with("40{"));
    ws.send_text("42[\"room-join\",7]").await;
    assert!(ws.recv_text().await.starts_with("42[\"error\","));
    // rooms, long-polling: binary data.
    let v4 = "/socket.io/?EIO=4&transport=polling";
    let (_, open) = http_get(node.addr, v4).await.expect("answers");
    let open: serde_json::Value = serde_json::from_str(&open[1..]).expect("an open packet");
    let poll = format!("{v4}&sid={}", open["sid"].as_str().expect("a sid"));
    assert_eq!(http_post(node.addr, &poll, "40").await.expect("answers").0, 200);
    assert!(http_get(node.addr, &poll).await.expect("answers").1.starts_with("40{"));
    assert_eq!(http_post(node.addr, &poll, "bAQIDBA==").await.expect("answers").0, 200);
    let (_, answer) = http_get(node.addr, &poll).await.expect("answers");
    assert_eq!(answer, "42[\"error\",\"binary messages are not supported\"]");
    // A binary WebSocket frame, too.
    ws.send_message(Message::Binary(vec![1, 2])).await;
    assert_eq!(ws.recv_text().await, "42[\"error\",\"binary messages are not supported\"]");

    let (status, text) = http_get(node.addr, "/metrics").await.expect("answers");
    assert_eq!(status, 200);
    for (dialect, code, count) in [
        ("cmd", "9000", 1.0),
        ("cmd", "9102", 0.0),
        ("signals", "2001", 1.0),
        ("signals", "4051", 0.0),
        ("mediasoup", "400", 1.0),
        ("mediasoup", "403", 1.0),
        ("rooms", "invalid event", 1.0),
        ("rooms", "binary messages are not supported", 2.0),
        ("rooms", "not permitted by the access token", 0.0),
    ] {
        assert_eq!(value(&text, &refusals(dialect, code)), count, "{dialect} {code}");
    }
    assert_eq!(value(&text, "switchboard_errors_out_total"), 7.0);
    // Socket.IO clients' messages out: over the WebSocket its CONNECT answer and two error
    // events, over polling its CONNECT answer and one error event.
    let out = r#"switchboard_messages_out_total{dialect="rooms",tenant=""}"#;
    assert_eq!(value(&text, out), 5.0);
    drop((cmd, signals, peer));
}
