//! The `mediasoup` dialect (seed 004) at `/mediasoup`, with real protoo clients over real
//! WebSockets: the seed's draft vocabulary end to end with str0m clients as the media ends
//! (audio from one peer reaches another), mediasoup-client 2.x's vocabulary and every error
//! path, on one node and on three behind nginx (each peer on another node than the room's
//! home), and a node's death.

mod browser;

use std::{net::IpAddr, time::Duration};

use serde_json::{json, Value};
use switchboard_bench::direct::{DirectClient, Remote, OPUS_PT};

use crate::{
    signals::on_one_node_and_three,
    support::{protoo::ProtooPeer, Place},
};

/// Media announced on loopback, where the test's clients are.
const ARGS: [&str; 2] = ["--media-announce-ip", "127.0.0.1"];

const LIMIT: Duration = Duration::from_secs(10);

on_one_node_and_three!(the_draft_vocabulary_carries_audio_between_two_rust_peers, ARGS);
on_one_node_and_three!(every_request_is_served_or_refused_and_names_are_unique, ARGS);

/// Peer `name` of room `room`, on another node than the last peer (in a cluster).
async fn peer(place: &Place, room: &str, name: &str) -> ProtooPeer {
    peer_avoiding(place, room, name, &[&place.last_node()]).await
}

/// Peer `name` of room `room`, on none of the nodes `avoid` (on one node, anywhere).
async fn peer_avoiding(place: &Place, room: &str, name: &str, avoid: &[&str]) -> ProtooPeer {
    let url = place.ws(&format!("/mediasoup?roomId={room}&peerName={name}"));
    for _ in 0..32 {
        let peer = ProtooPeer::connect(&url).await.expect("accepted");
        if place.nodes().len() == 1 || !avoid.contains(&peer.node.as_str()) {
            place.landed(&peer.node);
            return peer;
        }
        peer.close().await;
    }
    panic!("nginx never balanced a peer away from {avoid:?}");
}

/// DTLS parameters of `client` taking `role`.
fn dtls(client: &mut DirectClient, role: &str) -> Value {
    json!({"role": role, "fingerprints": [{"algorithm": "sha-256", "value": client.fingerprint()}]})
}

/// Connects `client` to the transport a `createTransport` answered with.
fn connect(client: &mut DirectClient, transport: &Value, dtls_client: bool) {
    let candidate = &transport["iceCandidates"][0];
    assert_eq!(candidate["protocol"], "udp");
    assert_eq!(transport["iceParameters"]["iceLite"], true);
    let fingerprint = &transport["dtlsParameters"]["fingerprints"][0];
    assert_eq!(fingerprint["algorithm"], "sha-256");
    let ip: IpAddr = candidate["ip"].as_str().expect("an ip").parse().expect("an address");
    let remote = Remote {
        ufrag: transport["iceParameters"]["usernameFragment"].as_str().expect("ufrag").into(),
        pwd: transport["iceParameters"]["password"].as_str().expect("pwd").into(),
        candidate: (ip, candidate["port"].as_u64().expect("a port") as u16).into(),
        fingerprint: fingerprint["value"].as_str().expect("a fingerprint").into(),
    };
    client.connect(&remote, dtls_client).expect("the client connects");
}

/// Opus sent as `ssrc`, as a client's `rtpParameters`.
fn opus(ssrc: u32) -> Value {
    json!({
        "muxId": null,
        "codecs": [{"name": "opus", "mimeType": "audio/opus", "clockRate": 48000,
                    "payloadType": OPUS_PT, "channels": 2, "rtcpFeedback": [],
                    "parameters": {"useinbandfec": 1}}],
        "headerExtensions": [],
        "encodings": [{"ssrc": ssrc}],
        "rtcp": {"cname": "alice-cname", "reducedSize": true, "mux": true},
    })
}

/// Runs `sender` until `receiver` has `packets` more RTP packets; whether it did in time.
async fn heard(receiver: &mut DirectClient, sender: &mut DirectClient, packets: u64) -> bool {
    let target = receiver.seen.frames + packets;
    tokio::select! {
        heard = receiver.run_until(LIMIT, |s| s.frames >= target) => heard,
        _ = sender.run_until(LIMIT, |_| false) => false,
    }
}

