//! `m2m` media in headless Chromium (Debian's `chromium`, driven by playwright-core from
//! `tests/js/media-browser.js`): a publisher page's WebAudio tone reaches a viewer page through
//! the media plane, on one node and on two clustered nodes behind nginx with the two pages on
//! different nodes; when the publisher leaves, the viewer's connection is closed at once.

use std::process::Command;

use serde_json::Value;

use crate::support::{scratch::tool, Nginx, Node, Redis};

const ARGS: [&str; 2] = ["--signals-heartbeat-timeout-ms", "60000"];

/// Runs the driver with the publisher's and the viewer's URLs; its figures.
fn drive(publisher: &str, viewer: &str, apart: bool) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    assert!(
        std::path::Path::new(dir).join("node_modules/playwright-core").is_dir()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "playwright-core or chromium is missing: run ./.ci/test (it installs both)"
    );
    let output = Command::new(tool("node"))
        .args(["media-browser.js", publisher, viewer, if apart { "1" } else { "0" }])
        .current_dir(dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser test failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let figures: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert!(figures["heard"].as_u64() >= Some(50), "{figures}");
    figures
}

#[test]
fn chromium_hears_chromium_through_one_node() {
    let node = Node::with_args(&ARGS);
    let url = node.ws("/signals");
    let figures = drive(&url, &url, false);
    eprintln!("chromium on one node: {figures}");
}

#[test]
fn chromium_hears_chromium_across_two_nodes_behind_nginx() {
    let redis = Redis::start();
    let nodes = [Node::clustered(&redis, "n1", &ARGS), Node::clustered(&redis, "n2", &ARGS)];
    let nginx = Nginx::start(&nodes.iter().collect::<Vec<_>>());
    let url = nginx.ws("/signals");
    let figures = drive(&url, &url, true);
    assert_ne!(figures["publisherNode"], figures["viewerNode"], "{figures}");
    eprintln!("chromium across two nodes: {figures}");
}
