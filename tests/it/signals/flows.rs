//! Every `signals` flow, each run on one node and on three nodes behind nginx (where
//! consecutive sessions land on different nodes): the p2p call with multi-session users, every
//! error code of PROTOCOLS.md §2.4, the heartbeat timeout, the publish flow, kick and ownership
//! hand-over.

use serde_json::json;

use super::{data, m2m, on_one_node_and_three, signal, to, Place, CONFIG};

/// Clients here do not heartbeat (except where that is the point): a long timeout.
const ARGS: [&str; 2] = ["--signals-heartbeat-timeout-ms", "60000"];

on_one_node_and_three!(
    p2p_call_between_two_users_one_of_them_on_two_devices,
    ["--config", CONFIG, ARGS[0], ARGS[1]]
);
on_one_node_and_three!(every_error_code_and_every_error_ack_carries_the_original_signal, ARGS);
on_one_node_and_three!(
    a_silent_session_is_gone_after_the_heartbeat_timeout,
    ["--signals-heartbeat-timeout-ms", "1000"]
);
on_one_node_and_three!(the_publish_flow_kick_and_ownership_hand_over_in_an_m2m_room, ARGS);

async fn p2p_call_between_two_users_one_of_them_on_two_devices(place: &Place) {
    let (mut a, mut b1, mut b2) =
        (place.session().await, place.session().await, place.session().await);

    // The caller creates the room.
    let create = json!({"op": {"roomCreating": true}, "ve": true, "ae": true});
    signal(&mut a, "join", data("JOIN", "a", "a1", create)).await;
    let ack = a.recv().await;
    assert_eq!((ack["c"].as_u64(), ack["s"].as_str()), (Some(200), Some("JOIN")));
    assert_eq!(ack["b"]["rid"], "r1");
    assert_eq!(ack["b"]["pt"], "publisher");
    assert_eq!(ack["b"]["icfg"], json!({"is": ["stun:stun.example.org:3478"]}));
    assert_eq!(
        ack["b"]["pps"],
        json!([{"id": "a", "sessionId": "a1", "video": true, "audio": true,
        "category": "stream", "host": "Web", "deviceId": "d"}])
    );

    // The callee joins and learns the caller; everybody hears the new publisher list.
    signal(&mut b1, "join", data("JOIN", "b", "b1", json!({}))).await;
    let ack = b1.recv().await;
    assert_eq!(ack["s"], "JOIN");
    assert_eq!(ack["b"]["pps"].as_array().map(Vec::len), Some(2));
    for client in [&mut a, &mut b1] {
        let changed = client.recv().await;
        assert_eq!(changed["s"], "PUBLISH_LIST_CHANGED");
        assert_eq!(changed["b"]["pps"].as_array().map(Vec::len), Some(2));
    }

    // The callee sends the offer to the caller's user; it arrives bare, byte for byte.
    let offer = signal(
        &mut b1,
        "offer",
        data("OFFER", "b", "b1", json!({"to": "a", "sdp": "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"})),
    )
    .await;
    assert_eq!(a.recv().await, offer);
    let answer =
        data("ANSWER", "a", "a1", json!({"to": {"userId": "b", "sessionId": "b1"}, "sdp": "v=0"}));
    let answer = signal(&mut a, "answer", answer).await;
    assert_eq!(b1.recv().await, answer);

    // b's second device joins; ICE to the user reaches both of b's sessions.
    signal(&mut b2, "join", data("JOIN", "b", "b2", json!({}))).await;
    assert_eq!(b2.recv().await["s"], "JOIN");
    for client in [&mut a, &mut b1, &mut b2] {
        assert_eq!(client.recv().await["s"], "PUBLISH_LIST_CHANGED");
    }
    let ice = signal(
        &mut a,
        "iceCandidate",
        data("ICE", "a", "a1", json!({"to": "b", "sdp": "candidate:1 1 udp 1 1.2.3.4 5 typ host"})),
    )
    .await;
    assert_eq!(b1.recv().await, ice);
    assert_eq!(b2.recv().await, ice);
    let ice = signal(
        &mut b2,
        "iceCandidate",
        data("ICE", "b", "b2", json!({"to": "a", "sdp": "candidate:2"})),
    )
    .await;
    assert_eq!(a.recv().await, ice);

    // A heartbeat asking for an ack gets the list and its id back.
    signal(&mut a, "heartbeat", data("HEARTBEAT", "a", "a1", json!({"bid": 7, "send_ack": true})))
        .await;
    let beat = a.recv().await;
    assert_eq!((beat["s"].as_str(), beat["b"]["bid"].as_u64()), (Some("HEARTBEAT"), Some(7)));

    // b1 leaves (no ack): the others hear the new list.
    signal(&mut b1, "leave", data("LEAVE", "b", "b1", json!({}))).await;
    for client in [&mut a, &mut b2] {
        let changed = client.recv().await;
        assert_eq!(changed["b"]["pps"].as_array().map(Vec::len), Some(2));
    }
}