async fn the_draft_vocabulary_carries_audio_between_two_rust_peers(place: &Place) {
    let mut alice = peer(place, "r1", "alice").await;
    let mut bob = peer(place, "r1", "bob").await;
    // The draft's join: no peerName (the URL has it), no capabilities; the server's come back.
    let joined = alice.request(json!({"method": "join", "appData": {"n": 1}})).await.unwrap();
    assert_eq!(joined["rtpCapabilities"]["codecs"][0]["mimeType"], "audio/opus", "{joined}");
    assert_eq!(joined["peers"], json!([]));
    let joined = bob.request(json!({"method": "join", "appData": {"n": 2}})).await.unwrap();
    assert_eq!(
        (&joined["peers"][0]["name"], &joined["peers"][0]["appData"]["n"]),
        (&json!("alice"), &json!(1))
    );
    let new_peer = alice.notification("newPeer").await;
    assert_eq!((&new_peer["name"], &new_peer["senders"]), (&json!("bob"), &json!([])));

    // alice sends: a transport with her DTLS parameters (so a send transport), a receiver.
    let mut alice_rtc = DirectClient::toward([127, 0, 0, 1].into()).await.expect("a client");
    let params = dtls(&mut alice_rtc, "server");
    let create = json!({"method": "createTransport", "id": 1111, "options": {}, "dtlsParameters": params, "appData": {}});
    let transport = alice.request(create).await.unwrap();
    assert_eq!(transport["dtlsParameters"]["role"], "client", "{transport}");
    connect(&mut alice_rtc, &transport, false);
    alice_rtc.send_audio(4444);
    let receiver = json!({"method": "createReceiver", "id": 2222, "kind": "audio", "transportId": 1111,
                          "rtpParameters": opus(4444), "paused": false, "appData": {"mic": true}});
    assert_eq!(alice.request(receiver).await.unwrap(), json!({}));
    let sender = bob.notification("newSender").await;
    assert_eq!(
        (&sender["peerName"], &sender["kind"], &sender["appData"]["mic"]),
        (&json!("alice"), &json!("audio"), &json!(true))
    );
    assert_eq!(sender["rtpParameters"]["codecs"][0]["payloadType"], OPUS_PT);
    let ssrc = sender["rtpParameters"]["encodings"][0]["ssrc"].as_u64().expect("an ssrc") as u32;
    assert_ne!(ssrc, 4444, "the consumer has its own SSRC");

    // bob receives: a transport without DTLS parameters (a receive one), which he updates.
    let mut bob_rtc = DirectClient::toward([127, 0, 0, 1].into()).await.expect("a client");
    let create = json!({"method": "createTransport", "id": 3333, "options": {}, "appData": {}});
    let transport = bob.request(create).await.unwrap();
    assert_eq!(transport["dtlsParameters"]["role"], "auto");
    connect(&mut bob_rtc, &transport, true);
    let params = dtls(&mut bob_rtc, "client");
    bob.notify(json!({"method": "updateTransport", "id": 3333, "dtlsParameters": params})).await;
    bob_rtc.receive_audio(ssrc);
    let enable =
        json!({"method": "enableSender", "id": sender["id"], "rtpSettings": {"useRtx": false}});
    bob.request(enable).await.unwrap();
    assert!(heard(&mut bob_rtc, &mut alice_rtc, 25).await, "bob hears alice: {:?}", bob_rtc.seen);

    // stopSender / playSender: bob's own choice; alice's pause and close tell bob.
    for method in ["stopSender", "playSender"] {
        bob.request(json!({"method": method, "id": sender["id"]})).await.unwrap();
    }
    assert!(heard(&mut bob_rtc, &mut alice_rtc, 5).await, "heard again after playSender");
    alice.request(json!({"method": "pauseReceiver", "id": 2222})).await.unwrap();
    assert_eq!(bob.notification("senderPaused").await["id"], sender["id"]);
    alice.request(json!({"method": "resumeReceiver", "id": 2222})).await.unwrap();
    assert_eq!(bob.notification("senderResumed").await["id"], sender["id"]);
    alice.notify(json!({"method": "closeReceiver", "id": 2222, "appData": {}})).await;
    assert_eq!(bob.notification("senderClosed").await["peerName"], "alice");
    // The draft's closeTransport is a notification: bob's transport is gone.
    let restarted = bob.request(json!({"method": "restartTransport", "id": 3333})).await;
    assert!(restarted.unwrap()["iceParameters"]["usernameFragment"].is_string());
    bob.notify(json!({"method": "closeTransport", "id": 3333, "appData": {}})).await;
    let gone = bob.request(json!({"method": "restartTransport", "id": 3333})).await;
    assert_eq!(gone.map_err(|e| e.0), Err(404));
    alice.notify(json!({"method": "leave", "appData": {}})).await;
    assert_eq!(bob.notification("peerLeft").await["name"], "alice");
    bob.expect_quiet().await;
}

