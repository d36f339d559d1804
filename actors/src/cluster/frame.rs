//! The frame that carries one message between nodes: a one-line header naming the topic and the
//! origin node, then the topic's JSON body. The bridge reads only the header to route a frame;
//! the topic's owner parses the body once.

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
    /// The edge's own traffic (Engine.IO requests answered by the node holding the session).
    Edge,
}

impl Topic {
    fn as_str(self) -> &'static str {
        match self {
            Topic::Node => "node",
            Topic::Cmd => "cmd",
            Topic::Rooms => "rooms",
            Topic::Signals => "signals",
            Topic::Edge => "edge",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "node" => Some(Topic::Node),
            "cmd" => Some(Topic::Cmd),
            "rooms" => Some(Topic::Rooms),
            "signals" => Some(Topic::Signals),
            "edge" => Some(Topic::Edge),
            _ => None,
        }
    }
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
        buf.put_slice(topic.as_str().as_bytes());
        buf.put_u8(b' ');
        buf.put_slice(origin.as_str().as_bytes());
        buf.put_u8(b'\n');
        let mut w = buf.writer();
        serde_json::to_writer(&mut w, body)?;
        Ok(Self(w.into_inner().freeze()))
    }

    /// Splits a received frame into topic, origin and body; `None` if it is malformed.
    pub fn decode(raw: &[u8]) -> Option<(Topic, NodeId, &[u8])> {
        let nl = raw.iter().position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&raw[..nl]).ok()?;
        let (topic, origin) = header.split_once(' ')?;
        if origin.is_empty() {
            return None;
        }
        Some((Topic::parse(topic)?, NodeId::new(origin), &raw[nl + 1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_refused() {
        let frame = Frame::encode(&NodeId::new("N1"), Topic::Cmd, &[1, 2]).expect("encodes");
        let (topic, origin, body) = Frame::decode(&frame.0).expect("decodes");
        assert_eq!((topic, origin.as_str(), body), (Topic::Cmd, "N1", &b"[1,2]"[..]));
        for bad in [&b""[..], b"cmd N1", b"cmd\n{}", b"cmd \n{}", b"zzz N1\n{}", b"\xff N1\n{}"] {
            assert!(Frame::decode(bad).is_none(), "{bad:?}");
        }
    }
}
