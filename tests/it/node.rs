//! The node as an operator sees it: health, readiness, metrics, limits, liveness.

use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    client::Ended,
    node::{http_get, http_post},
    raw, Client, Node,
};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let node = Node::start();
    assert_eq!(node.get("/healthz").await.0, 200);
    assert_eq!(node.get("/readyz").await.0, 200);
    let _a = Client::register(&node, "a").await;
    let (status, body) = node.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("switchboard_connections_open 1"), "{body}");
    assert!(body.contains("switchboard_connections_total 1"), "{body}");
}

#[tokio::test]
async fn clients_beyond_the_limit_are_refused_and_readiness_says_full() {
    let node = Node::with_args(&["--max-clients", "2"]);
    let _a = Client::register(&node, "a").await;
    let _b = Client::register(&node, "b").await;
    let refused = tokio_tungstenite::connect_async(node.ws("/cmd")).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
        panic!("third client should be refused: {refused:?}");
    };
    assert_eq!(response.status(), 503);
    assert_eq!(node.get("/readyz").await.0, 503);
}

/// Connects `/cmd` clients until one is refused; returns the admitted ones and the refusal's
/// HTTP status. Any other failure (a reset, a timeout: the node out of descriptors) fails.
async fn fill(node: &Node, most: usize) -> (Vec<impl Sized>, u16) {
    let mut admitted = Vec::new();
    while admitted.len() <= most {
        let attempt = tokio_tungstenite::connect_async(node.ws("/cmd"));
        let Ok(attempt) = tokio::time::timeout(crate::support::PATIENCE, attempt).await else {
            panic!("client {} got no answer", admitted.len() + 1);
        };
        match attempt {
            Ok((ws, _)) => admitted.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                return (admitted, response.status().as_u16())
            }
            Err(e) => panic!("client {} failed: {e}", admitted.len() + 1),
        }
    }
    panic!("more than {most} clients admitted");
}

/// The metric `name`'s value from `/metrics`.
async fn metric(node: &Node, name: &str) -> u64 {
    let body = node.get("/metrics").await.1;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

/// With the usual container limit of open files far below `max_clients`, the node admits only
/// what its descriptors hold beside its own needs: the next client gets 503 (never a reset or
/// an accept error), health checks still answer, and readiness says full.
#[tokio::test]
async fn a_low_open_file_limit_caps_clients_with_503_before_descriptors_run_out() {
    let node = Node::with_open_files(300, 300, &["--workers", "2"]);
    let warning = node.logged_at_start("open files hold only").expect("a warning at start");
    assert!(warning.contains("WARN"), "{warning}");
    let cap = metric(&node, "switchboard_max_clients").await;
    assert_eq!(metric(&node, "switchboard_open_files_limit").await, 300);
    assert!(cap > 100 && cap < 300, "capacity {cap} for 300 open files");
    let (admitted, status) = fill(&node, 300).await;
    assert_eq!((admitted.len() as u64, status), (cap, 503));
    // Still answering plain HTTP, and honest about being full.
    assert_eq!(node.get("/healthz").await.0, 200);
    assert_eq!(node.get("/readyz").await, (503, "full\n".into()));
    let (_, again) = fill(&node, 0).await;
    assert_eq!(again, 503);
}

/// The node raises its soft open-file limit to the hard limit at start, so a low soft limit
/// does not cap clients that the hard limit can hold.
#[tokio::test]
async fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
    let node = Node::with_open_files(256, 4096, &["--max-clients", "400"]);
    assert_eq!(metric(&node, "switchboard_open_files_limit").await, 4096);
    let (admitted, status) = fill(&node, 400).await;
    assert_eq!((admitted.len(), status), (400, 503));
}

#[tokio::test]
async fn a_client_that_stops_answering_pings_is_closed_and_released() {
    let node = Node::with_args(&["--ping-interval-ms", "200"]);
    let mut watcher = Client::register(&node, "watcher").await;
    // A raw TCP client that completes the handshake, registers, then never reads again: its
    // pongs never come.
    use tokio::io::AsyncWriteExt;
    let mut tcp = raw::upgraded(&node, "/cmd").await;
    tcp.write_all(&raw::masked_text(br#"{"cmd":"sId","sId":"mute"}"#)).await.unwrap();
    watcher.clu_until(|l| l.iter().any(|e| e["sId"] == "mute")).await;
    // Two ping intervals later it is gone, and everyone is told.
    watcher.clu_until(|l| l.iter().all(|e| e["sId"] != "mute")).await;
    node.wait_for_log("no pong since the last ping");
}

#[tokio::test]
async fn a_slow_consumer_is_closed_with_1008_and_others_are_unaffected() {
    let node = Node::with_args(&[
        "--outbound-queue",
        "16",
        "--rate-per-sec",
        "0",
        "--ping-interval-ms",
        "60000",
    ]);
    let mut fast = Client::register(&node, "fast").await;
    let slow = Client::register(&node, "slow").await;
    // `slow` never reads; `fast` notifies it until its queue overflows.
    let big = "x".repeat(8000);
    let mut sent = 0;
    let code = loop {
        fast.send(json!({"cmd": "notify", "opponentId": "slow", "type": big})).await;
        sent += 1;
        assert!(sent < 100_000, "slow consumer never detected");
        // Each notify is answered only on failure; probe for one cheaply every 64 sends.
        if sent % 64 == 0 {
            fast.send(json!({"cmd": "no-such-cmd"})).await;
            let answer = fast.recv_skipping_clu().await;
            if answer != json!({"cmd": "error", "code": 9002}) {
                break answer["code"].as_u64().unwrap();
            }
            // The probe's own answer may come after the failure reports; drain it.
        }
    };
    // The first failure is the notify that found the queue full: 9400. Later ones find the
    // client closing (9401) or gone (9301); then comes the probe's 9002.
    assert_eq!(code, 9400);
    loop {
        let answer = fast.recv_skipping_clu().await;
        match answer["code"].as_u64() {
            Some(9002) => break,
            Some(9400 | 9401 | 9301) => {}
            _ => panic!("unexpected {answer}"),
        }
    }
    node.wait_for_log("outbound queue full, closing slow consumer");
    fast.clu_until(|l| l.iter().all(|e| e["sId"] != "slow")).await;
    drop(slow);
    // The fast client still works.
    let mut other = Client::register(&node, "other").await;
    fast.send(json!({"cmd": "notify", "opponentId": "other", "type": "hi"})).await;
    assert_eq!(other.recv_skipping_clu().await["cmd"], "notify");
}

#[tokio::test]
async fn client_close_handshake_is_answered() {
    let node = Node::start();
    let mut a = Client::register(&node, "a").await;
    a.send_message(Message::Close(None)).await;
    // The node answers the close handshake with a close frame, not a dropped socket.
    assert!(matches!(a.expect_end().await, Ended::Close(_)));
}

#[tokio::test]
async fn the_probe_flag_is_a_health_check() {
    let node = Node::start();
    let port = node.addr.port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let probe = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["--listen", &listen, "--probe", path])
            .output()
            .expect("the binary runs")
            .status
    };
    assert!(probe("/healthz").success());
    assert!(!probe("/nowhere").success());
    drop(node);
    assert!(!probe("/healthz").success());
}

