//! `m2m` and `a2m` media in headless Chromium (Debian's `chromium`, driven by playwright-core
//! from `tests/js/media-browser.js`): a publisher page's WebAudio tone reaches a viewer page
//! and a Rust viewer (str0m) through the media plane, on one node and on two clustered nodes
//! behind nginx with the two pages on different nodes; when the publisher leaves, the viewer
//! page's connection is closed at once.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};
use switchboard_bench::rtc::RtcClient;

use crate::support::{browser_clients, scratch::tool, Client, KillOnDrop, Nginx, Node, Redis};

const ARGS: [&str; 2] = ["--signals-heartbeat-timeout-ms", "60000"];

/// A Rust viewer of the page's publisher in `room` of channel `ch`, through `url`: it hears
/// the tone too.
async fn rust_viewer(url: &str, ch: &str, room: &str) {
    let mut session = Client::connect_url(url).await;
    let signal = |action: &str, s: &str, extra: Value| {
        let mut data = json!({"s": s, "ch": ch, "rid": room, "ss": super::ss("rust", "rust1")});
        data.as_object_mut()
            .expect("an object")
            .extend(extra.as_object().cloned().unwrap_or_default());
        json!({"action": action, "data": data})
    };
    let to = json!({"to": {"userId": "pub", "sessionId": "pub1"}});
    session.send(signal("join", "JOIN", json!({}))).await;
    assert_eq!(super::recv_skipping_lists(&mut session).await["b"]["pt"], "viewer");
    session.send(signal("watch", "WATCH", to.clone())).await;
    let ack = super::recv_skipping_lists(&mut session).await;
    let offer = ack["b"]["pps"][0]["sdp"].as_str().unwrap_or_else(|| panic!("an offer: {ack}"));
    // The nodes announce this host's address (their default), not loopback.
    let (mut rtc, sdp) = RtcClient::answering(offer).await.expect("a WebRTC client answers");
    let mut answer = to;
    answer["sdp"] = json!(sdp);
    session.send(signal("answer", "ANSWER", answer)).await;
    let heard = rtc.run_until(Duration::from_secs(10), |s| s.frames >= 50).await;
    assert!(heard, "the Rust viewer heard Chromium's tone: {rtc:?}");
}

/// Runs the driver in channel `ch` with the pages' URL `url` (`apart`: on different nodes),
/// a Rust viewer joining while the page publishes; the driver's figures.
async fn drive(url: &str, apart: bool, ch: &str) -> Value {
    let dir = browser_clients();
    let child = Command::new(tool("node"))
        .args(["media-browser.js", url, url, if apart { "1" } else { "0" }, ch])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    // Whatever fails below, the driver and its browser do not outlive the test.
    let mut child = KillOnDrop(child);
    let mut stdin = child.0.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.0.stdout.take().expect("stdout")).lines();
    let mut next = || -> Value {
        let line = lines.next().and_then(Result::ok).unwrap_or_default();
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("the browser test failed: {line:?}"))
    };
    let published = tokio::task::block_in_place(&mut next);
    rust_viewer(url, ch, published["room"].as_str().expect("the room")).await;
    writeln!(stdin, "go").expect("the driver reads on");
    drop(stdin);
    let figures = tokio::task::block_in_place(next);
    assert!(child.0.wait().expect("the driver ends").success(), "{figures}");
    assert!(figures["heard"].as_u64() >= Some(50), "{figures}");
    figures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_to_chromium_and_rust_through_one_node() {
    let node = Node::with_args(&ARGS);
    let url = node.ws("/signals");
    for ch in ["m2m", "a2m"] {
        let figures = drive(&url, false, ch).await;
        eprintln!("{ch} on one node: {figures}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_publishes_to_chromium_and_rust_across_two_nodes_behind_nginx() {
    let redis = Redis::start();
    let nodes = [Node::clustered(&redis, "n1", &ARGS), Node::clustered(&redis, "n2", &ARGS)];
    let nginx = Nginx::start(&nodes.iter().collect::<Vec<_>>());
    let url = nginx.ws("/signals");
    for ch in ["m2m", "a2m"] {
        let figures = drive(&url, true, ch).await;
        assert!(figures["publisherNode"].is_string(), "{figures}");
        assert_ne!(figures["publisherNode"], figures["viewerNode"], "{figures}");
        eprintln!("{ch} across two nodes: {figures}");
    }
}
