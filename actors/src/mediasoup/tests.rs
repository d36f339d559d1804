//! The rules of a `mediasoup` room, pure: what each request tells whom, and what it asks of
//! the media plane (whose answers are fed back as it would give them).

use std::net::SocketAddr;

use serde_json::{json, Number, Value};

use super::{
    media::{Media, MediaDone},
    Ask, Change, Direction, DtlsParameters, MediasoupRoom, Notice, PeerId, Refusal, Request,
    RtpParameters, Told,
};
use crate::{
    engine::{Out, Rules},
    ids::RoomId,
    media::{IceParameters, Kind, MediaError, TransportParams},
};

fn peer(name: &str, conn: &str) -> PeerId {
    PeerId { name: name.into(), conn: conn.into() }
}

fn ask(room: &mut MediasoupRoom, from: &PeerId, id: u64, ask: Ask) -> Out<MediasoupRoom> {
    let mut out = Out::new();
    let request = Request { room: RoomId::new("r"), id: Some(Number::from(id)), ask };
    room.apply(&RoomId::new("r"), from, request, &mut out);
    out
}

fn join(room: &mut MediasoupRoom, from: &PeerId, spy: bool) -> Out<MediasoupRoom> {
    ask(room, from, 1, Ask::Join { rtp_capabilities: None, spy, app_data: json!({}) })
}

/// The data answered to `to`, or its refusal.
fn answered(out: &Out<MediasoupRoom>, to: &PeerId) -> Result<Value, Refusal> {
    let found = out.iter().find_map(|(who, told)| match told {
        Told::Answer { result, .. } if who == to => Some(result.clone()),
        _ => None,
    });
    let result = found.expect("an answer");
    result.map(|data| serde_json::from_str(&data).expect("JSON data"))
}

fn notices(out: &Out<MediasoupRoom>, to: &PeerId) -> Vec<Notice> {
    out.iter()
        .filter(|(who, _)| who == to)
        .filter_map(|(_, told)| match told {
            Told::Notify(notice) => Some(notice.clone()),
            Told::Answer { .. } => None,
        })
        .collect()
}

fn resume(room: &mut MediasoupRoom, done: MediaDone) -> Out<MediasoupRoom> {
    let mut out = Out::new();
    room.resume(&RoomId::new("r"), done, &mut out);
    out
}

fn opus(ssrc: u32) -> RtpParameters {
    serde_json::from_value(json!({
        "codecs": [{"name": "opus", "mimeType": "audio/opus", "clockRate": 48000,
                    "payloadType": 111, "channels": 2}],
        "encodings": [{"ssrc": ssrc}],
        "rtcp": {"cname": "alice"},
    }))
    .expect("parameters")
}

fn params() -> TransportParams {
    TransportParams {
        ice: IceParameters { ufrag: "u".into(), pwd: "p".into() },
        candidate: SocketAddr::from(([192, 0, 2, 1], 40000)),
        fingerprint: "AB:CD".into(),
    }
}

/// `from` has send transport 10 (created and answered) and producer 20 on it, produced.
fn producing(room: &mut MediasoupRoom, from: &PeerId) -> Out<MediasoupRoom> {
    let dtls =
        DtlsParameters { role: "server".into(), algorithm: "sha-256".into(), value: "AA".into() };
    let create = Ask::CreateTransport {
        id: 10,
        direction: Direction::Send,
        dtls: Some(dtls),
        app_data: json!({}),
    };
    let out = ask(room, from, 2, create);
    assert!(matches!(out.effects(), [Media::CreateTransport { id: 10, .. }]));
    let role = Some(crate::media::DtlsRole::Server);
    let reply = Some(Number::from(2));
    let (_tell, gone) = crate::media::Gone::channel();
    let result = Ok((params(), gone, role));
    let done = MediaDone::Transport { peer: from.clone(), id: 10, reply, result };
    let out = resume(room, done);
    assert!(matches!(out.effects(), [Media::Watch { id: 10, .. }]), "the transport is watched");
    let created = answered(&out, from).expect("a transport");
    assert_eq!(created["iceParameters"]["iceLite"], true);
    assert_eq!(created["iceCandidates"][0]["port"], 40000);
    assert_eq!(created["dtlsParameters"]["role"], "client");
    assert_eq!(created["dtlsParameters"]["fingerprints"][0]["value"], "AB:CD");
    let produce = Ask::CreateProducer {
        id: 20,
        kind: Kind::Audio,
        transport: 10,
        rtp: opus(1234),
        paused: false,
        app_data: json!({"source": "mic"}),
    };
    let out = ask(room, from, 3, produce);
    assert!(matches!(out.effects(), [Media::Produce { id: 20, .. }]));
    let reply = Some(Number::from(3));
    resume(room, MediaDone::Produced { peer: from.clone(), id: 20, reply, result: Ok(()) })
}

