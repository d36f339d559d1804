//! `cmd` frame → [`Command`].
//!
//! Follows the reference server's receiver: top-level strings are trimmed and top-level numbers
//! become strings; nested values (offers, answers, candidates) pass through untouched. Errors,
//! in the reference's order: 9000 not JSON, 9001 not an object or no `cmd`, 9002 unknown `cmd`;
//! then field errors (9001), reported with the command they belong to so the connection can
//! answer 9100 first if the client has not registered.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{error::Category, value::RawValue};
use switchboard_actors::{
    CallId, CallSignal, ClientError, ClientName, Command, CommandKind, ErrorKind, Payload,
};

/// The fields of a `cmd` frame that any command uses; others are ignored.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    cmd: Option<&'a RawValue>,
    #[serde(borrow, rename = "sId")]
    s_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "opponentId")]
    opponent_id: Option<&'a RawValue>,
    #[serde(borrow, rename = "sessionId")]
    session_id: Option<&'a RawValue>,
    #[serde(borrow)]
    offer: Option<&'a RawValue>,
    #[serde(borrow)]
    answer: Option<&'a RawValue>,
    #[serde(borrow)]
    icecandidate: Option<&'a RawValue>,
    #[serde(borrow, rename = "type")]
    kind: Option<&'a RawValue>,
}

/// A top-level scalar after the reference's normalisation.
enum Scalar<'a> {
    /// A string (trimmed) or a number (as its decimal text).
    Text(Cow<'a, str>),
    /// `null`, `false`, `true`, an object or an array.
    Other { falsy: bool },
}

fn scalar(raw: &RawValue) -> Scalar<'_> {
    if let Some(plain) = crate::protocol::json::plain_str(raw) {
        return Scalar::Text(Cow::Borrowed(plain.trim()));
    }
    let text = raw.get();
    match text.as_bytes().first() {
        // Borrow when the string has no escapes (the usual case: no allocation per frame).
        Some(b'"') => match serde_json::from_str::<&str>(text) {
            Ok(s) => Scalar::Text(Cow::Borrowed(s.trim())),
            Err(_) => match serde_json::from_str::<String>(text) {
                Ok(s) => Scalar::Text(Cow::Owned(s.trim().to_owned())),
                Err(_) => Scalar::Other { falsy: false },
            },
        },
        Some(b'-' | b'0'..=b'9') => match serde_json::from_str::<serde_json::Number>(text) {
            Ok(n) => Scalar::Text(Cow::Owned(number_text(&n))),
            Err(_) => Scalar::Other { falsy: false },
        },
        _ => Scalar::Other { falsy: matches!(text, "null" | "false") },
    }
}

/// A number as JavaScript's `String(n)` writes it, for the values clients actually send.
fn number_text(n: &serde_json::Number) -> String {
    match (n.as_i64(), n.as_u64(), n.as_f64()) {
        (Some(i), _, _) => i.to_string(),
        (_, Some(u), _) => u.to_string(),
        (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        (_, _, Some(f)) => f.to_string(),
        _ => n.to_string(),
    }
}

/// Decodes one `cmd` frame.
pub fn decode(frame: &str) -> Result<Command, ClientError> {
    if too_deep(frame, MAX_DEPTH) {
        return Err(ClientError::new(ErrorKind::TooDeep));
    }
    let frame: Frame<'_> = serde_json::from_str(frame).map_err(|e| {
        ClientError::new(match e.classify() {
            Category::Data => ErrorKind::InvalidMessage,
            Category::Io | Category::Syntax | Category::Eof => ErrorKind::MalformedFrame,
        })
    })?;
    let cmd = match frame.cmd.map(scalar) {
        Some(Scalar::Text(cmd)) if !cmd.is_empty() => cmd,
        None | Some(Scalar::Text(_)) | Some(Scalar::Other { falsy: true }) => {
            return Err(ClientError::new(ErrorKind::InvalidMessage));
        }
        Some(Scalar::Other { falsy: false }) => {
            return Err(ClientError::new(ErrorKind::UnknownCommand));
        }
    };
    let op = match cmd.as_ref() {
        "sId" => CommandKind::Register,
        "session" => CommandKind::OpenCall,
        "call" => CommandKind::Offer,
        "accept" => CommandKind::Answer,
        "icecandidate" => CommandKind::Candidate,
        "reject" => CommandKind::Reject,
        "stop" => CommandKind::Stop,
        "notify" => CommandKind::Notify,
        _ => return Err(ClientError::new(ErrorKind::UnknownCommand)),
    };
    command(op, &frame).ok_or(ClientError::during(ErrorKind::InvalidMessage, op))
}

