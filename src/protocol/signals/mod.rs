//! The `signals` dialect (seed 002): client frames `{action, data}`, acks `{c, s, b}`, and
//! p2p signals forwarded to the peer as the bare `data` object.
//!
//! Work in progress (issue 5): the codec is complete and tested, and so are the room rules and
//! actors in the core; the endpoint (`/signals`), its limits and the cluster come next.
//!
//! - [`decode`]: a frame → a validated [`Signal`](switchboard_actors::signals::Signal), or the
//!   error ack to send (2001 invalid signal, 2002 unsupported channel), whose `b.req` is the
//!   signal as sent.
//! - [`ack`]: acks, success and error.
//! - [`codes`]: the core's refusals as the seed's error codes.
//! - [`encode`]: the core's replies as frames (acks, and p2p signals forwarded bare).

pub mod ack;
pub mod codes;
pub mod decode;
pub mod encode;

#[cfg(test)]
mod tests;
