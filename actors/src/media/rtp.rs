//! How RTP moves between a worker's transports without SDP: each packet of a producer is
//! written to each of its consumers' streams with the consumer's payload type (str0m gives it
//! the consumer's SSRC, sequence and SRTP context); a consumer's keyframe request, and a new
//! or resumed consumer, ask its producer for a keyframe.

use std::time::Instant;

use str0m::{
    media::{KeyframeRequestKind, MediaKind},
    rtp::{RtpPacket, RtpWrite, SeqNo, Ssrc},
};

use super::{
    peer::{Happened, PeerId},
    transport::transport_of,
    worker::Worker,
};

impl Worker {
    /// Asks producer `ssrc` on transport `up` for a keyframe, if it is video.
    pub(super) fn keyframe(&mut self, up: PeerId, ssrc: Ssrc) {
        let Some(peer) = self.peers.get_mut(&up) else { return };
        let video = transport_of(peer)
            .and_then(|t| t.producers.iter().find(|p| p.ssrc == ssrc))
            .is_some_and(|p| p.kind == MediaKind::Video);
        if video {
            peer.direct(|api| {
                if let Some(rx) = api.stream_rx(&ssrc) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                }
            });
            self.drive(up);
        }
    }

    /// What happened on transport `id`.
    pub(super) fn on_transport_event(&mut self, id: PeerId, event: Happened) {
        match event {
            Happened::Rtp(packet) => self.forward_rtp(id, &packet),
            Happened::Keyframe(req) => {
                let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
                if let Some(c) = t.consumers.iter().find(|c| c.mid == req.mid) {
                    let (up, ssrc) = c.producer;
                    self.keyframe(up, ssrc);
                }
            }
            Happened::Connected => {
                let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
                let producers: Vec<_> = t.consumers.iter().map(|c| c.producer).collect();
                for (up, ssrc) in producers {
                    self.keyframe(up, ssrc);
                }
            }
            _ => {}
        }
    }

    /// Writes `packet`, received on transport `id`, to each consumer of its producer.
    fn forward_rtp(&mut self, id: PeerId, packet: &RtpPacket) {
        let Some(t) = self.peers.get_mut(&id).and_then(transport_of) else { return };
        let Some(produced) = t.producers.iter_mut().find(|p| p.ssrc == packet.header.ssrc) else {
            return;
        };
        produced.counted.0 += 1;
        produced.counted.1 += packet.payload.len() as u64;
        if produced.paused {
            return;
        }
        let consumers = produced.consumers.clone();
        let now = Instant::now();
        for (down, ssrc) in consumers {
            let Some(peer) = self.peers.get_mut(&down) else { continue };
            if peer.stalled.is_some() {
                continue;
            }
            let Some(t) = transport_of(peer) else { continue };
            let Some(c) = t.consumers.iter_mut().find(|c| c.ssrc == ssrc) else { continue };
            if c.paused {
                continue;
            }
            let pt = packet.header.payload_type;
            let Some(&(_, pt)) = c.pts.iter().find(|(from, _)| *from == pt) else { continue };
            let Some(seq) = rebased(&mut c.seq_base, *packet.seq_no) else { continue };
            c.counted.0 += 1;
            c.counted.1 += packet.payload.len() as u64;
            let write = RtpWrite::new(
                pt,
                SeqNo::from(seq),
                packet.header.timestamp,
                now,
                packet.payload.clone(),
            )
            .marker(packet.header.marker)
            .nackable(true);
            let written = peer.direct(|api| match api.stream_tx(&ssrc) {
                Some(tx) => {
                    tx.write_rtp(write);
                    true
                }
                None => false,
            });
            if written == Some(true) {
                let load = &self.load;
                load.forwarded_packets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let bytes = packet.payload.len() as u64;
                load.forwarded_bytes.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
            self.drive(down);
        }
    }
}

/// The sequence number of a consumer's packet whose producer's (extended) one is `seq`, the
/// consumer's first being 1 (`base` is set by it); `None` for a packet older than the
/// consumer's first. A consumer that starts after its producer has sent 65,536 packets (20
/// minutes of audio, a minute of video) would otherwise begin with a rollover count its
/// receiver cannot know, and every packet would fail its SRTP check there.
pub(super) fn rebased(base: &mut Option<u64>, seq: u64) -> Option<u64> {
    let base = *base.get_or_insert(seq.saturating_sub(1));
    seq.checked_sub(base).filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_consumer_numbers_its_packets_from_one_whenever_it_starts() {
        let mut base = None;
        assert_eq!(super::rebased(&mut base, 200_000), Some(1), "past three rollovers");
        assert_eq!(super::rebased(&mut base, 200_001), Some(2));
        assert_eq!(super::rebased(&mut base, 200_005), Some(6), "a gap stays a gap");
        assert_eq!(super::rebased(&mut base, 199_990), None, "older than the first");
        assert_eq!(super::rebased(&mut None, 0), None);
    }
}
