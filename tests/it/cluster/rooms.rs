//! The `rooms` dialect across the cluster.

use std::time::Instant;

use serde_json::json;

use super::{NOTICED_WITHIN, QUIET};
use crate::{
    rooms::{ten_thousand_signals, whole_room_flow, BURST},
    support::{
        sio::{SioDriver, Transports},
        Nginx, Node, Redis,
    },
};

#[test]
fn the_whole_room_flow_with_every_client_on_its_own_node() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let urls = [nodes[0].http(), nodes[1].http(), nodes[2].http(), nodes[0].http()];
    whole_room_flow([&urls[0], &urls[1], &urls[2], &urls[3]], [2, 4, 4, 2], Transports::WebSocket);
}

#[test]
fn the_whole_room_flow_through_nginx_round_robin_over_websocket() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let nginx = Nginx::start(&[&nodes[0], &nodes[1], &nodes[2]]);
    let url = format!("http://{}", nginx.addr);
    whole_room_flow([&url; 4], [4, 2, 4, 2], Transports::WebSocket);
}

/// No sticky sessions: every long-poll and POST may reach any node; those for a session
/// held elsewhere are forwarded to its node through Redis.
#[test]
fn the_whole_room_flow_through_nginx_round_robin_over_long_polling() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let nginx = Nginx::start(&[&nodes[0], &nodes[1], &nodes[2]]);
    let url = format!("http://{}", nginx.addr);
    whole_room_flow([&url; 4], [2, 4, 2, 4], Transports::Polling);
    let forwarded: u64 = nodes.iter().map(|n| n.forwarded_polls()).sum();
    assert!(forwarded > 0, "round-robin never sent a poll to another node than its session's");
}

#[test]
fn the_whole_room_flow_through_nginx_round_robin_with_default_transports() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let nginx = Nginx::start(&[&nodes[0], &nodes[1], &nodes[2]]);
    let url = format!("http://{}", nginx.addr);
    whole_room_flow([&url; 4], [4, 2, 4, 2], Transports::Default);
}

#[test]
fn ten_thousand_signals_between_two_nodes_arrive_once_in_order() {
    let redis = Redis::start();
    let args: Vec<&str> = BURST.iter().chain(QUIET.iter()).copied().collect();
    let (n1, n2) = (Node::clustered(&redis, "n1", &args), Node::clustered(&redis, "n2", &args));
    ten_thousand_signals([&n1.http(), &n2.http()]);
}

#[test]
fn a_killed_owner_node_closes_its_rooms_for_members_elsewhere_within_5s() {
    let redis = Redis::start();
    let mut n1 = Node::clustered(&redis, "n1", &QUIET);
    let n2 = Node::clustered(&redis, "n2", &QUIET);
    let n3 = Node::clustered(&redis, "n3", &QUIET);
    let mut d = SioDriver::start();
    let o = d.connect("o", 4, &n1.http(), Transports::WebSocket);
    let a = d.connect("a", 2, &n2.http(), Transports::WebSocket);
    d.connect("b", 4, &n3.http(), Transports::WebSocket);
    d.emit("o", "room-create", json!(["r"]));
    d.expect("o", "room-created");
    d.emit("a", "room-join", json!(["r"]));
    assert_eq!(d.expect("a", "room-joined"), json!(["r", o, [o]]));
    d.emit("b", "room-join", json!(["r"]));
    assert_eq!(d.expect("b", "room-joined"), json!(["r", o, [o, a]]));
    d.expect("a", "client-joined");

    let killed = Instant::now();
    n1.kill9();
    assert_eq!(d.expect("a", "room-left"), json!(["r", true]));
    assert_eq!(d.expect("b", "room-left"), json!(["r", true]));
    assert!(killed.elapsed() < NOTICED_WITHIN, "noticed after {:?}", killed.elapsed());
    // The room is gone cluster-wide: its name can be created again elsewhere.
    d.emit("a", "room-create", json!(["r"]));
    assert_eq!(d.expect("a", "room-created"), json!(["r"]));
    d.emit("b", "room-join", json!(["r"]));
    assert_eq!(d.expect("b", "room-joined"), json!(["r", a, [a]]));
}

/// o (socket.io-client `versions.0`, on `n1`) creates room `r` and a (`versions.1`, on
/// `n2`) joins it, over WebSockets; their socket ids.
fn room_across(d: &mut SioDriver, versions: (u8, u8), n1: &Node, n2: &Node) -> (String, String) {
    let o = d.connect("o", versions.0, &n1.http(), Transports::WebSocket);
    let a = d.connect("a", versions.1, &n2.http(), Transports::WebSocket);
    d.emit("o", "room-create", json!(["r"]));
    d.expect("o", "room-created");
    d.emit("a", "room-join", json!(["r"]));
    d.expect("a", "room-joined");
    d.expect("o", "client-joined");
    (o, a)
}

#[test]
fn a_killed_member_node_is_a_disconnect_for_the_room() {
    let redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let mut n2 = Node::clustered(&redis, "n2", &QUIET);
    let mut d = SioDriver::start();
    let (_, a) = room_across(&mut d, (2, 4), &n1, &n2);
    n2.kill9();
    assert_eq!(d.expect("o", "client-left"), json!(["r", a]));
}

