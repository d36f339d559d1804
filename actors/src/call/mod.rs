//! One 1:1 call session: its state machine ([`state`]), its members ([`member`]) and the actor
//! that owns it ([`actor`]).

pub mod actor;
pub mod member;
pub mod messages;
pub mod state;

pub use actor::CallActor;
pub use member::{Member, Reach};
pub use messages::{LocalRelay, MemberLeft, RelaySignal, RemoteRelay};
pub use state::{CallState, Side, Step};