async fn every_request_is_served_or_refused_and_names_are_unique(place: &Place) {
    let mut alice = peer(place, "r2", "alice").await;
    // Before joining: the room's settings, nothing else.
    let settings = alice.request(json!({"method": "queryRoom", "target": "room"})).await.unwrap();
    assert_eq!(settings["rtpCapabilities"]["codecs"][1]["mimeType"], "video/VP8");
    let early =
        alice.request(json!({"method": "createTransport", "id": 1, "direction": "send"})).await;
    assert_eq!(early.map_err(|e| e.0), Err(403));
    let wrong = json!({"method": "join", "target": "room", "peerName": "mallory", "rtpCapabilities": settings["rtpCapabilities"]});
    assert_eq!(alice.request(wrong).await.map_err(|e| e.0), Err(403), "another peer's name");
    let join = json!({"method": "join", "target": "room", "peerName": "alice",
                      "rtpCapabilities": settings["rtpCapabilities"], "spy": false, "appData": {}});
    assert_eq!(alice.request(join.clone()).await.unwrap()["peers"], json!([]));
    // The same name from another connection (another node, in a cluster): refused, and the
    // first peer is untouched.
    let mut again = peer(place, "r2", "alice").await;
    assert_eq!(again.request(join).await.map_err(|e| e.0), Err(409));
    let mut bob = peer(place, "r2", "bob").await;
    let bob_join = json!({"method": "join", "peerName": "bob", "rtpCapabilities": settings["rtpCapabilities"]});
    bob.request(bob_join).await.unwrap();
    assert_eq!(alice.notification("newPeer").await["consumers"], json!([]));

    // Transports: ids are the client's, each peer's own.
    let send = json!({"method": "createTransport", "id": 11, "direction": "send", "options": {},
                      "dtlsParameters": {"role": "server", "fingerprints": [{"algorithm": "sha-256", "value": "AB:CD"}]}});
    let made = alice.request(send.clone()).await.unwrap();
    assert_eq!(made["iceCandidates"][0]["ip"], "127.0.0.1");
    assert_eq!(alice.request(send).await.map_err(|e| e.0), Err(409), "the same id twice");
    let recv = json!({"method": "createTransport", "id": 12, "direction": "recv"});
    alice.request(recv).await.unwrap();
    let restarted = alice.request(json!({"method": "restartTransport", "id": 12})).await.unwrap();
    assert!(restarted["iceParameters"]["usernameFragment"].is_string(), "{restarted}");
    let stolen = bob.request(json!({"method": "restartTransport", "id": 11})).await;
    assert_eq!(stolen.map_err(|e| e.0), Err(404), "a transport of another peer");

    // Producers: on a send transport of one's own, with the server's payload types.
    let produce = |id: u64, transport: u64, rtp: Value| {
        json!({"method": "createProducer", "id": id, "kind": "audio", "transportId": transport,
               "rtpParameters": rtp, "paused": false, "appData": {}})
    };
    let on_recv = alice.request(produce(21, 12, opus(5))).await;
    assert_eq!(on_recv.map_err(|e| e.0), Err(400), "a producer on a receive transport");
    let mut firefox = opus(5);
    firefox["codecs"][0]["payloadType"] = json!(109);
    let refused = alice.request(produce(21, 11, firefox)).await.expect_err("not the server's PT");
    assert!(refused.1.contains("111"), "{refused:?}");
    alice.request(produce(21, 11, opus(5))).await.unwrap();
    let consumer = bob.notification("newConsumer").await;
    assert_eq!(consumer["preferredProfile"], "default");
    let update = json!({"method": "updateProducer", "id": 21, "rtpParameters": opus(5)});
    assert_eq!(alice.request(update).await.unwrap(), json!({}));
    alice.request(json!({"method": "pauseProducer", "id": 21})).await.unwrap();
    assert_eq!(bob.notification("consumerPaused").await["id"], consumer["id"]);
    alice.request(json!({"method": "resumeProducer", "id": 21})).await.unwrap();
    assert_eq!(bob.notification("consumerResumed").await["id"], consumer["id"]);

    // Consumers: enabled on a receive transport of one's own.
    let recv = json!({"method": "createTransport", "id": 31, "direction": "recv"});
    bob.request(recv).await.unwrap();
    let enable = |transport: u64| json!({"method": "enableConsumer", "id": consumer["id"], "transportId": transport, "paused": false});
    assert_eq!(bob.request(enable(11)).await.map_err(|e| e.0), Err(404), "alice's transport");
    let enabled = bob.request(enable(31)).await.unwrap();
    assert_eq!(
        (&enabled["paused"], &enabled["effectiveProfile"]),
        (&json!(false), &json!("default"))
    );
    for method in ["pauseConsumer", "resumeConsumer"] {
        assert_eq!(
            bob.request(json!({"method": method, "id": consumer["id"]})).await.unwrap(),
            json!({})
        );
    }
    let profile =
        json!({"method": "setConsumerPreferredProfile", "id": consumer["id"], "profile": "low"});
    assert_eq!(bob.request(profile).await.unwrap(), json!({}));
    // Stats reports, every interval while on: the consumer's stream, alice's transport.
    let on = json!({"method": "enableConsumerStats", "id": consumer["id"], "interval": 100});
    bob.request(on).await.unwrap();
    let report = bob.notification("consumerStats").await;
    assert_eq!((&report["id"], &report["peerName"]), (&consumer["id"], &json!("alice")));
    assert_eq!(report["stats"][0]["type"], "outbound-rtp", "{report}");
    assert_eq!(report["stats"][0]["ssrc"], consumer["rtpParameters"]["encodings"][0]["ssrc"]);
    bob.request(json!({"method": "disableConsumerStats", "id": consumer["id"]})).await.unwrap();
    bob.forget("consumerStats");
    let on = json!({"method": "enableTransportStats", "id": 11, "interval": 100});
    alice.request(on).await.unwrap();
    let report = alice.notification("transportStats").await;
    assert_eq!((&report["id"], &report["stats"][0]["type"]), (&json!(11), &json!("transport")));
    assert!(report["stats"][0]["bytesReceived"].is_u64(), "{report}");
    alice.request(json!({"method": "disableTransportStats", "id": 11})).await.unwrap();
    alice.forget("transportStats");
    let missing = bob.request(json!({"method": "enableProducerStats", "id": 21})).await;
    assert_eq!(missing.map_err(|e| e.0), Err(404), "stats of another peer's producer");

    // A closed producer's consumer is gone: bob is told, and enabling it is refused.
    alice.request(json!({"method": "closeProducer", "id": 21})).await.unwrap();
    assert_eq!(bob.notification("consumerClosed").await["id"], consumer["id"]);
    assert_eq!(bob.request(enable(31)).await.map_err(|e| e.0), Err(404));

    // Hostile frames: unknown methods and wrong types are refused, garbage is dropped, and
    // the connection goes on.
    assert_eq!(bob.request(json!({"method": "fly"})).await.map_err(|e| e.0), Err(400));
    assert_eq!(
        bob.protoo_request("change-display-name", json!({})).await.map_err(|e| e.0),
        Err(400)
    );
    let bad_id = json!({"method": "closeTransport", "id": -3});
    assert_eq!(bob.request(bad_id).await.map_err(|e| e.0), Err(400));
    for garbage in ["", "{", "[1]", "{\"request\":true}", &"x".repeat(10_000)] {
        bob.send_text(garbage).await;
    }
    bob.request(json!({"method": "queryRoom"})).await.expect("still served");
    alice.request(json!({"method": "closeTransport", "id": 11})).await.unwrap();
    // Leaving, as mediasoup-client 2.x does: a notification. bob hears alice left.
    alice.notify(json!({"method": "leave", "appData": {}})).await;
    assert_eq!(bob.notification("peerClosed").await["name"], "alice");
    // Her name is free again.
    let join = json!({"method": "join", "peerName": "alice", "rtpCapabilities": settings["rtpCapabilities"]});
    again.request(join).await.unwrap();
    assert_eq!(bob.notification("newPeer").await["name"], "alice");
}