#[test]
fn a_name_is_one_peers_and_a_second_connection_is_refused_leaving_the_first_untouched() {
    let mut room = MediasoupRoom::default();
    let (alice, again) = (peer("alice", "n/1"), peer("alice", "n/2"));
    assert!(answered(&join(&mut room, &alice, false), &alice).is_ok());
    assert_eq!(answered(&join(&mut room, &again, false), &again), Err(Refusal::NameTaken));
    assert_eq!(answered(&join(&mut room, &alice, false), &alice), Err(Refusal::AlreadyJoined));
    assert!(room.has_peer(&alice) && !room.has_peer(&again));
    // Before joining, nothing else is served.
    let out = ask(&mut room, &again, 5, Ask::CloseTransport { id: 1 });
    assert_eq!(answered(&out, &again), Err(Refusal::NotJoined));
}

#[test]
fn a_producer_gives_every_other_peer_a_consumer_which_it_enables_on_a_receive_transport() {
    let mut room = MediasoupRoom::default();
    let (alice, bob) = (peer("alice", "n/1"), peer("bob", "n/2"));
    join(&mut room, &alice, false);
    let out = join(&mut room, &bob, false);
    assert!(
        matches!(&notices(&out, &alice)[..], [Notice::NewPeer { name, .. }] if &**name == "bob")
    );
    let out = producing(&mut room, &alice);
    assert_eq!(answered(&out, &alice), Ok(json!({})));
    let Some(Notice::NewConsumer(info)) = notices(&out, &bob).pop() else {
        panic!("bob gets a consumer: {out:?}")
    };
    assert_eq!(&*info.peer_name, "alice");
    assert_eq!(info.rtp.codecs[0].payload_type, 111);
    assert_ne!(info.rtp.encodings[0].ssrc, Some(1234), "the consumer's own SSRC");
    assert!(notices(&out, &alice).is_empty(), "a producer does not consume itself");
    // A late joiner finds alice with its consumer of her producer.
    let carol = peer("carol", "m/1");
    let joined = answered(&join(&mut room, &carol, false), &carol).expect("joined");
    let alice_entry =
        joined["peers"].as_array().expect("peers").iter().find(|p| p["name"] == "alice");
    let consumers = &alice_entry.expect("alice listed")["consumers"];
    assert_eq!(consumers.as_array().map(Vec::len), Some(1));
    assert_eq!(consumers[0]["kind"], "audio");
    // bob enables his consumer: not on a send transport, nor on none, but on a receive one.
    let enable = |transport| Ask::EnableConsumer { id: info.id, transport, paused: false };
    let out = ask(&mut room, &bob, 7, enable(Some(99)));
    assert_eq!(answered(&out, &bob), Err(Refusal::NoTransport(99)));
    let out = ask(&mut room, &bob, 7, enable(None));
    assert_eq!(answered(&out, &bob), Err(Refusal::NoTransport(0)));
    let recv = Ask::CreateTransport {
        id: 11,
        direction: Direction::Recv,
        dtls: None,
        app_data: json!({}),
    };
    ask(&mut room, &bob, 8, recv);
    let out = ask(&mut room, &bob, 9, enable(Some(11)));
    let Some(Media::Consume { transport: 11, of, pts, .. }) = out.effects().first() else {
        panic!("a consume effect: {out:?}")
    };
    assert_eq!((of.0.clone(), of.1, pts.clone()), (alice.clone(), 20, vec![(111, 111)]));
    let reply = Some(Number::from(9));
    let done = MediaDone::Consumed {
        peer: bob.clone(),
        id: info.id,
        transport: 11,
        reply,
        result: Ok(()),
    };
    let enabled = answered(&resume(&mut room, done), &bob).expect("enabled");
    assert_eq!(enabled["paused"], false);
    let out = ask(&mut room, &bob, 10, enable(Some(11)));
    assert!(matches!(answered(&out, &bob), Err(Refusal::Unsupported(_))), "enabled twice");
    // A producer on a receive transport is refused.
    let wrong = Ask::CreateProducer {
        id: 21,
        kind: Kind::Audio,
        transport: 11,
        rtp: opus(5),
        paused: false,
        app_data: json!({}),
    };
    assert_eq!(answered(&ask(&mut room, &bob, 11, wrong), &bob), Err(Refusal::WrongDirection(11)));
}

#[test]
fn pausing_and_closing_a_producer_tell_its_consumers_and_leaving_tells_the_others_but_spies_stay_unseen(
) {
    let mut room = MediasoupRoom::default();
    let (alice, bob, spy) = (peer("alice", "n/1"), peer("bob", "n/2"), peer("spy", "n/3"));
    join(&mut room, &alice, false);
    join(&mut room, &bob, false);
    let out = join(&mut room, &spy, true);
    assert!(notices(&out, &alice).is_empty() && notices(&out, &bob).is_empty(), "a spy is unseen");
    let out = producing(&mut room, &alice);
    assert_eq!(notices(&out, &spy).len(), 1, "a spy consumes");
    let out = ask(&mut room, &alice, 4, Ask::PauseProducer { id: 20, paused: true });
    assert!(matches!(&notices(&out, &bob)[..], [Notice::Consumer { change: Change::Paused, .. }]));
    assert!(matches!(out.effects(), [Media::Pause(key, true)] if key.ends_with("/p20")));
    let out = ask(&mut room, &alice, 5, Ask::CloseProducer { id: 20 });
    assert!(matches!(&notices(&out, &bob)[..], [Notice::Consumer { change: Change::Closed, .. }]));
    let out = ask(&mut room, &alice, 6, Ask::CloseProducer { id: 20 });
    assert_eq!(answered(&out, &alice), Err(Refusal::NoProducer(20)));
    let out = ask(&mut room, &spy, 7, Ask::Leave { app_data: json!({}) });
    assert!(notices(&out, &alice).is_empty(), "a spy leaves unseen");
    let out = ask(&mut room, &alice, 8, Ask::Leave { app_data: json!({}) });
    assert!(
        matches!(&notices(&out, &bob)[..], [Notice::PeerClosed { name, .. }] if &**name == "alice")
    );
    assert!(matches!(out.effects(), [Media::Leave(p)] if *p == alice));
    let mut out = Out::new();
    room.depart(&RoomId::new("r"), &bob, &mut out);
    assert!(room.is_over());
    assert!(matches!(out.effects(), [Media::Leave(_), Media::Close]));
}

