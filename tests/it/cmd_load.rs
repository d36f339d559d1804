//! Load correctness: 500 clients register and call in pairs concurrently; every forwarded
//! message arrives exactly once and in send order.

use std::sync::Arc;

use serde_json::json;

use crate::support::{client::Rx, client::Tx, Client, Node};

const PAIRS: usize = 250;
const CANDIDATES: u64 = 40;

/// Sends `CANDIDATES` numbered candidates while receiving the other side's, checking that each
/// arrives exactly once, in order.
async fn exchange(tx: &mut Tx, rx: &mut Rx, session: &str, from: &str) {
    let send = async {
        for seq in 0..CANDIDATES {
            let ice = json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": {"seq": seq, "from": from}});
            tx.send(ice).await;
        }
    };
    let recv = async {
        for seq in 0..CANDIDATES {
            let message = rx.expect("icecandidate").await;
            assert_eq!(message["icecandidate"]["seq"], seq, "{message}");
            assert_ne!(message["icecandidate"]["from"], from);
        }
    };
    tokio::join!(send, recv);
}

/// Pair `i`: two clients connect to `url` (a node, or a balancer in front of several), call,
/// exchange ICE both ways, and hang up; every message is checked to arrive once, in order.
pub(crate) async fn pair(url: Arc<String>, i: usize) {
    let mut a = Client::register_url(&url, &format!("a{i}")).await;
    let mut b = Client::register_url(&url, &format!("b{i}")).await;
    a.send(json!({"cmd": "session", "opponentId": b.name})).await;
    let session = a.expect_skipping_clu("session").await["sessionId"].as_str().unwrap().to_owned();
    let ssu = |state: u8| json!({"cmd": "ssu", "sessionId": session, "state": state});
    assert_eq!(a.expect("ssu").await, ssu(1));
    assert_eq!(b.recv_skipping_clu().await, ssu(1));

    a.send(json!({"cmd": "call", "sessionId": session, "offer": {"sdp": format!("offer {i}")}}))
        .await;
    assert_eq!(b.expect("call").await["offer"], json!({"sdp": format!("offer {i}")}));
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, ssu(2));
    }
    b.send(
        json!({"cmd": "accept", "sessionId": session, "answer": {"sdp": format!("answer {i}")}}),
    )
    .await;
    assert_eq!(a.expect("accept").await["answer"], json!({"sdp": format!("answer {i}")}));
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, ssu(3));
    }

    let (a_name, b_name) = (a.name.clone(), b.name.clone());
    {
        let (atx, arx) = a.split();
        let (btx, brx) = b.split();
        tokio::join!(exchange(atx, arx, &session, &a_name), exchange(btx, brx, &session, &b_name));
    }

    b.send(json!({"cmd": "stop", "sessionId": session})).await;
    assert_eq!(a.expect("stop").await["opponentId"], b_name.as_str());
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await, ssu(4));
        // Exactly once: nothing but rosters is left for either side.
        c.expect_nothing_but_clu_pending().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_clients_call_in_pairs_and_every_message_arrives_once_in_order() {
    // The test clients are not browsers: each half of a pair reads only when its step needs it,
    // so they would miss pongs under load. Liveness is tested elsewhere.
    let node = Node::with_args(&["--ping-interval-ms", "600000"]);
    let url = Arc::new(node.ws("/cmd"));
    let tasks: Vec<_> = (0..PAIRS).map(|i| tokio::spawn(pair(url.clone(), i))).collect();
    for task in tasks {
        task.await.expect("pair completed");
    }
}

/// Reads `count` candidates numbered from 0, all from `from`, in order.
async fn receive(rx: &mut Rx, from: &str, count: u64) {
    for seq in 0..count {
        let message = rx.expect("icecandidate").await;
        assert_eq!(message["icecandidate"]["seq"], seq, "{message}");
        assert_eq!(message["icecandidate"]["from"], from);
    }
}

/// Bursts within each sender's allowance (900 ICE candidates of a burst of 1,000, far past the
/// per-client queue of 256), sent by both sides of a call at once in one write each: every
/// candidate arrives once, in order, and neither receiver is closed as a slow consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_bursts_within_the_rate_limit_never_close_a_reading_peer() {
    const BURST: u64 = 900;
    let node = Node::with_args(&["--ping-interval-ms", "600000"]);
    let mut a = Client::register(&node, "a").await;
    let mut b = Client::register(&node, "b").await;
    let session = crate::support::client::open_session(&mut a, &mut b).await;
    a.send(json!({"cmd": "call", "sessionId": session, "offer": {"sdp": "v=0"}})).await;
    b.expect("call").await;
    for c in [&mut a, &mut b] {
        assert_eq!(c.expect("ssu").await["state"], 2);
    }
    let burst = |from: &str| -> Vec<String> {
        (0..BURST)
            .map(|seq| {
                let line =
                    format!("candidate:{seq} 1 udp 2122260223 10.0.0.1 {} typ host", 40000 + seq);
                let ice = json!({"candidate": line, "seq": seq, "from": from});
                json!({"cmd": "icecandidate", "sessionId": session, "icecandidate": ice})
                    .to_string()
            })
            .collect()
    };
    let (from_a, from_b) = (burst("a"), burst("b"));
    let a_frames: Vec<&str> = from_a.iter().map(String::as_str).collect();
    let b_frames: Vec<&str> = from_b.iter().map(String::as_str).collect();
    let (atx, arx) = a.split();
    let (btx, brx) = b.split();
    tokio::join!(
        atx.send_batch(&a_frames),
        btx.send_batch(&b_frames),
        receive(brx, "a", BURST),
        receive(arx, "b", BURST),
    );
    for c in [&mut a, &mut b] {
        c.expect_nothing_but_clu_pending().await;
    }
}
