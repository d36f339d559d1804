//! Webhooks across a node's death: three nodes and Redis, the node that is both the home of a
//! tenant's rooms and the one delivering its events is killed (SIGKILL). Every event of each
//! room reaches the receiver exactly once, in the room's order: the dead node's participants
//! leave, a `signals` room rebuilt on a new home by its survivors goes on (nobody joins again,
//! it is not created again), a `mediasoup` room that dies with its home closes, and another
//! node takes over the deliveries. A deliverer killed before it hears the receiver's answer
//! leaves the event to the next one, which posts it again under the same id.

use std::{collections::HashMap, time::Duration};

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::{config, next_post, receiver, receiver_with, token, Posted};
use crate::{
    signals::{data, list_becomes, recv_skipping_lists, signal},
    support::{protoo::ProtooPeer, Client, Node, Redis, Scratch},
};

/// Longest wait for one event: a death is noticed within the node TTL, and another node takes
/// over the deliveries once the dead one's lease (10 s) runs out.
const EVENT_WITHIN: Duration = Duration::from_secs(30);

/// A `signals` p2p session of acme's `user` on `node`, joining room `room`.
async fn joined(node: &Node, user: &str, room: &str, creating: bool) -> Client {
    let url = node.ws(&format!("/signals?token={}", token(Some("acme"), user)));
    let mut client = Client::connect_url(&url).await;
    let op = if creating { json!({"roomCreating": true}) } else { json!({}) };
    let join = data("JOIN", user, &format!("{user}1"), json!({"rid": room, "op": op}));
    signal(&mut client, "join", join).await;
    assert_eq!(recv_skipping_lists(&mut client).await["c"], 200, "{user} joined {room}");
    client
}

/// `client` (acme's `user`) leaves room `room`.
async fn leave(client: &mut Client, user: &str, room: &str) {
    let leave = data("LEAVE", user, &format!("{user}1"), json!({"rid": room}));
    signal(client, "leave", leave).await;
}

/// A `mediasoup` peer of acme named `name` on `node`, joined to room `room`.
async fn peer(node: &Node, room: &str, name: &str) -> ProtooPeer {
    let query = format!("roomId={room}&peerName={name}&token={}", token(Some("acme"), name));
    let mut peer =
        ProtooPeer::connect(&node.ws(&format!("/mediasoup?{query}"))).await.expect("admitted");
    let join = json!({"method": "join", "peerName": name, "rtpCapabilities": {"codecs": []}});
    peer.request(join).await.expect("joined");
    peer
}

/// The events the receiver took, by room, until room `last` has `count` of them; each checked
/// for its signature. Returns them with the node that posted each.
async fn taken_until(
    posted: &mut mpsc::UnboundedReceiver<Posted>,
    seen: &mut HashMap<String, Vec<(Value, String)>>,
    last: &str,
    count: usize,
) {
    while seen.get(last).map_or(0, Vec::len) < count {
        let (post, event) = next_post(posted, EVENT_WITHIN).await;
        assert!(post.taken, "the receiver takes every POST");
        assert_eq!((&event["tenant"], &event["dialect"].is_string()), (&json!("acme"), &true));
        let room = event["room"].as_str().expect("a room").to_owned();
        seen.entry(room).or_default().push((event, post.node));
    }
}

/// `(event, participant)` of each of `events`, checking their `seq` runs from 1 up.
fn story(events: &[(Value, String)]) -> Vec<(String, String)> {
    let seqs: Vec<u64> = events.iter().map(|(e, _)| e["seq"].as_u64().unwrap_or(0)).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>(), "{events:#?}");
    events
        .iter()
        .map(|(e, _)| {
            let participant = e["participant"].as_str().unwrap_or_default();
            (e["event"].as_str().unwrap_or("?").to_owned(), participant.to_owned())
        })
        .collect()
}

/// Waits until acme has no event waiting for delivery in the ledger.
async fn delivered_all(redis: &Redis) {
    let deadline = tokio::time::Instant::now() + EVENT_WITHIN;
    while redis.cli(&["XLEN", "switchboard:hooks:events:acme"]) != "0" {
        assert!(tokio::time::Instant::now() < deadline, "acme's events still wait");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(e, p)| ((*e).to_owned(), (*p).to_owned())).collect()
}

