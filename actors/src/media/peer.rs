//! One peer connection of a media worker: a str0m `Rtc` (ICE-lite, DTLS-SRTP) and what the
//! worker knows of it. Every call into the `Rtc` is guarded: a panic inside str0m ends this
//! peer connection only, never the worker or its other peers.

use std::{
    net::SocketAddr,
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
    time::{Duration, Instant},
};

use super::{outbox::Outbox, MediaError, WorkerLoad};
use str0m::{
    change::DirectApi,
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::{ChannelData, ChannelId},
    config::CryptoProvider,
    media::{Direction, KeyframeRequest, MediaData, MediaKind, Mid},
    net::{Protocol, Receive},
    rtp::RtpPacket,
    Candidate, Event, IceConnectionState, IceCreds, Input, Output, Rtc, RtcConfig, RtcError,
};

/// A peer connection's id, unique in the process.
pub(super) type PeerId = u64;

/// Most datagrams kept for a downlink while the viewer's answer is on its way.
const EARLY_KEPT: usize = 64;

/// Most m-lines an offer may have: more is no client's real use, and each costs the server.
const MAX_M_LINES: usize = 16;

/// How long a peer connection may go without ICE before it is closed.
pub(super) const STALL_LIMIT: Duration = Duration::from_secs(30);

/// What a peer connection is for.
#[derive(Debug)]
pub(super) enum Role {
    /// A publisher's uplink: the tracks it sends, whether it offered a data channel, and the
    /// downlinks of its viewers.
    Up { tracks: Vec<(Mid, MediaKind)>, data: bool, viewers: Vec<PeerId> },
    /// A viewer's downlink of one uplink: which of its mids carries which of the uplink's, and
    /// the data channel that carries the uplink's messages, if it has one.
    Down { uplink: PeerId, mids: Vec<(Mid, Mid)>, channel: Option<ChannelId> },
    /// A transport driven without SDP (a `mediasoup` transport): the producers it receives and
    /// the consumers it sends.
    Transport(Box<super::transport::Transport>),
}

/// Why a peer connection ended before it was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    /// No working ICE for [`STALL_LIMIT`].
    NoIce,
    /// str0m failed it (DTLS, SRTP, SCTP).
    Failed(String),
    /// A panic inside str0m.
    Panicked,
    /// Its client closed it.
    Closed,
}

/// What came out of a peer connection that concerns other peers.
// Media is by far the most frequent: it moves unboxed, through a short-lived list.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(super) enum Happened {
    /// The uplink announced a track.
    Added(Mid, MediaKind),
    /// Media arrived on the uplink.
    Media(MediaData),
    /// An RTP packet arrived on a transport.
    Rtp(RtpPacket),
    /// A message arrived on the uplink's data channel.
    Message(ChannelData),
    /// The downlink's viewer asks for a keyframe.
    Keyframe(KeyframeRequest),
    /// ICE and DTLS are up.
    Connected,
}

/// The server's offer of a downlink.
pub(super) struct Offered {
    /// The SDP offer.
    pub(super) sdp: String,
    /// Which local mid carries which of the uplink's tracks.
    pub(super) mids: Vec<(Mid, Mid)>,
    /// The data channel for the uplink's messages, if it has one.
    pub(super) channel: Option<ChannelId>,
}

/// One peer connection. See the module docs.
pub(super) struct Peer {
    pub(super) room: String,
    pub(super) session: String,
    pub(super) role: Role,
    /// The local ICE ufrag STUN from its client names.
    pub(super) ufrag: String,
    /// When the `Rtc` next needs time to pass.
    pub(super) next: Instant,
    /// The time of its newest entry in the worker's timers.
    pub(super) scheduled: Option<Instant>,
    /// Since when it has had no working ICE (from its start, or a disconnection).
    pub(super) stalled: Option<Instant>,
    /// Bytes of the datagrams it received and sent.
    pub(super) bytes: (u64, u64),
    rtc: Rtc,
    /// The server's offer, until the viewer's answer is applied.
    pending: Option<SdpPendingOffer>,
    /// Datagrams that came before the answer: replayed once it is applied.
    early: Vec<(Instant, SocketAddr, Vec<u8>)>,
    /// Why it failed, once it has.
    failed: Option<Ended>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("room", &self.room)
            .field("session", &self.session)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A new ICE-lite peer connection reached at `candidate`, negotiated with SDP.
    pub(super) fn new(
        room: &str,
        session: &str,
        role: Role,
        crypto: &Arc<CryptoProvider>,
        candidate: SocketAddr,
    ) -> Result<Self, MediaError> {
        Self::with_config(room, session, role, Rtc::builder(), crypto, candidate)
    }

