//! The cluster: nodes beside one real redis-server (and behind real nginx) behave as one `cmd`
//! server, and survive a killed node, a drained node and a Redis that restarts empty.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    cmd_flow::whole_call_flow,
    cmd_load::pair,
    support::{
        client::{open_session, state_of, Ended},
        node::http_get,
        Client, Nginx, Node, Redis,
    },
};

/// The issue's bound on noticing a dead node (default TTL 3 s + one 1 s heartbeat interval).
const NOTICED_WITHIN: Duration = Duration::from_secs(5);

/// Test clients read only when a step needs them, so they would miss pongs while a test waits
/// out a node's death; liveness has its own tests.
const QUIET: [&str; 2] = ["--ping-interval-ms", "600000"];

/// Waits until `client`'s roster lists exactly `names`, all waiting.
async fn roster_lists(client: &mut Client, names: &[&str]) {
    client
        .clu_until(|list| {
            list.len() == names.len() && names.iter().all(|n| state_of(list, n) == Some(1))
        })
        .await;
}

/// Sends an offer from `a` and checks `b` receives it.
async fn offer(a: &mut Client, b: &mut Client, session: &str) {
    let sdp = json!({"type": "offer", "sdp": "v=0"});
    a.send(json!({"cmd": "call", "sessionId": session, "offer": sdp})).await;
    assert_eq!(b.expect("call").await["offer"], sdp);
    for c in [a, b] {
        assert_eq!(c.expect("ssu").await["state"], 2);
    }
}

#[tokio::test]
async fn the_whole_call_flow_runs_across_three_nodes() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    whole_call_flow([&nodes[0], &nodes[1], &nodes[2]]).await;
}

#[tokio::test]
async fn notify_crosses_nodes_and_unknown_names_are_9301() {
    let redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &[]), Node::clustered(&redis, "n2", &[]));
    let mut a = Client::register(&n1, "a").await;
    let mut b = Client::register(&n2, "b").await;
    a.send(json!({"cmd": "notify", "opponentId": "b", "type": "ring"})).await;
    assert_eq!(
        b.recv_skipping_clu().await,
        json!({"cmd": "notify", "opponentId": "a", "type": "ring"})
    );
    a.send(json!({"cmd": "notify", "opponentId": "nobody", "type": "ring"})).await;
    assert_eq!(a.recv_skipping_clu().await, json!({"cmd": "error", "code": 9301}));
    // A session to a name nobody holds anywhere.
    a.send(json!({"cmd": "session", "opponentId": "nobody"})).await;
    assert_eq!(a.recv_skipping_clu().await, json!({"cmd": "error", "code": 9201}));
}

#[tokio::test]
async fn two_nodes_racing_to_claim_one_sid_exactly_one_wins() {
    let redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &[]), Node::clustered(&redis, "n2", &[]));
    for round in 0..25 {
        let name = format!("racer{round}");
        let (mut a, mut b) = tokio::join!(Client::connect(&n1), Client::connect(&n2));
        let claim = json!({"cmd": "sId", "sId": name});
        tokio::join!(a.send(claim.clone()), b.send(claim.clone()));
        let (ra, rb) = tokio::join!(a.recv(), b.recv());
        let taken = json!({"cmd": "error", "code": 9102});
        assert!(
            (ra == claim && rb == taken) || (ra == taken && rb == claim),
            "round {round}: {ra} / {rb}"
        );
    }
}

#[tokio::test]
async fn a_killed_node_is_noticed_within_5s_and_its_names_are_freed() {
    let redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let mut n2 = Node::clustered(&redis, "n2", &QUIET);
    let n3 = Node::clustered(&redis, "n3", &QUIET);
    let mut a = Client::register(&n1, "alice").await;
    let mut b = Client::register(&n2, "bob").await;
    let mut c = Client::register(&n3, "carol").await;
    roster_lists(&mut c, &["alice", "bob", "carol"]).await;
    let session = open_session(&mut a, &mut b).await;
    offer(&mut a, &mut b, &session).await;

    let killed = Instant::now();
    n2.kill9();
    assert_eq!(
        a.expect("leave").await,
        json!({"cmd": "leave", "sessionId": session, "opponentId": "bob"})
    );
    assert_eq!(a.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 4}));
    roster_lists(&mut a, &["alice", "carol"]).await;
    let noticed = killed.elapsed();
    assert!(noticed < NOTICED_WITHIN, "noticed after {noticed:?}");
    assert!(n1.get("/metrics").await.1.contains("switchboard_cluster_peers 1\n"));
    roster_lists(&mut c, &["alice", "carol"]).await;
    // The dead node's name is free again, on any node, and callable.
    let mut bob = Client::register(&n3, "bob").await;
    let session = open_session(&mut a, &mut bob).await;
    offer(&mut a, &mut bob, &session).await;
}

