//! Webhooks when Redis loses its data (restarted empty): the ledger lost the rooms, so each
//! room's home announces it and its participants again once it has claimed it back, and the
//! events go on from there (a receiver sees the room created again, with the participants it
//! has).

use std::time::Duration;

use serde_json::{json, Value};

use super::{config, next_post, receiver, token, Posted};
use crate::{
    signals::{data, list_becomes, recv_skipping_lists, signal},
    support::{Client, Node, Redis, Scratch},
};

/// The next `count` events the receiver takes, as `(event, participant, seq)`.
async fn next_events(
    posted: &mut tokio::sync::mpsc::UnboundedReceiver<Posted>,
    count: usize,
) -> Vec<(String, String, u64)> {
    let mut events = Vec::new();
    while events.len() < count {
        let (_, event): (Posted, Value) = next_post(posted, Duration::from_secs(30)).await;
        let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
        events.push((field("event"), field("participant"), event["seq"].as_u64().unwrap_or(0)));
    }
    events
}

fn expected(events: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
    events.iter().map(|(e, p, s)| ((*e).to_owned(), (*p).to_owned(), *s)).collect()
}

#[tokio::test]
async fn a_room_is_announced_again_after_redis_lost_its_data() {
    let (url, mut posted) = receiver(0).await;
    let dir = Scratch::new("webhooks-redis-loss");
    let config = config(&dir, &url);
    let args =
        ["--config", config.to_str().expect("utf-8"), "--signals-heartbeat-timeout-ms", "60000"];
    let mut redis = Redis::start();
    let node = Node::clustered(&redis, "n1", &args);
    let join = |user: &str, creating: bool| {
        let op = if creating { json!({"op": {"roomCreating": true}}) } else { json!({}) };
        data("JOIN", user, &format!("{user}1"), op)
    };
    let session = |user: &str| node.ws(&format!("/signals?token={}", token(Some("acme"), user)));
    let mut a = Client::connect_url(&session("a")).await;
    signal(&mut a, "join", join("a", true)).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    let mut b = Client::connect_url(&session("b")).await;
    signal(&mut b, "join", join("b", false)).await;
    assert_eq!(recv_skipping_lists(&mut b).await["c"], 200);
    let before = [("room_created", "", 1), ("participant_joined", "a/a1", 2)];
    let joined_b = ("participant_joined", "b/b1", 3);
    assert_eq!(next_events(&mut posted, 3).await, expected(&[before[0], before[1], joined_b]));

    redis.outage(&[&node], Duration::from_millis(200)).await;
    // Claimed back, the room is announced again: itself, then a and b.
    assert_eq!(next_events(&mut posted, 3).await, expected(&[before[0], before[1], joined_b]));
    signal(&mut b, "leave", data("LEAVE", "b", "b1", json!({}))).await;
    list_becomes(&mut a, &["a"]).await;
    signal(&mut a, "leave", data("LEAVE", "a", "a1", json!({}))).await;
    assert_eq!(
        next_events(&mut posted, 3).await,
        expected(&[
            ("participant_left", "b/b1", 4),
            ("participant_left", "a/a1", 5),
            ("room_closed", "", 6)
        ])
    );
}
