//! Newtype identifiers used across the core.
//!
//! Ids are cheap to clone (`Arc<str>`, an inline small string, or a `u64`) because they travel
//! in every message. Generated ids print with a short type prefix so log lines are readable
//! (`CO_17`).

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// Longest client-chosen name the core accepts, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// One WebSocket (or other transport) connection on this node; unique per node for its lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CO_{}", self.0)
    }
}

/// A client-chosen name, unique in its namespace (the `cmd` dialect's `sId`).
///
/// Built only through [`ClientName::new`], which enforces the core's rules: not empty, at most
/// [`MAX_NAME_LEN`] bytes. Normalisation such as trimming is the dialect's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "Arc<str>")]
pub struct ClientName(Arc<str>);

impl ClientName {
    /// Accepts `name` if it is a valid client name.
    pub fn new(name: &str) -> Option<Self> {
        (!name.is_empty() && name.len() <= MAX_NAME_LEN).then(|| Self(name.into()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientName {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::new(&name).ok_or("client names are 1 to 256 bytes")
    }
}

impl From<ClientName> for Arc<str> {
    fn from(name: ClientName) -> Self {
        name.0
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 1:1 call session id: 8 decimal digits, unique among live sessions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(Arc<str>);

impl CallId {
    /// Wraps a session id as named by a client. Any text is accepted: an id that names no live
    /// session simply finds none.
    pub fn new(id: &str) -> Self {
        Self(id.into())
    }

    /// Draws a fresh random 8-digit id (it may start with `0`, as the reference's did).
    pub fn random() -> Self {
        let n: u32 = rand::Rng::gen_range(&mut rand::thread_rng(), 0..100_000_000);
        Self(format!("{n:08}").into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(Arc<str>);

impl NodeId {
    /// Wraps a configured node id.
    pub fn new(id: &str) -> Self {
        Self(id.into())
    }

    /// A random id for a node that was not given one (`N_` and 12 hex digits).
    pub fn random() -> Self {
        let n: u64 = rand::random();
        Self(format!("N_{:012x}", n & 0xffff_ffff_ffff).into())
    }

    /// This run of the node: its id and a random suffix (`n1~3fa9c2`). A node restarted under
    /// the same id is then a new member of the cluster, and its previous run is noticed dead
    /// and swept like any other, so nothing it held (names, calls) outlives it.
    pub fn incarnation(&self) -> Self {
        let n: u32 = rand::random();
        Self(format!("{}~{:06x}", self.0, n & 0xff_ffff).into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room, in the namespace of the dialect that created it.
///
/// Names of up to 23 bytes are held inline, longer ones shared: a command naming a room is
/// decoded without an allocation, and a copy of the id is never more than a reference count.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(SmolStr);

impl RoomId {
    /// Wraps a room name.
    pub fn new(id: &str) -> Self {
        Self(SmolStr::new(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A server-assigned client id (the `rooms` dialect's Socket.IO socket id): 20 URL-safe
/// characters, random, so unique cluster-wide without coordination. Held inline, like a
/// short [`RoomId`]: a signal's target is decoded without an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SocketId(SmolStr);

impl SocketId {
    /// Draws a fresh id (120 random bits).
    pub fn random() -> Self {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut rng = rand::thread_rng();
        let mut id = [0u8; 20];
        for b in &mut id {
            *b = ALPHABET[rand::Rng::gen_range(&mut rng, 0..64)];
        }
        Self(SmolStr::new(std::str::from_utf8(&id).expect("the alphabet is ASCII")))
    }

    /// Wraps an id named by a client (it may name nobody).
    pub fn new(id: &str) -> Self {
        Self(SmolStr::new(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_non_empty_and_bounded() {
        assert!(ClientName::new("").is_none());
        assert!(ClientName::new(&"x".repeat(MAX_NAME_LEN + 1)).is_none());
        assert_eq!(ClientName::new("A").map(|n| n.to_string()).as_deref(), Some("A"));
    }

    #[test]
    fn random_call_ids_are_eight_digits() {
        for _ in 0..1000 {
            let id = CallId::random();
            assert_eq!(id.as_str().len(), 8);
            assert!(id.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
