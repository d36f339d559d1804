//! Socket.IO event arrays ↔ the core's room vocabulary (PROTOCOLS.md §3.3). Arguments are
//! positional; `data` of `signal-send` is opaque and relayed byte for byte.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::protocol::json::{plain_str, push_str};
use switchboard_actors::{
    rooms::{RoomCommand, RoomEvent},
    ErrorKind, Payload, RoomId, SocketId,
};

/// Longest room name or socket id accepted, in bytes.
const MAX_ID: usize = 256;

/// The data of an event packet is not what Socket.IO's parser accepts (a JSON array whose first
/// element is the event's name): a broken client, whose connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Decodes the JSON array of an event packet (`["room-join","r1"]`). `Err` when it is not a
/// Socket.IO event at all; `Ok(Err(message))` for a well-formed event the rooms protocol
/// refuses (unknown, or wrong arguments), `message` being what the client's `error` event says.
pub fn decode(data: &str) -> Result<Result<RoomCommand, String>, Malformed> {
    let args: Args<'_> = serde_json::from_str(data).map_err(|_| Malformed)?;
    // Borrowed from the frame unless escaped: no copy per field on the relay path.
    let name = args.get(0).and_then(string).ok_or(Malformed)?;
    Ok(command(&name, &args))
}

/// The command event `name` with arguments `args` asks for.
fn command(name: &str, args: &Args<'_>) -> Result<RoomCommand, String> {
    let text = |i: usize, what: &str| -> Result<Cow<'_, str>, String> {
        let usage = || format!("{name} expects {what}");
        let arg = args.get(i + 1).ok_or_else(usage)?;
        let s = string(arg).ok_or_else(usage)?;
        if s.is_empty() || s.len() > MAX_ID {
            return Err(usage());
        }
        Ok(s)
    };
    let room = |what: &str| text(0, what).map(|r| RoomId::new(&r));
    match name {
        "room-create" => room("(room: string)").map(RoomCommand::Create),
        "room-join" => room("(room: string)").map(RoomCommand::Join),
        "room-leave" => room("(room: string)").map(RoomCommand::Leave),
        "signal-send" => {
            let what = "(room: string, targetId: string, data)";
            let room = room(what)?;
            let target = SocketId::new(&text(1, what)?);
            let data = args.get(3).ok_or_else(|| format!("{name} expects {what}"))?;
            Ok(RoomCommand::Signal { room, target, data: Payload::from_raw(data) })
        }
        other => {
            let shown: String = other.chars().take(64).collect();
            Err(format!("unknown event: {shown}"))
        }
    }
}

/// The elements of an event array that any event reads (its name and first three
/// arguments), borrowed from the frame; the rest are checked and skipped. No allocation.
struct Args<'a> {
    kept: [Option<&'a RawValue>; KEPT],
}

/// Elements of an event array kept by [`Args`].
const KEPT: usize = 4;

impl<'a> Args<'a> {
    /// Element `i` (the name is element 0), if the array has it and it is kept.
    fn get(&self, i: usize) -> Option<&'a RawValue> {
        self.kept.get(i).copied().flatten()
    }
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Args<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Args<'a>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event array")
            }

            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Args<'a>, S::Error> {
                let mut args = Args { kept: [None; KEPT] };
                for slot in &mut args.kept {
                    match seq.next_element::<&'de RawValue>()? {
                        Some(raw) => *slot = Some(raw),
                        None => return Ok(args),
                    }
                }
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(args)
            }
        }
        deserializer.deserialize_seq(Visitor(std::marker::PhantomData))
    }
}

/// A JSON string's value: borrowed from the frame unless it has escapes.
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    if let Some(plain) = plain_str(raw) {
        return Some(Cow::Borrowed(plain));
    }
    match serde_json::from_str::<&str>(raw.get()) {
        Ok(s) => Some(Cow::Borrowed(s)),
        Err(_) => serde_json::from_str::<String>(raw.get()).ok().map(Cow::Owned),
    }
}

/// About how many bytes `event` encodes to (exact for names without escapes), so the packet
/// buffer is allocated once.
pub fn encoded_len(event: &RoomEvent) -> usize {
    const ROOM_AND_NAME: usize = 24 + MAX_ID / 8;
    match event {
        RoomEvent::Signal { room, sender, data } => {
            32 + room.as_str().len() + sender.as_str().len() + data.get().len()
        }
        RoomEvent::Joined { clients, .. } => ROOM_AND_NAME * (2 + clients.len()),
        RoomEvent::Refused(kind) => 16 + refusal(*kind).len(),
        _ => ROOM_AND_NAME * 2,
    }
}

/// Encodes `event` as the JSON array of an event packet.
pub fn encode(event: &RoomEvent) -> String {
    let mut out = String::new();
    encode_into(&mut out, event);
    out
}

