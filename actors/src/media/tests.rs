//! The media plane with real WebRTC clients (str0m, full ICE) on loopback.

use std::{net::IpAddr, time::Duration};

use switchboard_bench::rtc::RtcClient;

use super::{MediaConfig, MediaError, MediaPlane};

fn plane() -> MediaPlane {
    plane_of(2)
}

/// A media plane on loopback with `workers` workers.
pub(super) fn plane_of(workers: usize) -> MediaPlane {
    let config = MediaConfig {
        enabled: true,
        bind: IpAddr::from([127, 0, 0, 1]),
        announce: None,
        port: 0,
        workers,
    };
    MediaPlane::start(&config).expect("the workers start").expect("the plane is on")
}

const LIMIT: Duration = Duration::from_secs(10);

/// Runs `publisher` until `viewer` has received `frames` more frames; whether it did in time.
async fn heard(viewer: &mut RtcClient, publisher: &mut RtcClient, frames: u64) -> bool {
    let target = viewer.seen.frames + frames;
    tokio::select! {
        heard = viewer.run_until(LIMIT, |s| s.frames >= target) => heard,
        _ = publisher.run_until(LIMIT, |_| false) => false,
    }
}

/// Session `pub` of room `r` publishing audio.
async fn publishing(plane: &MediaPlane) -> RtcClient {
    let mut publisher = RtcClient::new().await.expect("a client");
    let answer = plane.publish("r", "pub", publisher.offer_audio()).await.expect("an answer");
    publisher.accept_answer(&answer).expect("the answer applies");
    publisher.start_sending();
    publisher
}

/// Session `name` of room `r` watching `pub`.
async fn watching(plane: &MediaPlane, name: &str) -> RtcClient {
    let mut viewer = RtcClient::new().await.expect("a client");
    let offer = plane.watch("r", name, "pub").await.expect("an offer");
    let answer = viewer.accept_offer(&offer).expect("the offer applies");
    plane.answer("r", name, "pub", answer).await.expect("the answer applies");
    viewer
}

#[tokio::test]
async fn a_publishers_audio_reaches_two_viewers_until_it_leaves() {
    let plane = plane();
    let mut publisher = publishing(&plane).await;
    let mut viewers = vec![watching(&plane, "v1").await, watching(&plane, "v2").await];
    let (v1, v2) = viewers.split_at_mut(1);
    let received = async {
        let (a, b) = tokio::join!(
            v1[0].run_until(LIMIT, |s| s.frames >= 10),
            v2[0].run_until(LIMIT, |s| s.frames >= 10),
        );
        a && b
    };
    let received = tokio::select! {
        received = received => received,
        _ = publisher.run_until(LIMIT, |_| false) => false,
    };
    assert!(received, "both viewers got 10 frames: {viewers:?}");
    assert_eq!(viewers[0].seen.last.len(), 8, "the frame is the publisher's, byte for byte");
    // The publisher leaves: its viewers' connections end at once, not after an ICE timeout.
    plane.leave("r", "pub");
    for viewer in &mut viewers {
        assert!(viewer.run_until(Duration::from_secs(5), |s| s.disconnected).await, "{viewer:?}");
    }
}

#[tokio::test]
async fn refusals_name_what_was_wrong() {
    let plane = plane();
    assert!(matches!(plane.publish("r", "p", "not sdp".into()).await, Err(MediaError::BadSdp(_))));
    assert_eq!(plane.watch("r", "v", "nobody").await, Err(MediaError::NotPublishing));
    assert_eq!(plane.answer("r", "v", "nobody", "v=0".into()).await, Err(MediaError::NoOffer));
}

