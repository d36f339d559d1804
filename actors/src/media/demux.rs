//! Which peer connection a datagram on a worker's socket is for.
//!
//! A STUN message names its peer connection: the first half of its USERNAME is the local ICE
//! ufrag, unique per peer connection. Its source address is then that peer's, so the DTLS,
//! SRTP and SRTCP that follow from it are found by address. Nothing scans every peer.

use std::{collections::HashMap, net::SocketAddr};

use str0m::ice::StunMessage;

use super::peer::PeerId;

/// The worker's two indexes. See the module docs.
#[derive(Debug, Default)]
pub(super) struct Demux {
    ufrags: HashMap<String, PeerId>,
    addrs: HashMap<SocketAddr, PeerId>,
}

/// What a datagram is, as far as routing it goes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// For this peer connection.
    Peer(PeerId),
    /// STUN whose username names no peer connection here.
    UnknownUfrag,
    /// Not STUN, from an address no peer connection has checked from.
    UnknownSource,
    /// Not a datagram WebRTC multiplexes (RFC 7983), or STUN that does not parse.
    Garbage,
}

impl Demux {
    /// Peer `id` answers to local ufrag `ufrag` (and no longer to any other).
    pub(super) fn name(&mut self, id: PeerId, ufrag: &str) {
        self.ufrags.retain(|_, p| *p != id);
        self.ufrags.insert(ufrag.to_owned(), id);
    }

    /// Peer `id` is gone.
    pub(super) fn forget(&mut self, id: PeerId) {
        self.ufrags.retain(|_, p| *p != id);
        self.addrs.retain(|_, p| *p != id);
    }

    /// Where `data` from `source` goes. A STUN request with a known ufrag also binds its
    /// source address to the peer (replacing whichever peer had it before).
    pub(super) fn route(&mut self, data: &[u8], source: SocketAddr) -> Route {
        let Some(&first) = data.first() else { return Route::Garbage };
        match first {
            // STUN (RFC 7983: 0-3).
            0..=3 => {
                let Ok(stun) = StunMessage::parse(data) else { return Route::Garbage };
                let Some((local, _)) = stun.split_username() else {
                    // Responses carry no username: they belong to whoever checks from there.
                    return self.by_source(source);
                };
                match self.ufrags.get(local) {
                    Some(&id) => {
                        self.addrs.insert(source, id);
                        Route::Peer(id)
                    }
                    None => Route::UnknownUfrag,
                }
            }
            // DTLS (20-63), RTP/RTCP (128-191).
            20..=63 | 128..=191 => self.by_source(source),
            _ => Route::Garbage,
        }
    }

    fn by_source(&self, source: SocketAddr) -> Route {
        self.addrs.get(&source).map_or(Route::UnknownSource, |&id| Route::Peer(id))
    }

    /// How many addresses are bound (for tests).
    #[cfg(test)]
    pub(super) fn bound(&self) -> usize {
        self.addrs.len()
    }
}

#[cfg(test)]
mod tests {
    use str0m::ice::{StunMessage, TransId};

    use super::*;

    fn check(username: &str) -> Vec<u8> {
        let msg = StunMessage::binding_request(username, TransId::new(), true, 0, 1, false);
        let mut buf = vec![0; 512];
        // The integrity is not what routing looks at.
        let n = msg.to_bytes(Some(b"password"), &mut buf, |_, _| [0; 20]);
        buf.truncate(n.expect("a STUN message fits"));
        buf
    }

    #[test]
    fn stun_finds_its_peer_by_ufrag_and_binds_the_source_for_what_follows() {
        let mut demux = Demux::default();
        demux.name(7, "abcd");
        let from: SocketAddr = "10.0.0.1:5000".parse().expect("an address");
        let stranger: SocketAddr = "10.0.0.2:5000".parse().expect("an address");
        let dtls = [22u8, 254, 253, 0, 0];
        assert_eq!(demux.route(&dtls, from), Route::UnknownSource);
        assert_eq!(demux.route(&check("abcd:remote"), from), Route::Peer(7));
        assert_eq!(demux.route(&dtls, from), Route::Peer(7));
        assert_eq!(demux.route(&dtls, stranger), Route::UnknownSource);
        assert_eq!(demux.route(&check("wxyz:remote"), stranger), Route::UnknownUfrag);
        assert_eq!(demux.route(&[], from), Route::Garbage);
        assert_eq!(demux.route(&[0xff; 40], from), Route::Garbage);
        assert_eq!(demux.route(&[0u8; 24], from), Route::Garbage);
        demux.forget(7);
        assert_eq!(demux.route(&dtls, from), Route::UnknownSource);
        assert_eq!(demux.bound(), 0);
    }
}
