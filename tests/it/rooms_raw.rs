//! The `rooms` endpoint's WebSocket transport driven by hand, with raw Engine.IO packets: what
//! real clients do not do on demand (packets written together, floods). Events of a session
//! opened on a WebSocket take a shorter path than its other packets; these check that order
//! and limits hold across the two.

use crate::support::{
    client::{Client, Ended},
    Node,
};

/// A raw Engine.IO 4 WebSocket client whose Socket.IO socket is connected; its socket id.
async fn connected(node: &Node) -> (Client, String) {
    let mut c = Client::connect_url(&node.ws("/socket.io/?EIO=4&transport=websocket")).await;
    let open = next(&mut c).await;
    assert!(open.starts_with("0{") && open.contains(r#""sid""#), "{open}");
    c.send_text("40").await;
    let ack = next(&mut c).await;
    let id = ack.strip_prefix(r#"40{"sid":""#).and_then(|rest| rest.strip_suffix(r#""}"#));
    (c, id.unwrap_or_else(|| panic!("a connect ack, got {ack}")).to_owned())
}

/// The next frame that is not an Engine.IO ping.
async fn next(c: &mut Client) -> String {
    loop {
        let text = c.recv_text().await;
        if text != "2" {
            return text;
        }
    }
}

/// Two connected sockets in room `room` (`a` created it).
async fn pair(node: &Node, room: &str) -> ((Client, String), (Client, String)) {
    let (mut a, a_id) = connected(node).await;
    let (mut b, b_id) = connected(node).await;
    a.send_text(&format!(r#"42["room-create","{room}"]"#)).await;
    assert_eq!(next(&mut a).await, format!(r#"42["room-created","{room}"]"#));
    b.send_text(&format!(r#"42["room-join","{room}"]"#)).await;
    assert_eq!(next(&mut b).await, format!(r#"42["room-joined","{room}","{a_id}",["{a_id}"]]"#));
    assert_eq!(next(&mut a).await, format!(r#"42["client-joined","{room}","{b_id}"]"#));
    ((a, a_id), (b, b_id))
}

#[tokio::test]
async fn events_written_with_the_connect_packet_are_served_in_order() {
    let node = Node::start();
    let mut c = Client::connect_url(&node.ws("/socket.io/?EIO=4&transport=websocket")).await;
    assert!(next(&mut c).await.starts_with("0{"));
    let (tx, _) = c.split();
    tx.send_batch(&[
        "40",
        r#"42["room-create","r"]"#,
        r#"42["signal-send","r","nobody",{"x":1}]"#,
        r#"42["room-leave","r"]"#,
        r#"42["room-leave","r"]"#,
    ])
    .await;
    assert!(next(&mut c).await.starts_with(r#"40{"sid":""#));
    assert_eq!(next(&mut c).await, r#"42["room-created","r"]"#);
    assert_eq!(next(&mut c).await, r#"42["target-not-found","r","nobody"]"#);
    assert_eq!(next(&mut c).await, r#"42["room-left","r",false]"#);
    assert_eq!(next(&mut c).await, r#"42["not-in-room","r"]"#);
}

#[tokio::test]
async fn signals_written_together_arrive_once_in_order_between_other_packets() {
    let node = Node::start();
    let ((mut a, a_id), (mut b, b_id)) = pair(&node, "r").await;
    // Signals, an Engine.IO ping and a packet for another namespace, in one write.
    let signals: Vec<String> =
        (0..200).map(|n| format!(r#"42["signal-send","r","{b_id}",{{"n":{n}}}]"#)).collect();
    let mut batch: Vec<&str> = signals.iter().map(String::as_str).collect();
    batch.insert(100, "2");
    batch.insert(50, r#"42/elsewhere,["room-join","r"]"#);
    let (tx, _) = a.split();
    tx.send_batch(&batch).await;
    for n in 0..200 {
        assert_eq!(next(&mut b).await, format!(r#"42["signal-receive","r","{a_id}",{{"n":{n}}}]"#));
    }
    assert_eq!(a.recv_text().await, "3", "the ping's pong");
    b.send_text(&format!(r#"42["signal-send","r","{a_id}","back"]"#)).await;
    assert_eq!(next(&mut a).await, format!(r#"42["signal-receive","r","{b_id}","back"]"#));
}

#[tokio::test]
async fn a_flood_of_events_is_cut_off_by_the_rate_limit_and_others_go_on() {
    let mut node = Node::with_args(&["--rate-per-sec", "100", "--rate-burst", "500"]);
    let ((mut a, a_id), (mut b, b_id)) = pair(&node, "calm").await;
    let (mut x, _) = connected(&node).await;
    for _ in 0..10_000 {
        if x.try_send_text(r#"42["room-join","nope"]"#).await.is_err() {
            break;
        }
    }
    // As the README says for every dialect: 1008, over the rate limit.
    assert_eq!(x.expect_end().await, Ended::Close(1008));
    assert!(node.is_alive());
    a.send_text(&format!(r#"42["signal-send","calm","{b_id}",1]"#)).await;
    assert_eq!(next(&mut b).await, format!(r#"42["signal-receive","calm","{a_id}",1]"#));
}

/// A burst within the sender's allowance (900 of a burst of 1,000, far past the receiver's
/// queue of 256) reaches a receiver that reads as fast as it can, whole: one peer cannot get
/// another closed as a slow consumer.
#[tokio::test]
async fn a_burst_within_the_senders_allowance_never_closes_a_reading_receiver() {
    let node = Node::start();
    let ((mut a, a_id), (mut b, b_id)) = pair(&node, "r").await;
    let signals: Vec<String> = (0..900)
        .map(|n| {
            format!(
                r#"42["signal-send","r","{b_id}",{{"candidate":{{"n":{n},"pad":"{}"}}}}]"#,
                "x".repeat(200)
            )
        })
        .collect();
    let batch: Vec<&str> = signals.iter().map(String::as_str).collect();
    let (tx, _) = a.split();
    tx.send_batch(&batch).await;
    for n in 0..900 {
        let expected = format!(
            r#"42["signal-receive","r","{a_id}",{{"candidate":{{"n":{n},"pad":"{}"}}}}]"#,
            "x".repeat(200)
        );
        assert_eq!(next(&mut b).await, expected, "signal {n}");
    }
    b.send_text(&format!(r#"42["signal-send","r","{a_id}","back"]"#)).await;
    assert_eq!(next(&mut a).await, format!(r#"42["signal-receive","r","{b_id}","back"]"#));
}
