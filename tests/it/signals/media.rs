//! `m2m` and `a2m` rooms through the embedded media plane, with real WebRTC clients (str0m,
//! full ICE) sending and receiving Opus: on one node, and on three nodes behind nginx where
//! each session signals through another node than the room's home and media goes to the home.

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_bench::rtc::RtcClient;

use super::{on_one_node_and_three, signal, to, Place};
use crate::support::Client;

/// Clients here do not heartbeat: a long timeout. Media is announced on loopback.
const ARGS: [&str; 4] =
    ["--signals-heartbeat-timeout-ms", "60000", "--media-announce-ip", "127.0.0.1"];

const LIMIT: Duration = Duration::from_secs(10);

on_one_node_and_three!(a_publisher_reaches_two_viewers_until_it_leaves_in_m2m, ARGS);
on_one_node_and_three!(an_a2m_viewer_promoted_to_publisher_is_watched, ARGS);

/// A signal `s` of `user` (session `<user>1`) in room `rid` of channel `ch`.
fn media(ch: &str, rid: &str, s: &str, user: &str, extra: Value) -> Value {
    let mut value = super::data(s, user, &format!("{user}1"), extra);
    value["ch"] = json!(ch);
    value["rid"] = json!(rid);
    value
}

/// The `a=ice-ufrag` of an SDP.
fn ufrag(sdp: &str) -> &str {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:")).expect("a ufrag")
}

/// Publishes `client`'s audio as `user` in room `rid`: its OFFER is answered by the server.
/// Returns the client and the server's answer.
async fn publish(session: &mut Client, ch: &str, rid: &str, user: &str) -> (RtcClient, String) {
    let mut rtc = RtcClient::new().await.expect("a WebRTC client");
    let offer = json!({"sdp": rtc.offer_audio()});
    signal(session, "offer", media(ch, rid, "OFFER", user, offer)).await;
    let ack = super::recv_skipping_lists(session).await;
    assert_eq!((ack["c"].as_u64(), ack["s"].as_str()), (Some(200), Some("OFFER")), "{ack}");
    assert_eq!(ack["b"]["rid"], rid);
    let answer = ack["b"]["sdp"].as_str().expect("an SDP answer");
    assert!(answer.contains("a=ice-lite"), "the server is ICE-lite: {answer}");
    rtc.accept_answer(answer).expect("the answer applies");
    rtc.start_sending();
    (rtc, answer.to_owned())
}

/// `viewer` (as `user`) watches `publisher`'s session in room `rid`: the server's offer, the
/// viewer's answer, and a trickled mDNS candidate the server accepts and ignores.
async fn watch(
    session: &mut Client,
    ch: &str,
    rid: &str,
    user: &str,
    publisher: &str,
) -> RtcClient {
    signal(session, "watch", media(ch, rid, "WATCH", user, to(publisher))).await;
    let ack = super::recv_skipping_lists(session).await;
    assert_eq!((ack["c"].as_u64(), ack["s"].as_str()), (Some(200), Some("WATCH")), "{ack}");
    let pps = ack["b"]["pps"].as_array().expect("a list");
    assert_eq!((pps.len(), pps[0]["id"].as_str()), (1, Some(publisher)), "{ack}");
    let mut rtc = RtcClient::new().await.expect("a WebRTC client");
    let answer = rtc.accept_offer(pps[0]["sdp"].as_str().expect("an SDP offer")).expect("offer");
    let mut extra = to(publisher);
    extra["sdp"] = json!(answer);
    signal(session, "answer", media(ch, rid, "ANSWER", user, extra)).await;
    let mut ice = to(publisher);
    ice["sdp"] = json!("candidate:1 1 udp 2122260223 3f2a1c.local 50000 typ host");
    signal(session, "iceCandidate", media(ch, rid, "ICE", user, ice)).await;
    // Neither the answer nor the candidate is refused: the next ack is the heartbeat's.
    let beat = json!({"bid": "b1", "send_ack": true});
    signal(session, "heartbeat", media(ch, rid, "HEARTBEAT", user, beat)).await;
    let ack = super::recv_skipping_lists(session).await;
    assert_eq!(
        (ack["s"].as_str(), ack["b"]["bid"].as_str()),
        (Some("HEARTBEAT"), Some("b1")),
        "{ack}"
    );
    rtc
}

