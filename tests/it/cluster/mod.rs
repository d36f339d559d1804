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

/// The bound on noticing a dead node (default TTL 3 s + one 1 s heartbeat interval).
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

mod faults;
mod rooms;
