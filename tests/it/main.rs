//! The integration tests: one binary (see STYLE.md B.7). Each test starts real node processes
//! on port 0 and talks to them with real WebSocket clients.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

mod support;

mod admin;
mod auth;
mod cluster;
mod cmd_errors;
mod cmd_flow;
mod cmd_load;
mod eio_spec;
mod hostile;
mod mediasoup;
mod metrics;
mod msrv;
mod node;
mod rooms;
mod rooms_raw;
mod signals;
mod tenants;
mod turn;
mod webhooks;
