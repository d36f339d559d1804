//! Transports without SDP with real clients (str0m's Direct API, full ICE) on loopback: a
//! producer's RTP reaches its consumers under their own SSRC and payload type.

use std::{net::IpAddr, time::Duration};

use switchboard_bench::direct::{DirectClient, Remote, OPUS_PT};

use super::{
    Codec, CodecName, Dtls, DtlsRole, Kind, MediaError, MediaPlane, Stats, Stream, TransportParams,
};

const LIMIT: Duration = Duration::from_secs(10);

fn plane() -> MediaPlane {
    super::tests::plane_of(1)
}

fn codecs() -> Vec<Codec> {
    vec![Codec {
        name: CodecName::Opus,
        pt: OPUS_PT,
        rtx: None,
        clock_rate: 48_000,
        channels: Some(2),
    }]
}

/// What a client is told of a new transport.
fn remote(params: TransportParams) -> Remote {
    Remote {
        ufrag: params.ice.ufrag,
        pwd: params.ice.pwd,
        candidate: params.candidate,
        fingerprint: params.fingerprint,
    }
}

fn dtls(client: &mut DirectClient, role: DtlsRole) -> Dtls {
    Dtls { role, algorithm: "sha-256".into(), fingerprint: client.fingerprint() }
}

/// A client connected to a new transport `key` of session `session`: a send transport (the
/// client the DTLS server, its parameters given at once) or a receive transport (the client
/// the DTLS client, its parameters given once it has them).
async fn connected(plane: &MediaPlane, session: &str, key: &str, send: bool) -> DirectClient {
    let mut client = DirectClient::toward(IpAddr::from([127, 0, 0, 1])).await.expect("a client");
    let given = send.then(|| dtls(&mut client, DtlsRole::Server));
    let made = plane.create_transport("r", session, key, codecs(), given).await;
    let (params, _gone) = made.expect("a transport");
    client.connect(&remote(params), !send).expect("the client connects");
    if !send {
        let later = dtls(&mut client, DtlsRole::Client);
        plane.connect_transport("r", key, later).await.expect("DTLS starts");
    }
    client
}

#[tokio::test]
async fn a_producers_rtp_reaches_its_consumer_and_stops_when_paused_or_closed() {
    let plane = plane();
    let mut alice = connected(&plane, "alice", "alice/1", true).await;
    alice.send_audio(1111);
    let stream = Stream { kind: Kind::Audio, ssrc: 1111, rtx: None };
    plane.produce("r", "alice/1", "alice/p1", stream, false).await.expect("it produces");
    let mut bob = connected(&plane, "bob", "bob/1", false).await;
    bob.receive_audio(2222);
    let consumer = Stream { kind: Kind::Audio, ssrc: 2222, rtx: None };
    let pts = vec![(OPUS_PT, OPUS_PT)];
    plane.consume("r", "bob/1", "c1", "alice/p1", consumer, pts, false).await.expect("consumes");
    let heard = tokio::select! {
        heard = bob.run_until(LIMIT, |s| s.frames >= 20) => heard,
        _ = alice.run_until(LIMIT, |_| false) => false,
    };
    assert!(heard, "bob hears alice: {:?} / {:?}", bob.seen, alice.seen);
    let load = &plane.loads()[0];
    assert!(load.forwarded_packets.load(std::sync::atomic::Ordering::Relaxed) >= 20);
    // Paused, the consumer receives nothing; resumed, it does again.
    plane.pause("r", "c1", true);
    let at = bob.seen.frames;
    let quiet = tokio::select! {
        _ = bob.run_until(Duration::from_millis(400), |_| false) => true,
        _ = alice.run_until(LIMIT, |_| false) => false,
    };
    assert!(quiet && bob.seen.frames <= at + 2, "paused: {} then {}", at, bob.seen.frames);
    plane.pause("r", "c1", false);
    let target = bob.seen.frames + 10;
    let heard = tokio::select! {
        heard = bob.run_until(LIMIT, |s| s.frames >= target) => heard,
        _ = alice.run_until(LIMIT, |_| false) => false,
    };
    assert!(heard, "resumed");
    // Both ends count what went through.
    let Ok(Stats::Stream { packets, received: false, .. }) = plane.stats("r", "c1").await else {
        panic!("the consumer's stats")
    };
    assert!(packets >= 30, "{packets} packets sent");
    let Ok(Stats::Transport { bytes_received, connected: true, .. }) =
        plane.stats("r", "alice/1").await
    else {
        panic!("the transport's stats")
    };
    assert!(bytes_received > 0);
    // The producer closes: its consumer is gone with it, and consuming it is refused.
    plane.close_source("r", "alice/p1");
    assert_eq!(plane.stats("r", "c1").await, Err(MediaError::NotPublishing));
    let consumer = Stream { kind: Kind::Audio, ssrc: 3333, rtx: None };
    let again = plane.consume("r", "bob/1", "c2", "alice/p1", consumer, vec![], false).await;
    assert_eq!(again, Err(MediaError::NotPublishing));
}

