//! Every `cmd` error code the reference sends, provoked against a real node. The connection
//! survives every one of them.

use serde_json::json;

use crate::support::{client::open_session, Client, Node};

#[tokio::test]
async fn frame_and_registration_errors() {
    let node = Node::start();
    let mut x = Client::connect(&node).await;
    x.send_text("this is not json").await;
    x.expect_error(9000).await;
    x.send_text("null").await;
    x.expect_error(9001).await;
    x.send(json!({"no": "cmd"})).await;
    x.expect_error(9001).await;
    x.send(json!({"cmd": "dance"})).await;
    x.expect_error(9002).await;
    // Anything but sId before registering, even with broken fields.
    x.send(json!({"cmd": "session", "opponentId": "y"})).await;
    x.expect_error(9100).await;
    x.send(json!({"cmd": "call", "offer": {}})).await;
    x.expect_error(9100).await;
    // An invalid sId is refused and leaves the client unregistered.
    for bad in [json!(""), json!("   "), json!({"a": 1}), json!([1]), json!(true), json!(null)] {
        x.send(json!({"cmd": "sId", "sId": bad})).await;
        x.expect_error(9001).await;
    }
    x.send(json!({"cmd": "notify", "opponentId": "y", "type": "t"})).await;
    x.expect_error(9100).await;

    // A number sId becomes a string; registering twice is 9101; a taken name is 9102.
    x.send(json!({"cmd": "sId", "sId": 42})).await;
    assert_eq!(x.expect("sId").await, json!({"cmd": "sId", "sId": "42"}));
    x.send(json!({"cmd": "sId", "sId": "other"})).await;
    x.expect_skipping_clu("error").await;
    let mut y = Client::connect(&node).await;
    y.send(json!({"cmd": "sId", "sId": " 42 "})).await;
    y.expect_error(9102).await;
    y.send(json!({"cmd": "sId", "sId": "y"})).await;
    assert_eq!(y.expect("sId").await, json!({"cmd": "sId", "sId": "y"}));
}

#[tokio::test]
async fn registering_twice_is_9101() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    a.send(json!({"cmd": "sId", "sId": "b"})).await;
    assert_eq!(a.recv_skipping_clu().await, json!({"cmd": "error", "code": 9101}));
}

#[tokio::test]
async fn session_and_notify_errors() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let mut c = Client::register(&node, "c").await;

    let next_error = |code: u16| json!({"cmd": "error", "code": code});
    a.send(json!({"cmd": "session", "opponentId": "a"})).await;
    assert_eq!(a.recv_skipping_clu().await, next_error(9200));
    a.send(json!({"cmd": "notify", "opponentId": "a", "type": "t"})).await;
    assert_eq!(a.recv_skipping_clu().await, next_error(9200));
    a.send(json!({"cmd": "session", "opponentId": "nobody"})).await;
    assert_eq!(a.recv_skipping_clu().await, next_error(9201));
    a.send(json!({"cmd": "notify", "opponentId": "nobody", "type": "t"})).await;
    assert_eq!(a.recv_skipping_clu().await, next_error(9301));
    a.send(json!({"cmd": "stop", "sessionId": "00000000"})).await;
    assert_eq!(a.recv_skipping_clu().await, next_error(9204));

    open_session(&mut a, &mut b).await;
    // In a call: a second session is 9202; calling someone in a call is 9203.
    a.send(json!({"cmd": "session", "opponentId": "c"})).await;
    a.expect_error(9202).await;
    c.send(json!({"cmd": "session", "opponentId": "b"})).await;
    assert_eq!(c.recv_skipping_clu().await, next_error(9203));
    // Wrong field types: 9001, and the connection stays open.
    c.send(json!({"cmd": "session", "opponentId": {"x": 1}})).await;
    assert_eq!(c.recv_skipping_clu().await, next_error(9001));
    c.send(json!({"cmd": "call", "sessionId": "1"})).await;
    assert_eq!(c.recv_skipping_clu().await, next_error(9001));
    c.expect_nothing_but_clu_pending().await;
}

#[tokio::test]
async fn a_forward_to_a_vanished_peer_fails_with_a_94xx_code_and_closes_the_session() {
    // The peer's connection is cut while the caller keeps sending: each signal either reaches the
    // call before it learns of the leave (forward fails: 9400–9402 and ssu 4) or after (9204:
    // the call is closed, even while its end is still on its way to the caller as leave/ssu 4).
    // Either way the caller is told, and the session ends.
    let node = Node::with_args(&["--rate-per-sec", "0"]);
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let session = open_session(&mut a, &mut b).await;
    b.abort();
    let candidate = json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": {"c": 1}});
    let (mut seen_close, mut refused) = (false, false);
    while !(seen_close && refused) {
        a.send(candidate.clone()).await;
        let message = a.recv_skipping_clu().await;
        match (message["cmd"].as_str(), message["code"].as_u64()) {
            (Some("error"), Some(9400..=9402)) => {
                // The session closed because of the failed forward: ssu 4 follows the error.
                let ssu = a.recv_skipping_clu().await;
                assert_eq!(ssu, json!({"cmd": "ssu", "sessionId": session, "state": 4}));
                seen_close = true;
            }
            (Some("leave"), _) => {
                assert_eq!(a.expect("ssu").await["state"], 4);
                seen_close = true;
            }
            (Some("error"), Some(9204)) => refused = true,
            _ => panic!("unexpected {message}"),
        }
    }
}
