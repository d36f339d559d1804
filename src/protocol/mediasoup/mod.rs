//! The `mediasoup` dialect (seed 004): mediasoup v2's messages, in the seed's draft names and
//! in mediasoup-client 2.x's, carried over protoo ([`super::protoo`]).
//!
//! - [`decode`]: a frame to the core's [`switchboard_actors::mediasoup::Ask`], or what the edge
//!   answers at once.
//! - [`encode`]: the core's answers and notices to frames, in the peer's vocabulary.

pub mod decode;
pub mod encode;

#[cfg(test)]
mod tests;
