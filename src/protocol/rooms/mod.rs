//! The `rooms` dialect (seed 003): Socket.IO events over Engine.IO, v3 (socket.io-client 2.x)
//! and v4 (socket.io-client 3.x/4.x).
//!
//! - [`eio`]: Engine.IO packets and polling payloads, both versions.
//! - [`sio`]: Socket.IO packets (namespace, ack id, JSON data).
//! - [`events`]: Socket.IO events ↔ [`RoomCommand`](switchboard_actors::rooms::RoomCommand) /
//!   [`RoomEvent`](switchboard_actors::rooms::RoomEvent).
//!
//! Pure functions with unit tests; the sessions and transports are in `http::eio`.

pub mod eio;
pub mod events;
pub mod sio;
