//! Hostile input: invalid UTF-8, invalid JSON, oversized frames, deep nesting, wrong types and
//! floods. Each gets its error or close code; the node stays up; other clients are unaffected.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    client::{open_session, Ended},
    raw, Client, Node,
};

/// A bystander in a call, to prove hostile clients touch no one else's state.
async fn bystanders(node: &Node) -> (Client, Client, String) {
    let mut a = Client::register(node, "a").await;
    let mut b = Client::register(node, "b").await;
    let session = open_session(&mut a, &mut b).await;
    (a, b, session)
}

async fn still_fine(a: &mut Client, b: &mut Client, session: &str) {
    a.send(json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": {"n": 1}})).await;
    assert_eq!(b.expect("icecandidate").await["icecandidate"], json!({"n": 1}));
    a.expect_nothing_pending().await;
    b.expect_nothing_pending().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let node = Node::start();
    let (mut a, mut b, session) = bystanders(&node).await;
    let mut x = Client::connect(&node).await;
    // tungstenite refuses to build an invalid text message, so send the bytes as a raw frame.
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};
    let frame = Frame::message(vec![0xff, 0xfe, b'{'], OpCode::Data(Data::Text), true);
    x.send_message(Message::Frame(frame)).await;
    assert_eq!(x.expect_end().await, Ended::Close(1007));
    still_fine(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn invalid_json_and_wrong_types_get_errors_and_the_connection_survives() {
    let node = Node::start();
    let (mut a, mut b, session) = bystanders(&node).await;
    let mut x = Client::register(&node, "x").await;
    let cases: &[(&str, u16)] = &[
        ("{", 9000),
        ("{\"cmd\":\"sId\",}", 9000),
        ("[]", 9001),
        ("42", 9001),
        ("{\"cmd\":[\"sId\"]}", 9002),
        ("{\"cmd\":\"session\",\"opponentId\":[\"a\"]}", 9001),
        ("{\"cmd\":\"notify\",\"opponentId\":true}", 9001),
        ("{\"cmd\":\"call\",\"sessionId\":{\"id\":1},\"offer\":{}}", 9001),
        ("{\"cmd\":\"icecandidate\",\"sessionId\":\"1\",\"icecandidate\":null}", 9001),
    ];
    for (frame, code) in cases {
        x.send_text(frame).await;
        assert_eq!(x.recv_skipping_clu().await, json!({"cmd": "error", "code": code}), "{frame}");
    }
    // Wrong types aimed at someone else's live session do not touch it.
    x.send(json!({"cmd": "stop", "sessionId": session})).await;
    assert_eq!(x.recv_skipping_clu().await, json!({"cmd": "error", "code": 9204}));
    still_fine(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_with_9003() {
    let node = Node::start();
    let (mut a, mut b, session) = bystanders(&node).await;
    let deep = format!(
        r#"{{"cmd":"icecandidate","sessionId":"{session}","icecandidate":{}{}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    // Even from a member of the call: nothing is forwarded.
    a.send_text(&deep).await;
    a.expect_error(9003).await;
    still_fine(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn a_one_megabyte_frame_closes_with_1009() {
    let node = Node::start();
    let (mut a, mut b, session) = bystanders(&node).await;
    let mut x = Client::register(&node, "x").await;
    let huge = format!(r#"{{"cmd":"notify","opponentId":"a","type":"{}"}}"#, "x".repeat(1 << 20));
    x.send_text(&huge).await;
    assert_eq!(x.expect_end().await, Ended::Close(1009));
    // x is released: its name is free and a never heard of it.
    let _x2 = Client::register(&node, "x").await;
    still_fine(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn binary_frames_close_with_1003() {
    let node = Node::start();
    let mut x = Client::connect(&node).await;
    x.send_message(Message::binary(vec![1, 2, 3])).await;
    assert_eq!(x.expect_end().await, Ended::Close(1003));
}

#[tokio::test]
async fn a_flood_is_cut_off_by_the_rate_limit_with_1008() {
    let mut node = Node::with_args(&["--rate-per-sec", "100", "--rate-burst", "500"]);
    let (mut a, mut b, session) = bystanders(&node).await;
    let mut x = Client::register(&node, "x").await;
    // 10,000 messages as fast as the socket takes them; the server answers the first ones with
    // 9002 and closes the connection once the burst is spent.
    let flood = async {
        for _ in 0..10_000 {
            if x.try_send_text("{\"cmd\":\"flood\"}").await.is_err() {
                break;
            }
        }
    };
    flood.await;
    assert_eq!(x.expect_end().await, Ended::Close(1008));
    assert!(node.is_alive());
    still_fine(&mut a, &mut b, &session).await;
    let (status, body) = node.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("switchboard_server_closes_total{reason=\"RateLimited\"} 1"), "{body}");
}

#[tokio::test]
async fn a_flood_within_the_limit_is_answered_in_full_and_in_order() {
    // With no rate limit, 10,000 messages from one client are all answered, in order, while the
    // client reads; the node stays up and others are unaffected.
    // Long pings: while it floods, the client is not reading its pongs' way (not a liveness test).
    let mut node = Node::with_args(&["--rate-per-sec", "0", "--ping-interval-ms", "600000"]);
    let (mut a, mut b, session) = bystanders(&node).await;
    let mut x = Client::register(&node, "x").await;
    let (tx, rx) = x.split();
    let send = async {
        for i in 0..10_000 {
            tx.send(json!({"cmd": "notify", "opponentId": "nobody", "type": i})).await;
        }
    };
    let recv = async {
        for _ in 0..10_000 {
            assert_eq!(rx.recv_skipping_clu().await, json!({"cmd": "error", "code": 9301}));
        }
    };
    tokio::join!(send, recv);
    assert!(node.is_alive());
    still_fine(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn frames_cut_anywhere_by_tcp_are_put_back_together() {
    use tokio::io::AsyncWriteExt;
    let node = Node::start();
    let mut watcher = Client::register(&node, "watcher").await;
    let mut tcp = raw::upgraded(&node, "/cmd").await;
    // Registration written in three pieces: cut inside the header, then inside the payload.
    let register = raw::masked_text(br#"{"cmd":"sId","sId":"pieces"}"#);
    for piece in [&register[..1], &register[1..9], &register[9..]] {
        tcp.write_all(piece).await.unwrap();
        tcp.flush().await.unwrap();
    }
    watcher.clu_until(|l| l.iter().any(|e| e["sId"] == "pieces")).await;
    // A message longer than one read of the server's, and a short one in the same write.
    let big = "x".repeat(40_000);
    let mut bytes = raw::masked_text(
        json!({"cmd": "notify", "opponentId": "watcher", "type": big}).to_string().as_bytes(),
    );
    bytes.extend(raw::masked_text(
        json!({"cmd": "notify", "opponentId": "watcher", "type": "after"}).to_string().as_bytes(),
    ));
    tcp.write_all(&bytes).await.unwrap();
    assert_eq!(watcher.expect_skipping_clu("notify").await["type"], json!(big));
    assert_eq!(watcher.expect_skipping_clu("notify").await["type"], json!("after"));
    watcher.expect_nothing_but_clu_pending().await;
}
