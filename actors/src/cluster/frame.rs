//! The frame that carries one message between nodes: a one-line header naming the format's
//! version, the topic and the origin node (`v2 cmd n1~ab12cd`), then the topic's JSON body. The
//! bridge reads only the header to route a frame; the topic's owner parses the body once.
//!
//! The version lets a node in a rolling upgrade tell a peer's frame in another format from a
//! broken one: it drops (and logs) frames of any version but its own rather than misread them.
//! Frames from before versions existed have no version at all, and are dropped the same way.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

use crate::ids::NodeId;

/// Who a frame is for on the receiving node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The bridge itself (a peer leaving cleanly).
    Node,
    /// The `cmd` dialect's directory.
    Cmd,
    /// The `rooms` dialect's rooms.
    Rooms,
    /// The `signals` dialect's rooms.
    Signals,
    /// The `mediasoup` dialect's rooms.
    Mediasoup,
    /// The edge's own traffic (Engine.IO requests answered by the node holding the session).
    Edge,
    /// Operators' requests (the admin API) and every node's answers.
    Admin,
}

impl Topic {
    fn as_str(self) -> &'static str {
        match self {
            Topic::Node => "node",
            Topic::Cmd => "cmd",
            Topic::Rooms => "rooms",
            Topic::Signals => "signals",
            Topic::Mediasoup => "mediasoup",
            Topic::Edge => "edge",
            Topic::Admin => "admin",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "node" => Some(Topic::Node),
            "cmd" => Some(Topic::Cmd),
            "rooms" => Some(Topic::Rooms),
            "signals" => Some(Topic::Signals),
            "mediasoup" => Some(Topic::Mediasoup),
            "edge" => Some(Topic::Edge),
            "admin" => Some(Topic::Admin),
            _ => None,
        }
    }
}

/// The frame format this node writes and reads.
/// `v2`: the `rooms` and `signals` topics' bodies are the room engine's frames (`v1` had shapes of
/// their own).
pub(super) const VERSION: &str = "v2";

/// Why a received frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// It is not a frame (no header, an unknown topic, no origin).
    Malformed,
    /// It is a frame of another format version (named, or the whole unversioned header).
    Version(String),
}

/// An encoded frame, cheap to clone: a broadcast encodes once and publishes the same bytes to
/// every node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(pub(crate) Bytes);

impl Frame {
    /// Encodes `body` under `topic` from `origin`.
    pub fn encode(
        origin: &NodeId,
        topic: Topic,
        body: &impl Serialize,
    ) -> serde_json::Result<Self> {
        let mut buf = BytesMut::with_capacity(128);
        buf.put_slice(VERSION.as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(topic.as_str().as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(origin.as_str().as_bytes());
        buf.put_u8(b'\n');
        let mut w = buf.writer();
        serde_json::to_writer(&mut w, body)?;
        Ok(Self(w.into_inner().freeze()))
    }

    /// Splits a received frame into topic, origin and body, or says why it is dropped.
    pub fn decode(raw: &[u8]) -> Result<(Topic, NodeId, &[u8]), Dropped> {
        let nl = raw.iter().position(|&b| b == b'\n').ok_or(Dropped::Malformed)?;
        let header = std::str::from_utf8(&raw[..nl]).map_err(|_| Dropped::Malformed)?;
        let mut fields = header.split(' ');
        let (Some(version), Some(topic), Some(origin), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            // Two fields: a frame from before versions (`topic origin`).
            let mut old = header.split(' ');
            return Err(match (old.next().and_then(Topic::parse), old.next(), old.next()) {
                (Some(_), Some(origin), None) if !origin.is_empty() => {
                    Dropped::Version(header.chars().take(64).collect())
                }
                _ => Dropped::Malformed,
            });
        };
        if version != VERSION {
            return Err(Dropped::Version(version.chars().take(16).collect()));
        }
        let topic = Topic::parse(topic).ok_or(Dropped::Malformed)?;
        if origin.is_empty() {
            return Err(Dropped::Malformed);
        }
        Ok((topic, NodeId::new(origin), &raw[nl + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let frame = Frame::encode(&NodeId::new("N1"), Topic::Cmd, &[1, 2]).expect("encodes");
        assert!(frame.0.starts_with(b"v2 cmd N1\n"));
        let (topic, origin, body) = Frame::decode(&frame.0).expect("decodes");
        assert_eq!((topic, origin.as_str(), body), (Topic::Cmd, "N1", &b"[1,2]"[..]));
        for bad in [
            &b""[..],
            b"v2 cmd N1",
            b"v2 cmd\n{}",
            b"v2 cmd \n{}",
            b"v2 zzz N1\n{}",
            b"\xff N1\n{}",
            b"v2 cmd N1 extra\n{}",
        ] {
            assert_eq!(Frame::decode(bad), Err(Dropped::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn frames_of_another_version_are_dropped_not_misread() {
        assert_eq!(Frame::decode(b"v1 cmd N1\n{}"), Err(Dropped::Version("v1".into())));
        assert_eq!(Frame::decode(b"v3 cmd N1\n{}"), Err(Dropped::Version("v3".into())));
        // A peer from before versions existed.
        assert_eq!(Frame::decode(b"cmd N1\n[1]"), Err(Dropped::Version("cmd N1".into())));
    }
}
