//! A WebRTC client (str0m, full ICE, controlling side) for the tests and the load generator: a
//! publisher sending Opus frames, or a viewer counting what it receives.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use str0m::{
    change::{SdpAnswer, SdpOffer, SdpPendingOffer},
    channel::ChannelId,
    format::Codec,
    media::{Direction, Frequency, MediaKind, MediaTime, Mid},
    net::{Protocol, Receive},
    Candidate, Event, IceConnectionState, Input, Output, Rtc,
};
use tokio::net::UdpSocket;

/// What the client has seen so far.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// ICE disconnected after being up (or the peer closed).
    pub disconnected: bool,
    /// Media frames received.
    pub frames: u64,
    /// The payload of the last frame received.
    pub last: Vec<u8>,
    /// Data channel messages received.
    pub messages: u64,
    /// Of the frames received, the video ones.
    pub video_frames: u64,
    /// Keyframe requests (PLI/FIR) received for a track it sends.
    pub keyframe_requests: u64,
}

/// One peer connection on its own UDP socket. See the module docs.
pub struct RtcClient {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    audio: Option<Mid>,
    video: Option<Mid>,
    /// The data channel, once open.
    channel: Option<ChannelId>,
    sent: u64,
    /// Sends a frame every 20 ms while it runs.
    sending: bool,
    /// What it has seen.
    pub seen: Seen,
}

impl std::fmt::Debug for RtcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RtcClient").field("local", &self.local).field("seen", &self.seen).finish()
    }
}

impl RtcClient {
    /// A client on a fresh loopback UDP port.
    pub async fn new() -> std::io::Result<Self> {
        Self::on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await
    }

    /// A client on a fresh UDP port of this host's address toward `server` (ICE pairs a
    /// loopback candidate with loopback ones only).
    pub async fn toward(server: IpAddr) -> std::io::Result<Self> {
        let probe = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        probe.connect((server, 9))?;
        Self::on(probe.local_addr()?.ip()).await
    }

    /// A client answering the server's `offer`, on the address toward the offer's first
    /// candidate; and its answer.
    pub async fn answering(offer: &str) -> std::io::Result<(Self, String)> {
        let server = offer
            .lines()
            .find_map(|l| l.strip_prefix("a=candidate:")?.split(' ').nth(4)?.parse().ok())
            .ok_or_else(|| std::io::Error::other("the offer has no candidate"))?;
        let mut client = Self::toward(server).await?;
        let answer = client.accept_offer(offer).map_err(std::io::Error::other)?;
        Ok((client, answer))
    }

    async fn on(ip: IpAddr) -> std::io::Result<Self> {
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let mut rtc = Rtc::builder().set_crypto_provider(crypto).build(Instant::now());
        let host = Candidate::host(local, "udp").map_err(std::io::Error::other)?;
        rtc.add_local_candidate(host);
        Ok(Self {
            rtc,
            socket,
            local,
            pending: None,
            audio: None,
            video: None,
            channel: None,
            sent: 0,
            sending: false,
            seen: Seen::default(),
        })
    }

    /// An offer to send one audio track (a publisher's uplink).
    pub fn offer_audio(&mut self) -> String {
        self.offer(false, false)
    }

    /// An offer to send one audio and one video track.
    pub fn offer_audio_and_video(&mut self) -> String {
        self.offer(true, false)
    }

    /// An offer to send one audio track and messages on a data channel.
    pub fn offer_audio_and_data(&mut self) -> String {
        self.offer(false, true)
    }