/// Appends `event`'s JSON array to `out` (after a packet prefix, say): the frame is built in
/// one buffer, and a signal's `data` is copied once, verbatim.
pub fn encode_into(out: &mut String, event: &RoomEvent) {
    let mut call = |name: &str, args: &[Arg<'_>]| push_call(out, name, args);
    use Arg::{Bool, List, Raw, Str};
    match event {
        RoomEvent::Exists(room) => call("room-exists", &[Str(room.as_str())]),
        RoomEvent::NotExists(room) => call("room-not-exists", &[Str(room.as_str())]),
        RoomEvent::NotInRoom(room) => call("not-in-room", &[Str(room.as_str())]),
        RoomEvent::Created(room) => call("room-created", &[Str(room.as_str())]),
        RoomEvent::Joined { room, owner, clients } => {
            call("room-joined", &[Str(room.as_str()), Str(owner.as_str()), List(clients)])
        }
        RoomEvent::Left { room, kicked } => call("room-left", &[Str(room.as_str()), Bool(*kicked)]),
        RoomEvent::TargetNotFound { room, target } => {
            call("target-not-found", &[Str(room.as_str()), Str(target.as_str())])
        }
        RoomEvent::Signal { room, sender, data } => {
            call("signal-receive", &[Str(room.as_str()), Str(sender.as_str()), Raw(data.get())])
        }
        RoomEvent::ClientJoined { room, id } => {
            call("client-joined", &[Str(room.as_str()), Str(id.as_str())])
        }
        RoomEvent::ClientLeft { room, id } => {
            call("client-left", &[Str(room.as_str()), Str(id.as_str())])
        }
        RoomEvent::Refused(kind) => call("error", &[Str(refusal(*kind))]),
    }
}

/// Appends the JSON array of an `error` event the edge raises itself (for a packet the rooms
/// protocol refuses before any command exists), worded `message`.
pub fn encode_error(out: &mut String, message: &str) {
    push_call(out, "error", &[Arg::Str(message)]);
}

/// The `error` event of a binary Engine.IO message.
pub const BINARY_MESSAGES: &str = "binary messages are not supported";
/// The `error` event of a binary Socket.IO packet.
pub const BINARY_PACKETS: &str = "binary packets are not supported";
/// How the metrics name the `error` event of an event the edge cannot read (its message says
/// what is wrong with that one).
pub const INVALID_EVENT: &str = "invalid event";
/// What the edge says in the `error` events it raises itself, as the metrics name them.
pub const EDGE_REFUSALS: [&str; 3] = [INVALID_EVENT, BINARY_MESSAGES, BINARY_PACKETS];

/// Every `error` event's message, as the metrics count them: the core's refusals
/// ([`refusal`]) and the edge's own ([`EDGE_REFUSALS`]).
pub fn all_refusals() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = ErrorKind::ALL.into_iter().map(refusal).collect();
    all.extend(EDGE_REFUSALS);
    all.sort_unstable();
    all.dedup();
    all
}

/// The message of the `error` event `event` is, if it is one.
pub fn refusal_of(event: &RoomEvent) -> Option<&'static str> {
    match event {
        RoomEvent::Refused(kind) => Some(refusal(*kind)),
        _ => None,
    }
}

/// The `error` event's message for a refusal the core makes. One exhaustive table: a new kind
/// breaks it until it is worded. The core refuses `rooms` commands only when the cluster is
/// unreachable; the rest word kinds other dialects' flows raise, so nothing is ever blank.
pub fn refusal(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unavailable => "cluster unavailable, try again",
        ErrorKind::MalformedFrame | ErrorKind::TooDeep => "malformed event",
        ErrorKind::InvalidMessage => "invalid event arguments",
        ErrorKind::UnknownCommand => "unknown event",
        ErrorKind::NotRegistered | ErrorKind::CallNotFound => "not in that room",
        ErrorKind::AlreadyRegistered | ErrorKind::NameTaken => "name taken",
        ErrorKind::SelfTarget => "cannot signal yourself",
        ErrorKind::PeerNotFound | ErrorKind::PeerGone | ErrorKind::PeerNotOpen => {
            "target not found"
        }
        ErrorKind::Busy | ErrorKind::PeerBusy | ErrorKind::InvalidCallState => "not now",
        ErrorKind::DeliveryFailed => "could not deliver, try again",
        ErrorKind::Internal => "internal error",
        ErrorKind::Forbidden => "not permitted by the access token",
        ErrorKind::LimitReached => "the tenant has all the rooms it may have",
    }
}