#[tokio::test]
async fn every_event_is_posted_once_in_order_across_the_death_of_the_home_and_the_deliverer() {
    let (url, mut posted) = receiver(0).await;
    let dir = Scratch::new("webhooks-death");
    let config = config(&dir, &url);
    let args =
        ["--config", config.to_str().expect("utf-8"), "--signals-heartbeat-timeout-ms", "60000"];
    let redis = Redis::start();
    let mut nodes: Vec<Node> =
        ["n1", "n2", "n3"].iter().map(|id| Node::clustered(&redis, id, &args)).collect();
    let mut seen: HashMap<String, Vec<(Value, String)>> = HashMap::new();

    // Which node delivers acme's events: the one that posted room r0's.
    let mut z = joined(&nodes[0], "z", "r0", true).await;
    leave(&mut z, "z", "r0").await;
    taken_until(&mut posted, &mut seen, "r0", 4).await;
    let deliverer = seen["r0"][0].1.clone();
    let d = nodes.iter().position(|n| n.id() == deliverer).expect("one of the nodes delivers");
    let (o1, o2) = ((d + 1) % 3, (d + 2) % 3);

    // signals room r1 and mediasoup room m1, both homed on the deliverer's node, each with a
    // participant on another node.
    let _a = joined(&nodes[d], "a", "r1", true).await;
    let mut b = joined(&nodes[o1], "b", "r1", false).await;
    let _x = peer(&nodes[d], "m1", "x").await;
    let _y = peer(&nodes[o2], "m1", "y").await;
    taken_until(&mut posted, &mut seen, "r1", 3).await;
    taken_until(&mut posted, &mut seen, "m1", 3).await;

    // Killed once it recorded its last delivery (a node killed between a receiver's answer
    // and that leaves the event to be posted again, with the same id).
    delivered_all(&redis).await;
    nodes[d].kill9();
    // r1 moves to a new home with b; a left.
    list_becomes(&mut b, &["b"]).await;
    leave(&mut b, "b", "r1").await;
    taken_until(&mut posted, &mut seen, "r1", 6).await;
    taken_until(&mut posted, &mut seen, "m1", 6).await;
    // A last room, opened and closed after everything else: its events come after any of
    // the others' (a tenant's events are delivered in the order they happened), so nothing
    // of the others came twice if nothing else came before them.
    let mut w = joined(&nodes[o1], "w", "r9", true).await;
    leave(&mut w, "w", "r9").await;
    taken_until(&mut posted, &mut seen, "r9", 4).await;

    assert_eq!(
        story(&seen["r1"]),
        pairs(&[
            ("room_created", ""),
            ("participant_joined", "a/a1"),
            ("participant_joined", "b/b1"),
            ("participant_left", "a/a1"),
            ("participant_left", "b/b1"),
            ("room_closed", ""),
        ]),
        "{:#?}",
        seen["r1"]
    );
    let mut m1 = story(&seen["m1"]);
    // x and y leave together when the room dies, in either order.
    m1[3..5].sort();
    assert_eq!(
        m1,
        pairs(&[
            ("room_created", ""),
            ("participant_joined", "x"),
            ("participant_joined", "y"),
            ("participant_left", "x"),
            ("participant_left", "y"),
            ("room_closed", ""),
        ]),
    );
    assert_eq!(seen.len(), 4, "no other room: {seen:#?}");
    assert_eq!(seen["r9"].len(), 4, "{:#?}", seen["r9"]);
    // The deliveries moved to a living node.
    let last = &seen["r9"][3].1;
    assert!(last != &deliverer && !last.is_empty(), "r9 delivered by {last}");
    let ids: std::collections::HashSet<_> =
        seen.values().flatten().map(|(e, _)| e["id"].to_string()).collect();
    assert_eq!(ids.len(), 4 + 6 + 6 + 4, "every event has its own id");
}

#[tokio::test]
async fn an_event_whose_deliverer_dies_unanswered_is_posted_again_with_the_same_id() {
    let (url, mut posted) = receiver_with(0, 1).await;
    let dir = Scratch::new("webhooks-redelivery");
    let config = config(&dir, &url);
    let args =
        ["--config", config.to_str().expect("utf-8"), "--signals-heartbeat-timeout-ms", "60000"];
    let redis = Redis::start();
    let mut nodes: Vec<Node> =
        ["n1", "n2"].iter().map(|id| Node::clustered(&redis, id, &args)).collect();
    let _a = joined(&nodes[0], "a", "r1", true).await;
    // The first POST (room_created) gets no answer; its deliverer dies waiting.
    let first = tokio::time::timeout(EVENT_WITHIN, posted.recv())
        .await
        .expect("a POST")
        .expect("the receiver runs");
    assert!(!first.taken);
    let d = nodes.iter().position(|n| n.id() == first.node).expect("one of the nodes posts");
    nodes[d].kill9();
    let mut seen = HashMap::new();
    let room = if d == 0 { "r2" } else { "r1" };
    if d == 0 {
        // The room died with its home: r1 closes; a room on the survivor follows it.
        let _b = joined(&nodes[1], "b", "r2", true).await;
        taken_until(&mut posted, &mut seen, "r1", 4).await;
        taken_until(&mut posted, &mut seen, "r2", 2).await;
    } else {
        taken_until(&mut posted, &mut seen, "r1", 2).await;
    }
    let again = &seen["r1"][0];
    let first: Value = serde_json::from_slice(&first.body).expect("JSON");
    assert_eq!(again.0, first, "the same event, the same id, the same body");
    assert_ne!(again.1, nodes[d].id(), "posted by the survivor");
    assert_eq!(seen[room][0].0["event"], "room_created");
}
