//! The `mediasoup` codec: both vocabularies onto one set of asks, refusals as protoo errors,
//! notices named as the peer speaks.

use serde_json::{json, Number, Value};
use switchboard_actors::mediasoup::{Ask, Change, Direction, Notice, Refusal, Target, Told};

use super::{
    decode::{decode, Decoded, Vocabulary},
    encode::encode_into,
};

fn request(data: Value) -> String {
    json!({"request": true, "id": 7, "method": "mediasoup-request", "data": data}).to_string()
}

fn room(decoded: Decoded) -> (Option<Number>, Ask, Option<Vocabulary>) {
    match decoded {
        Decoded::Room { id, ask, speaks } => (id, *ask, speaks),
        other => panic!("for the room: {other:?}"),
    }
}

fn refused(decoded: Decoded) -> (u16, String) {
    match decoded {
        Decoded::Refuse(id, code, why) => {
            assert_eq!(id, Number::from(7));
            (code, why)
        }
        other => panic!("refused: {other:?}"),
    }
}

#[test]
fn a_join_tells_the_vocabulary_and_must_name_the_connections_peer() {
    let released = request(json!({"method": "join", "target": "room", "peerName": "alice",
                                  "rtpCapabilities": {"codecs": []}, "spy": false}));
    let (id, ask, speaks) = room(decode(&released, "alice"));
    assert_eq!((id, speaks), (Some(Number::from(7)), Some(Vocabulary::Released)));
    assert!(matches!(ask, Ask::Join { rtp_capabilities: Some(_), spy: false, .. }));
    let draft = request(json!({"method": "join", "appData": {"x": 1}}));
    let (_, ask, speaks) = room(decode(&draft, "alice"));
    assert_eq!(speaks, Some(Vocabulary::Draft));
    assert!(
        matches!(ask, Ask::Join { rtp_capabilities: None, app_data, .. } if app_data["x"] == 1)
    );
    let other = request(json!({"method": "join", "peerName": "mallory"}));
    assert_eq!(refused(decode(&other, "alice")).0, 403);
}

#[test]
fn both_vocabularies_mean_the_same_asks() {
    let rtp = json!({"codecs": [{"mimeType": "audio/opus", "clockRate": 48000, "payloadType": 111}],
                     "encodings": [{"ssrc": 1}]});
    for method in ["createProducer", "createReceiver"] {
        let frame = request(json!({"method": method, "id": 22, "kind": "audio",
                                   "transportId": 11, "rtpParameters": rtp, "paused": true}));
        let (_, ask, speaks) = room(decode(&frame, "a"));
        assert!(matches!(ask, Ask::CreateProducer { id: 22, transport: 11, paused: true, .. }));
        assert_eq!(speaks.is_some(), method == "createReceiver");
    }
    let pairs = [("pauseConsumer", "stopSender", true), ("resumeConsumer", "playSender", false)];
    for (released, draft, paused) in pairs {
        for method in [released, draft] {
            let (_, ask, _) = room(decode(&request(json!({"method": method, "id": 5})), "a"));
            assert!(matches!(ask, Ask::PauseConsumer { id: 5, paused: p } if p == paused));
        }
    }
    let (_, ask, speaks) = room(decode(&request(json!({"method": "enableSender", "id": 5})), "a"));
    assert!(matches!(ask, Ask::EnableConsumer { id: 5, transport: None, .. }));
    assert_eq!(speaks, Some(Vocabulary::Draft));
    // The draft's createTransport has no direction: DTLS parameters mean a send transport.
    let dtls = json!({"role": "server", "fingerprints": [{"algorithm": "sha-256", "value": "AB"}]});
    let frame = request(json!({"method": "createTransport", "id": 3, "dtlsParameters": dtls}));
    let (_, ask, _) = room(decode(&frame, "a"));
    assert!(matches!(
        ask,
        Ask::CreateTransport { id: 3, direction: Direction::Send, dtls: Some(_), .. }
    ));
    let frame = request(json!({"method": "createTransport", "id": 3}));
    assert!(matches!(
        room(decode(&frame, "a")).1,
        Ask::CreateTransport { direction: Direction::Recv, .. }
    ));
}