/// The sum of the series named `prefix` in a metrics text.
fn sum(metrics: &str, prefix: &str) -> u64 {
    let values = metrics.lines().filter_map(|l| l.strip_prefix(prefix)?.split(' ').nth(1));
    values.map(|v| v.parse::<u64>().expect("a count")).sum()
}

/// Runs `publisher` until each of `viewers` has received `frames` frames of its audio.
async fn until_heard(publisher: &mut RtcClient, viewers: &mut [RtcClient], frames: u64) {
    let heard = async {
        let runs = viewers.iter_mut().map(|v| v.run_until(LIMIT, |s| s.frames >= frames));
        futures_util::future::join_all(runs).await.into_iter().all(|ok| ok)
    };
    let heard = tokio::select! {
        heard = heard => heard,
        _ = publisher.run_until(LIMIT, |_| false) => false,
    };
    assert!(heard, "every viewer heard {frames} frames: {viewers:?}");
}

async fn a_publisher_reaches_two_viewers_until_it_leaves_in_m2m(place: &Place) {
    let (mut o, mut v, mut w) =
        (place.session().await, place.session().await, place.session().await);
    let create = json!({"op": {"roomCreating": true}});
    signal(&mut o, "join", media("m2m", "m1", "JOIN", "o", create)).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    for (session, user) in [(&mut v, "v"), (&mut w, "w")] {
        signal(session, "join", media("m2m", "m1", "JOIN", user, json!({}))).await;
        assert_eq!(session.recv().await["b"]["pt"], "viewer");
    }
    let (mut publisher, first) = publish(&mut o, "m2m", "m1", "o").await;
    let mut viewers = vec![
        watch(&mut v, "m2m", "m1", "v", "o").await,
        watch(&mut w, "m2m", "m1", "w", "o").await,
    ];
    until_heard(&mut publisher, &mut viewers, 10).await;
    assert_eq!(viewers[0].seen.last.len(), 8, "the publisher's frame, byte for byte");

    // The publisher restarts ICE on its uplink: new credentials both ways, the stream goes on.
    let restart = json!({"sdp": publisher.restart_ice(), "op": {"restarting": true}});
    signal(&mut o, "offer", media("m2m", "m1", "OFFER", "o", restart)).await;
    let ack = super::recv_skipping_lists(&mut o).await;
    assert_eq!((ack["c"].as_u64(), ack["s"].as_str()), (Some(200), Some("OFFER")), "{ack}");
    let answer = ack["b"]["sdp"].as_str().expect("an answer");
    assert_ne!(ufrag(answer), ufrag(&first), "the server's side restarted too");
    publisher.accept_answer(answer).expect("it applies");
    let before: Vec<u64> = viewers.iter().map(|v| v.seen.frames).collect();
    until_heard(&mut publisher, &mut viewers, before.iter().max().unwrap_or(&0) + 25).await;
    // The home node counts its peer connections and what it forwarded.
    let (mut peers, mut frames) = (0, 0);
    for node in place.nodes() {
        let (_, text) = node.get("/metrics").await;
        peers += sum(&text, "switchboard_media_peer_connections{");
        frames += sum(&text, "switchboard_media_forwarded_frames_total{");
    }
    assert_eq!(peers, 3, "one uplink, two downlinks");
    assert!(frames >= 2 * 25, "forwarded {frames} frames");

    // A viewer joining now finds the publisher's offer in its JOIN ack (PROTOCOLS.md §2.2).
    let mut x = place.session().await;
    signal(&mut x, "join", media("m2m", "m1", "JOIN", "x", json!({}))).await;
    let ack = x.recv().await;
    let offer = ack["b"]["pps"][0]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {ack}"));
    let mut late = RtcClient::new().await.expect("a WebRTC client");
    let mut answer = to("o");
    answer["sdp"] = json!(late.accept_offer(offer).expect("the offer applies"));
    signal(&mut x, "answer", media("m2m", "m1", "ANSWER", "x", answer)).await;
    viewers.push(late);
    until_heard(&mut publisher, &mut viewers[2..], 10).await;

    // The publisher leaves: its viewers' connections end at once (a DTLS close), not after
    // an ICE timeout.
    signal(&mut o, "leave", media("m2m", "m1", "LEAVE", "o", json!({}))).await;
    for viewer in &mut viewers {
        let ended = viewer.run_until(Duration::from_secs(3), |s| s.disconnected).await;
        assert!(ended, "the viewer's connection ended: {viewer:?}");
    }
}

