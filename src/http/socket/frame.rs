//! WebSocket framing on our side of the wire: server frames written straight into the write
//! buffer (unmasked, RFC 6455 §5.2), and client messages reassembled from continuation frames
//! within the configured limits. Parsing a client frame is `actix_http::ws::Codec`'s.

use actix_http::ws::{Frame, Item, ProtocolError};
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
use switchboard_actors::CloseReason;

/// Text frame opcode.
const TEXT: u8 = 0x1;
/// Close frame opcode.
const CLOSE: u8 = 0x8;
/// Ping frame opcode.
const PING: u8 = 0x9;
/// Pong frame opcode.
const PONG: u8 = 0xA;
/// A close frame's reason fits in a control frame's 125 bytes with its 2-byte code.
const MAX_REASON: usize = 123;

/// Appends one final, unmasked frame to `buf`.
fn put(buf: &mut BytesMut, opcode: u8, payload: &[u8]) {
    let n = payload.len();
    buf.reserve(n + 10);
    buf.put_u8(0x80 | opcode);
    if n < 126 {
        buf.put_u8(n as u8);
    } else if let Ok(n) = u16::try_from(n) {
        buf.put_u8(126);
        buf.put_u16(n);
    } else {
        buf.put_u8(127);
        buf.put_u64(n as u64);
    }
    buf.extend_from_slice(payload);
}

/// Appends a text frame.
pub(super) fn text(buf: &mut BytesMut, text: &str) {
    put(buf, TEXT, text.as_bytes());
}

/// Appends a ping frame with an empty payload.
pub(super) fn ping(buf: &mut BytesMut) {
    put(buf, PING, b"");
}

/// Appends a pong frame echoing a ping's payload.
pub(super) fn pong(buf: &mut BytesMut, payload: &[u8]) {
    put(buf, PONG, payload);
}

/// Appends a close frame: with a status code and reason, or empty.
pub(super) fn close(buf: &mut BytesMut, status: Option<(u16, &str)>) {
    let Some((code, reason)) = status else {
        put(buf, CLOSE, b"");
        return;
    };
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = [0u8; 2 + MAX_REASON];
    payload[..2].copy_from_slice(&code.to_be_bytes());
    payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    put(buf, CLOSE, &payload[..2 + end]);
}

/// What one client frame amounts to once continuations are put together.
#[derive(Debug)]
pub(super) enum Received {
    /// A whole text message.
    Text(ByteString),
    /// A binary message (only its first frame: no dialect takes binary).
    Binary,
    /// A ping, to answer with this payload.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// The client's close frame, with its status code if it gave one.
    Close(Option<u16>),
    /// A fragment of a message still being put together.
    Partial,
}

/// Puts fragmented text messages together, refusing any larger than `limit`.
#[derive(Debug)]
pub(super) struct Assembler {
    limit: usize,
    partial: Option<BytesMut>,
}

impl Assembler {
    /// Messages up to `limit` bytes.
    pub(super) fn new(limit: usize) -> Self {
        Self { limit, partial: None }
    }

    /// Takes one decoded frame.
    pub(super) fn take(&mut self, frame: Frame) -> Result<Received, CloseReason> {
        Ok(match frame {
            Frame::Text(bytes) => Received::Text(utf8(bytes)?),
            Frame::Binary(_) | Frame::Continuation(Item::FirstBinary(_)) => Received::Binary,
            Frame::Ping(bytes) => Received::Ping(bytes),
            Frame::Pong(_) => Received::Pong,
            Frame::Close(reason) => Received::Close(reason.map(|r| r.code.into())),
            Frame::Continuation(Item::FirstText(bytes)) => {
                self.partial = Some(BytesMut::from(&bytes[..]));
                self.check()?;
                Received::Partial
            }
            Frame::Continuation(Item::Continue(bytes)) => {
                self.append(&bytes)?;
                Received::Partial
            }
            Frame::Continuation(Item::Last(bytes)) => {
                self.append(&bytes)?;
                let whole = self.partial.take().unwrap_or_default().freeze();
                Received::Text(utf8(whole)?)
            }
        })
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), CloseReason> {
        // A continuation of a binary message has no buffer: nothing to keep.
        if let Some(partial) = &mut self.partial {
            partial.extend_from_slice(bytes);
        }
        self.check()
    }

    fn check(&self) -> Result<(), CloseReason> {
        match &self.partial {
            Some(partial) if partial.len() > self.limit => Err(CloseReason::FrameTooLarge),
            _ => Ok(()),
        }
    }
}

fn utf8(bytes: Bytes) -> Result<ByteString, CloseReason> {
    ByteString::try_from(bytes).map_err(|_| CloseReason::InvalidFrame)
}

/// Why the client's framing is refused.
pub(super) fn refusal(error: &ProtocolError) -> CloseReason {
    match error {
        ProtocolError::Overflow => CloseReason::FrameTooLarge,
        _ => CloseReason::ProtocolViolation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_length_in_the_shortest_form() {
        let mut buf = BytesMut::new();
        text(&mut buf, "hi");
        assert_eq!(&buf[..], b"\x81\x02hi");
        let mut buf = BytesMut::new();
        text(&mut buf, &"x".repeat(300));
        assert_eq!(&buf[..4], b"\x81\x7e\x01\x2c");
        let mut buf = BytesMut::new();
        text(&mut buf, &"x".repeat(70_000));
        assert_eq!(&buf[..10], b"\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70");
        assert_eq!(buf.len(), 70_010);
    }

    #[test]
    fn a_close_reason_is_cut_to_fit_a_control_frame_on_a_char_boundary() {
        let mut buf = BytesMut::new();
        close(&mut buf, Some((4001, &"é".repeat(100))));
        assert_eq!(buf[0], 0x88);
        assert_eq!(usize::from(buf[1]), 2 + 122);
        assert_eq!(&buf[2..4], &4001u16.to_be_bytes());
        assert!(std::str::from_utf8(&buf[4..]).is_ok());
        let mut empty = BytesMut::new();
        close(&mut empty, None);
        assert_eq!(&empty[..], b"\x88\x00");
    }

    #[test]
    fn continuations_are_joined_up_to_the_limit() {
        let mut asm = Assembler::new(8);
        let first = Frame::Continuation(Item::FirstText(Bytes::from_static(b"abc")));
        assert!(matches!(asm.take(first), Ok(Received::Partial)));
        let last = Frame::Continuation(Item::Last(Bytes::from_static(b"def")));
        assert!(matches!(asm.take(last), Ok(Received::Text(t)) if &t[..] == "abcdef"));
        let first = Frame::Continuation(Item::FirstText(Bytes::from_static(b"abcde")));
        assert!(asm.take(first).is_ok());
        let more = Frame::Continuation(Item::Continue(Bytes::from_static(b"fghi")));
        assert!(matches!(asm.take(more), Err(CloseReason::FrameTooLarge)));
    }

    #[test]
    fn text_must_be_utf8() {
        let mut asm = Assembler::new(8);
        let bad = Frame::Text(Bytes::from_static(b"\xff\xfe"));
        assert!(matches!(asm.take(bad), Err(CloseReason::InvalidFrame)));
    }
}