async fn every_error_code_and_every_error_ack_carries_the_original_signal(place: &Place) {
    let mut a = place.session().await;
    let mut b = place.session().await;
    // Joining a room nobody created.
    let sent = signal(&mut a, "join", data("JOIN", "a", "a1", json!({}))).await;
    let ack = a.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4001), &sent), "{ack}");
    signal(&mut a, "join", data("JOIN", "a", "a1", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(a.recv().await["c"], 200);
    for (action, sent, code) in [
        ("join", data("JOIN", "b", "b1", json!({"op": {"roomCreating": true}})), 4022),
        ("offer", data("OFFER", "b", "b1", json!({"to": "a", "sdp": "v=0"})), 4002),
        (
            "watch",
            data("WATCH", "b", "b1", json!({"to": {"userId": "a", "sessionId": "a1"}})),
            2002,
        ),
        ("offer", data("OFFER", "b", "b1", json!({"sdp": "v=0"})), 2001),
    ] {
        let sent = signal(&mut b, action, sent).await;
        let ack = b.recv().await;
        assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(code), &sent), "{ack}");
        assert!(ack["b"]["msg"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Unknown targets, once in the room.
    signal(&mut b, "join", data("JOIN", "b", "b1", json!({}))).await;
    assert_eq!(b.recv().await["s"], "JOIN");
    assert_eq!(b.recv().await["s"], "PUBLISH_LIST_CHANGED");
    assert_eq!(a.recv().await["s"], "PUBLISH_LIST_CHANGED");
    let sent =
        signal(&mut b, "offer", data("OFFER", "b", "b1", json!({"to": "nobody", "sdp": "v=0"})))
            .await;
    let ack = b.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4003), &sent));
    let sent = signal(
        &mut b,
        "answer",
        data(
            "ANSWER",
            "b",
            "b1",
            json!({"to": {"userId": "a", "sessionId": "gone"}, "sdp": "v=0"}),
        ),
    )
    .await;
    let ack = b.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4024), &sent));
    // Not JSON at all: 2001, and the connection stays.
    b.send_text("{not json").await;
    let ack = b.recv().await;
    assert_eq!((ack["c"].as_u64(), ack["b"]["req"].as_str()), (Some(2001), Some("{not json")));
    signal(&mut b, "heartbeat", data("HEARTBEAT", "b", "b1", json!({"send_ack": true}))).await;
    assert_eq!(b.recv().await["s"], "HEARTBEAT");
}

