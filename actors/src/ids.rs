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

/// A client-chosen name, unique in its namespace and tenant (the `cmd` dialect's `sId`).
///
/// Built only through [`ClientName::new`], which enforces the core's rules: not empty, at most
/// [`MAX_NAME_LEN`] bytes. Normalisation such as trimming is the dialect's business. Two
/// tenants' same names are different names ([`ClientName::in_tenant`]); `Display` and
/// [`ClientName::as_str`] give the name alone, as its clients know it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Scoped<String>", into = "Scoped<Arc<str>>")]
pub struct ClientName {
    tenant: Tenant,
    name: Arc<str>,
}

impl ClientName {
    /// Accepts `name` (in the default tenant) if it is a valid client name.
    pub fn new(name: &str) -> Option<Self> {
        (!name.is_empty() && name.len() <= MAX_NAME_LEN)
            .then(|| Self { tenant: Tenant::default(), name: name.into() })
    }

    /// The same name in `tenant`'s namespace.
    pub fn in_tenant(self, tenant: &Tenant) -> Self {
        Self { tenant: tenant.clone(), ..self }
    }

    /// The name as text (without its tenant).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The tenant whose name it is.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }
}

impl Named for ClientName {
    fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    fn as_str(&self) -> &str {
        &self.name
    }
}

impl TryFrom<Scoped<String>> for ClientName {
    type Error = &'static str;

    fn try_from(scoped: Scoped<String>) -> Result<Self, Self::Error> {
        let (tenant, name) = scoped.split();
        Self::new(&name).map(|n| n.in_tenant(&tenant)).ok_or("client names are 1 to 256 bytes")
    }
}

impl From<ClientName> for Scoped<Arc<str>> {
    fn from(name: ClientName) -> Self {
        Scoped::join(name.tenant, name.name)
    }
}

impl fmt::Display for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for ClientName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientName({:?})", Scoped::join(self.tenant.clone(), &*self.name))
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

    /// The node's configured id, without the suffix of its run ([`NodeId::incarnation`]).
    pub fn name(&self) -> &str {
        self.0.split_once('~').map_or(&self.0, |(name, _)| name)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room, in the namespace of the dialect and the tenant that created it.
///
/// Names of up to 23 bytes are held inline, longer ones shared: a command naming a room is
/// decoded without an allocation, and a copy of the id is never more than a reference count.
/// Two tenants' same names are different rooms ([`RoomId::in_tenant`]); `Display` and
/// [`RoomId::as_str`] give the name alone, as its clients know it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(from = "Scoped<SmolStr>", into = "Scoped<SmolStr>")]
pub struct RoomId {
    tenant: Tenant,
    name: SmolStr,
}

impl RoomId {
    /// Wraps a room name (in the default tenant).
    pub fn new(id: &str) -> Self {
        Self { tenant: Tenant::default(), name: SmolStr::new(id) }
    }

    /// The same room name in `tenant`'s namespace.
    pub fn in_tenant(self, tenant: &Tenant) -> Self {
        Self { tenant: tenant.clone(), ..self }
    }

    /// The id as text (without its tenant).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The tenant the room belongs to.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }
}

impl Named for RoomId {
    fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    fn as_str(&self) -> &str {
        &self.name
    }
}

impl From<Scoped<SmolStr>> for RoomId {
    fn from(scoped: Scoped<SmolStr>) -> Self {
        let (tenant, name) = scoped.split();
        Self { tenant, name }
    }
}

impl From<RoomId> for Scoped<SmolStr> {
    fn from(room: RoomId) -> Self {
        Scoped::join(room.tenant, room.name)
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({:?})", Scoped::join(self.tenant.clone(), self.name.as_str()))
    }
}

/// The application a client belongs to, as its access token names it. Tenants share the
/// cluster and never meet: their rooms and names are namespaced ([`RoomId::in_tenant`],
/// [`ClientName::in_tenant`]). `Tenant::default()` is the default tenant, which has no name.
///
/// A thin pointer (an `Arc<String>`, not an `Arc<str>`): every room id and client name holds
/// one, and most are the default tenant's.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tenant(Option<Arc<String>>);

impl Tenant {
    /// Longest tenant name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// The tenant named `name`: 1 to 64 ASCII letters, digits, `_`, `-` or `.`.
    pub fn new(name: &str) -> Option<Self> {
        let valid = (1..=Self::MAX_LEN).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        valid.then(|| Self(Some(Arc::new(name.to_owned()))))
    }

    /// Its name; `None` for the default tenant.
    pub fn name(&self) -> Option<&str> {
        self.0.as_deref().map(String::as_str)
    }
}

impl TryFrom<String> for Tenant {
    type Error = &'static str;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        if name.is_empty() {
            return Ok(Self::default());
        }
        Self::new(&name).ok_or("tenant names are 1 to 64 of A-Z a-z 0-9 _ - .")
    }
}

impl From<Tenant> for String {
    fn from(tenant: Tenant) -> Self {
        tenant.name().unwrap_or_default().to_owned()
    }
}

impl fmt::Display for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or("(default)"))
    }
}

impl fmt::Debug for Tenant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tenant({self})")
    }
}

/// A name in a tenant's namespace, as claimed cluster-wide.
pub trait Named {
    /// Its tenant.
    fn tenant(&self) -> &Tenant;
    /// The name alone.
    fn as_str(&self) -> &str;
}

/// How a tenant's name crosses the wire: the name alone in the default tenant (as before
/// tenants existed), `[tenant, name]` in another.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scoped<N> {
    /// A name in the default tenant.
    Bare(N),
    /// A name in a named tenant.
    InTenant(Tenant, N),
}

impl<N> Scoped<N> {
    fn join(tenant: Tenant, name: N) -> Self {
        if tenant.name().is_some() {
            Scoped::InTenant(tenant, name)
        } else {
            Scoped::Bare(name)
        }
    }

    fn split(self) -> (Tenant, N) {
        match self {
            Scoped::Bare(name) => (Tenant::default(), name),
            Scoped::InTenant(tenant, name) => (tenant, name),
        }
    }
}

impl<N: fmt::Debug> fmt::Debug for Scoped<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scoped::Bare(name) => name.fmt(f),
            Scoped::InTenant(tenant, name) => write!(f, "{tenant}/{name:?}"),
        }
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
    fn tenants_names_are_apart_and_cross_the_wire() {
        let acme = Tenant::new("acme").expect("valid");
        let (plain, theirs) = (RoomId::new("r1"), RoomId::new("r1").in_tenant(&acme));
        assert_ne!(plain, theirs);
        assert_eq!((plain.as_str(), theirs.as_str()), ("r1", "r1"));
        assert_eq!(serde_json::to_string(&plain).expect("encodes"), r#""r1""#);
        assert_eq!(serde_json::to_string(&theirs).expect("encodes"), r#"["acme","r1"]"#);
        let back: RoomId = serde_json::from_str(r#"["acme","r1"]"#).expect("decodes");
        assert_eq!(back, theirs);
        let name = ClientName::new("alice").expect("valid").in_tenant(&acme);
        let back: ClientName = serde_json::from_str(r#"["acme","alice"]"#).expect("decodes");
        assert_eq!((back, name.to_string()), (name, "alice".to_owned()));
        assert!(serde_json::from_str::<ClientName>(r#"["a:b","alice"]"#).is_err());
        for bad in ["", "a:b", "a b", "é", &"x".repeat(65)] {
            assert!(Tenant::new(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_tenant_costs_a_room_id_one_pointer() {
        assert_eq!(std::mem::size_of::<Tenant>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<RoomId>(), 32);
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
