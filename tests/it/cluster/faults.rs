//! The cluster when Redis fails: restarted empty (again and again, with outages shorter and
//! longer than the node TTL), or out of one node's reach (a partition). Calls across nodes stay
//! intact, or end once on both sides; nobody is declared dead for a Redis restart.

use std::time::Duration;

use serde_json::json;

use super::{offer, roster_lists, QUIET};
use crate::support::{client::open_session, Client, Node, Redis};

/// Sends an ICE candidate from `from` to `to` in `session` and checks it arrives, unchanged and
/// before anything else but roster updates.
async fn ice(from: &mut Client, to: &mut Client, session: &str, n: u32) {
    let candidate = json!({"candidate": format!("c{n}"), "sdpMid": "0"});
    from.send(json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": candidate}))
        .await;
    let got = to.expect_skipping_clu("icecandidate").await;
    assert_eq!(got["icecandidate"], candidate, "{}", to.name);
}

/// Checks `client` is told its peer in `session` left and the call ended (`leave`, `ssu` 4).
async fn told_its_peer_left(client: &mut Client, session: &str) {
    assert_eq!(client.expect_skipping_clu("leave").await["sessionId"], session);
    let ssu = client.expect_skipping_clu("ssu").await;
    assert_eq!(ssu, json!({"cmd": "ssu", "sessionId": session, "state": 4}), "{}", client.name);
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
    told_its_peer_left(&mut a, &session).await;
    relay.heal();
    // n2 learns it was declared dead and ends the call for b, once.
    n2.wait_for_log("declared this node dead");
    told_its_peer_left(&mut b, &session).await;
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