#[tokio::test]
async fn sigterm_drains_the_node_and_peers_hear_at_once() {
    let redis = Redis::start();
    // A TTL far beyond the test: only the drain's deregistration can tell the peer in time.
    let slow = ["--node-ttl-ms", "60000"];
    let n1 = Node::clustered(&redis, "n1", &slow);
    let mut n2 = Node::clustered(&redis, "n2", &slow);
    let mut a = Client::register(&n1, "alice").await;
    let mut b = Client::register(&n2, "bob").await;
    let session = open_session(&mut a, &mut b).await;
    // A client that never reads: it cannot answer the close, so the node waits out the closing
    // handshake (3 s) before it exits, and readiness can be watched during the drain.
    let (_silent, _) = tokio_tungstenite::connect_async(n2.ws("/cmd")).await.unwrap();

    // Watch n2's readiness throughout the drain; SIGTERM only once the watcher has seen it ready.
    let addr = n2.addr;
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut ready_tx = Some(ready_tx);
        while let Some((status, _)) = http_get(addr, "/readyz").await {
            if seen.last() != Some(&status) {
                seen.push(status);
            }
            if status == 200 {
                if let Some(tx) = ready_tx.take() {
                    let _ = tx.send(());
                }
            }
        }
        seen
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx)
        .await
        .expect("the watcher sees n2 ready in time")
        .expect("the watcher runs");
    let drained = Instant::now();
    n2.sigterm();
    assert_eq!(b.expect_end().await, Ended::Close(1001));
    assert_eq!(
        a.expect("leave").await,
        json!({"cmd": "leave", "sessionId": session, "opponentId": "bob"})
    );
    assert_eq!(a.expect("ssu").await["state"], 4);
    roster_lists(&mut a, &["alice"]).await;
    // Peers hear at once, while the node is still draining.
    assert!(drained.elapsed() < Duration::from_secs(2), "took {:?}", drained.elapsed());
    // No new clients while draining.
    match tokio_tungstenite::connect_async(n2.ws("/cmd")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503);
        }
        other => panic!("a draining node accepted a client: {other:?}"),
    }
    assert!(n2.wait_exit().success());
    let seen = watcher.await.unwrap();
    assert_eq!(seen, [200, 503], "readiness during the drain");
    // bob's name was released at once, not after the TTL.
    Client::register(&n1, "bob").await;
}