/// A node told to listen on one address (not every interface) is probed there.
#[tokio::test]
async fn the_probe_targets_the_address_the_node_listens_on() {
    let node = Node::listening_on("127.0.0.2:0", &[]);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--listen", &node.addr.to_string(), "--probe", "/healthz"])
        .output()
        .expect("the binary runs")
        .status;
    assert!(status.success());
}

#[tokio::test]
async fn a_node_whose_redis_is_unreachable_is_alive_but_not_ready() {
    let dir = crate::support::Scratch::new("no-redis");
    let url = format!("redis+unix://{}/absent.sock", dir.path().display());
    let node = Node::with_args(&["--redis-url", &url]);
    node.wait_for_log("cannot reach redis");
    assert_eq!(node.get("/healthz").await.0, 200);
    assert_eq!(node.get("/readyz").await, (503, "cluster unreachable\n".into()));
    assert!(node.get("/metrics").await.1.contains("switchboard_cluster_up 0"));
    // Names are cluster-wide: with no cluster to ask, a registration is refused clearly.
    let mut a = Client::connect(&node).await;
    a.send(json!({"cmd": "sId", "sId": "a"})).await;
    a.expect_error(9400).await;
}

/// Socket.IO WebSockets (both protocol revisions) and polling sessions count against
/// `max_clients` exactly as `/cmd` clients do, even when they all arrive at once.
#[tokio::test]
async fn socket_io_clients_arriving_together_stop_exactly_at_the_limit() {
    let node = Node::with_args(&["--max-clients", "20"]);
    let attempts = (0..60).map(|i| {
        let url = node.ws(&format!("/socket.io/?EIO={}&transport=websocket", 3 + i % 2));
        async move { tokio_tungstenite::connect_async(url).await.map(|(ws, _)| ws) }
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut admitted = Vec::new();
    for result in results {
        match result {
            Ok(ws) => admitted.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 503),
            Err(e) => panic!("neither admitted nor refused: {e}"),
        }
    }
    assert_eq!(admitted.len(), 20);
    assert_eq!(metric(&node, "switchboard_connections_open").await, 20);
    let (status, _) = http_get(node.addr, "/socket.io/?EIO=4&transport=polling").await.unwrap();
    assert_eq!(status, 503, "a polling handshake too");
    drop(admitted);
    // Every place comes back once the sockets are gone.
    node.wait_for_status("/readyz", 200).await;
}

/// Polling handshakes whose client never comes back (a flood from one address) hold at most
/// `pending_per_address` places, each for the handshake timeout: WebSocket clients still get
/// in, and a client that comes back frees its address's share.
#[tokio::test]
async fn abandoned_polling_handshakes_cannot_take_every_place() {
    let node = Node::with_args(&[
        "--max-clients",
        "10",
        "--pending-per-address",
        "4",
        "--eio-handshake-timeout-ms",
        "2000",
    ]);
    let mut sids = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let (status, body) =
            http_get(node.addr, "/socket.io/?EIO=4&transport=polling").await.unwrap();
        statuses.push(status);
        if status == 200 {
            let open: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
            sids.push(open["sid"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    let _ws = Client::register(&node, "still-welcome").await;
    // One client comes back: its address may open another session.
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={}", sids[0]);
    assert_eq!(http_post(node.addr, &path, "40").await.unwrap(), (200, "ok".into()));
    assert_eq!(http_get(node.addr, "/socket.io/?EIO=4&transport=polling").await.unwrap().0, 200);
    // The abandoned ones end at the handshake timeout: the WebSocket client and the session
    // whose client came back are all that is left.
    let deadline = tokio::time::Instant::now() + crate::support::PATIENCE;
    while metric(&node, "switchboard_connections_open").await != 2 {
        assert!(tokio::time::Instant::now() < deadline, "abandoned sessions still open");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(http_get(node.addr, &path).await.unwrap().0, 200, "the confirmed session lives");
}
