//! WebSocket framing on our side of the wire: server frames written straight into the write
//! buffer (unmasked, RFC 6455 §5.2), and client messages reassembled from continuation frames
//! within the configured limits.

use bytes::{BufMut, BytesMut};
use std::borrow::Cow;

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

/// Continuation frame opcode.
const CONTINUATION: u8 = 0x0;
/// Binary frame opcode.
const BINARY: u8 = 0x2;

/// A client frame's header (RFC 6455 §5.2), checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct Head {
    fin: bool,
    opcode: u8,
    mask: [u8; 4],
    /// Header bytes.
    pub(super) size: usize,
    /// Payload bytes.
    pub(super) len: usize,
}

/// Reads the header at the start of `buf` (`Ok(None)` until it is all there), refusing
/// unmasked frames, reserved bits or opcodes, fragmented or long control frames, and
/// payloads over `max` bytes.
pub(super) fn head(buf: &[u8], max: usize) -> Result<Option<Head>, CloseReason> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
    let violation = Err(CloseReason::ProtocolViolation);
    if b0 & 0x70 != 0 || b1 & 0x80 == 0 {
        // Reserved bits without a negotiated extension, or a client frame without a mask.
        return violation;
    }
    let (len, at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(n) => (u64::from(u16::from_be_bytes([n[0], n[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|n| <[u8; 8]>::try_from(n).ok()) {
            Some(n) => (u64::from_be_bytes(n), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    let Some(mask) = buf.get(at..at + 4).and_then(|m| <[u8; 4]>::try_from(m).ok()) else {
        return Ok(None);
    };
    let control = opcode >= CLOSE;
    if (control && (!fin || len > 125 || opcode > PONG)) || (!control && opcode > BINARY) {
        return violation;
    }
    match usize::try_from(len) {
        Ok(len) if len <= max => Ok(Some(Head { fin, opcode, mask, size: at + 4, len })),
        _ => Err(CloseReason::FrameTooLarge),
    }
}

/// The payload of the frame `head` at the start of `buf`, unmasked where it lies (a relayed
/// message is read from the read buffer itself, not copied first).
pub(super) fn payload<'a>(head: &Head, buf: &'a mut [u8]) -> &'a [u8] {
    let out = &mut buf[head.size..head.size + head.len];
    unmask(out, head.mask);
    out
}

/// XORs `data` with the 4-byte `mask` repeated, eight bytes at a time.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
}

/// Whether frame `head` is a close frame.
pub(super) fn is_close(head: &Head) -> bool {
    head.opcode == CLOSE
}

/// What one client frame amounts to once continuations are put together.
#[derive(Debug)]
pub(super) enum Received<'a> {
    /// A whole text message: borrowed from its frame, or put together from its fragments.
    Text(Cow<'a, str>),
    /// A binary message (only its first frame: no dialect takes binary).
    Binary,
    /// A ping, to answer with this payload.
    Ping(&'a [u8]),
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
    partial: Option<Vec<u8>>,
    /// A fragmented message is in progress (text or binary).
    open: bool,
}

impl Assembler {
    /// Messages up to `limit` bytes.
    pub(super) fn new(limit: usize) -> Self {
        Self { limit, partial: None, open: false }
    }

    /// Takes one frame: its header and unmasked payload.
    pub(super) fn take<'a>(
        &mut self,
        head: &Head,
        payload: &'a [u8],
    ) -> Result<Received<'a>, CloseReason> {
        let violation = Err(CloseReason::ProtocolViolation);
        Ok(match head.opcode {
            PING => Received::Ping(payload),
            PONG => Received::Pong,
            CLOSE => match payload.len() {
                0 => Received::Close(None),
                1 => return violation,
                _ => Received::Close(Some(u16::from_be_bytes([payload[0], payload[1]]))),
            },
            // A new message while a fragmented one is in progress.
            TEXT | BINARY if self.open => return violation,
            TEXT if head.fin => match std::str::from_utf8(payload) {
                Ok(text) => Received::Text(Cow::Borrowed(text)),
                Err(_) => return Err(CloseReason::InvalidFrame),
            },
            BINARY => {
                self.open = !head.fin;
                Received::Binary
            }
            TEXT => {
                self.open = true;
                self.partial = Some(payload.to_vec());
                self.check()?;
                Received::Partial
            }
            // A continuation with nothing to continue.
            CONTINUATION if !self.open => return violation,
            _ => {
                // A continuation of a binary message has no buffer: nothing to keep.
                if let Some(partial) = &mut self.partial {
                    partial.extend_from_slice(payload);
                }
                self.check()?;
                if !head.fin {
                    return Ok(Received::Partial);
                }
                self.open = false;
                match self.partial.take() {
                    Some(whole) => match String::from_utf8(whole) {
                        Ok(text) => Received::Text(Cow::Owned(text)),
                        Err(_) => return Err(CloseReason::InvalidFrame),
                    },
                    None => Received::Partial,
                }
            }
        })
    }

    fn check(&self) -> Result<(), CloseReason> {
        match &self.partial {
            Some(partial) if partial.len() > self.limit => Err(CloseReason::FrameTooLarge),
            _ => Ok(()),
        }
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

    /// A masked client frame.
    fn client(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![u8::from(fin) << 7 | opcode];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        frame
    }

    fn take(asm: &mut Assembler, mut frame: Vec<u8>) -> Result<Received<'static>, CloseReason> {
        let head = head(&frame, 1 << 20)?.expect("a whole header");
        let received = asm.take(&head, payload(&head, &mut frame))?;
        // Owned, so the frame can go.
        Ok(match received {
            Received::Text(text) => Received::Text(Cow::Owned(text.into_owned())),
            Received::Ping(payload) => Received::Ping(payload.to_vec().leak()),
            Received::Binary => Received::Binary,
            Received::Pong => Received::Pong,
            Received::Close(code) => Received::Close(code),
            Received::Partial => Received::Partial,
        })
    }

    #[test]
    fn unmasking_by_words_matches_byte_by_byte_at_every_length() {
        for len in 0..40u8 {
            let plain: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let mut frame = client(true, TEXT, &plain);
            let h = head(&frame, 1000).unwrap().unwrap();
            assert_eq!(payload(&h, &mut frame), plain, "length {len}");
        }
    }

    #[test]
    fn a_header_is_read_once_whole_and_payloads_are_unmasked() {
        let mut frame = client(true, TEXT, &[b'x'; 300]);
        for cut in 0..8 {
            assert!(matches!(head(&frame[..cut], 1000), Ok(None)), "cut at {cut}");
        }
        let h = head(&frame, 1000).unwrap().unwrap();
        assert_eq!((h.size, h.len), (8, 300));
        assert_eq!(payload(&h, &mut frame), vec![b'x'; 300]);
        assert!(matches!(head(&frame, 299), Err(CloseReason::FrameTooLarge)));
    }

    #[test]
    fn unmasked_reserved_and_malformed_control_frames_are_refused() {
        let violation = Err(CloseReason::ProtocolViolation);
        assert_eq!(head(b"\x81\x02hi", 10).map(|_| ()), violation);
        assert_eq!(head(&client(true, 0x3, b""), 10).map(|_| ()), violation);
        assert_eq!(head(&client(false, PING, b""), 10).map(|_| ()), violation);
        assert_eq!(head(&client(true, PING, &[0; 126]), 1000).map(|_| ()), violation);
        let mut rsv = client(true, TEXT, b"a");
        rsv[0] |= 0x40;
        assert_eq!(head(&rsv, 10).map(|_| ()), violation);
    }

    #[test]
    fn continuations_are_joined_up_to_the_limit() {
        let mut asm = Assembler::new(8);
        assert!(matches!(take(&mut asm, client(false, TEXT, b"abc")), Ok(Received::Partial)));
        assert!(matches!(
            take(&mut asm, client(true, CONTINUATION, b"def")),
            Ok(Received::Text(t)) if &t[..] == "abcdef"
        ));
        assert!(take(&mut asm, client(false, TEXT, b"abcde")).is_ok());
        let more = take(&mut asm, client(false, CONTINUATION, b"fghi"));
        assert!(matches!(more, Err(CloseReason::FrameTooLarge)));
    }

    #[test]
    fn continuations_must_continue_something_and_messages_must_not_interleave() {
        let mut asm = Assembler::new(100);
        let stray = take(&mut asm, client(true, CONTINUATION, b"x"));
        assert!(matches!(stray, Err(CloseReason::ProtocolViolation)));
        assert!(take(&mut asm, client(false, TEXT, b"a")).is_ok());
        // Control frames may come between fragments; a new message may not.
        assert!(matches!(take(&mut asm, client(true, PING, b"p")), Ok(Received::Ping(b"p"))));
        let interleaved = take(&mut asm, client(true, TEXT, b"b"));
        assert!(matches!(interleaved, Err(CloseReason::ProtocolViolation)));
    }

    #[test]
    fn text_must_be_utf8_and_a_close_code_two_bytes() {
        let mut asm = Assembler::new(8);
        let bad = take(&mut asm, client(true, TEXT, b"\xff\xfe"));
        assert!(matches!(bad, Err(CloseReason::InvalidFrame)));
        let close = take(&mut asm, client(true, CLOSE, &1000u16.to_be_bytes()));
        assert!(matches!(close, Ok(Received::Close(Some(1000)))));
        let short = take(&mut asm, client(true, CLOSE, b"x"));
        assert!(matches!(short, Err(CloseReason::ProtocolViolation)));
    }
}