#[tokio::test]
async fn redis_restarted_empty_gives_clear_errors_then_everything_works_again() {
    let mut redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &QUIET), Node::clustered(&redis, "n2", &QUIET));
    let mut a = Client::register(&n1, "a").await;
    let mut a2 = Client::register(&n1, "a2").await;
    let mut b = Client::register(&n2, "b").await;
    let mut e = Client::register(&n1, "e").await;
    let _f = Client::register(&n2, "f").await;
    roster_lists(&mut a, &["a", "a2", "b", "e", "f"]).await;
    let across = open_session(&mut b, &mut e).await;

    redis.kill();
    n1.wait_for_status("/readyz", 503).await;
    n2.wait_for_status("/readyz", 503).await;
    // A member whose call is homed on the other node cannot reach it: told so at once.
    e.send(json!({"cmd": "stop", "sessionId": across})).await;
    e.expect_error(9400).await;
    // The home side ends the call; its news for the other node waits for Redis.
    b.send(json!({"cmd": "stop", "sessionId": across})).await;
    assert_eq!(b.expect("ssu").await, json!({"cmd": "ssu", "sessionId": across, "state": 4}));
    // Cross-node and cluster-wide operations fail clearly...
    a.send(json!({"cmd": "session", "opponentId": "f"})).await;
    assert_eq!(a.recv_skipping_clu().await, json!({"cmd": "error", "code": 9400}));
    let mut late = Client::connect(&n1).await;
    late.send(json!({"cmd": "sId", "sId": "late"})).await;
    assert_eq!(late.recv().await, json!({"cmd": "error", "code": 9400}));
    // ...while local calls go on.
    let session = open_session(&mut a, &mut a2).await;
    a.send(json!({"cmd": "stop", "sessionId": session})).await;
    assert_eq!(a2.expect("stop").await["sessionId"], session.as_str());
    for c in [&mut a, &mut a2] {
        assert_eq!(c.expect("ssu").await["state"], 4);
    }

    redis.restart();
    n1.wait_for_status("/readyz", 200).await;
    n2.wait_for_status("/readyz", 200).await;
    // Nothing was silently dropped: the held-back end of the call arrives.
    assert_eq!(e.expect("stop").await["sessionId"], across.as_str());
    assert_eq!(e.expect("ssu").await, json!({"cmd": "ssu", "sessionId": across, "state": 4}));
    n2.wait_for_log("re-registered 2 cmd names");
    n1.wait_for_log("re-registered 3 cmd names");
    // Names survived the restart: b is still taken, cluster-wide.
    let mut dup = Client::connect(&n1).await;
    dup.send(json!({"cmd": "sId", "sId": "b"})).await;
    dup.expect_error(9102).await;
    // Already-connected clients call each other across nodes again...
    let session = open_session(&mut b, &mut a).await;
    offer(&mut b, &mut a, &session).await;
    // ...and so do new ones.
    late.send(json!({"cmd": "sId", "sId": "late"})).await;
    assert_eq!(late.recv().await, json!({"cmd": "sId", "sId": "late"}));
    let mut d = Client::register(&n2, "d").await;
    let session = open_session(&mut late, &mut d).await;
    offer(&mut late, &mut d, &session).await;
}

/// Sends an ICE candidate from `from` to `to` in `session` and checks it arrives, unchanged and
/// before anything else but roster updates.
async fn ice(from: &mut Client, to: &mut Client, session: &str, n: u32) {
    let candidate = json!({"candidate": format!("c{n}"), "sdpMid": "0"});
    from.send(json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": candidate}))
        .await;
    let got = to.expect_skipping_clu("icecandidate").await;
    assert_eq!(got["icecandidate"], candidate, "{}", to.name);
}

/// Redis killed and restarted empty, over and over, with outages longer than the node TTL: a
/// call across two nodes stays intact on both sides (nobody told it ended, ICE flows both
/// ways), nobody is declared dead, and the same clients can end it and call again at once.
#[tokio::test]
async fn calls_across_nodes_stay_intact_through_redis_restarts() {
    let mut redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &QUIET), Node::clustered(&redis, "n2", &QUIET));
    let mut a = Client::register(&n1, "a").await;
    let mut b = Client::register(&n2, "b").await;
    roster_lists(&mut a, &["a", "b"]).await;
    let mut session = open_session(&mut a, &mut b).await;
    offer(&mut a, &mut b, &session).await;
    // Outages shorter and longer than the TTL (3 s), and long enough for the nodes' reconnect
    // backoff to drift apart.
    for (round, outage) in [4_000, 1_000, 6_000, 3_500].into_iter().enumerate() {
        redis.outage(&[&n1, &n2], Duration::from_millis(outage)).await;
        // Both nodes hold their names again before anyone checks.
        n1.wait_for_log("re-registered 1 cmd names");
        n2.wait_for_log("re-registered 1 cmd names");
        let n = round as u32 * 2;
        ice(&mut a, &mut b, &session, n).await;
        ice(&mut b, &mut a, &session, n + 1).await;
        a.expect_nothing_but_clu_pending().await;
        b.expect_nothing_but_clu_pending().await;
        // Ending it and calling again works at once, each side told once.
        a.send(json!({"cmd": "stop", "sessionId": session})).await;
        assert_eq!(b.expect_skipping_clu("stop").await["sessionId"], session.as_str());
        for c in [&mut a, &mut b] {
            let ssu = c.expect_skipping_clu("ssu").await;
            assert_eq!(ssu, json!({"cmd": "ssu", "sessionId": session, "state": 4}), "{}", c.name);
        }
        session = open_session(&mut b, &mut a).await;
        offer(&mut b, &mut a, &session).await;
    }
    a.expect_nothing_but_clu_pending().await;
    b.expect_nothing_but_clu_pending().await;
    for node in [&n1, &n2] {
        assert_eq!(node.logged("is down"), None, "a node declared a live peer dead");
    }
}

