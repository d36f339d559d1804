//! The switchboard core: identifiers, the `Command`/`Event` vocabulary, canonical errors, every
//! actor, and the cluster bridge. Nothing here knows a wire format, HTTP, or an error code;
//! dialects at the edge (the `switchboard` crate) translate frames to and from this vocabulary.
//!
//! # Layout
//!
//! - [`ids`]: newtype ids (`ConnId`, `ClientName`, `CallId`, `NodeId`, `RoomId`), and the
//!   `Tenant` that namespaces client names and rooms.
//! - [`command`], [`event`]: what clients ask ([`Command`]) and are told ([`Event`]).
//! - [`payload`]: opaque JSON payloads (SDP, ICE) relayed byte for byte.
//! - [`hooks`]: room lifecycle hooks (created, closed, joined, left) for the edge's webhooks.
//! - [`error`]: [`ErrorKind`] (every failure a client can be told of) and [`CloseReason`].
//! - [`link`]: [`ClientLink`], the bounded, ordered outbound queue to one client.
//! - [`credit`]: [`Credits`], how many of a client's frames may be in flight at once.
//! - [`connection`]: `ConnectionActor`, one per client: identity, call, liveness.
//! - [`directory`]: `DirectoryActor`, one per node: names, presence, rosters, call ids.
//! - [`call`]: `CallActor`, one per 1:1 call: the NEW → PENDING → ACTIVE → CLOSED machine.
//! - [`cluster`]: the Redis bridge: node inboxes, cluster-wide names, peer liveness.
//! - [`engine`]: the room engine: one actor per room on its home node, shards per worker, the
//!   cluster machinery of rooms written once; each room dialect brings its rules.
//! - [`rooms`]: the `rooms` dialect's rules (`Room`) and `RoomSocket`.
//! - [`signals`]: the `signals` dialect's vocabulary, its room rules and its session actor.
//! - [`mediasoup`]: the `mediasoup` dialect's vocabulary and its room rules.
//! - [`media`]: the media plane, an embedded SFU (str0m): media workers with one UDP socket each.
//! - [`node`]: [`Core`], the handles the edge is given.
//!
//! # Ordering
//!
//! Every event to a client goes through its one link, so events reach a client in the order
//! they were pushed. A `cmd` client's commands are handled one at a time, in order (the edge
//! awaits each `Inbound` reply), so its answers are ordered too. A room dialect's member has its
//! commands for one room applied in its order (one waiting for Redis holds back the ones after
//! it); commands for different rooms run in parallel, each room being its own actor. State has
//! one owner each: names and presence the directory, a call's phase its call actor, a room's
//! membership its room actor.

pub mod call;
pub mod cluster;
pub mod command;
pub mod connection;
pub mod credit;
pub mod directory;
pub mod engine;
pub mod error;
pub mod event;
pub mod hooks;
pub mod ids;
pub mod link;
pub mod media;
pub mod mediasoup;
pub mod node;
pub mod payload;
pub mod rooms;
pub mod signals;

pub use command::{CallSignal, Command, CommandKind};
pub use credit::{Credit, Credits};
pub use error::{ClientError, CloseReason, ErrorKind};
pub use event::{Event, Phase, Presence, Roster, RosterEntry};
pub use ids::{CallId, ClientName, ConnId, Named, NodeId, RoomId, SocketId, Tenant};
pub use link::{Backlog, ClientLink, LinkReceiver, Outbound, PushError};
pub use node::{Core, CoreConfig};
pub use payload::Payload;