fn text<'a>(raw: Option<&'a RawValue>) -> Option<Cow<'a, str>> {
    match scalar(raw?) {
        Scalar::Text(text) => Some(text),
        Scalar::Other { .. } => None,
    }
}

fn name(raw: Option<&RawValue>) -> Option<ClientName> {
    ClientName::new(&text(raw)?)
}

fn call_id(raw: Option<&RawValue>) -> Option<CallId> {
    text(raw).filter(|id| !id.is_empty()).map(|id| CallId::new(&id))
}

/// A payload that must be present and not `null`.
fn payload(raw: Option<&RawValue>) -> Option<Payload> {
    raw.filter(|r| r.get() != "null").map(Payload::from_raw)
}

/// The notify `type`: normalised like any top-level value, otherwise passed through.
fn notify_kind(raw: Option<&RawValue>) -> Option<Payload> {
    let raw = raw?;
    let untouched = match serde_json::from_str::<Cow<'_, str>>(raw.get()) {
        Ok(text) => text.trim().len() == text.len(),
        Err(_) => !matches!(scalar(raw), Scalar::Text(_)),
    };
    Some(match scalar(raw) {
        Scalar::Text(text) if !untouched => Payload::string(&text),
        _ => Payload::from_raw(raw),
    })
}

/// Nesting of arrays and objects a frame may not reach (the frame's own object is the first
/// level, so a payload may nest 63 levels). Real SDP and ICE payloads nest two to four; the
/// limit keeps pathological frames, which cost parsers stack and time, from reaching peers.
/// Such a frame is refused with its own code (9003), not as malformed JSON.
pub const MAX_DEPTH: usize = 64;

/// Whether `frame` nests arrays/objects deeper than `limit` (brackets inside strings ignored).
/// A string's content is skipped a word at a time (payloads are mostly strings).
fn too_deep(frame: &str, limit: usize) -> bool {
    let bytes = frame.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // To the closing quote: past each escape, to the next quote or backslash.
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        Some(at) if bytes[i + at] == b'\\' => {
                            i += at + 2;
                            if i >= bytes.len() {
                                return false;
                            }
                        }
                        Some(at) => {
                            i += at;
                            break;
                        }
                        None => return false,
                    }
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    false
}

fn command(op: CommandKind, f: &Frame<'_>) -> Option<Command> {
    let signal = |signal| Some(Command::Signal { call: call_id(f.session_id)?, signal });
    match op {
        CommandKind::Register => Some(Command::Register { name: name(f.s_id)? }),
        CommandKind::OpenCall => Some(Command::OpenCall { callee: name(f.opponent_id)? }),
        CommandKind::Offer => signal(CallSignal::Offer(payload(f.offer)?)),
        CommandKind::Answer => signal(CallSignal::Answer(payload(f.answer)?)),
        CommandKind::Candidate => signal(CallSignal::Candidate(payload(f.icecandidate)?)),
        CommandKind::Reject => signal(CallSignal::Reject),
        CommandKind::Stop => signal(CallSignal::Stop),
        CommandKind::Notify => {
            Some(Command::Notify { to: name(f.opponent_id)?, kind: notify_kind(f.kind) })
        }
    }
}