/// The same with three nodes and nine calls, each between clients of two different nodes:
/// after each restart every call carries ICE both ways and nobody was told anything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nine_calls_across_three_nodes_stay_intact_through_redis_restarts() {
    let mut redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let mut calls = Vec::new();
    for i in 0..9 {
        let (from, to) = (&nodes[i % 3], &nodes[(i + 1) % 3]);
        let mut a = Client::register(from, &format!("a{i}")).await;
        let mut b = Client::register(to, &format!("b{i}")).await;
        let session = open_session(&mut a, &mut b).await;
        offer(&mut a, &mut b, &session).await;
        calls.push((a, b, session));
    }
    for (round, outage) in [4_000, 6_000].into_iter().enumerate() {
        redis.outage(&nodes.each_ref(), Duration::from_millis(outage)).await;
        for node in &nodes {
            node.wait_for_log("re-registered 6 cmd names");
        }
        for (a, b, session) in &mut calls {
            let n = round as u32 * 2;
            ice(a, b, session, n).await;
            ice(b, a, session, n + 1).await;
        }
    }
    for (a, b, _) in &mut calls {
        a.expect_nothing_but_clu_pending().await;
        b.expect_nothing_but_clu_pending().await;
    }
    for node in &nodes {
        assert_eq!(node.logged("is down"), None, "a node declared a live peer dead");
    }
}

