//! `Handshakes`: polling sessions whose client has not come back since its handshake, counted
//! per source address. A real client polls (or posts, or upgrades) at once; one that does not
//! is either gone or flooding handshakes, and each such session holds a client's place. So
//! one source may hold only so many at a time, and each lasts only the handshake timeout (see
//! `EioSession`), however many handshakes it pipelines.

use std::{collections::HashMap, net::IpAddr};

/// The pending handshakes. Owned by the `EioRegistry`.
#[derive(Debug, Default)]
pub(crate) struct Handshakes {
    /// Most pending sessions per source.
    cap: usize,
    per_source: HashMap<IpAddr, usize>,
    source_of: HashMap<String, IpAddr>,
}

impl Handshakes {
    /// At most `cap` pending sessions per source.
    pub(crate) fn new(cap: usize) -> Self {
        Self { cap, ..Self::default() }
    }

    /// Reserves a place for a new session from `source`; `false` if it has its share.
    pub(crate) fn admit(&mut self, source: IpAddr) -> bool {
        let count = self.per_source.entry(source).or_default();
        if *count >= self.cap {
            return false;
        }
        *count += 1;
        true
    }

    /// The admitted session from `source` is `sid`.
    pub(crate) fn started(&mut self, sid: String, source: IpAddr) {
        self.source_of.insert(sid, source);
    }

    /// Session `sid` is no longer pending (its client came back, or it ended).
    pub(crate) fn done(&mut self, sid: &str) {
        let Some(source) = self.source_of.remove(sid) else { return };
        if let Some(count) = self.per_source.get_mut(&source) {
            *count -= 1;
            if *count == 0 {
                self.per_source.remove(&source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_holds_at_most_its_share_until_its_sessions_are_done() {
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut h = Handshakes::new(2);
        assert!(h.admit(a));
        h.started("s1".into(), a);
        assert!(h.admit(a));
        h.started("s2".into(), a);
        assert!(!h.admit(a), "a has its share");
        assert!(h.admit(b), "b is counted apart");
        h.done("s1");
        h.done("s1");
        assert!(h.admit(a), "one of a's came back");
        assert!(!h.admit(a));
        h.done("unknown");
        assert_eq!(h.per_source.get(&a), Some(&2));
    }
}