async fn a_silent_session_is_gone_after_the_heartbeat_timeout(place: &Place) {
    let (mut a, mut b) = (place.session().await, place.session().await);
    signal(&mut a, "join", data("JOIN", "a", "a1", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(a.recv().await["s"], "JOIN");
    signal(&mut b, "join", data("JOIN", "b", "b1", json!({}))).await;
    assert_eq!(b.recv().await["s"], "JOIN");
    assert_eq!(a.recv().await["s"], "PUBLISH_LIST_CHANGED");
    assert_eq!(b.recv().await["s"], "PUBLISH_LIST_CHANGED");
    // a heartbeats as clients do (here every 100 ms, not 3 s); b says nothing and is closed,
    // and a is told.
    let mut beat = tokio::time::interval(std::time::Duration::from_millis(100));
    let mut pps = 2;
    while pps == 2 {
        beat.tick().await;
        signal(&mut a, "heartbeat", data("HEARTBEAT", "a", "a1", json!({"send_ack": true}))).await;
        let message = a.recv().await;
        pps = message["b"]["pps"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(pps, 1);
    assert_eq!(b.expect_end().await, crate::support::client::Ended::Close(1001));
}

async fn the_publish_flow_kick_and_ownership_hand_over_in_an_m2m_room(place: &Place) {
    let (mut o, mut v, mut w) =
        (place.session().await, place.session().await, place.session().await);
    signal(&mut o, "join", m2m("JOIN", "o", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    signal(&mut v, "join", m2m("JOIN", "v", json!({}))).await;
    let ack = v.recv().await;
    assert_eq!(
        (ack["b"]["pt"].as_str(), ack["b"]["pps"].as_array().map(Vec::len)),
        (Some("viewer"), Some(1))
    );

    // A viewer may not update its media, nor kick; an offer that is not SDP is invalid.
    let sent = signal(&mut v, "updateVideo", m2m("UPDATE", "v", json!({"ve": false}))).await;
    let ack = v.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4051), &sent));
    let sent = signal(&mut v, "kick", m2m("KICK", "v", json!({"to": "o"}))).await;
    assert_eq!(v.recv().await["c"], 4051, "{sent}");
    let sent = signal(&mut o, "offer", m2m("OFFER", "o", json!({"sdp": "v=0"}))).await;
    let ack = o.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(2001), &sent));
    assert!(ack["b"]["msg"].as_str().unwrap().contains("sdp"), "{ack}");

    // The viewer asks to publish; the owner gets the request as sent and accepts.
    let request = signal(
        &mut v,
        "publishRequest",
        m2m("PUBLISH_REQUEST", "v", json!({"ve": true, "ae": true})),
    )
    .await;
    assert_eq!(o.recv().await, request);
    let accept = signal(&mut o, "publishAccept", m2m("PUBLISH_ACCEPT", "o", to("v"))).await;
    assert_eq!(v.recv().await, accept);
    for client in [&mut o, &mut v] {
        let changed = client.recv().await;
        assert_eq!(
            (changed["s"].as_str(), changed["b"]["pps"].as_array().map(Vec::len)),
            (Some("PUBLISH_LIST_CHANGED"), Some(2))
        );
    }
    let sent = signal(&mut v, "publishRequest", m2m("PUBLISH_REQUEST", "v", json!({}))).await;
    let ack = v.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4023), &sent));

    // The owner leaves: v, the next oldest publisher, owns the room.
    signal(&mut o, "leave", m2m("LEAVE", "o", json!({}))).await;
    assert_eq!(v.recv().await["b"]["pps"].as_array().map(Vec::len), Some(1));
    signal(&mut w, "join", m2m("JOIN", "w", json!({}))).await;
    assert_eq!(w.recv().await["b"]["pt"], "viewer");
    let request = signal(&mut w, "publishRequest", m2m("PUBLISH_REQUEST", "w", json!({}))).await;
    assert_eq!(v.recv().await, request);
    let reject = signal(&mut v, "publishReject", m2m("PUBLISH_REJECT", "v", to("w"))).await;
    assert_eq!(w.recv().await, reject);
    // The owner kicks w: w gets the KICK, and is out of the room.
    let kick = signal(&mut v, "kick", m2m("KICK", "v", json!({"to": "w"}))).await;
    assert_eq!(w.recv().await, kick);
    let sent = signal(&mut w, "heartbeat", m2m("HEARTBEAT", "w", json!({"send_ack": true}))).await;
    let ack = w.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4002), &sent));
}

#[tokio::test]
async fn frames_over_32_kb_close_with_1009() {
    let place = Place::one(&[]);
    let mut a = place.session().await;
    let big = data("JOIN", "a", "a1", json!({"pad": "x".repeat(33 * 1024)}));
    signal(&mut a, "join", big).await;
    assert_eq!(a.expect_end().await, crate::support::client::Ended::Close(1009));
}