    /// [`Peer::new`], from `config` (a transport driven without SDP sets its codecs and RTP
    /// mode there).
    pub(super) fn with_config(
        room: &str,
        session: &str,
        role: Role,
        config: RtcConfig,
        crypto: &Arc<CryptoProvider>,
        candidate: SocketAddr,
    ) -> Result<Self, MediaError> {
        let creds = IceCreds::new();
        let ufrag = creds.ufrag.clone();
        let now = Instant::now();
        let mut rtc = config
            .set_ice_lite(true)
            .set_local_ice_credentials(creds)
            .set_crypto_provider(crypto.clone())
            .build(now);
        let host =
            Candidate::host(candidate, "udp").map_err(|e| MediaError::Failed(e.to_string()))?;
        rtc.add_local_candidate(host);
        Ok(Self {
            room: room.to_owned(),
            session: session.to_owned(),
            role,
            ufrag,
            next: now,
            scheduled: None,
            stalled: Some(now),
            bytes: (0, 0),
            rtc,
            pending: None,
            early: Vec::new(),
            failed: None,
        })
    }

    /// Calls into the `Rtc`; a panic there fails this peer.
    fn guard<T>(&mut self, f: impl FnOnce(&mut Rtc) -> Result<T, RtcError>) -> Result<T, String> {
        match catch_unwind(AssertUnwindSafe(|| f(&mut self.rtc))) {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => {
                self.failed = Some(Ended::Panicked);
                Err("the peer connection panicked".to_owned())
            }
        }
    }