#[test]
fn client_notifications_come_either_way_and_hostile_frames_are_refused_or_dropped() {
    let update = json!({"method": "updateTransport", "id": 3, "notification": true,
                        "dtlsParameters": {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": "AB"}]}});
    let notification =
        json!({"notification": true, "method": "mediasoup-notification", "data": update})
            .to_string();
    assert!(matches!(
        room(decode(&notification, "a")),
        (None, Ask::UpdateTransport { id: 3, .. }, None)
    ));
    let as_request =
        json!({"request": true, "id": 9, "method": "mediasoup-notification", "data": update})
            .to_string();
    let Decoded::Accepted(id, then) = decode(&as_request, "a") else { panic!("accepted") };
    assert_eq!(id, Number::from(9));
    assert!(matches!(*then, Decoded::Room { id: None, .. }));
    // Requests that cannot be served are answered with 400; what protoo drops is dropped.
    assert_eq!(refused(decode(&request(json!({"method": "fly"})), "a")).0, 400);
    assert_eq!(
        refused(decode(&request(json!({"method": "closeTransport", "id": "x"})), "a")).0,
        400
    );
    assert_eq!(
        refused(decode(
            &request(json!({"method": "createProducer", "id": 1, "kind": "smell"})),
            "a"
        ))
        .0,
        400
    );
    assert_eq!(refused(decode(&request(json!([1, 2])), "a")).0, 400);
    let other = json!({"request": true, "id": 7, "method": "change-display-name", "data": {}});
    assert_eq!(refused(decode(&other.to_string(), "a")).0, 400);
    let stats = request(json!({"method": "enableTransportStats", "id": 1, "interval": 500}));
    let (_, ask, _) = room(decode(&stats, "a"));
    assert!(matches!(ask, Ask::Stats { target: Target::Transport(1), interval: Some(500) }));
    let stats = request(json!({"method": "disableConsumerStats", "id": 2}));
    let (_, ask, _) = room(decode(&stats, "a"));
    assert!(matches!(ask, Ask::Stats { target: Target::Consumer(2), interval: None }));
    let stats = request(json!({"method": "enableProducerStats", "id": 2, "interval": "often"}));
    assert_eq!(refused(decode(&stats, "a")).0, 400);
    for frame in [
        "",
        "nope",
        "[]",
        "{\"request\":true,\"id\":\"x\",\"method\":\"m\"}",
        "{\"response\":true,\"id\":1,\"ok\":true}",
    ] {
        assert!(matches!(decode(frame, "a"), Decoded::Drop(_)), "{frame}");
    }
    let Decoded::Answer(_, caps) = decode(&request(json!({"method": "queryRoom"})), "a") else {
        panic!("queryRoom is answered at once")
    };
    assert!(caps.contains("rtpCapabilities"));
}

#[test]
fn answers_refusals_and_notices_are_protoo_frames_in_the_peers_vocabulary() {
    let mut out = String::new();
    let ok = Told::Answer { id: Number::from(4), result: Ok("{\"a\":1}".into()) };
    encode_into(&ok, Vocabulary::Released, &mut out);
    assert_eq!(out, r#"{"response":true,"id":4,"ok":true,"data":{"a":1}}"#);
    out.clear();
    let no = Told::Answer { id: Number::from(4), result: Err(Refusal::NameTaken) };
    encode_into(&no, Vocabulary::Released, &mut out);
    let frame: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(frame["errorCode"], 409);
    let closed = Told::Notify(Notice::Consumer {
        id: 1,
        peer_name: "bob".into(),
        change: Change::Closed,
        app_data: json!(null),
    });
    for (vocabulary, method) in
        [(Vocabulary::Released, "consumerClosed"), (Vocabulary::Draft, "senderClosed")]
    {
        out.clear();
        encode_into(&closed, vocabulary, &mut out);
        let frame: Value = serde_json::from_str(&out).expect("JSON");
        assert_eq!(frame["notification"], true);
        assert_eq!(frame["method"], "mediasoup-notification");
        assert_eq!(frame["data"]["method"], method);
        assert_eq!(frame["data"]["peerName"], "bob");
        assert_eq!(frame["data"]["notification"], true);
    }
    out.clear();
    encode_into(&Told::Notify(Notice::Ignored), Vocabulary::Released, &mut out);
    assert!(out.is_empty());
    // The draft has a transportClosed, and no word for a producer the server closed.
    let producer = Told::Notify(Notice::ProducerClosed { id: 3, app_data: json!({}) });
    encode_into(&producer, Vocabulary::Draft, &mut out);
    assert!(out.is_empty());
    encode_into(&producer, Vocabulary::Released, &mut out);
    assert!(out.contains("\"producerClosed\""), "{out}");
    out.clear();
    let transport = Told::Notify(Notice::TransportClosed { id: 4, app_data: json!({}) });
    encode_into(&transport, Vocabulary::Draft, &mut out);
    assert!(out.contains("\"transportClosed\""), "{out}");
}

#[test]
fn every_refusal_and_edge_refusal_has_one_of_the_listed_codes() {
    use super::encode::{refusal, CODES};
    let all = [
        Refusal::NotJoined,
        Refusal::AlreadyJoined,
        Refusal::NameTaken,
        Refusal::NoTransport(1),
        Refusal::TransportExists(1),
        Refusal::WrongDirection(1),
        Refusal::NoProducer(1),
        Refusal::ProducerExists(1),
        Refusal::NoConsumer(1),
        Refusal::TooMany("producers".into(), 16),
        Refusal::RoomLimit,
        Refusal::Unsupported("x".into()),
        Refusal::Media("x".into()),
        Refusal::Unavailable,
    ];
    for why in &all {
        assert!(CODES.contains(&refusal(why).0), "{why:?}");
    }
    // What the edge refuses itself: a method it does not know, a request it cannot read.
    for frame in [
        json!({"request": true, "id": 1, "method": 7}).to_string(),
        json!({"request": true, "id": 1, "method": "nope", "data": {}}).to_string(),
        request(json!({"method": "nope"})),
        request(json!({"method": "createTransport", "direction": 7})),
    ] {
        match decode(&frame, "p") {
            Decoded::Refuse(_, code, _) => assert!(CODES.contains(&code), "{frame}: {code}"),
            other => panic!("{frame}: refused, not {other:?}"),
        }
    }
}