#[tokio::test]
async fn bad_parameters_are_refused_and_change_nothing() {
    let plane = plane();
    let bad =
        Dtls { role: DtlsRole::Server, algorithm: "sha-256".into(), fingerprint: "zz".into() };
    let made = plane.create_transport("r", "s", "s/1", codecs(), Some(bad)).await;
    assert!(matches!(made, Err(MediaError::BadParameters(_))), "{made:?}");
    let stream = Stream { kind: Kind::Audio, ssrc: 1, rtx: None };
    let made = plane.produce("r", "s/1", "p", stream, false).await;
    assert_eq!(made, Err(MediaError::NoTransport));
    plane.create_transport("r", "s", "s/1", codecs(), None).await.expect("a transport");
    let again = plane.create_transport("r", "s", "s/1", codecs(), None).await;
    assert!(matches!(again, Err(MediaError::BadParameters(_))), "{again:?}");
    plane.produce("r", "s/1", "p", stream, false).await.expect("it produces");
    let twice = plane.produce("r", "s/1", "p2", stream, false).await;
    assert!(matches!(twice, Err(MediaError::BadParameters(_))), "same SSRC: {twice:?}");
    let restarted = plane.restart_transport("r", "s/1").await.expect("new credentials");
    assert!(!restarted.ufrag.is_empty());
    plane.close_transport("r", "s/1");
    let gone = plane.restart_transport("r", "s/1").await;
    assert_eq!(gone, Err(MediaError::NoTransport));
}

#[tokio::test]
async fn a_transport_whose_dtls_fails_ends_and_says_why_and_a_closed_one_says_closed() {
    let plane = plane();
    let mut client = DirectClient::toward(IpAddr::from([127, 0, 0, 1])).await.expect("a client");
    // The client's DTLS parameters name another certificate than the one it uses.
    let mut other = DirectClient::toward(IpAddr::from([127, 0, 0, 1])).await.expect("a client");
    let wrong = dtls(&mut other, DtlsRole::Server);
    let made = plane.create_transport("r", "s", "s/1", codecs(), Some(wrong)).await;
    let (params, gone) = made.expect("a transport");
    client.connect(&remote(params), false).expect("the client connects");
    let why = tokio::select! {
        why = gone.wait() => why,
        _ = client.run_until(LIMIT, |_| false) => panic!("the transport never ended"),
    };
    assert!(why.starts_with("failed"), "{why}");
    assert_eq!(plane.loads()[0].dtls_failures.load(std::sync::atomic::Ordering::Relaxed), 1);
    let (_, gone) = plane.create_transport("r", "s", "s/2", codecs(), None).await.expect("made");
    plane.close_transport("r", "s/2");
    assert_eq!(gone.wait().await, "closed");
}
