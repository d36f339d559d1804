//! The media plane with real WebRTC clients (str0m, full ICE) on loopback.

use std::{net::IpAddr, time::Duration};

use switchboard_bench::rtc::RtcClient;

use super::{MediaConfig, MediaError, MediaPlane};

fn plane() -> MediaPlane {
    let config = MediaConfig {
        enabled: true,
        bind: IpAddr::from([127, 0, 0, 1]),
        announce: None,
        port: 0,
        workers: 2,
    };
    MediaPlane::start(&config).expect("the workers start").expect("the plane is on")
}

const LIMIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_publishers_audio_reaches_two_viewers_until_it_leaves() {
    let plane = plane();
    let mut publisher = RtcClient::new().await.expect("a client");
    let answer = plane.publish("r", "pub", publisher.offer_audio()).await.expect("an answer");
    publisher.accept_answer(&answer).expect("the answer applies");
    publisher.start_sending();
    let mut viewers = Vec::new();
    for name in ["v1", "v2"] {
        let mut viewer = RtcClient::new().await.expect("a client");
        let offer = plane.watch("r", name, "pub").await.expect("an offer");
        let answer = viewer.accept_offer(&offer).expect("the offer applies");
        plane.answer("r", name, "pub", answer).await.expect("the answer applies");
        viewers.push(viewer);
    }
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