/// Appends `["name",args…]` to `out`.
fn push_call(out: &mut String, name: &str, args: &[Arg<'_>]) {
    out.push_str("[\"");
    out.push_str(name);
    out.push('"');
    for arg in args {
        out.push(',');
        match arg {
            Arg::Str(s) => push_str(out, s),
            Arg::Raw(raw) => out.push_str(raw),
            Arg::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Arg::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_str(out, item.as_str());
                }
                out.push(']');
            }
        }
    }
    out.push(']');
}

/// One argument of an emitted event.
enum Arg<'a> {
    Str(&'a str),
    Raw(&'a str),
    Bool(bool),
    List(&'a [SocketId]),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed event: its command, or the refusal the client's `error` event carries.
    fn event(data: &str) -> Result<RoomCommand, String> {
        decode(data).unwrap_or_else(|Malformed| panic!("{data} is a well-formed event"))
    }

    #[test]
    fn commands_decode_and_bad_arguments_are_explained() {
        assert_eq!(event(r#"["room-create","r1"]"#), Ok(RoomCommand::Create(RoomId::new("r1"))));
        assert_eq!(event(r#"["room-leave","r\"1"]"#), Ok(RoomCommand::Leave(RoomId::new("r\"1"))));
        let RoomCommand::Signal { room, target, data } =
            event(r#"["signal-send","r1","abc",{"candidate" : {"x":1}}]"#).unwrap()
        else {
            panic!("not a signal")
        };
        assert_eq!(
            (room.as_str(), target.as_str(), data.get()),
            ("r1", "abc", r#"{"candidate" : {"x":1}}"#)
        );
        // Strings are read between their quotes unless escaped; escapes are decoded.
        assert_eq!(
            event(" [ \"room-join\" ,\t\"r\u{e9}\" ] "),
            Ok(RoomCommand::Join(RoomId::new("r\u{e9}")))
        );
        assert_eq!(
            event(r#"["room-join","r\u00e9"]"#),
            Ok(RoomCommand::Join(RoomId::new("r\u{e9}")))
        );
        assert_eq!(event(r#"["room-join","a\\b"]"#), Ok(RoomCommand::Join(RoomId::new("a\\b"))));
        assert_eq!(event(r#"["room-join",5]"#), Err("room-join expects (room: string)".into()));
        assert_eq!(event(r#"["room-join"]"#), Err("room-join expects (room: string)".into()));
        assert_eq!(event(r#"["room-join",""]"#), Err("room-join expects (room: string)".into()));
        assert!(event(r#"["signal-send","r1","abc"]"#)
            .unwrap_err()
            .starts_with("signal-send expects"));
        assert_eq!(event(r#"["kick","r1"]"#), Err("unknown event: kick".into()));
        // Arguments past the kept ones are checked, then ignored.
        assert_eq!(
            event(r#"["room-join","r1",1,2,3,{"x":[1]}]"#),
            Ok(RoomCommand::Join(RoomId::new("r1")))
        );
    }

    #[test]
    fn what_socket_io_would_not_parse_as_an_event_is_malformed() {
        for bad in [
            "[\"room-join\",\"a\u{1}\"]",
            r#"["room-join","r1",1,2,3,{]"#,
            "{}",
            "[]",
            "[1]",
            "abc[\"room-join\"]",
            "",
        ] {
            assert_eq!(decode(bad), Err(Malformed), "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(decode(&deep), Err(Malformed));
    }

    #[test]
    fn events_encode_as_the_reference_emits_them() {
        let r = || RoomId::new("r1");
        let s = |x: &str| SocketId::new(x);
        assert_eq!(encode(&RoomEvent::Created(r())), r#"["room-created","r1"]"#);
        assert_eq!(
            encode(&RoomEvent::Joined { room: r(), owner: s("o"), clients: vec![s("o"), s("a")] }),
            r#"["room-joined","r1","o",["o","a"]]"#
        );
        assert_eq!(
            encode(&RoomEvent::Left { room: r(), kicked: true }),
            r#"["room-left","r1",true]"#
        );
        let raw = RawValue::from_string(r#"{ "sdp" : "v=0" }"#.into()).unwrap();
        let data = Payload::new(raw);
        assert_eq!(
            encode(&RoomEvent::Signal { room: r(), sender: s("a"), data }),
            r#"["signal-receive","r1","a",{ "sdp" : "v=0" }]"#
        );
        let mut error = String::new();
        encode_error(&mut error, "bad \"x\"");
        assert_eq!(error, r#"["error","bad \"x\""]"#);
        assert_eq!(
            encode(&RoomEvent::Refused(ErrorKind::Unavailable)),
            r#"["error","cluster unavailable, try again"]"#
        );
        for kind in ErrorKind::ALL {
            assert!(!refusal(kind).is_empty(), "{kind:?}");
        }
    }
}
