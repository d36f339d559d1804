//! Stats reports (mediasoup v2's `enable…Stats`): while a peer has them on for one of its
//! transports, producers or consumers, the room asks the media plane for the target's figures
//! every interval and tells the peer (`transportStats`, `producerStats`, `consumerStats`).
//! One report is on its way per target at most; turning them off stops it at its next turn.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{
    media::Media,
    room::{answer, MediasoupRoom},
    Notice, PeerId, Refusal, Target, Told,
};
use crate::{
    engine::Out,
    media::{Kind, MediaError, Stats},
};

/// The shortest interval served: a peer cannot make the room report faster.
const MIN_INTERVAL_MS: u64 = 100;

impl MediasoupRoom {
    /// The stats interval of `target` of `peer` (`Err` if it has no such target), and a
    /// consumer's producer's peer.
    fn stats_slot(
        &mut self,
        peer: &PeerId,
        target: Target,
    ) -> Result<(&mut Option<u64>, Option<Arc<str>>), Refusal> {
        let member = self.member_mut(peer).ok_or(Refusal::NotJoined)?;
        Ok(match target {
            Target::Transport(id) => {
                let t = member.transports.iter_mut().find(|t| t.id == id);
                (&mut t.ok_or(Refusal::NoTransport(id))?.stats, None)
            }
            Target::Producer(id) => {
                let p = member.producers.iter_mut().find(|p| p.id == id);
                (&mut p.ok_or(Refusal::NoProducer(id))?.stats, None)
            }
            Target::Consumer(id) => {
                let c = member.consumers.iter_mut().find(|c| c.id == id);
                let c = c.ok_or(Refusal::NoConsumer(id))?;
                (&mut c.stats, Some(c.info.peer_name.clone()))
            }
        })
    }

    /// Turns `peer`'s reports on `target` on (every `interval` ms) or off.
    pub(super) fn enable_stats(
        &mut self,
        peer: &PeerId,
        reply: Option<&serde_json::Number>,
        target: Target,
        interval: Option<u64>,
        out: &mut Out<Self>,
    ) {
        let slot = self.stats_slot(peer, target);
        let (slot, _) = match slot {
            Ok(slot) => slot,
            Err(refusal) => return answer(out, peer, reply, Err(refusal)),
        };
        let running = slot.is_some();
        *slot = interval.map(|ms| ms.max(MIN_INTERVAL_MS));
        answer(out, peer, reply, Ok(json!({})));
        if let (Some(interval), false) = (*slot, running) {
            out.effect(Media::Stats { peer: peer.clone(), target, interval });
        }
    }

    /// A report on `target` of `peer` is ready: it is told, and the next one is on its way,
    /// while the reports are on.
    pub(super) fn stats_done(
        &mut self,
        peer: &PeerId,
        target: Target,
        result: Result<Stats, MediaError>,
        out: &mut Out<Self>,
    ) {
        let Ok((slot, peer_name)) = self.stats_slot(peer, target) else { return };
        let Some(interval) = *slot else { return };
        match result {
            Ok(stats) => {
                let stats = stats_json(target, &stats);
                let notice = Notice::Stats { target, peer_name, stats };
                out.push((peer.clone(), Told::Notify(notice)));
            }
            Err(why) => log::debug!("mediasoup: stats of {target:?} of {peer}: {why}"),
        }
        out.effect(Media::Stats { peer: peer.clone(), target, interval });
    }
}

/// The figures as mediasoup v2 lists them: one object per RTP stream or transport.
fn stats_json(target: Target, stats: &Stats) -> Value {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    match (target, stats) {
        (Target::Transport(id), Stats::Transport { bytes_received, bytes_sent, connected }) => {
            let state = if *connected { "connected" } else { "new" };
            json!([{
                "type": "transport", "transportId": id, "timestamp": timestamp,
                "bytesReceived": bytes_received, "bytesSent": bytes_sent,
                "iceState": if *connected { "completed" } else { "new" }, "dtlsState": state,
            }])
        }
        (_, Stats::Stream { kind, ssrc, received, packets, bytes }) => {
            let kind = match kind {
                Kind::Audio => "audio",
                Kind::Video => "video",
            };
            json!([{
                "type": if *received { "inbound-rtp" } else { "outbound-rtp" },
                "timestamp": timestamp, "kind": kind, "mediaType": kind, "ssrc": ssrc,
                "packetCount": packets, "byteCount": bytes,
            }])
        }
        (_, Stats::Transport { .. }) => json!([]),
    }
}
