//! Test support: a node process guard and a `cmd` WebSocket client.

pub mod client;
pub mod node;

pub use client::Client;
pub use node::Node;

use std::time::Duration;

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);
