//! mediasoup-client 2.4.12 over protoo-client 3.0.3 (from npm) in headless Chromium (Debian's
//! `chromium`, driven by playwright-core from `tests/js/mediasoup-browser.js`): a producer
//! page's WebAudio tone and canvas video (VP8) reach a consumer page, which decodes the
//! video, through the media plane, on one node and on
//! two clustered nodes behind nginx with the two pages on different nodes; the server's stats
//! reports reach the producer and the consumer; closing the producer closes the consumer, and
//! leaving closes the peer.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{browser_clients, scratch::tool, KillOnDrop, Nginx, Node, Redis};

/// Runs the driver with the pages' base URL `base` (`apart`: on different nodes); its figures.
fn drive(base: &str, apart: bool) -> Value {
    let child = Command::new(tool("node"))
        .args(["mediasoup-browser.js", base, base, if apart { "1" } else { "0" }])
        .current_dir(browser_clients())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs");
    let mut child = KillOnDrop(child);
    let status = child.0.wait().expect("the driver ends");
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().expect("stdout"), &mut stdout)
        .expect("its output");
    let line = stdout.lines().last().unwrap_or_default();
    assert!(status.success(), "the browser test failed: {stdout}");
    let figures: Value = serde_json::from_str(line).expect("one JSON line of figures");
    assert!(figures["heard"].as_u64() >= Some(50), "{figures}");
    assert!(figures["decoded"].as_u64() >= Some(25), "{figures}");
    assert_eq!(figures["handler"], "chrome", "{figures}");
    // The server's stats reports, as mediasoup-client hands them to the app, counted packets.
    assert!(figures["producerReported"].as_u64() > Some(0), "{figures}");
    assert!(figures["consumerReported"].as_u64() > Some(0), "{figures}");
    figures
}

#[test]
fn mediasoup_client_in_chromium_produces_and_consumes_audio_and_video_through_one_node() {
    let node = Node::with_args(&super::ARGS);
    let figures = drive(&node.ws(""), false);
    eprintln!("mediasoup-client on one node: {figures}");
}

#[test]
fn mediasoup_client_in_chromium_produces_and_consumes_audio_and_video_across_two_nodes_behind_nginx(
) {
    let redis = Redis::start();
    let nodes =
        [Node::clustered(&redis, "n1", &super::ARGS), Node::clustered(&redis, "n2", &super::ARGS)];
    let nginx = Nginx::start(&nodes.iter().collect::<Vec<_>>());
    let figures = drive(&nginx.ws(""), true);
    assert_ne!(figures["producerNode"], figures["consumerNode"], "{figures}");
    eprintln!("mediasoup-client across two nodes: {figures}");
}
