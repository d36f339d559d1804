//! The `signals` dialect (seed 002) at `/signals`, with real WebSocket clients: every flow on one
//! node and on three clustered nodes behind nginx ([`flows`]), and node deaths ([`cluster`]).

mod browser;
mod cluster;
mod flows;
mod media;

use serde_json::{json, Value};

use crate::support::Client;
pub use crate::support::Place;

/// The test config: ICE servers for the JOIN ack.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/signals/signals.toml");

/// Runs `$scenario(&Place)` as two tests: on one node, and on three nodes behind nginx, each
/// node started with `$args`.
macro_rules! on_one_node_and_three {
    ($scenario:ident, $args:expr) => {
        mod $scenario {
            #[allow(clippy::wildcard_imports)]
            use super::*;

            #[tokio::test]
            async fn on_one_node() {
                $scenario(&crate::signals::Place::one(&$args)).await;
            }

            #[tokio::test]
            async fn on_three_nodes_behind_nginx() {
                $scenario(&crate::signals::Place::three(&$args)).await;
            }
        }
    };
}
pub(crate) use on_one_node_and_three;

/// A session description (`ss`) of `user`'s session `session`.
pub fn ss(user: &str, session: &str) -> Value {
    json!({"userId": user, "sessionId": session, "category": "stream", "host": "Web", "deviceId": "d"})
}

/// A p2p signal `s` of `user`/`session` in room `r1`, with `extra` fields.
pub fn data(s: &str, user: &str, session: &str, extra: Value) -> Value {
    let mut data = json!({"s": s, "ch": "p2p", "ss": ss(user, session), "rid": "r1"});
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    data
}

/// An m2m signal `s` of `user` (session `<user>1`) in room `m1`, with `extra` fields.
pub fn m2m(s: &str, user: &str, extra: Value) -> Value {
    let mut value = data(s, user, &format!("{user}1"), extra);
    value["ch"] = json!("m2m");
    value["rid"] = json!("m1");
    value
}

/// `to` naming `user`'s session `<user>1`.
pub fn to(user: &str) -> Value {
    json!({"to": {"userId": user, "sessionId": format!("{user}1")}})
}

/// Sends `data` under `action` and returns the data as sent.
pub async fn signal(client: &mut Client, action: &str, data: Value) -> Value {
    client.send(json!({"action": action, "data": data.clone()})).await;
    data
}

/// The users a publisher list names, in order.
pub fn users(pps: &Value) -> Vec<String> {
    let list = pps.as_array().map(Vec::as_slice).unwrap_or_default();
    list.iter().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect()
}

/// Waits for the next frame that is not a `PUBLISH_LIST_CHANGED`.
pub async fn recv_skipping_lists(client: &mut Client) -> Value {
    loop {
        let frame = client.recv().await;
        if frame["s"] != "PUBLISH_LIST_CHANGED" {
            return frame;
        }
    }
}

/// Waits until `client` hears a publisher list naming exactly `expected`, in order.
pub async fn list_becomes(client: &mut Client, expected: &[&str]) {
    loop {
        let frame = client.recv().await;
        if frame["s"] == "PUBLISH_LIST_CHANGED" && users(&frame["b"]["pps"]) == expected {
            return;
        }
    }
}