    /// An offer to send audio, and video and a data channel as asked.
    fn offer(&mut self, video: bool, data: bool) -> String {
        let mut api = self.rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video =
            video.then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        if data {
            api.add_channel("data".into());
        }
        let (offer, pending) = api.apply().expect("new tracks are a change");
        (self.audio, self.video) = (Some(audio), video);
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    /// An ICE restart of the connection: the new offer.
    pub fn restart_ice(&mut self) -> String {
        let mut api = self.rtc.sdp_api();
        api.ice_restart(true);
        let (offer, pending) = api.apply().expect("an ICE restart is a change");
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    /// Applies the server's answer to the last offer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        let pending = self.pending.take().ok_or("no offer pending")?;
        self.rtc.sdp_api().accept_answer(pending, answer).map_err(|e| e.to_string())
    }

    /// Answers the server's offer (a viewer's downlink).
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, String> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| e.to_string())?;
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| e.to_string())?;
        Ok(answer.to_sdp_string())
    }

    /// Sends one 20 ms Opus frame carrying `payload` (any bytes: nobody decodes them).
    pub fn send_audio(&mut self, payload: &[u8]) -> bool {
        let time = MediaTime::new(self.sent * 960, Frequency::FORTY_EIGHT_KHZ);
        self.sent += 1;
        self.write(self.audio, Codec::Opus, time, payload)
    }

    /// Writes one frame of `codec` on track `mid`.
    fn write(&mut self, mid: Option<Mid>, codec: Codec, time: MediaTime, payload: &[u8]) -> bool {
        let Some(writer) = mid.and_then(|mid| self.rtc.writer(mid)) else { return false };
        let Some(pt) = writer.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt())
        else {
            return false;
        };
        writer.write(pt, Instant::now(), time, payload.to_vec()).is_ok()
    }

    /// Sends one VP8 frame (a keyframe: its first byte's low bit clear) numbered `n` if it
    /// offered video. Nobody decodes it.
    fn send_video(&mut self, n: u64) {
        let mut frame = vec![0u8; 120];
        frame[1..9].copy_from_slice(&n.to_be_bytes());
        let time = MediaTime::new(n * 1800, Frequency::NINETY_KHZ);
        self.write(self.video, Codec::Vp8, time, &frame);
    }

    /// From now on, sends a 20 ms Opus frame every 20 ms while it runs (its payload: the
    /// frame's number, big-endian), and the same number as a message on its data channel if
    /// it offered one.
    pub fn start_sending(&mut self) {
        self.sending = true;
    }

    /// Runs the connection until `done(seen)` holds or `limit` passes; whether it held.
    pub async fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Seen) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 2048];
        let mut next_frame = Instant::now();
        loop {
            if self.sending && self.seen.connected && Instant::now() >= next_frame {
                let n = self.sent.to_be_bytes();
                self.send_video(self.sent);
                self.send_audio(&n);
                if let Some(mut channel) = self.channel.and_then(|id| self.rtc.channel(id)) {
                    let _ = channel.write(true, &n);
                }
                next_frame += Duration::from_millis(20);
            }
            let mut wake = self.drain();
            if self.sending && self.seen.connected {
                wake = wake.min(next_frame);
            }
            if done(&self.seen) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            step(&mut self.rtc, &self.socket, wake.min(deadline), &mut buf).await;
        }
    }

    /// Sends what str0m has to send and notes what happened; when it next needs time.
    fn drain(&mut self) -> Instant {
        let (seen, channel) = (&mut self.seen, &mut self.channel);
        drain(&mut self.rtc, &self.socket, seen, |event, seen| match event {
            Event::ChannelOpen(id, _) => *channel = Some(id),
            Event::ChannelData(_) => seen.messages += 1,
            Event::MediaData(data) => {
                seen.frames += 1;
                if data.params.spec().codec == Codec::Vp8 {
                    seen.video_frames += 1;
                }
                seen.last = data.data.to_vec();
            }
            _ => {}
        })
    }
}

/// Feeds `rtc` what comes first: a datagram on `socket`, or time at `wake`.
pub(crate) async fn step(rtc: &mut Rtc, socket: &UdpSocket, wake: Instant, buf: &mut [u8]) {
    let Ok(local) = socket.local_addr() else { return };
    tokio::select! {
        got = socket.recv_from(buf) => {
            let Ok((n, source)) = got else { return };
            let Ok(contents) = buf[..n].try_into() else { return };
            let input = Input::Receive(Instant::now(), Receive {
                proto: Protocol::Udp, source, destination: local, contents,
            });
            let _ = rtc.handle_input(input);
        }
        () = tokio::time::sleep_until(wake.into()) => {
            let _ = rtc.handle_input(Input::Timeout(Instant::now()));
        }
    }
}

/// Sends what `rtc` has to send on `socket`, notes in `seen` what every client notes
/// (connected, disconnected, keyframe requests) and hands other events to `on`; when it
/// next needs time.
pub(crate) fn drain(
    rtc: &mut Rtc,
    socket: &UdpSocket,
    seen: &mut Seen,
    mut on: impl FnMut(Event, &mut Seen),
) -> Instant {
    loop {
        match rtc.poll_output() {
            Ok(Output::Timeout(at)) => return at,
            Ok(Output::Transmit(t)) => {
                let _ = socket.try_send_to(&t.contents, t.destination);
            }
            Ok(Output::Event(event)) => match event {
                Event::Connected => seen.connected = true,
                Event::IceConnectionStateChange(IceConnectionState::Disconnected)
                | Event::Closed
                    if seen.connected =>
                {
                    seen.disconnected = true;
                }
                Event::KeyframeRequest(_) => seen.keyframe_requests += 1,
                event => on(event, seen),
            },
            Err(_) => {
                seen.disconnected = true;
                return Instant::now() + Duration::from_millis(50);
            }
        }
    }
}
