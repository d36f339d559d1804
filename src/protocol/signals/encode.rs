//! The core's `signals` replies → frames: acks (`{c, s, b}`) and p2p signals forwarded bare,
//! exactly as their sender wrote them.

use serde_json::{Map, Value};
use switchboard_actors::{
    signals::state::{Listed, Reply, Role},
    Payload,
};

use super::{ack, codes};

/// What the node tells clients about ICE servers (the JOIN ack's `icfg.is`).
#[derive(Debug, Clone, Default)]
pub struct IceConfig {
    /// STUN/TURN URLs.
    pub servers: Vec<String>,
    /// TURN credentials minted for the session, if the node mints them (`icfg.turn`).
    pub turn: Option<crate::auth::turn::TurnCredentials>,
}

/// Encodes one reply as a text frame.
pub fn encode(reply: &Reply, ice: &IceConfig) -> String {
    match reply {
        Reply::Forward(raw) | Reply::Kicked { req: raw, .. } => raw.get().to_owned(),
        Reply::Joined { rid, pps, role, eg, offers, .. } => {
            let pt = match role {
                Role::Publisher => "publisher",
                Role::Viewer => "viewer",
            };
            let pps: Vec<Value> = pps
                .iter()
                .map(|publisher| {
                    let offer = offers.iter().find(|(p, _)| *p == publisher.peer);
                    with_sdp(listed(publisher), offer.map(|(_, sdp)| sdp.as_str()))
                })
                .collect();
            let body = serde_json::json!({
                "pps": pps,
                "rid": rid.as_str(),
                "pt": pt,
                "eg": eg.as_ref().map_or(Value::Null, raw_value),
                "icfg": match &ice.turn {
                    None => serde_json::json!({ "is": ice.servers }),
                    Some(turn) => serde_json::json!({ "is": ice.servers, "turn": turn }),
                },
            });
            ack::ok("JOIN", &body.to_string())
        }
        Reply::Heartbeat { rid, pps, bid } => {
            let body = serde_json::json!({
                "pps": pps.iter().map(listed).collect::<Vec<_>>(),
                "rid": rid.as_str(),
                "bid": bid.as_ref().map_or(Value::Null, raw_value),
            });
            ack::ok("HEARTBEAT", &body.to_string())
        }
        Reply::PublishListChanged { rid, pps } => {
            let body = serde_json::json!({
                "pps": pps.iter().map(listed).collect::<Vec<_>>(),
                "rid": rid.as_str(),
            });
            ack::ok("PUBLISH_LIST_CHANGED", &body.to_string())
        }
        Reply::Offered { rid, sdp } => {
            let body = serde_json::json!({ "rid": rid.as_str(), "sdp": sdp });
            ack::ok("OFFER", &body.to_string())
        }
        Reply::Watching { rid, pps } => {
            let pps: Vec<Value> =
                pps.iter().map(|(publisher, sdp)| with_sdp(listed(publisher), Some(sdp))).collect();
            let body = serde_json::json!({ "pps": pps, "rid": rid.as_str() });
            ack::ok("WATCH", &body.to_string())
        }
        Reply::Refused { action, refusal, req } => {
            let (code, msg) = codes::code(*refusal);
            ack::error(code, action.signal(), req.get(), msg)
        }
        Reply::Invalid { unsupported, name, req, msg } => {
            ack::error(codes::invalid(*unsupported), name, req, msg)
        }
    }
}

/// A publisher list item with the server's offer of a downlink of it, if any.
fn with_sdp(mut item: Value, sdp: Option<&str>) -> Value {
    if let (Value::Object(fields), Some(sdp)) = (&mut item, sdp) {
        fields.insert("sdp".into(), Value::from(sdp));
    }
    item
}

fn raw_value(payload: &Payload) -> Value {
    serde_json::from_str(payload.get()).unwrap_or(Value::Null)
}

/// A publisher list item: `id` (the user), `sessionId`, `video`, `audio`, and the device fields
/// of its session info (`host`, `category`, `deviceId`) as it sent them.
fn listed(p: &Listed) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), Value::from(&*p.peer.user));
    item.insert("sessionId".into(), Value::from(&*p.peer.session));
    item.insert("video".into(), Value::from(p.ve));
    item.insert("audio".into(), Value::from(p.ae));
    if let Value::Object(ss) = raw_value(&p.ss) {
        for key in ["host", "category", "deviceId"] {
            if let Some(value) = ss.get(key) {
                item.insert(key.into(), value.clone());
            }
        }
    }
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, value::RawValue};
    use switchboard_actors::{
        signals::{state::Refusal, Action, Channel, Peer},
        RoomId,
    };

    use super::*;

    fn raw(json: &str) -> Payload {
        Payload::new(RawValue::from_string(json.to_owned()).expect("valid JSON"))
    }

    #[test]
    fn replies_encode_as_the_seed_shows() {
        let ice = IceConfig { servers: vec!["stun:stun.example.org:3478".into()], turn: None };
        let publisher = Listed {
            peer: Peer { user: "u1".into(), session: "s1".into() },
            ss: raw(
                r#"{"userId":"u1","sessionId":"s1","host":"Web","category":"stream","deviceId":"d1"}"#,
            ),
            ve: true,
            ae: false,
        };
        let joined = Reply::Joined {
            rid: RoomId::new("r1"),
            pps: vec![publisher.clone()],
            ch: Channel::M2m,
            role: Role::Viewer,
            eg: Some(raw(r#""native""#)),
            offers: Vec::new(),
        };
        let frame: Value = serde_json::from_str(&encode(&joined, &ice)).unwrap();
        assert_eq!(
            frame,
            json!({"c": 200, "s": "JOIN", "b": {
            "pps": [{"id": "u1", "sessionId": "s1", "video": true, "audio": false,
                     "host": "Web", "category": "stream", "deviceId": "d1"}],
            "rid": "r1", "pt": "viewer", "eg": "native",
            "icfg": {"is": ["stun:stun.example.org:3478"]}}})
        );
        let changed = Reply::PublishListChanged { rid: RoomId::new("r1"), pps: vec![publisher] };
        let frame: Value = serde_json::from_str(&encode(&changed, &ice)).unwrap();
        assert_eq!(frame["s"], "PUBLISH_LIST_CHANGED");
        // A forwarded p2p signal is the bare signal, byte for byte.
        let signal = r#"{"s":"OFFER", "sdp":"v=0\r\n"}"#;
        assert_eq!(encode(&Reply::Forward(raw(signal)), &ice), signal);
        // Refusals carry the code, the signal's name and the request as sent.
        let refused = Reply::Refused {
            action: Action::Answer,
            refusal: Refusal::UserLeft,
            req: raw(r#"{"s":"ANSWER"}"#),
        };
        let frame: Value = serde_json::from_str(&encode(&refused, &ice)).unwrap();
        assert_eq!(
            frame,
            json!({"c": 4024, "s": "ANSWER",
            "b": {"req": {"s": "ANSWER"}, "msg": "the user has left the room"}})
        );
        let beat = Reply::Heartbeat { rid: RoomId::new("r1"), pps: vec![], bid: Some(raw("42")) };
        let frame: Value = serde_json::from_str(&encode(&beat, &ice)).unwrap();
        assert_eq!(
            frame,
            json!({"c": 200, "s": "HEARTBEAT", "b": {"pps": [], "rid": "r1", "bid": 42}})
        );
    }
}
