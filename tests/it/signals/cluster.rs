//! `signals` rooms across three nodes behind nginx when a node dies (kill -9): its sessions
//! leave their rooms within 5 s, and rooms homed on it move to a surviving node with their
//! publishers in order, so ownership passes on.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{list_becomes, m2m, recv_skipping_lists, signal, to, Place};
use crate::support::Client;

/// The bound on a dead node's users leaving their rooms.
const WITHIN: Duration = Duration::from_secs(5);

const ARGS: [&str; 2] = ["--signals-heartbeat-timeout-ms", "60000"];

/// `user` joins room `m1` as a viewer, asks to publish and `owner` accepts; everybody in
/// `others` (who are in the room) then hears `list`.
pub(super) async fn promote(user: &str, c: &mut Client, owner: (&str, &mut Client), list: &[&str]) {
    signal(c, "join", m2m("JOIN", user, json!({}))).await;
    assert_eq!(c.recv().await["b"]["pt"], "viewer");
    let request = signal(c, "publishRequest", m2m("PUBLISH_REQUEST", user, json!({}))).await;
    let (name, o) = owner;
    assert_eq!(recv_skipping_lists(o).await, request);
    let accept = signal(o, "publishAccept", m2m("PUBLISH_ACCEPT", name, to(user))).await;
    assert_eq!(recv_skipping_lists(c).await, accept);
    list_becomes(c, list).await;
    list_becomes(o, list).await;
}

/// m2m room `m1` over three nodes: o creates it (its owner, a publisher), p on another node is
/// promoted to publisher, and v on the third watches.
async fn owner_publisher_viewer(place: &Place) -> (Client, Client, Client) {
    let mut o = place.session().await;
    signal(&mut o, "join", m2m("JOIN", "o", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    let mut p = place.session_avoiding(&[o.node.as_str()]).await;
    promote("p", &mut p, ("o", &mut o), &["o", "p"]).await;
    let mut v = place.session_avoiding(&[o.node.as_str(), p.node.as_str()]).await;
    signal(&mut v, "join", m2m("JOIN", "v", json!({}))).await;
    assert_eq!(super::users(&v.recv().await["b"]["pps"]), ["o", "p"]);
    (o, p, v)
}

#[tokio::test]
async fn a_killed_member_node_takes_its_sessions_out_of_the_m2m_room_within_5s() {
    let mut place = Place::three(&ARGS);
    let (mut o, p, mut v) = owner_publisher_viewer(&place).await;

    let killed = Instant::now();
    place.kill9(&p.node);
    list_becomes(&mut o, &["o"]).await;
    list_becomes(&mut v, &["o"]).await;
    assert!(killed.elapsed() < WITHIN, "noticed after {:?}", killed.elapsed());

    // The room goes on: its owner still decides.
    let request = signal(&mut v, "publishRequest", m2m("PUBLISH_REQUEST", "v", json!({}))).await;
    assert_eq!(recv_skipping_lists(&mut o).await, request);
}

#[tokio::test]
async fn a_killed_home_node_moves_its_m2m_room_and_the_oldest_survivor_owns_it() {
    let mut place = Place::three(&ARGS);
    // o creates the room, so it is homed on o's node; p1 and p2 publish from the two others.
    let mut o = place.session().await;
    signal(&mut o, "join", m2m("JOIN", "o", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    let home = o.node.clone();
    let mut p1 = place.session_avoiding(&[home.as_str()]).await;
    promote("p1", &mut p1, ("o", &mut o), &["o", "p1"]).await;
    let mut p2 = place.session_avoiding(&[home.as_str(), p1.node.as_str()]).await;
    promote("p2", &mut p2, ("o", &mut o), &["o", "p1", "p2"]).await;
    list_becomes(&mut p1, &["o", "p1", "p2"]).await;
    let mut v = place.session_avoiding(&[home.as_str()]).await;
    signal(&mut v, "join", m2m("JOIN", "v", json!({}))).await;
    assert_eq!(v.recv().await["b"]["pt"], "viewer");

    let killed = Instant::now();
    place.kill9(&home);
    for client in [&mut p1, &mut p2, &mut v] {
        list_becomes(client, &["p1", "p2"]).await;
    }
    assert!(killed.elapsed() < WITHIN, "the room moved after {:?}", killed.elapsed());

    // p1, the oldest surviving publisher, owns the room: it gets v's request and accepts it.
    let request = signal(&mut v, "publishRequest", m2m("PUBLISH_REQUEST", "v", json!({}))).await;
    assert_eq!(recv_skipping_lists(&mut p1).await, request);
    let accept = signal(&mut p1, "publishAccept", m2m("PUBLISH_ACCEPT", "p1", to("v"))).await;
    assert_eq!(recv_skipping_lists(&mut v).await, accept);
    for client in [&mut p1, &mut p2, &mut v] {
        list_becomes(client, &["p1", "p2", "v"]).await;
    }
    // The room's name is held again: creating it is refused, joining it works, from anywhere.
    let mut w = place.session().await;
    let create = m2m("JOIN", "w", json!({"op": {"roomCreating": true}}));
    let sent = signal(&mut w, "join", create).await;
    let ack = w.recv().await;
    assert_eq!((ack["c"].as_u64(), &ack["b"]["req"]), (Some(4022), &sent));
    signal(&mut w, "join", m2m("JOIN", "w", json!({}))).await;
    let ack = w.recv().await;
    assert_eq!(super::users(&ack["b"]["pps"]), ["p1", "p2", "v"], "{ack}");
}

/// Redis killed and restarted empty, with outages shorter and longer than the node TTL: an m2m
/// room spread over three nodes stays whole (no publisher dropped, no owner change), and its
/// signals cross nodes again once Redis is back.
#[tokio::test]
async fn an_m2m_room_across_nodes_stays_whole_through_redis_restarts() {
    let mut place = Place::three(&ARGS);
    let (mut o, mut p, mut v) = owner_publisher_viewer(&place).await;

    for outage in [4_000, 1_000, 6_000] {
        place.redis_outage(Duration::from_millis(outage)).await;
        // The owner hears v's request first: no list change came before it.
        let request =
            signal(&mut v, "publishRequest", m2m("PUBLISH_REQUEST", "v", json!({}))).await;
        assert_eq!(o.recv().await, request, "after a {outage} ms outage");
        let reject = signal(&mut o, "publishReject", m2m("PUBLISH_REJECT", "o", to("v"))).await;
        assert_eq!(v.recv().await, reject);
        // p, on the third node, is still in the room with both publishers.
        signal(&mut p, "heartbeat", m2m("HEARTBEAT", "p", json!({"send_ack": true}))).await;
        let beat = p.recv().await;
        assert_eq!(beat["s"], "HEARTBEAT", "{beat}");
        assert_eq!(super::users(&beat["b"]["pps"]), ["o", "p"]);
    }
}
