//! Codec tests: valid signals of every kind, and every refusal with its code and `b.req`.

use serde_json::{json, Value};
use switchboard_actors::signals::{Action, Channel, To};

use super::{ack, decode::decode};

const SS: &str =
    r#"{"userId":"u1","sessionId":"s1","category":"stream","host":"Web","deviceId":"d"}"#;

fn frame(action: &str, data: &str) -> String {
    format!(r#"{{"action":"{action}","data":{data}}}"#)
}

fn signal(s: &str, ch: &str, extra: &str) -> String {
    format!(r#"{{"s":"{s}","ch":"{ch}","ss":{SS},"rid":"r1"{extra}}}"#)
}

fn refusal(action: &str, data: &str) -> (u16, Value) {
    let refused = decode(&frame(action, data)).expect_err("refused");
    let ack: Value = serde_json::from_str(&refused.ack()).expect("the ack is JSON");
    (refused.code, ack)
}

#[test]
fn p2p_signals_decode_with_user_or_session_targets() {
    let data = signal("OFFER", "p2p", r#","to":"u2","sdp":"v=0""#);
    let s = decode(&frame("offer", &data)).expect("valid");
    assert_eq!((s.action, s.ch, s.rid.as_str()), (Action::Offer, Channel::P2p, "r1"));
    assert_eq!((&*s.from.user, &*s.from.session), ("u1", "s1"));
    assert_eq!(s.to, Some(To::User("u2".into())));
    // The peer receives the signal exactly as sent.
    assert_eq!(s.raw.get(), data);
    assert_eq!(s.ss.get(), SS);

    let data =
        signal("ICE", "m2m", r#","to":{"userId":"u2","sessionId":"s9"},"sdp":"candidate:1""#);
    let s = decode(&frame("iceCandidate", &data)).expect("valid");
    assert!(matches!(s.to, Some(To::Session(p)) if &*p.user == "u2" && &*p.session == "s9"));
}

#[test]
fn room_signals_decode_their_options() {
    let data =
        signal("JOIN", "m2m", r#","op":{"roomCreating":true},"ve":true,"ae":false,"eg":"native""#);
    let s = decode(&frame("join", &data)).expect("valid");
    assert!(s.creating);
    assert_eq!((s.ve, s.ae), (Some(true), Some(false)));
    assert_eq!(s.eg.map(|e| e.get().to_owned()), Some(r#""native""#.into()));
    let data = signal("HEARTBEAT", "p2p", r#","bid":7,"send_ack":true"#);
    let s = decode(&frame("heartbeat", &data)).expect("valid");
    assert_eq!((s.bid.map(|b| b.get().to_owned()), s.send_ack), (Some("7".into()), true));
    // A publisher's offer in m2m goes to the media plane: no target needed.
    assert!(decode(&frame("offer", &signal("OFFER", "m2m", r#","sdp":"v=0""#))).is_ok());
    let kick = signal("KICK", "m2m", r#","to":"u2""#);
    assert!(decode(&frame("kick", &kick)).is_ok());
}

#[test]
fn invalid_signals_get_2001_with_the_original_signal() {
    let cases = [
        ("offer", signal("OFFER", "p2p", r#","sdp":"v=0""#), "to is required"),
        ("offer", signal("ANSWER", "p2p", r#","to":"u2","sdp":"v=0""#), "s must be OFFER"),
        ("answer", signal("ANSWER", "p2p", r#","to":"u2""#), "sdp is required"),
        ("answer", signal("ANSWER", "p2p", r#","to":"u2","sdp":5"#), "sdp must be a string"),
        ("join", signal("JOIN", "p3p", ""), "unknown ch"),
        ("join", r#"{"s":"JOIN","ch":"p2p","ss":{"userId":"u1"},"rid":"r1"}"#.into(), "ss must"),
        (
            "join",
            r#"{"s":"JOIN","ch":"p2p","ss":{"userId":"","sessionId":"s"},"rid":"r1"}"#.into(),
            "must not be empty",
        ),
        ("ice", signal("ICE", "p2p", r#","to":5,"sdp":"c""#), "unknown action"),
        ("iceCandidate", signal("ICE", "p2p", r#","to":5,"sdp":"c""#), "invalid signal"),
        (
            "iceCandidate",
            signal("ICE", "p2p", r#","to":{"userId":"u2"},"sdp":"c""#),
            "invalid signal",
        ),
        ("leave", "[1,2]".into(), "data must be a signal object"),
        ("leave", r#"{"s":"LEAVE"}"#.into(), "invalid signal"),
    ];
    for (action, data, msg) in cases {
        let (code, ack) = refusal(action, &data);
        assert_eq!(code, 2001, "{action} {data}");
        assert_eq!(ack["c"], 2001);
        let req: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(ack["b"]["req"], req, "{action} {data}");
        assert!(ack["b"]["msg"].as_str().unwrap().contains(msg), "{ack}");
    }
    // Not even a frame: the text itself is the request.
    let refused = decode("not json").unwrap_err();
    assert_eq!(refused.code, 2001);
    let ack: Value = serde_json::from_str(&refused.ack()).unwrap();
    assert_eq!(ack["b"]["req"], "not json");
    // Deep nesting is refused, not a crash.
    let deep =
        format!(r#"{{"action":"join","data":{}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(decode(&deep).unwrap_err().code, 2001);
}

#[test]
fn signals_a_channel_does_not_take_get_2002() {
    let cases = [
        ("watch", signal("WATCH", "p2p", r#","to":{"userId":"u2","sessionId":"s2"}"#)),
        ("kick", signal("KICK", "p2p", r#","to":"u2""#)),
        ("publishRequest", signal("PUBLISH_REQUEST", "p2p", "")),
        ("offer", signal("OFFER", "p2m", r#","sdp":"v=0""#)),
        // A bare user id as target is p2p only.
        ("answer", signal("ANSWER", "m2m", r#","to":"u2","sdp":"v=0""#)),
    ];
    for (action, data) in cases {
        let (code, ack) = refusal(action, &data);
        assert_eq!(code, 2002, "{action} {data}");
        assert_eq!(ack["s"], Action::from_route(action).unwrap().signal());
        assert_eq!(ack["b"]["req"], serde_json::from_str::<Value>(&data).unwrap());
    }
}

#[test]
fn acks_have_the_seed_shape() {
    assert_eq!(ack::ok("HEARTBEAT", r#"{"bid":7}"#), r#"{"c":200,"s":"HEARTBEAT","b":{"bid":7}}"#);
    let error: Value =
        serde_json::from_str(&ack::error(4001, "JOIN", r#"{"x":1}"#, "no \"room\"")).unwrap();
    assert_eq!(
        error,
        json!({"c": 4001, "s": "JOIN", "b": {"req": {"x": 1}, "msg": "no \"room\""}})
    );
    for action in Action::ALL {
        assert_eq!(Action::from_route(action.route()), Some(action));
        assert_eq!(Action::from_signal(action.signal()), Some(action));
    }
}