/// Sends `text` as one text message fragmented into frames of `piece` bytes.
async fn send_fragmented(client: &mut crate::support::Client, text: &str, piece: usize) {
    use tokio_tungstenite::tungstenite::{
        protocol::frame::{
            coding::{Data, OpCode},
            Frame,
        },
        Message,
    };
    let chunks: Vec<&[u8]> = text.as_bytes().chunks(piece).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
        let frame = Frame::message(chunk.to_vec(), opcode, i + 1 == chunks.len());
        client.send_message(Message::Frame(frame)).await;
    }
}

#[tokio::test]
async fn messages_up_to_128_kb_in_32_kb_frames_are_read_and_bigger_ones_close_with_1009() {
    let place = Place::one(&[]);
    let mut a = place.session().await;
    let pad = "x".repeat(100 * 1024);
    let join = data("JOIN", "a", "a1", json!({"op": {"roomCreating": true}, "pad": pad}));
    let frame = json!({"action": "join", "data": join}).to_string();
    send_fragmented(&mut a, &frame, 30 * 1024).await;
    assert_eq!(a.recv().await["c"], 200);
    let pad = "x".repeat(129 * 1024);
    let beat = data("HEARTBEAT", "a", "a1", json!({"pad": pad}));
    send_fragmented(&mut a, &json!({"action": "heartbeat", "data": beat}).to_string(), 30 * 1024)
        .await;
    assert_eq!(a.expect_end().await, crate::support::client::Ended::Close(1009));
}

#[tokio::test]
async fn the_server_keeps_idle_connections_alive_with_pings() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/signals/keepalive.toml");
    let place = Place::one(&["--config", config]);
    let mut a = place.session().await;
    // An idle client (it has not even joined) is pinged, again and again.
    for _ in 0..3 {
        a.rx.expect_ping().await;
    }
}

#[tokio::test]
async fn hostile_frames_get_2001_or_2002_and_touch_nobody_else() {
    let place = Place::one(&ARGS);
    let (mut a, mut b, mut x) =
        (place.session().await, place.session().await, place.session().await);
    signal(&mut a, "join", data("JOIN", "a", "a1", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(a.recv().await["c"], 200);
    signal(&mut b, "join", data("JOIN", "b", "b1", json!({}))).await;
    assert_eq!(b.recv().await["c"], 200);
    assert_eq!(a.recv().await["s"], "PUBLISH_LIST_CHANGED");
    assert_eq!(b.recv().await["s"], "PUBLISH_LIST_CHANGED");
    let hostile = [
        ("", 2001),
        ("null", 2001),
        ("[]", 2001),
        ("\"join\"", 2001),
        (r#"{"action":"join"}"#, 2001),
        (r#"{"action":"join","data":"x"}"#, 2001),
        (r#"{"action":7,"data":{}}"#, 2001),
        (r#"{"action":"nope","data":{"s":"NOPE"}}"#, 2001),
        (r#"{"action":"offer","data":{"s":"OFFER","ch":"p2p","rid":"r1"}}"#, 2001),
        (r#"{"action":"offer","data":{"s":"OFFER","ch":"zzz","rid":"r1","ss":{}}}"#, 2001),
        (r#"{"action":"join","data":{"s":"JOIN","ch":"p2p","ss":[1],"rid":"r1"}}"#, 2001),
        (r#"{"action":"join","data":{"s":"JOIN","ch":"p2p","ss":{"userId":1},"rid":{}}}"#, 2001),
        (
            r#"{"action":"kick","data":{"s":"KICK","ch":"p2p","ss":{"userId":"a","sessionId":"a1"},"rid":"r1","to":"b"}}"#,
            2002,
        ),
    ];
    for _ in 0..20 {
        for (text, code) in hostile {
            x.send_text(text).await;
            let ack = x.recv().await;
            assert_eq!(ack["c"], code, "{text} → {ack}");
        }
    }
    // A session that is not in the room cannot act in it.
    let leave = signal(&mut x, "leave", data("LEAVE", "x", "x1", json!({}))).await;
    let ack = x.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4002), &leave));
    // a and b never heard any of it, and still talk.
    let offer =
        signal(&mut b, "offer", data("OFFER", "b", "b1", json!({"to": "a", "sdp": "v=0"}))).await;
    assert_eq!(a.recv().await, offer);
}
