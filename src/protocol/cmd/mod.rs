//! The `cmd` dialect (seed 000): one flat JSON object per text frame, `{cmd: ...}`.
//!
//! See `PROTOCOLS.md` §1 for the reference server this follows, and [`codes`] for where this
//! implementation deliberately differs from it.

pub mod codes;
pub mod decode;
pub mod encode;
mod json;

#[cfg(test)]
mod tests;

use bytestring::ByteString;
use switchboard_actors::{ClientError, CloseReason, Command, Event};

use super::Dialect;

/// The `cmd` dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cmd;

impl Dialect for Cmd {
    fn name(&self) -> &'static str {
        "cmd"
    }

    fn decode(&self, frame: &str) -> Result<Command, ClientError> {
        decode::decode(frame)
    }

    fn encode(&self, event: &Event) -> ByteString {
        encode::encode(event)
    }

    fn encode_into(&self, event: &Event, out: &mut String) {
        encode::encode_into(event, out);
    }

    fn close_code(&self, reason: CloseReason) -> u16 {
        codes::close_code(reason)
    }
}
