//! The whole `cmd` call flow against a real node: register, clu, session, call, accept, ICE both
//! ways, stop; then reject; then a disconnect mid-call; with a bystander's `clu` view throughout.

use serde_json::{json, Value};

use crate::support::{
    client::{open_session, state_of},
    Client, Node,
};

const OFFER: &str = r#"{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}"#;
const ANSWER: &str = r#"{"type":"answer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}"#;
const CANDIDATE: &str = r#"{"candidate":"candidate:842163049 1 udp 1677729535 1.2.3.4 46154 typ srflx raddr 0.0.0.0 rport 0","sdpMid":"0","sdpMLineIndex":0}"#;

fn frame(cmd: &str, session: &str, key: &str, raw: &str) -> String {
    format!(r#"{{"cmd":"{cmd}","sessionId":"{session}","{key}":{raw}}}"#)
}

/// Waits until the bystander's roster shows exactly `expected` (name, state) pairs.
async fn roster_is(client: &mut Client, expected: &[(&str, u64)]) {
    client
        .clu_until(|list| {
            list.len() == expected.len()
                && expected.iter().all(|(name, state)| state_of(list, name) == Some(*state))
        })
        .await;
}

/// `from` sends an offer, the other side gets it byte for byte with `opponentId`, both get ssu 2.
async fn offer(from: &mut Client, to: &mut Client, session: &str) {
    from.send_text(&frame("call", session, "offer", OFFER)).await;
    let text = to.recv_text().await;
    assert!(text.contains(&format!(r#""offer":{OFFER}"#)), "payload altered: {text}");
    let message: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(message["cmd"], "call");
    assert_eq!(message["sessionId"], session);
    assert_eq!(message["opponentId"], from.name.as_str());
    for c in [from, to] {
        assert_eq!(c.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 2}));
    }
}

/// `from` trickles a candidate; `to` gets it byte for byte.
async fn ice(from: &mut Client, to: &mut Client, session: &str) {
    from.send_text(&frame("icecandidate", session, "icecandidate", CANDIDATE)).await;
    let text = to.recv_text().await;
    assert!(text.contains(&format!(r#""icecandidate":{CANDIDATE}"#)), "{text}");
    let ice: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(ice["opponentId"], from.name.as_str());
    assert_eq!(ice["sessionId"], session);
}

#[tokio::test]
async fn whole_call_flow_with_a_bystander() {
    let node = Node::start();
    whole_call_flow([&node, &node, &node]).await;
}

/// The whole flow with alice, bob and carol (the bystander) connected to `at[0..3]`: the same
/// node, or three nodes of a cluster.
pub(crate) async fn whole_call_flow(at: [&Node; 3]) {
    let mut a = Client::register(at[0], "alice").await;
    let mut b = Client::register(at[1], "bob").await;
    let mut c = Client::register(at[2], "carol").await;
    roster_is(&mut c, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;
    roster_is(&mut a, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;
    roster_is(&mut b, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;

    // Session, offer, answer, ICE both ways.
    let session = open_session(&mut a, &mut b).await;
    roster_is(&mut c, &[("alice", 2), ("bob", 2), ("carol", 1)]).await;
    offer(&mut a, &mut b, &session).await;

    b.send_text(&frame("accept", &session, "answer", ANSWER)).await;
    let text = a.recv_text().await;
    assert!(text.contains(&format!(r#""answer":{ANSWER}"#)), "{text}");
    let accept: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (accept["cmd"].as_str(), accept["opponentId"].as_str()),
        (Some("accept"), Some("bob"))
    );
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 3}));
    }
    ice(&mut a, &mut b, &session).await;
    ice(&mut b, &mut a, &session).await;
    // Members in a call get no roster: nothing else is pending for them.
    a.expect_nothing_pending().await;
    b.expect_nothing_pending().await;

    // Stop: forwarded, CLOSED to both, then both back in WAIT with a roster.
    a.send(json!({"cmd": "stop", "sessionId": session})).await;
    assert_eq!(
        b.expect("stop").await,
        json!({"cmd": "stop", "sessionId": session, "opponentId": "alice"})
    );
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 4}));
        roster_is(c, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;
    }
    roster_is(&mut c, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;
    // The ended session is gone for its former members.
    a.send(json!({"cmd": "stop", "sessionId": session})).await;
    a.expect_skipping_clu("error").await;

    // Reject: bob calls alice, alice declines.
    let session = open_session(&mut b, &mut a).await;
    offer(&mut b, &mut a, &session).await;
    a.send(json!({"cmd": "reject", "sessionId": session})).await;
    assert_eq!(
        b.expect("reject").await,
        json!({"cmd": "reject", "sessionId": session, "opponentId": "alice"})
    );
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 4}));
        roster_is(c, &[("alice", 1), ("bob", 1), ("carol", 1)]).await;
    }

    // Disconnect mid-call: the survivor gets leave, ssu 4, then a roster without the leaver.
    let session = open_session(&mut a, &mut b).await;
    offer(&mut a, &mut b, &session).await;
    b.abort();
    assert_eq!(
        a.expect("leave").await,
        json!({"cmd": "leave", "sessionId": session, "opponentId": "bob"})
    );
    assert_eq!(a.expect("ssu").await, json!({"cmd": "ssu", "sessionId": session, "state": 4}));
    roster_is(&mut a, &[("alice", 1), ("carol", 1)]).await;
    roster_is(&mut c, &[("alice", 1), ("carol", 1)]).await;

    // bob's name is free again.
    let b2 = Client::register(at[1], "bob").await;
    roster_is(&mut c, &[("alice", 1), ("carol", 1), ("bob", 1)]).await;
    b2.close().await;
}

