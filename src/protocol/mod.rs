//! Dialects: the wire formats clients speak, each a pure codec over the core vocabulary.
//!
//! A dialect decodes one text frame into a [`Command`] (or the [`ClientError`] to answer) and
//! encodes an [`Event`] into one text frame. Codecs are pure functions: no sockets, no actors,
//! tested with golden fixtures.

pub mod cmd;
pub mod json;
pub mod mediasoup;
pub mod protoo;
pub mod rooms;
pub mod signals;

use bytestring::ByteString;
use switchboard_actors::{ClientError, CloseReason, Command, Event};

/// A signaling wire format.
pub trait Dialect: Send + Sync + 'static {
    /// Name used in logs and metrics.
    fn name(&self) -> &'static str;

    /// Decodes one text frame.
    fn decode(&self, frame: &str) -> Result<Command, ClientError>;

    /// Encodes one event as a text frame.
    fn encode(&self, event: &Event) -> ByteString;

    /// Appends one event's text frame to `out` (where the writer builds its frames).
    fn encode_into(&self, event: &Event, out: &mut String) {
        out.push_str(&self.encode(event));
    }

    /// The WebSocket close code for a server-initiated close.
    fn close_code(&self, reason: CloseReason) -> u16;
}
