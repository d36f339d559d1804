//! One client connection: its identity, its call, and its liveness.

pub mod actor;
pub mod messages;

pub use actor::{ConnectionActor, ConnectionConfig};
pub use messages::{CallMembership, Disconnected, Inbound, Pong};