#[tokio::test]
async fn a_non_member_naming_a_live_session_gets_9204_and_the_call_is_untouched() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let mut c = Client::register(&node, "c").await;
    let session = open_session(&mut a, &mut b).await;
    for cmd in ["call", "accept", "icecandidate"] {
        let key = match cmd {
            "call" => "offer",
            "accept" => "answer",
            _ => "icecandidate",
        };
        c.send_text(&frame(cmd, &session, key, "{}")).await;
        assert_eq!(c.recv_skipping_clu().await, json!({"cmd": "error", "code": 9204}));
    }
    for cmd in ["reject", "stop"] {
        c.send(json!({"cmd": cmd, "sessionId": session})).await;
        assert_eq!(c.recv_skipping_clu().await, json!({"cmd": "error", "code": 9204}));
    }
    // The members noticed nothing and their call goes on.
    a.expect_nothing_pending().await;
    b.expect_nothing_pending().await;
    offer(&mut a, &mut b, &session).await;
}

#[tokio::test]
async fn notify_reaches_any_registered_client_in_a_call_or_not() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let mut c = Client::register(&node, "c").await;
    a.send(json!({"cmd": "notify", "opponentId": "c", "type": "ring"})).await;
    assert_eq!(
        c.recv_skipping_clu().await,
        json!({"cmd": "notify", "opponentId": "a", "type": "ring"})
    );
    let _session = open_session(&mut a, &mut b).await;
    c.send(json!({"cmd": "notify", "opponentId": "b", "type": {"any": ["json", 1]}})).await;
    assert_eq!(
        b.expect("notify").await,
        json!({"cmd": "notify", "opponentId": "c", "type": {"any": ["json", 1]}})
    );
    b.send(json!({"cmd": "notify", "opponentId": "c", "type": 5})).await;
    assert_eq!(
        c.recv_skipping_clu().await,
        json!({"cmd": "notify", "opponentId": "b", "type": "5"})
    );
    // No ack to the sender.
    c.expect_nothing_but_clu_pending().await;
    b.expect_nothing_pending().await;
}

#[tokio::test]
async fn the_state_machine_refuses_out_of_order_signals_with_9002() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let session = open_session(&mut a, &mut b).await;
    // No offer is out yet: an answer is refused.
    b.send_text(&frame("accept", &session, "answer", ANSWER)).await;
    b.expect_error(9002).await;
    offer(&mut a, &mut b, &session).await;
    // The offerer cannot answer its own offer, and a second offer waits for the answer.
    a.send_text(&frame("accept", &session, "answer", ANSWER)).await;
    a.expect_error(9002).await;
    b.send_text(&frame("call", &session, "offer", OFFER)).await;
    b.expect_error(9002).await;
    a.expect_nothing_pending().await;
    b.expect_nothing_pending().await;
}

#[tokio::test]
async fn a_burst_of_changes_reaches_a_waiting_client_as_at_most_one_clu_per_interval() {
    const INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);
    const JOINERS: usize = 40;
    // The watcher reads only at the end: long pings keep it connected meanwhile.
    let node = Node::with_args(&["--roster-interval-ms", "500", "--ping-interval-ms", "600000"]);
    let mut watcher = Client::register(&node, "watcher").await;
    let started = std::time::Instant::now();
    let names: Vec<String> = (0..JOINERS).map(|i| format!("j{i}")).collect();
    let _joiners =
        futures_util::future::join_all(names.iter().map(|n| Client::register(&node, n))).await;
    // Count the rosters the watcher gets until one lists everybody.
    let mut rosters = 0;
    loop {
        let message = watcher.expect("clu").await;
        rosters += 1;
        if message["list"].as_array().is_some_and(|l| l.len() == JOINERS + 1) {
            break;
        }
    }
    // One leading roster, then at most one per interval that passed (and one trailing).
    let intervals = started.elapsed().as_millis() / INTERVAL.as_millis();
    let allowed = intervals as usize + 2;
    assert!(rosters <= allowed, "{rosters} rosters in {:?} (allowed {allowed})", started.elapsed());
    assert!(rosters < JOINERS, "{JOINERS} changes were not coalesced ({rosters} rosters)");
}