#[tokio::test]
async fn a_handshake_without_a_room_a_peer_or_protoo_is_refused() {
    let place = Place::one(&ARGS);
    for path in ["/mediasoup?peerName=a", "/mediasoup?roomId=r", "/mediasoup?roomId=&peerName=a"] {
        assert_eq!(ProtooPeer::connect(&place.ws(path)).await.err(), Some(400), "{path}");
    }
    let url = place.ws("/mediasoup?roomId=r&peerName=a");
    assert_eq!(ProtooPeer::connect_offering(&url, None).await.err(), Some(403));
    assert_eq!(ProtooPeer::connect_offering(&url, Some("chat")).await.err(), Some(403));
    assert!(ProtooPeer::connect_offering(&url, Some("protoo")).await.is_ok());
}

#[tokio::test]
async fn a_peers_node_dies_and_the_others_hear_it_closed_within_five_seconds_and_the_homes_death_closes_the_room(
) {
    let mut place = Place::three(&ARGS);
    // alice creates the room: its home is her node. bob and carol are on the two others.
    let mut alice = peer(&place, "r3", "alice").await;
    let mut bob = peer(&place, "r3", "bob").await;
    let mut carol = peer_avoiding(&place, "r3", "carol", &[&alice.node, &bob.node]).await;
    let join =
        |name: &str| json!({"method": "join", "peerName": name, "rtpCapabilities": {"codecs": []}});
    alice.request(join("alice")).await.unwrap();
    bob.request(join("bob")).await.unwrap();
    carol.request(join("carol")).await.unwrap();
    assert_eq!(alice.notification("newPeer").await["name"], "bob");
    assert_eq!(alice.notification("newPeer").await["name"], "carol");
    assert_eq!(bob.notification("newPeer").await["name"], "carol");
    let started = std::time::Instant::now();
    let bob_node = bob.node.clone();
    place.kill9(&bob_node);
    assert_eq!(alice.notification("peerClosed").await["name"], "bob");
    assert_eq!(carol.notification("peerClosed").await["name"], "bob");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "told in {took:?}");
    // The room's home dies: its media were there, so the room is over for carol.
    let started = std::time::Instant::now();
    let alice_node = alice.node.clone();
    place.kill9(&alice_node);
    carol.notification("closed").await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "told in {took:?}");
    // She can join again: the room is made anew, on her node.
    carol.request(join("carol")).await.expect("joined anew");
}