/// One node cut off from Redis (the others keep it) for longer than the TTL: the others declare
/// it dead and its peers are told their calls ended; once it reaches Redis again it learns it
/// was declared dead and tells its own clients the same. Each side is told once, and the same
/// clients call each other again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_redis_ends_its_cross_node_calls_once_on_both_sides() {
    let redis = Redis::start();
    let relay = crate::support::cut::Cuttable::to(redis.socket());
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let n2 = Node::clustered_at(&relay.url(), "n2", &QUIET);
    let mut a = Client::register(&n1, "a").await;
    let mut b = Client::register(&n2, "b").await;
    roster_lists(&mut a, &["a", "b"]).await;
    let session = open_session(&mut a, &mut b).await;
    offer(&mut a, &mut b, &session).await;

    relay.cut();
    // n1 declares n2 dead: a is told its call ended, once.
    n1.wait_for_log("is down");
    assert_eq!(a.expect_skipping_clu("leave").await["sessionId"], session.as_str());
    assert_eq!(
        a.expect_skipping_clu("ssu").await,
        json!({"cmd": "ssu", "sessionId": session, "state": 4})
    );
    relay.heal();
    // n2 learns it was declared dead and ends the call for b, once.
    n2.wait_for_log("declared this node dead");
    assert_eq!(b.expect_skipping_clu("leave").await["sessionId"], session.as_str());
    assert_eq!(
        b.expect_skipping_clu("ssu").await,
        json!({"cmd": "ssu", "sessionId": session, "state": 4})
    );
    n2.wait_for_status("/readyz", 200).await;
    n2.wait_for_log("re-registered 1 cmd names");
    // They call each other again at once, and nothing of the old call comes after.
    roster_lists(&mut a, &["a", "b"]).await;
    let again = open_session(&mut b, &mut a).await;
    offer(&mut b, &mut a, &again).await;
    ice(&mut a, &mut b, &again, 1).await;
    ice(&mut b, &mut a, &again, 2).await;
    a.expect_nothing_but_clu_pending().await;
    b.expect_nothing_but_clu_pending().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_through_nginx_call_in_pairs_exactly_once_in_order() {
    let redis = Redis::start();
    let nodes = ["n1", "n2", "n3"].map(|id| Node::clustered(&redis, id, &QUIET));
    let nginx = Nginx::start(&[&nodes[0], &nodes[1], &nodes[2]]);
    let url = Arc::new(nginx.ws("/cmd"));
    let tasks: Vec<_> = (0..100).map(|i| tokio::spawn(pair(url.clone(), i))).collect();
    for task in tasks {
        task.await.expect("pair completed");
    }
    // Round-robin spread the clients over every node.
    for node in &nodes {
        let (_, metrics) = node.get("/metrics").await;
        let total: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("switchboard_connections_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("connections_total");
        assert!(total >= 40, "{} got only {total} of 200 clients", node.addr);
    }
}

#[tokio::test]
async fn a_node_restarted_under_the_same_id_does_not_hide_its_previous_death() {
    let redis = Redis::start();
    let n1 = Node::clustered(&redis, "n1", &QUIET);
    let mut n2 = Node::clustered(&redis, "n2", &QUIET);
    let mut a = Client::register(&n1, "alice").await;
    let mut b = Client::register(&n2, "bob").await;
    let session = open_session(&mut a, &mut b).await;
    // The container is restarted at once, under the same node id.
    n2.kill9();
    let killed = Instant::now();
    let n2 = Node::clustered(&redis, "n2", &QUIET);
    assert_eq!(
        a.expect("leave").await,
        json!({"cmd": "leave", "sessionId": session, "opponentId": "bob"})
    );
    assert_eq!(a.expect("ssu").await["state"], 4);
    assert!(killed.elapsed() < NOTICED_WITHIN, "noticed after {:?}", killed.elapsed());
    // The dead run's names are free; bob reconnects to the new run and is reachable.
    let mut bob = Client::register(&n2, "bob").await;
    let session = open_session(&mut a, &mut bob).await;
    offer(&mut a, &mut bob, &session).await;
}

mod rooms {
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
        whole_room_flow(
            [&urls[0], &urls[1], &urls[2], &urls[3]],
            [2, 4, 4, 2],
            Transports::WebSocket,
        );
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

    #[test]
    fn a_killed_member_node_is_a_disconnect_for_the_room() {
        let redis = Redis::start();
        let n1 = Node::clustered(&redis, "n1", &QUIET);
        let mut n2 = Node::clustered(&redis, "n2", &QUIET);
        let mut d = SioDriver::start();
        d.connect("o", 2, &n1.http(), Transports::WebSocket);
        let a = d.connect("a", 4, &n2.http(), Transports::WebSocket);
        d.emit("o", "room-create", json!(["r"]));
        d.expect("o", "room-created");
        d.emit("a", "room-join", json!(["r"]));
        d.expect("a", "room-joined");
        d.expect("o", "client-joined");
        n2.kill9();
        assert_eq!(d.expect("o", "client-left"), json!(["r", a]));
    }

    #[test]
    fn rooms_survive_a_redis_restart() {
        let mut redis = Redis::start();
        let n1 = Node::clustered(&redis, "n1", &QUIET);
        let n2 = Node::clustered(&redis, "n2", &QUIET);
        let mut d = SioDriver::start();
        let o = d.connect("o", 4, &n1.http(), Transports::WebSocket);
        let a = d.connect("a", 2, &n2.http(), Transports::WebSocket);
        d.emit("o", "room-create", json!(["r"]));
        d.expect("o", "room-created");
        d.emit("a", "room-join", json!(["r"]));
        d.expect("a", "room-joined");
        d.expect("o", "client-joined");

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
        let o = d.connect("o", 4, &n1.http(), Transports::WebSocket);
        let a = d.connect("a", 2, &n2.http(), Transports::WebSocket);
        d.emit("o", "room-create", json!(["r"]));
        d.expect("o", "room-created");
        d.emit("a", "room-join", json!(["r"]));
        d.expect("a", "room-joined");
        d.expect("o", "client-joined");
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
}