#[test]
fn what_the_media_plane_refuses_is_answered_and_undone() {
    let mut room = MediasoupRoom::default();
    let alice = peer("alice", "n/1");
    join(&mut room, &alice, false);
    let create = Ask::CreateTransport {
        id: 10,
        direction: Direction::Send,
        dtls: None,
        app_data: json!({}),
    };
    ask(&mut room, &alice, 2, create.clone());
    let reply = Some(Number::from(2));
    let done = MediaDone::Transport {
        peer: alice.clone(),
        id: 10,
        reply,
        result: Err(MediaError::Disabled),
    };
    assert!(matches!(answered(&resume(&mut room, done), &alice), Err(Refusal::Media(_))));
    // The failed transport is gone: its id can be used again.
    let out = ask(&mut room, &alice, 3, create);
    assert!(matches!(out.effects(), [Media::CreateTransport { id: 10, .. }]));
    // A producer of a codec the server does not forward, or with the wrong payload type.
    let mut rtp = opus(1);
    rtp.codecs[0].payload_type = 109;
    let produce = Ask::CreateProducer {
        id: 20,
        kind: Kind::Audio,
        transport: 10,
        rtp,
        paused: false,
        app_data: json!({}),
    };
    assert!(matches!(
        answered(&ask(&mut room, &alice, 4, produce), &alice),
        Err(Refusal::Unsupported(_))
    ));
}

#[test]
fn a_transport_the_media_plane_ends_is_closed_with_its_producers_and_its_peer_is_told() {
    let mut room = MediasoupRoom::default();
    let (alice, bob) = (peer("alice", "n/1"), peer("bob", "n/2"));
    join(&mut room, &alice, false);
    join(&mut room, &bob, false);
    producing(&mut room, &alice);
    let why = "no ICE for 30 s".to_owned();
    let out = resume(&mut room, MediaDone::TransportGone { peer: alice.clone(), id: 10, why });
    let told = notices(&out, &alice);
    assert!(
        matches!(
            &told[..],
            [Notice::TransportClosed { id: 10, .. }, Notice::ProducerClosed { id: 20, .. }]
        ),
        "{told:?}"
    );
    assert!(matches!(&notices(&out, &bob)[..], [Notice::Consumer { change: Change::Closed, .. }]));
    // A transport its peer closed first is not told of again.
    let why = "closed".to_owned();
    let out = resume(&mut room, MediaDone::TransportGone { peer: alice.clone(), id: 10, why });
    assert!(out.is_empty() && out.effects().is_empty());
}

#[test]
fn a_peer_may_have_only_so_many_transports_and_producers() {
    let mut room = MediasoupRoom::default();
    let alice = peer("alice", "n/1");
    join(&mut room, &alice, false);
    for id in 1..=super::room::MAX_TRANSPORTS as u64 {
        let create = Ask::CreateTransport {
            id,
            direction: Direction::Send,
            dtls: None,
            app_data: json!({}),
        };
        assert!(ask(&mut room, &alice, id, create).effects().len() == 1);
    }
    let create = Ask::CreateTransport {
        id: 99,
        direction: Direction::Send,
        dtls: None,
        app_data: json!({}),
    };
    let refused = answered(&ask(&mut room, &alice, 99, create), &alice);
    assert_eq!(refused, Err(Refusal::TooMany("transports".into(), super::room::MAX_TRANSPORTS)));
    for id in 1..=super::room::MAX_PRODUCERS as u64 {
        let produce = Ask::CreateProducer {
            id,
            kind: Kind::Audio,
            transport: 1,
            rtp: opus(id as u32),
            paused: false,
            app_data: json!({}),
        };
        assert!(ask(&mut room, &alice, 100 + id, produce).effects().len() == 1);
    }
    let produce = Ask::CreateProducer {
        id: 99,
        kind: Kind::Audio,
        transport: 1,
        rtp: opus(99),
        paused: false,
        app_data: json!({}),
    };
    assert!(matches!(
        answered(&ask(&mut room, &alice, 200, produce), &alice),
        Err(Refusal::TooMany(..))
    ));
}
