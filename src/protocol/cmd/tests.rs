//! Golden fixtures for the `cmd` codec: every inbound message, every outbound message and every
//! error frame, plus the reference's normalisation and error-order rules.

use std::sync::Arc;

use serde_json::value::RawValue;
use switchboard_actors::{
    CallId, CallSignal, ClientError, ClientName, CloseReason, Command, CommandKind as K,
    ErrorKind as E, Event, Payload, Phase, Presence, Roster, RosterEntry,
};

use super::{codes, decode::decode, encode::encode};

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("fixtures/", $path)).trim_end()
    };
}

fn name(s: &str) -> ClientName {
    ClientName::new(s).unwrap()
}

fn call() -> CallId {
    CallId::new("01234567")
}

fn raw(json: &str) -> Payload {
    Payload::new(RawValue::from_string(json.to_owned()).unwrap())
}

/// The payload object inside a fixture, exactly as it appears there.
fn payload_of(frame: &str, key: &str) -> Payload {
    let map: std::collections::HashMap<String, Box<RawValue>> =
        serde_json::from_str(frame).unwrap();
    Payload::new(map[key].clone())
}

#[test]
fn decodes_every_inbound_message() {
    let offer = payload_of(fixture!("in/call.json"), "offer");
    let answer = payload_of(fixture!("in/accept.json"), "answer");
    let candidate = payload_of(fixture!("in/icecandidate.json"), "icecandidate");
    let signal = |signal| Command::Signal { call: call(), signal };
    let cases = [
        (fixture!("in/sId.json"), Command::Register { name: name("alice") }),
        (fixture!("in/session.json"), Command::OpenCall { callee: name("bob") }),
        (fixture!("in/call.json"), signal(CallSignal::Offer(offer))),
        (fixture!("in/accept.json"), signal(CallSignal::Answer(answer))),
        (fixture!("in/icecandidate.json"), signal(CallSignal::Candidate(candidate))),
        (fixture!("in/reject.json"), signal(CallSignal::Reject)),
        (fixture!("in/stop.json"), signal(CallSignal::Stop)),
        (
            fixture!("in/notify.json"),
            Command::Notify { to: name("bob"), kind: Some(Payload::string("ring")) },
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(decode(frame), Ok(expected), "{frame}");
    }
}

#[test]
fn encodes_every_outbound_message() {
    let offer = payload_of(fixture!("out/call.json"), "offer");
    let answer = payload_of(fixture!("out/accept.json"), "answer");
    let candidate = payload_of(fixture!("out/icecandidate.json"), "icecandidate");
    let signal = |from: &str, signal| Event::Signal { call: call(), from: name(from), signal };
    let roster = Roster::new(vec![
        RosterEntry { name: name("alice"), presence: Presence::Waiting },
        RosterEntry { name: name("bob"), presence: Presence::Calling },
    ]);
    let cases = [
        (Event::Registered { name: name("alice") }, fixture!("out/sId.json")),
        (Event::Roster(Arc::new(roster)), fixture!("out/clu.json")),
        (Event::CallOpened { call: call() }, fixture!("out/session.json")),
        (Event::CallPhase { call: call(), phase: Phase::New }, fixture!("out/ssu.json")),
        (signal("alice", CallSignal::Offer(offer)), fixture!("out/call.json")),
        (signal("bob", CallSignal::Answer(answer)), fixture!("out/accept.json")),
        (signal("alice", CallSignal::Candidate(candidate)), fixture!("out/icecandidate.json")),
        (signal("bob", CallSignal::Reject), fixture!("out/reject.json")),
        (signal("alice", CallSignal::Stop), fixture!("out/stop.json")),
        (Event::PeerLeft { call: call(), peer: name("alice") }, fixture!("out/leave.json")),
        (
            Event::Notified { from: name("alice"), kind: Some(Payload::string("ring")) },
            fixture!("out/notify.json"),
        ),
    ];
    for (event, expected) in cases {
        assert_eq!(&*encode(&event), expected, "{event:?}");
    }
}

#[test]
fn relayed_payloads_are_byte_identical() {
    // Whitespace, key order, escapes and number spellings survive the relay untouched.
    let frame = r#"{"cmd":"call","sessionId":"1","offer":{ "sdp" : "a\u0041\r\n", "n": 1.50e0 }}"#;
    let Ok(Command::Signal { signal: CallSignal::Offer(p), .. }) = decode(frame) else { panic!() };
    assert_eq!(p.get(), r#"{ "sdp" : "a\u0041\r\n", "n": 1.50e0 }"#);
    let out =
        encode(&Event::Signal { call: call(), from: name("a"), signal: CallSignal::Offer(p) });
    assert!(out.ends_with(r#""offer":{ "sdp" : "a\u0041\r\n", "n": 1.50e0 }}"#), "{out}");
}

#[test]
fn every_error_frame_matches_the_golden_list() {
    let golden: Vec<&str> = fixture!("out/errors.json").lines().collect();
    let mut produced = std::collections::BTreeSet::new();
    for kind in E::ALL {
        for op in [None, Some(K::Register), Some(K::OpenCall), Some(K::Offer), Some(K::Notify)] {
            let frame = encode(&Event::Error(ClientError { kind, op }));
            assert!(golden.contains(&&*frame), "{kind:?} {op:?} → {frame} is not a golden frame");
            produced.insert(frame.to_string());
        }
    }
    // 9300 is the only documented code the reference never sends (9200 wins first).
    let missing: Vec<_> = golden.iter().filter(|g| !produced.contains(**g)).collect();
    assert!(missing.is_empty(), "golden frames never produced: {missing:?}");
}

#[test]
fn error_codes_follow_the_reference_table() {
    let code = |kind, op| codes::error_code(ClientError { kind, op });
    assert_eq!(code(E::PeerNotFound, Some(K::OpenCall)), 9201);
    assert_eq!(code(E::PeerNotFound, Some(K::Notify)), 9301);
    assert_eq!(code(E::SelfTarget, Some(K::Notify)), 9200);
    assert_eq!(code(E::CallNotFound, Some(K::Offer)), 9204);
    assert_eq!(code(E::InvalidCallState, Some(K::Answer)), 9002);
    assert_eq!(code(E::PeerGone, Some(K::Offer)), 9402);
}

#[test]
fn close_codes() {
    let codes: Vec<_> = CloseReason::ALL.iter().map(|r| (*r, codes::close_code(*r))).collect();
    assert_eq!(
        codes,
        [
            (CloseReason::FrameTooLarge, 1009),
            (CloseReason::InvalidFrame, 1007),
            (CloseReason::ProtocolViolation, 1002),
            (CloseReason::UnsupportedData, 1003),
            (CloseReason::PingTimeout, 1001),
            (CloseReason::SlowConsumer, 1008),
            (CloseReason::RateLimited, 1008),
            (CloseReason::ShuttingDown, 1001),
            (CloseReason::NameLost, 1008),
            (CloseReason::Disconnected, 1008),
        ]
    );
}

#[test]
fn top_level_values_are_normalised_like_the_reference() {
    assert_eq!(decode(r#"{"cmd":" sId ","sId":42}"#), Ok(Command::Register { name: name("42") }));
    // Escaped strings take the owned path and are trimmed the same way.
    assert_eq!(
        decode(r#"{"cmd":"s\u0049d","sId":" \u0041b\" "}"#),
        Ok(Command::Register { name: name("Ab\"") })
    );
    assert_eq!(
        decode(r#"{"cmd":"call","sessionId":1234567,"offer":" x "}"#),
        Ok(Command::Signal {
            call: CallId::new("1234567"),
            signal: CallSignal::Offer(raw(r#"" x ""#))
        })
    );
    assert_eq!(
        decode(r#"{"cmd":"notify","opponentId":" b ","type":7}"#),
        Ok(Command::Notify { to: name("b"), kind: Some(Payload::string("7")) })
    );
    assert_eq!(
        decode(r#"{"cmd":"notify","opponentId":"b","type":" ring "}"#),
        Ok(Command::Notify { to: name("b"), kind: Some(Payload::string("ring")) })
    );
    assert_eq!(
        decode(r#"{"cmd":"notify","opponentId":"b","type":{"k":[1]}}"#),
        Ok(Command::Notify { to: name("b"), kind: Some(raw(r#"{"k":[1]}"#)) })
    );
    assert_eq!(
        decode(r#"{"cmd":"notify","opponentId":"b"}"#),
        Ok(Command::Notify { to: name("b"), kind: None })
    );
}

#[test]
fn malformed_frames_get_the_reference_codes() {
    let err = |kind| Err(ClientError::new(kind));
    let during = |kind, op| Err(ClientError::during(kind, op));
    let cases = [
        ("", err(E::MalformedFrame)),
        ("{", err(E::MalformedFrame)),
        ("not json", err(E::MalformedFrame)),
        (r#"{"cmd":"sId","sId":"a"} trailing"#, err(E::MalformedFrame)),
        ("null", err(E::InvalidMessage)),
        ("[1,2]", err(E::InvalidMessage)),
        (r#""sId""#, err(E::InvalidMessage)),
        ("{}", err(E::InvalidMessage)),
        (r#"{"cmd":""}"#, err(E::InvalidMessage)),
        (r#"{"cmd":"   "}"#, err(E::InvalidMessage)),
        (r#"{"cmd":null}"#, err(E::InvalidMessage)),
        (r#"{"cmd":false}"#, err(E::InvalidMessage)),
        (r#"{"cmd":"nope"}"#, err(E::UnknownCommand)),
        (r#"{"cmd":{"x":1}}"#, err(E::UnknownCommand)),
        (r#"{"cmd":0}"#, err(E::UnknownCommand)),
        (r#"{"cmd":"SID","sId":"a"}"#, err(E::UnknownCommand)),
        (r#"{"cmd":"sId"}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"sId","sId":""}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"sId","sId":"   "}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"sId","sId":{"a":1}}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"sId","sId":["a"]}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"sId","sId":true}"#, during(E::InvalidMessage, K::Register)),
        (r#"{"cmd":"session","opponentId":null}"#, during(E::InvalidMessage, K::OpenCall)),
        (r#"{"cmd":"call","sessionId":"1"}"#, during(E::InvalidMessage, K::Offer)),
        (r#"{"cmd":"call","sessionId":"1","offer":null}"#, during(E::InvalidMessage, K::Offer)),
        (r#"{"cmd":"accept","answer":{}}"#, during(E::InvalidMessage, K::Answer)),
        (r#"{"cmd":"stop","sessionId":[1]}"#, during(E::InvalidMessage, K::Stop)),
        (r#"{"cmd":"notify","type":"x"}"#, during(E::InvalidMessage, K::Notify)),
    ];
    for (frame, expected) in cases {
        assert_eq!(decode(frame), expected, "{frame}");
    }
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let deep = format!(
        r#"{{"cmd":"call","sessionId":"1","offer":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(decode(&deep), Err(ClientError::new(E::TooDeep)));
    let nested = |n: usize| {
        format!(r#"{{"cmd":"call","sessionId":"1","offer":{}1{}}}"#, "[".repeat(n), "]".repeat(n))
    };
    assert!(decode(&nested(super::decode::MAX_DEPTH - 1)).is_ok());
    assert_eq!(decode(&nested(super::decode::MAX_DEPTH)), Err(ClientError::new(E::TooDeep)));
    // Past the old limit (payloads of 31 levels), still passed on.
    assert!(decode(&nested(40)).is_ok());
    // Brackets inside strings do not count.
    let quoted = format!(
        r#"{{"cmd":"call","sessionId":"1","offer":"{}\"{}"}}"#,
        "[".repeat(100),
        "{".repeat(100)
    );
    assert!(decode(&quoted).is_ok());
    // An escaped backslash ends before the quote that closes the string.
    let after = format!(
        r#"{{"cmd":"call","sessionId":"1","offer":["\\",{}1{}]}}"#,
        "[".repeat(80),
        "]".repeat(80)
    );
    assert_eq!(decode(&after), Err(ClientError::new(E::TooDeep)));
    // A frame cut inside a string or an escape is malformed, not a panic.
    for cut in [r#"{"cmd":"call","offer":"ab"#, r#"{"cmd":"call","offer":"ab\"#] {
        assert_eq!(decode(cut), Err(ClientError::new(E::MalformedFrame)), "{cut}");
    }
}

#[test]
fn names_longer_than_the_core_allows_are_refused() {
    let frame = format!(r#"{{"cmd":"sId","sId":"{}"}}"#, "x".repeat(300));
    assert_eq!(decode(&frame), Err(ClientError::during(E::InvalidMessage, K::Register)));
}
