//! Test support: process guards for nodes, redis-server and nginx, and a `cmd` WebSocket client.

pub mod client;
pub mod cut;
pub mod nginx;
pub mod node;
pub mod place;
pub mod protoo;
pub mod raw;
pub mod redis;
pub mod scratch;
pub mod sio;
pub mod tokens;

pub use client::Client;
pub use nginx::Nginx;
pub use node::Node;
pub use place::Place;
pub use redis::Redis;
pub use scratch::Scratch;

use std::time::Duration;

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A child process killed when dropped: whatever fails, it does not outlive its test.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The directory of the Node clients the browser tests drive, once `./.ci/test` has installed
/// what they need (the tests fail, never skip, without it).
pub fn browser_clients() -> &'static str {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let modules = std::path::Path::new(dir).join("node_modules");
    let have = ["playwright-core", "mediasoup-client", "protoo-client", "esbuild"]
        .iter()
        .all(|m| modules.join(m).is_dir());
    assert!(
        have && std::path::Path::new("/usr/bin/chromium").exists(),
        "a browser test client or chromium is missing: run ./.ci/test (it installs them)"
    );
    dir
}
