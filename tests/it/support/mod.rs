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

pub use client::Client;
pub use nginx::Nginx;
pub use node::Node;
pub use place::Place;
pub use redis::Redis;
pub use scratch::Scratch;

use std::time::Duration;

/// How long any single expected event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(10);
