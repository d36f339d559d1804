//! What the load generator shares with the node's tests: a WebRTC client ([`rtc`]).

pub mod direct;
pub mod rtc;
