//! The `rooms` dialect (seed 003) with real socket.io-client 2.x and 4.x, over long-polling,
//! WebSocket and polling upgraded to WebSocket.

use serde_json::json;

use crate::support::{
    node::{http_get, http_post},
    sio::{SioDriver, Transports},
    Node,
};

/// Every event of §3.3 and the §3.4 fixes, with clients of `versions` (owner, a, b, c), each
/// connected to its URL (one node, several nodes of a cluster, or a balancer in front of them).
pub(crate) fn whole_room_flow(urls: [&str; 4], versions: [u8; 4], transports: Transports) {
    let mut d = SioDriver::start();
    let o = d.connect("o", versions[0], urls[0], transports);
    let a = d.connect("a", versions[1], urls[1], transports);
    let b = d.connect("b", versions[2], urls[2], transports);
    let c = d.connect("c", versions[3], urls[3], transports);
    if matches!(transports, Transports::Default) {
        // Every upgrade succeeds, also behind a round-robin balancer: a WebSocket that reaches
        // another node than the session's is relayed to it.
        for client in ["o", "a", "b", "c"] {
            d.expect_upgrade(client);
        }
    }

    // Create; a second create and a join of a missing room are refused.
    d.emit("o", "room-create", json!(["r1"]));
    assert_eq!(d.expect("o", "room-created"), json!(["r1"]));
    d.emit("a", "room-create", json!(["r1"]));
    assert_eq!(d.expect("a", "room-exists"), json!(["r1"]));
    d.emit("a", "room-join", json!(["nope"]));
    assert_eq!(d.expect("a", "room-not-exists"), json!(["nope"]));

    // Joins: the joiner gets the members before it; the others get client-joined.
    d.emit("a", "room-join", json!(["r1"]));
    assert_eq!(d.expect("a", "room-joined"), json!(["r1", o, [o]]));
    assert_eq!(d.expect("o", "client-joined"), json!(["r1", a]));
    d.emit("b", "room-join", json!(["r1"]));
    assert_eq!(d.expect("b", "room-joined"), json!(["r1", o, [o, a]]));
    assert_eq!(d.expect("o", "client-joined"), json!(["r1", b]));
    assert_eq!(d.expect("a", "client-joined"), json!(["r1", b]));

    // Signals both ways, data untouched; refusals.
    let offer =
        json!({"description": {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"}});
    d.emit("a", "signal-send", json!(["r1", b, offer]));
    assert_eq!(d.expect("b", "signal-receive"), json!(["r1", a, offer]));
    let candidate = json!({"candidate": {"candidate": "candidate:1 1 udp 1 1.2.3.4 5 typ host", "sdpMid": "0"}});
    d.emit("b", "signal-send", json!(["r1", a, candidate]));
    assert_eq!(d.expect("a", "signal-receive"), json!(["r1", b, candidate]));
    d.emit("a", "signal-send", json!(["r1", "nobody", {}]));
    assert_eq!(d.expect("a", "target-not-found"), json!(["r1", "nobody"]));
    d.emit("c", "signal-send", json!(["r1", a, {}]));
    assert_eq!(d.expect("c", "not-in-room"), json!(["r1"]));
    d.emit("c", "room-leave", json!(["r1"]));
    assert_eq!(d.expect("c", "not-in-room"), json!(["r1"]));

    // Several rooms per socket; a signal is delivered exactly once however many rooms.
    d.emit("a", "room-create", json!(["r2"]));
    assert_eq!(d.expect("a", "room-created"), json!(["r2"]));
    d.emit("b", "room-join", json!(["r2"]));
    assert_eq!(d.expect("b", "room-joined"), json!(["r2", a, [a]]));
    assert_eq!(d.expect("a", "client-joined"), json!(["r2", b]));
    d.emit("c", "room-join", json!(["r2"]));
    assert_eq!(d.expect("c", "room-joined"), json!(["r2", a, [a, b]]));
    assert_eq!(d.expect("a", "client-joined"), json!(["r2", c]));
    assert_eq!(d.expect("b", "client-joined"), json!(["r2", c]));
    d.emit("a", "signal-send", json!(["r2", b, {"n": 1}]));
    assert_eq!(d.expect("b", "signal-receive"), json!(["r2", a, {"n": 1}]));
    // A barrier: b's next event proves nothing else was queued before it.
    d.emit("b", "room-leave", json!(["nope"]));
    assert_eq!(d.expect("b", "not-in-room"), json!(["nope"]));

    // A member leaves r1: it hears room-left(false), the others client-left.
    d.emit("b", "room-leave", json!(["r1"]));
    assert_eq!(d.expect("b", "room-left"), json!(["r1", false]));
    assert_eq!(d.expect("o", "client-left"), json!(["r1", b]));
    assert_eq!(d.expect("a", "client-left"), json!(["r1", b]));

    // A member disconnects: the others in its rooms hear client-left.
    d.close("b");
    assert_eq!(d.expect("a", "client-left"), json!(["r2", b]));
    assert_eq!(d.expect("c", "client-left"), json!(["r2", b]));

    // The owner leaves r1: a is kicked (room-left true) and gets no client-left.
    d.emit("o", "room-leave", json!(["r1"]));
    assert_eq!(d.expect("o", "room-left"), json!(["r1", false]));
    assert_eq!(d.expect("a", "room-left"), json!(["r1", true]));
    // The room is gone: it can be created again.
    d.emit("c", "room-create", json!(["r1"]));
    assert_eq!(d.expect("c", "room-created"), json!(["r1"]));

    // The owner of r2 disconnects: the room closes for the others.
    d.close("a");
    assert_eq!(d.expect("c", "room-left"), json!(["r2", true]));
    d.emit("o", "room-join", json!(["r2"]));
    assert_eq!(d.expect("o", "room-not-exists"), json!(["r2"]));
    for client in ["o", "c"] {
        d.expect_quiet(client);
    }
}

#[test]
fn socket_io_2_polling_then_websocket() {
    let node = Node::start();
    let url = node.http();
    whole_room_flow([&url; 4], [2, 2, 2, 2], Transports::Default);
}

#[test]
fn socket_io_4_polling_then_websocket() {
    let node = Node::start();
    let url = node.http();
    whole_room_flow([&url; 4], [4, 4, 4, 4], Transports::Default);
}

#[test]
fn socket_io_2_and_4_websocket_only_in_one_room() {
    let node = Node::start();
    let url = node.http();
    whole_room_flow([&url; 4], [2, 4, 2, 4], Transports::WebSocket);
}

#[test]
fn socket_io_2_and_4_polling_only() {
    let node = Node::start();
    let url = node.http();
    whole_room_flow([&url; 4], [4, 2, 4, 2], Transports::Polling);
}

#[test]
fn ten_thousand_signals_arrive_once_in_order() {
    let node = Node::with_args(&BURST);
    let url = node.http();
    ten_thousand_signals([&url, &url]);
}

/// A burst of 10,000 to one receiver is far beyond the default per-client queue (256 events),
/// which would rightly close the receiver as a slow consumer; and beyond the default rate limit.
pub(crate) const BURST: [&str; 4] = ["--rate-per-sec", "0", "--outbound-queue", "16384"];

/// a (socket.io-client 4, at `urls[0]`) and b (2.x, at `urls[1]`) send each other 10,000
/// signals at once in a room; each side gets the other's, once, in order.
pub(crate) fn ten_thousand_signals(urls: [&str; 2]) {
    bursts_each_way(urls, Transports::WebSocket, 10_000);
}

/// a (socket.io-client 4, at `urls[0]`) and b (2.x, at `urls[1]`), both on `transports`, send
/// each other `count` signals at once in a room; each side gets the other's, once, in order,
/// and nothing else.
fn bursts_each_way(urls: [&str; 2], transports: Transports, count: u64) {
    let mut d = SioDriver::start();
    let a = d.connect("a", 4, urls[0], transports);
    let b = d.connect("b", 2, urls[1], transports);
    d.emit("a", "room-create", json!(["r"]));
    d.expect("a", "room-created");
    d.emit("b", "room-join", json!(["r"]));
    d.expect("b", "room-joined");
    d.expect("a", "client-joined");
    d.burst("a", "r", &b, count);
    d.burst("b", "r", &a, count);
    for (to, from) in [("b", &a), ("a", &b)] {
        for seq in 0..count {
            let args = d.expect(to, "signal-receive");
            assert_eq!(args, json!(["r", from, {"candidate": {"seq": seq}}]), "{to}");
        }
    }
    for client in ["a", "b"] {
        d.emit(client, "room-leave", json!(["nope"]));
        d.expect(client, "not-in-room");
        d.expect_quiet(client);
    }
}

#[test]
fn bad_socket_io_input_gets_an_error_event_and_the_socket_survives() {
    let node = Node::start();
    let mut d = SioDriver::start();
    d.connect("a", 4, &node.http(), Transports::WebSocket);
    // Well-formed Socket.IO the rooms protocol refuses: an `error` event, and the socket goes on.
    for (packet, message) in [
        ("2[\"kick\",\"r\"]", "unknown event: kick"),
        ("2[\"room-join\",5]", "room-join expects (room: string)"),
        (
            "51-[\"room-join\",{\"_placeholder\":true,\"num\":0}]",
            "binary packets are not supported",
        ),
    ] {
        d.raw("a", packet);
        assert_eq!(d.expect("a", "error"), json!([message]), "{packet}");
    }
    // Binary data (a binary WebSocket frame): the same, on both protocol revisions.
    d.connect("v2", 2, &node.http(), Transports::WebSocket);
    for client in ["a", "v2"] {
        d.binary(client, &[1, 2, 3, 4]);
        assert_eq!(d.expect(client, "error"), json!(["binary messages are not supported"]));
        d.emit(client, "room-leave", json!(["nowhere"]));
        assert_eq!(d.expect(client, "not-in-room"), json!(["nowhere"]));
    }
    // Still served.
    d.emit("a", "room-create", json!(["r"]));
    assert_eq!(d.expect("a", "room-created"), json!(["r"]));
    // A frame over the node's limit (64 KiB) ends the session; other sockets are untouched.
    d.connect("b", 2, &node.http(), Transports::WebSocket);
    d.emit("b", "room-join", json!(["r"]));
    d.expect("b", "room-joined");
    d.expect("a", "client-joined");
    d.emit("a", "room-create", json!(["x".repeat(70_000)]));
    assert_eq!(d.expect_disconnect("a"), "transport close");
    // a owned r: its departure closed the room for b, who is still connected.
    assert_eq!(d.expect("b", "room-left"), json!(["r", true]));
    d.emit("b", "room-create", json!(["r"]));
    assert_eq!(d.expect("b", "room-created"), json!(["r"]));
}

#[tokio::test]
async fn bad_engine_io_requests_get_engine_io_errors() {
    let node = Node::start();
    let get = |path: &'static str| http_get(node.addr, path);
    let (status, body) = get("/socket.io/?EIO=5&transport=polling").await.unwrap();
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"code":5,"message":"Unsupported protocol version"}"#)
    );
    let (status, body) = get("/socket.io/?EIO=4&transport=pigeon").await.unwrap();
    assert_eq!((status, body.as_str()), (400, r#"{"code":0,"message":"Transport unknown"}"#));
    let (status, body) = get("/socket.io/?EIO=4&transport=polling&sid=nope").await.unwrap();
    assert_eq!((status, body.as_str()), (400, r#"{"code":1,"message":"Session ID unknown"}"#));
    // A handshake opens a session whose open packet names it.
    let (status, body) = get("/socket.io/?EIO=3&transport=polling").await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains(r#""upgrades":["websocket"]"#), "{body}");
}

#[test]
fn a_draining_node_closes_its_socket_io_sessions() {
    let mut node = Node::start();
    let mut d = SioDriver::start();
    d.connect("ws", 4, &node.http(), Transports::WebSocket);
    d.connect("poll", 2, &node.http(), Transports::Polling);
    node.sigterm();
    assert_eq!(d.expect_disconnect("ws"), "transport close");
    assert_eq!(d.expect_disconnect("poll"), "transport close");
    assert!(node.wait_exit().success());
}

/// Short Engine.IO ping settings, so liveness is exercised within a test.
const FAST_PINGS: [&str; 4] = ["--eio-ping-interval-ms", "200", "--eio-ping-timeout-ms", "200"];

#[test]
fn real_clients_keep_their_sessions_through_many_pings() {
    // v2 clients ping the node, v4 sessions are pinged by it; either way nobody is dropped.
    for (versions, transports) in
        [([2, 4, 2, 4], Transports::Default), ([4, 2, 4, 2], Transports::Polling)]
    {
        let node = Node::with_args(&FAST_PINGS);
        let url = node.http();
        whole_room_flow([&url; 4], versions, transports);
    }
}

/// Opens a raw polling session of Engine.IO `version`; returns its sid.
async fn handshake(node: &Node, version: u8) -> String {
    let (status, body) =
        http_get(node.addr, &format!("/socket.io/?EIO={version}&transport=polling")).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let open = body.split_once("0{").map(|(_, rest)| format!("{{{rest}")).unwrap();
    let end = open.find('}').unwrap();
    let open: serde_json::Value = serde_json::from_str(&open[..=end]).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

fn poll_path(version: u8, sid: &str) -> String {
    format!("/socket.io/?EIO={version}&transport=polling&sid={sid}")
}

#[tokio::test]
async fn a_v4_session_that_never_answers_pings_is_closed() {
    // A ping timeout far shorter than the interval tells the two deadlines apart.
    let node = Node::with_args(&["--eio-ping-interval-ms", "2000", "--eio-ping-timeout-ms", "200"]);
    let sid = handshake(&node, 4).await;
    let path = poll_path(4, &sid);
    assert_eq!(http_get(node.addr, &path).await.unwrap(), (200, "2".into()), "a ping");
    // No pong: the session ends at the ping timeout; the parked poll is released with a noop
    // and the sid is unknown from then on (Engine.IO v4's "closes the session upon ping
    // timeout").
    let parked = std::time::Instant::now();
    assert_eq!(http_get(node.addr, &path).await.unwrap(), (200, "6".into()));
    let waited = parked.elapsed();
    let (status, _) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(status, 400);
    // At the ping timeout (200 ms after the ping), not at the next ping (2 s after it).
    assert!(waited < std::time::Duration::from_millis(1500), "closed after {waited:?}");
}

#[tokio::test]
async fn a_v3_session_that_never_pings_is_closed() {
    let node = Node::with_args(&FAST_PINGS);
    let sid = handshake(&node, 3).await;
    let path = poll_path(3, &sid);
    assert_eq!(http_get(node.addr, &path).await.unwrap(), (200, "1:6".into()));
    let (status, _) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(status, 400, "the sid is unknown at once");
    // A v3 ping is answered with a pong while the session lives.
    let sid = handshake(&node, 3).await;
    let path = poll_path(3, &sid);
    assert_eq!(http_post(node.addr, &path, "1:2").await.unwrap(), (200, "ok".into()));
    assert_eq!(http_get(node.addr, &path).await.unwrap(), (200, "1:3".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_polling_input_gets_engine_io_answers() {
    let node = Node::with_log(&[], "info,switchboard::http::eio=debug");
    let sid = handshake(&node, 4).await;
    let path = poll_path(4, &sid);
    // Only the default namespace exists.
    assert_eq!(http_post(node.addr, &path, "40/admin,").await.unwrap(), (200, "ok".into()));
    let (_, body) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(body, r#"44/admin,{"message":"Invalid namespace"}"#);
    // Two polls at once close the session (as Engine.IO does).
    let first = tokio::spawn({
        let (addr, path) = (node.addr, path.clone());
        async move { http_get(addr, &path).await }
    });
    node.wait_for_log(&format!("eio {sid}: poll parked"));
    let (status, _) = http_get(node.addr, &path).await.unwrap();
    assert_eq!(status, 400);
    assert_eq!(first.await.unwrap().unwrap(), (200, "1".into()));

    // A payload larger than the node's limit is refused and closes the session.
    let sid = handshake(&node, 4).await;
    let path = poll_path(4, &sid);
    let huge = format!("42[\"room-create\",\"{}\"]", "x".repeat(70_000));
    let (status, _) = http_post(node.addr, &path, &huge).await.unwrap();
    assert_eq!(status, 413);
    assert_eq!(http_get(node.addr, &path).await.unwrap(), (200, "1".into()), "the close packet");

    // A v3 payload whose length prefix lies is refused.
    let sid = handshake(&node, 3).await;
    let path = poll_path(3, &sid);
    let (status, _) = http_post(node.addr, &path, "99:42[]").await.unwrap();
    assert_eq!(status, 400);
}

/// A burst within the sender's allowance (900 of a burst of 1,000, far past the per-client
/// queue of 256) reaches receivers that read as fast as they can, whole and in order, over
/// either transport: one peer cannot get another closed as a slow consumer. (Polling
/// receivers were closed once 256 events waited between two polls.)
#[test]
fn a_burst_within_the_senders_allowance_never_closes_a_reading_receiver() {
    for transports in [Transports::Polling, Transports::WebSocket] {
        let node = Node::start();
        let url = node.http();
        bursts_each_way([&url, &url], transports, 900);
    }
}

/// Rooms spread over the node's worker threads: each worker hosts one shard of the room engine,
/// and a room's actor lives on the shard its name hashes to (32 rooms on 4 shards all landing
/// on one would take odds of 1 in 10^18).
#[tokio::test]
async fn rooms_of_one_node_are_served_by_more_than_one_thread() {
    let node = Node::with_args(&["--workers", "4"]);
    let mut d = SioDriver::start();
    d.connect("o", 4, &node.http(), Transports::WebSocket);
    for i in 0..32 {
        d.emit("o", "room-create", json!([format!("r{i}")]));
        d.expect("o", "room-created");
    }
    let (_, metrics) = node.get("/metrics").await;
    let per_shard: Vec<(String, u64)> = metrics
        .lines()
        .filter_map(|line| line.strip_prefix("switchboard_rooms{dialect=\"rooms\",shard=\""))
        .filter_map(|rest| rest.split_once("\"} "))
        .map(|(shard, n)| (shard.to_owned(), n.parse().expect("a count")))
        .collect();
    assert_eq!(per_shard.len(), 4, "{metrics}");
    assert_eq!(per_shard.iter().map(|(_, n)| n).sum::<u64>(), 32, "{metrics}");
    let busy: Vec<&String> = per_shard.iter().filter(|(_, n)| *n > 0).map(|(s, _)| s).collect();
    assert!(busy.len() >= 2, "all rooms on one shard: {per_shard:?}");
    let mut threads: Vec<String> = busy
        .iter()
        .map(|shard| {
            let line = node.logged(&format!("rooms shard {shard} runs on thread")).expect("logged");
            line.split_once("runs on thread").map(|(_, t)| t.trim().to_owned()).unwrap_or(line)
        })
        .collect();
    threads.sort();
    threads.dedup();
    assert_eq!(threads.len(), busy.len(), "shards share a thread: {threads:?}");
}