#[tokio::test]
async fn garbage_and_strangers_on_the_socket_disturb_no_stream() {
    let plane = plane();
    let mut publisher = publishing(&plane).await;
    let mut viewer = watching(&plane, "v").await;
    assert!(heard(&mut viewer, &mut publisher, 5).await);

    // Garbage, truncated STUN, STUN naming no peer here, and DTLS/RTP from a stranger.
    let stranger = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("a socket");
    let check = str0m::ice::StunMessage::binding_request(
        "nobody:here",
        str0m::ice::TransId::new(),
        true,
        0,
        1,
        false,
    );
    let mut stun = vec![0; 512];
    let n = check.to_bytes(Some(b"pw"), &mut stun, |_, _| [0; 20]).expect("it fits");
    stun.truncate(n);
    let junk: [&[u8]; 6] =
        [b"", b"\xff\xfe garbage", &[0u8; 20], &stun, &[22, 254, 253, 0], &[128; 40]];
    for addr in plane.addresses() {
        for datagram in junk {
            for _ in 0..50 {
                stranger.send_to(datagram, addr).await.expect("sent");
            }
        }
    }
    assert!(heard(&mut viewer, &mut publisher, 10).await, "the stream goes on: {viewer:?}");
    let dropped: u64 = plane
        .loads()
        .iter()
        .map(|l| l.dropped_datagrams.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    // The empty datagrams may never reach the worker as datagrams; everything else is dropped.
    assert!(dropped >= 5 * 50 * plane.addresses().len() as u64, "dropped {dropped}");
    assert_eq!(
        plane
            .loads()
            .iter()
            .map(|l| {
                let n =
                    |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
                n(&l.ice_failures) + n(&l.dtls_failures) + n(&l.panics)
            })
            .sum::<u64>(),
        0
    );
}

#[tokio::test]
async fn an_offer_of_a_hundred_m_lines_is_refused() {
    let plane = plane();
    let mut sdp = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    for i in 0..100 {
        sdp.push_str(&format!("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:{i}\r\na=sendonly\r\n"));
    }
    match plane.publish("r", "p", sdp).await {
        Err(MediaError::BadSdp(why)) => assert!(why.contains("100 m-lines"), "{why}"),
        other => panic!("refused as bad SDP, not {other:?}"),
    }
}

#[tokio::test]
async fn a_publishers_data_channel_messages_reach_its_viewer() {
    let plane = plane();
    let mut publisher = RtcClient::new().await.expect("a client");
    let offer = publisher.offer_audio_and_data();
    let answer = plane.publish("r", "pub", offer).await.expect("an answer");
    assert!(answer.contains("m=application"), "the answer takes the data channel: {answer}");
    publisher.accept_answer(&answer).expect("the answer applies");
    publisher.start_sending();
    let mut viewer = watching(&plane, "v").await;
    let heard = tokio::select! {
        heard = viewer.run_until(LIMIT, |s| s.frames >= 10 && s.messages >= 10) => heard,
        _ = publisher.run_until(LIMIT, |_| false) => false,
    };
    assert!(heard, "frames and messages arrived: {viewer:?}");
    let forwarded: u64 = plane
        .loads()
        .iter()
        .map(|l| l.forwarded_messages.load(std::sync::atomic::Ordering::Relaxed))
        .sum();
    assert!(forwarded >= 10, "forwarded {forwarded}");
}

#[tokio::test]
async fn a_new_viewer_gets_video_at_once_and_its_publisher_is_asked_for_a_keyframe() {
    let plane = plane();
    let mut publisher = RtcClient::new().await.expect("a client");
    let answer =
        plane.publish("r", "pub", publisher.offer_audio_and_video()).await.expect("answer");
    publisher.accept_answer(&answer).expect("the answer applies");
    publisher.start_sending();
    assert!(publisher.run_until(LIMIT, |s| s.connected).await, "the publisher connects");
    let asked_before = publisher.seen.keyframe_requests;
    let mut viewer = watching(&plane, "v").await;
    let started = std::time::Instant::now();
    let heard = tokio::select! {
        heard = viewer.run_until(LIMIT, |s| s.video_frames >= 5) => heard,
        _ = publisher.run_until(LIMIT, |_| false) => false,
    };
    assert!(heard, "video arrived: {viewer:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "video within a second: {:?}",
        started.elapsed()
    );
    // The viewer's connection asked the publisher for a keyframe (PLI).
    let asked = publisher.run_until(LIMIT, |s| s.keyframe_requests > asked_before).await;
    assert!(asked, "the publisher was asked for a keyframe: {publisher:?}");
}

#[tokio::test]
async fn datagrams_before_the_viewers_answer_are_kept_and_replayed() {
    let plane = plane();
    let mut publisher = publishing(&plane).await;
    let mut viewer = RtcClient::new().await.expect("a client");
    let offer = plane.watch("r", "v", "pub").await.expect("an offer");
    let answer = viewer.accept_offer(&offer).expect("the offer applies");
    // The viewer checks connectivity at once, before its answer reaches the server, which
    // keeps what arrives meanwhile.
    let early = || -> u64 {
        let load = plane.loads();
        load.iter().map(|l| l.early_datagrams.load(std::sync::atomic::Ordering::Relaxed)).sum()
    };
    assert!(viewer.run_until(LIMIT, |_| early() > 0).await, "the server kept early datagrams");
    plane.answer("r", "v", "pub", answer).await.expect("the answer applies");
    assert!(
        heard(&mut viewer, &mut publisher, 5).await,
        "the viewer connects and hears: {viewer:?}"
    );
}
