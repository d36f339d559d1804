//! Engine.IO requests for sessions held by other nodes: no sticky sessions needed.
//!
//! A session's sid names its node (`<random>.<node>`). A long-poll or a POST that a load
//! balancer sends to another node is forwarded there through the cluster's `edge` topic; the
//! holder answers when it has something to say (a long-poll may wait for the next ping), and
//! the receiving node completes the HTTP response. A WebSocket upgrade that reaches another
//! node is relayed the same way: that node keeps the client's socket and passes frames both
//! ways (`WsOpen`, `WsIn`, `WsOut`, `WsClosed`, `WsClose`).

use serde::{Deserialize, Serialize};

use super::messages::Refused;

/// An `edge` frame between nodes.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum EioWire {
    /// A long-poll for session `sid`, held by the receiver.
    Poll {
        /// The session.
        sid: String,
        /// The sender's request number.
        req: u64,
    },
    /// A POST body for session `sid`, held by the receiver.
    Post {
        /// The session.
        sid: String,
        /// The sender's request number.
        req: u64,
        /// The payload.
        body: String,
    },
    /// The answer to request `req`: the payload for a poll, `ok` for a post.
    Answer {
        /// The request.
        req: u64,
        /// Its outcome.
        result: Result<String, Refused>,
    },
    /// A WebSocket upgrade for session `sid` (held by the receiver) reached the sender, which
    /// relays it as proxy `proxy`.
    WsOpen {
        /// The session.
        sid: String,
        /// The sender's proxy number.
        proxy: u64,
    },
    /// Frames from the client of a proxied WebSocket, for session `sid`.
    WsIn {
        /// The session.
        sid: String,
        /// One text frame.
        text: String,
    },
    /// The client of a proxied WebSocket went away.
    WsClosed {
        /// The session.
        sid: String,
    },
    /// Frames for the client of the receiver's proxy `proxy`.
    WsOut {
        /// The proxy.
        proxy: u64,
        /// Text frames, in order.
        frames: Vec<String>,
    },
    /// The session is done with proxy `proxy`: close its WebSocket.
    WsClose {
        /// The proxy.
        proxy: u64,
    },
}

/// The node a sid names, if any.
pub(crate) fn node_of(sid: &str) -> Option<&str> {
    sid.split_once('.').map(|(_, node)| node).filter(|node| !node.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_name_their_node() {
        assert_eq!(node_of("abc.n1~00ff00"), Some("n1~00ff00"));
        assert_eq!(node_of("abc"), None);
        assert_eq!(node_of("abc."), None);
    }
}