    /// Changes the connection without SDP; `None` if str0m panicked (the peer has failed).
    pub(super) fn direct<T>(&mut self, f: impl FnOnce(&mut DirectApi<'_>) -> T) -> Option<T> {
        self.guard(|rtc| Ok(f(&mut rtc.direct_api()))).ok()
    }

    /// Why it ended, if it has.
    pub(super) fn ended(&self) -> Option<Ended> {
        match &self.failed {
            Some(why) => Some(why.clone()),
            None if !self.rtc.is_alive() => Some(Ended::Closed),
            None => None,
        }
    }

    /// Answers the client's `offer` (a first one, or a renegotiation such as an ICE restart);
    /// an uplink learns its tracks from it.
    pub(super) fn accept_offer(&mut self, offer: &str) -> Result<String, MediaError> {
        let m_lines = offer.lines().filter(|l| l.starts_with("m=")).count();
        if m_lines > MAX_M_LINES {
            let why = format!("{m_lines} m-lines; at most {MAX_M_LINES} are served");
            return Err(MediaError::BadSdp(why));
        }
        let offer =
            SdpOffer::from_sdp_string(offer).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let answer =
            self.guard(|rtc| rtc.sdp_api().accept_offer(offer)).map_err(MediaError::BadSdp)?;
        let sdp = answer.to_sdp_string();
        if let Some(ufrag) = ufrag_of(&sdp) {
            self.ufrag = ufrag.to_owned();
        }
        if let Role::Up { tracks, data, .. } = &mut self.role {
            *tracks = received_tracks(&sdp);
            *data = sdp.contains("\nm=application");
        }
        Ok(sdp)
    }

    /// The server's offer sending `tracks` (of stream `stream`) and, with `data`, a data
    /// channel; which of its mids carries which track, and the channel.
    pub(super) fn offer(
        &mut self,
        tracks: &[(Mid, MediaKind)],
        data: bool,
        stream: &str,
    ) -> Result<Offered, MediaError> {
        let made = self.guard(|rtc| {
            let mut api = rtc.sdp_api();
            let mut mids = Vec::with_capacity(tracks.len());
            for &(mid, kind) in tracks {
                let local =
                    api.add_media(kind, Direction::SendOnly, Some(stream.to_owned()), None, None);
                mids.push((mid, local));
            }
            let channel = data.then(|| api.add_channel(stream.to_owned()));
            Ok(api.apply().map(|(offer, pending)| (offer, pending, mids, channel)))
        });
        match made {
            Ok(Some((offer, pending, mids, channel))) => {
                self.pending = Some(pending);
                Ok(Offered { sdp: offer.to_sdp_string(), mids, channel })
            }
            Ok(None) => Err(MediaError::NotPublishing),
            Err(e) => Err(MediaError::Failed(e)),
        }
    }

    /// Applies the viewer's `answer` to the server's offer, then the datagrams that came early.
    pub(super) fn accept_answer(
        &mut self,
        answer: &str,
        local: SocketAddr,
    ) -> Result<(), MediaError> {
        let answer =
            SdpAnswer::from_sdp_string(answer).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let pending = self.pending.take().ok_or(MediaError::NoOffer)?;
        self.guard(|rtc| rtc.sdp_api().accept_answer(pending, answer))
            .map_err(MediaError::BadSdp)?;
        for (at, source, data) in std::mem::take(&mut self.early) {
            let _ = self.receive(at, source, local, &data);
        }
        Ok(())
    }

    /// A datagram from `source` to `local` (the announced address); true if it was kept for
    /// when the viewer's answer is applied.
    pub(super) fn receive(
        &mut self,
        at: Instant,
        source: SocketAddr,
        local: SocketAddr,
        data: &[u8],
    ) -> bool {
        self.bytes.0 += data.len() as u64;
        if self.pending.is_some() {
            if self.early.len() < EARLY_KEPT {
                self.early.push((at, source, data.to_vec()));
                return true;
            }
            return false;
        }
        let Ok(contents) = data.try_into() else { return false };
        let input = Input::Receive(
            at,
            Receive { proto: Protocol::Udp, source, destination: local, contents },
        );
        if let Err(e) = self.guard(|rtc| rtc.handle_input(input)) {
            log::debug!("media: peer {}/{}: input refused: {e}", self.room, self.session);
        }
        false
    }

    /// Time passes.
    pub(super) fn tick(&mut self, now: Instant) {
        let _ = self.guard(|rtc| rtc.handle_input(Input::Timeout(now)));
    }

    /// Sends what the `Rtc` has to send and collects what happened, until it waits for time.
    pub(super) fn poll(&mut self, outbox: &mut Outbox, load: &WorkerLoad, out: &mut Vec<Happened>) {
        while self.failed.is_none() && self.rtc.is_alive() {
            match self.guard(|rtc| rtc.poll_output()) {
                Ok(Output::Timeout(at)) => {
                    self.next = at;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    self.bytes.1 += t.contents.len() as u64;
                    outbox.send(t.destination, &t.contents, load);
                }
                Ok(Output::Event(event)) => self.on_event(event, out),
                Err(e) => {
                    self.failed.get_or_insert(Ended::Failed(e));
                }
            }
        }
    }

    fn on_event(&mut self, event: Event, out: &mut Vec<Happened>) {
        match event {
            Event::Connected => {
                self.stalled = None;
                out.push(Happened::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                self.stalled.get_or_insert_with(Instant::now);
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) => self.stalled = None,
            Event::MediaAdded(added) if added.direction.is_receiving() => {
                out.push(Happened::Added(added.mid, added.kind));
            }
            Event::MediaData(data) => out.push(Happened::Media(data)),
            Event::RtpPacket(packet) => out.push(Happened::Rtp(packet)),
            Event::ChannelData(data) => out.push(Happened::Message(data)),
            Event::KeyframeRequest(req) => out.push(Happened::Keyframe(req)),
            _ => {}
        }
    }

    /// Sends `data` (from the uplink's track) on local track `mid`; false if it could not be.
    pub(super) fn forward(&mut self, mid: Mid, data: &MediaData) -> bool {
        if self.pending.is_some() || self.stalled.is_some() {
            return false;
        }
        let sent = self.guard(|rtc| {
            let Some(writer) = rtc.writer(mid) else { return Ok(false) };
            let Some(pt) = writer.match_params(data.params) else { return Ok(false) };
            writer.write(pt, data.network_time, data.time, data.data.clone()).map(|()| true)
        });
        sent.unwrap_or(false)
    }

    /// Sends `message` (from the uplink's data channel) on local channel `channel`; false if it
    /// could not be (not open yet, or its buffer full).
    pub(super) fn relay(&mut self, channel: ChannelId, message: &ChannelData) -> bool {
        let sent = self.guard(|rtc| match rtc.channel(channel) {
            Some(mut open) => open.write(message.binary, &message.data),
            None => Ok(false),
        });
        sent.unwrap_or(false)
    }

    /// Asks the client for a keyframe on its track `mid`.
    pub(super) fn request_keyframe(&mut self, mid: Mid, req: &KeyframeRequest) {
        let _ = self.guard(|rtc| match rtc.writer(mid) {
            Some(mut writer) => writer.request_keyframe(req.rid, req.kind),
            None => Ok(()),
        });
    }

    /// Closes the peer connection at once: RTCP BYE and a DTLS close_notify (sent by the next
    /// [`Peer::poll`]) tell the client now, not after its ICE consent times out.
    pub(super) fn close(&mut self) {
        if self.guard(Rtc::close).is_err() {
            self.rtc.disconnect();
        }
    }
}

/// The `a=ice-ufrag` of an SDP.
fn ufrag_of(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
}

/// The tracks an answer of the server's receives: each audio or video m-section it answers
/// `recvonly` or `sendrecv`.
fn received_tracks(answer: &str) -> Vec<(Mid, MediaKind)> {
    let mut tracks = Vec::new();
    for section in answer.split("\nm=").skip(1) {
        let kind = match section.split(' ').next() {
            Some("audio") => MediaKind::Audio,
            Some("video") => MediaKind::Video,
            _ => continue,
        };
        let lines = || section.lines().map(str::trim_end);
        let receives = lines().any(|l| l == "a=recvonly" || l == "a=sendrecv");
        if let Some(mid) = lines().find_map(|l| l.strip_prefix("a=mid:")).filter(|_| receives) {
            tracks.push((Mid::from(mid), kind));
        }
    }
    tracks
}

#[cfg(test)]
mod tests {
    use str0m::media::{MediaKind, Mid};

    #[test]
    fn an_answer_names_the_tracks_it_receives() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=inactive\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\na=mid:3\r\n";
        let tracks = super::received_tracks(sdp);
        assert_eq!(
            tracks,
            vec![(Mid::from("0"), MediaKind::Audio), (Mid::from("3"), MediaKind::Video)]
        );
    }

    #[test]
    fn the_ufrag_is_read_from_the_sdp() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:Ab12\r\na=ice-pwd:x\r\n";
        assert_eq!(super::ufrag_of(sdp), Some("Ab12"));
        assert_eq!(super::ufrag_of("v=0\r\n"), None);
    }
}