#[test]
fn rooms_survive_a_redis_restart() {
    let mut redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let n2 = Node::clustered(&redis, "n2", &QUIET);
    let mut d = SioDriver::start();
    let (o, a) = room_across(&mut d, (4, 2), &n1, &n2);

    redis.kill();
    // While Redis is down a room elsewhere cannot be created or found: a clear error.
    d.connect("late", 4, &n2.http(), Transports::WebSocket);
    d.emit("late", "room-create", json!(["other"]));
    assert_eq!(d.expect("late", "error"), json!(["cluster unavailable, try again"]));

    redis.restart();
    n1.wait_for_log("re-registered 1 rooms");
    // The name is held again: nobody else can create it; members still talk.
    d.emit("late", "room-create", json!(["r"]));
    assert_eq!(d.expect("late", "room-exists"), json!(["r"]));
    d.emit("a", "signal-send", json!(["r", o, {"n": 1}]));
    assert_eq!(d.expect("o", "signal-receive"), json!(["r", a, {"n": 1}]));
}

/// Redis killed and restarted empty, with outages shorter and longer than the node TTL: a
/// room across two nodes keeps both members (nobody told anyone left) and relays again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_across_nodes_stay_whole_through_redis_restarts() {
    let mut redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let n2 = Node::clustered(&redis, "n2", &QUIET);
    let mut d = SioDriver::start();
    let (o, a) = room_across(&mut d, (4, 2), &n1, &n2);
    for (round, outage) in [4_000, 1_000, 6_000].into_iter().enumerate() {
        redis.outage(&[&n1, &n2], super::Duration::from_millis(outage)).await;
        n1.wait_for_log("re-registered 1 rooms");
        d.emit("a", "signal-send", json!(["r", o, {"round": round}]));
        assert_eq!(d.expect("o", "signal-receive"), json!(["r", a, {"round": round}]));
        d.emit("o", "signal-send", json!(["r", a, {"round": round}]));
        assert_eq!(d.expect("a", "signal-receive"), json!(["r", o, {"round": round}]));
    }
    d.expect_quiet("o");
    d.expect_quiet("a");
    for node in [&n1, &n2] {
        assert_eq!(node.logged("is down"), None, "a node declared a live peer dead");
    }
}

/// An upgrade that reaches another node than the session's is relayed there: probe, upgrade
/// and then the session's traffic flow through the other node's WebSocket.
#[tokio::test]
async fn a_websocket_upgrade_on_another_node_is_relayed_to_the_session() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let n2 = Node::clustered(&redis, "n2", &QUIET);
    let (status, open) =
        crate::support::node::http_get(n1.addr, "/socket.io/?EIO=4&transport=polling")
            .await
            .unwrap();
    assert_eq!(status, 200);
    let open: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let sid = open["sid"].as_str().unwrap();
    let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket&sid={sid}", n2.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    ws.send(Message::text("2probe")).await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "3probe");
    ws.send(Message::text("5")).await.unwrap();
    ws.send(Message::text("40")).await.unwrap();
    let connected = recv_text(&mut ws).await;
    assert!(connected.starts_with("40{\"sid\":"), "{connected}");
    ws.send(Message::text(r#"42["room-create","relayed"]"#)).await.unwrap();
    assert_eq!(recv_text(&mut ws).await, r#"42["room-created","relayed"]"#);
    assert!(n2.forwarded_polls() >= 1, "the upgrade was relayed by n2");
}

async fn recv_text<S>(ws: &mut S) -> String
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(crate::support::PATIENCE, ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("valid");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            return text.to_string();
        }
    }
}

/// A room waiting for Redis holds back only its own commands. With Redis refusing writes for a
/// while (`CLIENT PAUSE … WRITE`), a room whose owner leaves waits to release its name (up to
/// the 2 s operation timeout) before its members hear it closed; meanwhile a signal in another
/// room of the same node, on its only worker thread, is relayed at once. (When one node-wide
/// actor owned every room, the signal waited behind the release.)
#[test]
fn a_room_waiting_for_redis_holds_back_no_other_room() {
    let redis = Redis::start();
    let args: Vec<&str> = QUIET.iter().copied().chain(["--workers", "1"]).collect();
    let node = Node::clustered(&redis, "n1", &args);
    let mut d = SioDriver::start();
    let url = node.http();
    let [_, _, b1, b2] =
        ["a1", "a2", "b1", "b2"].map(|name| d.connect(name, 4, &url, Transports::WebSocket));
    for (owner, member, room) in [("a1", "a2", "A"), ("b1", "b2", "B")] {
        d.emit(owner, "room-create", json!([room]));
        assert_eq!(d.expect(owner, "room-created"), json!([room]));
        d.emit(member, "room-join", json!([room]));
        d.expect(member, "room-joined");
        d.expect(owner, "client-joined");
    }

    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "4000", "WRITE"]), "OK");
    d.emit("a1", "room-leave", json!(["A"]));
    d.emit("b1", "signal-send", json!(["B", b2, {"n": 1}]));
    assert_eq!(d.expect("b2", "signal-receive"), json!(["B", b1, {"n": 1}]));
    // Room A is still waiting for Redis: its members have heard nothing yet.
    d.expect_quiet("a1");
    d.expect_quiet("a2");
    // Once the release is done (or given up to the background), A closes for everyone.
    assert_eq!(d.expect("a1", "room-left"), json!(["A", false]));
    assert_eq!(d.expect("a2", "room-left"), json!(["A", true]));
    // And B goes on.
    d.emit("b2", "signal-send", json!(["B", b1, {"n": 2}]));
    assert_eq!(d.expect("b1", "signal-receive"), json!(["B", b2, {"n": 2}]));
}
