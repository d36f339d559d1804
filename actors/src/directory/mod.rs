//! The node's directory of named `cmd` clients: who is registered, who is in which call, the
//! roster (`clu`) every waiting client is sent, and, in a cluster, this node's half of every
//! conversation with other nodes' directories.

pub mod actor;
mod handlers;
pub mod messages;
mod remote;
pub mod replica;
pub mod state;
pub mod wire;

pub use actor::{DirectoryActor, DirectoryConfig};
pub use messages::{CallEnded, Notify, OpenCall, Register, Unregister};
