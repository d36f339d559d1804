//! The node's directory of named clients: who is registered, who is in which call, and the
//! roster (`clu`) every waiting client is sent.

pub mod actor;
pub mod messages;
pub mod state;

pub use actor::{DirectoryActor, DirectoryConfig};
pub use messages::{CallEnded, Notify, OpenCall, Register, Unregister};