async fn an_a2m_viewer_promoted_to_publisher_is_watched(place: &Place) {
    let (mut o, mut v) = (place.session().await, place.session().await);
    let create = json!({"op": {"roomCreating": true}});
    signal(&mut o, "join", media("a2m", "a1", "JOIN", "o", create)).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    signal(&mut v, "join", media("a2m", "a1", "JOIN", "v", json!({}))).await;
    assert_eq!(v.recv().await["b"]["pt"], "viewer");
    // A viewer may not publish until the owner accepts its request.
    let mut rtc = RtcClient::new().await.expect("a WebRTC client");
    let offer = json!({"sdp": rtc.offer_audio()});
    signal(&mut v, "offer", media("a2m", "a1", "OFFER", "v", offer)).await;
    assert_eq!(v.recv().await["c"], 4051);
    signal(&mut v, "publishRequest", media("a2m", "a1", "PUBLISH_REQUEST", "v", json!({}))).await;
    assert_eq!(o.recv().await["s"], "PUBLISH_REQUEST");
    signal(&mut o, "publishAccept", media("a2m", "a1", "PUBLISH_ACCEPT", "o", to("v"))).await;
    assert_eq!(v.recv().await["s"], "PUBLISH_ACCEPT");
    // Now it publishes and the owner watches it; HLS forwarding is refused as unsupported.
    let hls = json!({"sdp": "v=0", "op": {"hlsForwarding": true}});
    signal(&mut v, "offer", media("a2m", "a1", "OFFER", "v", hls)).await;
    assert_eq!(super::recv_skipping_lists(&mut v).await["c"], 2002);
    let (mut publisher, _) = publish(&mut v, "a2m", "a1", "v").await;
    let mut viewers = vec![watch(&mut o, "a2m", "a1", "o", "v").await];
    until_heard(&mut publisher, &mut viewers, 10).await;
    // The publisher disconnects: its viewer's connection ends at once.
    drop(v);
    let ended = viewers[0].run_until(Duration::from_secs(3), |s| s.disconnected).await;
    assert!(ended, "the viewer's connection ended: {viewers:?}");
}

#[tokio::test]
async fn a_media_room_whose_home_dies_gets_its_media_back_on_its_new_home() {
    let mut place = Place::three(&ARGS);
    // o creates the room (homed on o's node); p publishes from another node, v watches from
    // the third.
    let mut o = place.session().await;
    let create = json!({"op": {"roomCreating": true}});
    signal(&mut o, "join", media("m2m", "m1", "JOIN", "o", create)).await;
    assert_eq!(o.recv().await["b"]["pt"], "publisher");
    let home = o.node.clone();
    let mut p = place.session_avoiding(&[home.as_str()]).await;
    super::cluster::promote("p", &mut p, ("o", &mut o), &["o", "p"]).await;
    let mut v = place.session_avoiding(&[home.as_str(), p.node.as_str()]).await;
    signal(&mut v, "join", media("m2m", "m1", "JOIN", "v", json!({}))).await;
    assert_eq!(v.recv().await["b"]["pt"], "viewer");
    let (mut publisher, _) = publish(&mut p, "m2m", "m1", "p").await;
    let mut viewers = vec![watch(&mut v, "m2m", "m1", "v", "p").await];
    until_heard(&mut publisher, &mut viewers, 10).await;

    // The home dies: the others hear o is gone within 5 s, as in any room.
    let killed = std::time::Instant::now();
    place.kill9(&home);
    super::list_becomes(&mut p, &["p"]).await;
    super::list_becomes(&mut v, &["p"]).await;
    assert!(killed.elapsed() < Duration::from_secs(5), "told after {:?}", killed.elapsed());
    // Publishing again creates the room's media on its new home, and watching works again.
    let (mut publisher, _) = publish(&mut p, "m2m", "m1", "p").await;
    let mut viewers = vec![watch(&mut v, "m2m", "m1", "v", "p").await];
    until_heard(&mut publisher, &mut viewers, 10).await;
}