#[tokio::test]
async fn an_oversized_frame_closes_its_peer_with_1009_and_the_room_goes_on() {
    let place = Place::one(&ARGS);
    let mut alice = peer(&place, "r4", "alice").await;
    let mut bob = peer(&place, "r4", "bob").await;
    let join =
        |name: &str| json!({"method": "join", "peerName": name, "rtpCapabilities": {"codecs": []}});
    alice.request(join("alice")).await.unwrap();
    bob.request(join("bob")).await.unwrap();
    assert_eq!(alice.notification("newPeer").await["name"], "bob");
    bob.send_text(&format!("{{\"request\":true,\"id\":1,\"method\":\"{}\"}}", "x".repeat(1 << 20)))
        .await;
    assert_eq!(bob.expect_close().await, 1009);
    // bob is gone from the room; alice is served on.
    assert_eq!(alice.notification("peerClosed").await["name"], "bob");
    alice.request(json!({"method": "queryRoom"})).await.expect("served");
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_gone_within_three_intervals() {
    let node = crate::support::Node::with_args(&ARGS);
    let url = node.ws("/mediasoup?roomId=r5&peerName=alice");
    let mut alice = ProtooPeer::connect(&url).await.expect("accepted");
    let join =
        |name: &str| json!({"method": "join", "peerName": name, "rtpCapabilities": {"codecs": []}});
    alice.request(join("alice")).await.unwrap();
    // bob joins by hand over TCP, then never reads again: he answers no ping.
    let path = "/mediasoup?roomId=r5&peerName=bob";
    let mut bob = crate::support::raw::upgraded_speaking(&node, path, "protoo").await;
    let request =
        json!({"request": true, "id": 1, "method": "mediasoup-request", "data": join("bob")});
    let frame = crate::support::raw::masked_text(request.to_string().as_bytes());
    tokio::io::AsyncWriteExt::write_all(&mut bob, &frame).await.expect("sent");
    assert_eq!(alice.notification("newPeer").await["name"], "bob");
    // Pings every 10 s; two intervals unanswered and he is gone (the test waits for the event,
    // up to three intervals).
    let gone = alice.notification_within("peerClosed", Duration::from_secs(35)).await;
    assert_eq!(gone["name"], "bob");
    drop(bob);
}
