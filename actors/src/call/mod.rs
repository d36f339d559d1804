//! One 1:1 call session: its state machine ([`state`]) and the actor that owns it ([`actor`]).

pub mod actor;
pub mod messages;
pub mod state;

pub use actor::{CallActor, Member};
pub use messages::{MemberLeft, RelaySignal};
pub use state::{CallState, Side, Step};
