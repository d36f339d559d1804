//! A WebRTC client without SDP (str0m's Direct API, RTP mode, full ICE, controlling), the
//! media end of a `mediasoup` client in the tests: it connects to one server transport from
//! the transport's ICE and DTLS parameters, then sends an Opus stream or counts the RTP
//! packets of the streams it expects.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};

use str0m::{
    config::Fingerprint,
    format::{Codec, FormatParams},
    media::{Frequency, MediaKind, Mid, Pt},
    rtp::{RtpWrite, SeqNo, Ssrc},
    Candidate, Event, IceCreds, Rtc,
};
use tokio::net::UdpSocket;

use crate::rtc::Seen;

/// The Opus payload type both ends use.
pub const OPUS_PT: u8 = 111;

/// A server transport, as its client is told of it.
#[derive(Debug, Clone)]
pub struct Remote {
    /// Its ICE username fragment.
    pub ufrag: String,
    /// Its ICE password.
    pub pwd: String,
    /// Its candidate.
    pub candidate: SocketAddr,
    /// Its certificate's SHA-256 fingerprint, `AB:CD:…`.
    pub fingerprint: String,
}

/// One transport's client. See the module docs.
pub struct DirectClient {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// The stream it sends, once asked to: its SSRC.
    sending: Option<Ssrc>,
    sent: u64,
    /// What it has seen (`frames` counts RTP packets received).
    pub seen: Seen,
}

impl std::fmt::Debug for DirectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectClient")
            .field("local", &self.local)
            .field("seen", &self.seen)
            .finish()
    }
}

impl DirectClient {
    /// A client on a fresh UDP port of this host's address toward `server`.
    pub async fn toward(server: IpAddr) -> std::io::Result<Self> {
        let probe = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))?;
        probe.connect((server, 9))?;
        let socket = UdpSocket::bind((probe.local_addr()?.ip(), 0)).await?;
        let local = socket.local_addr()?;
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        let mut config = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .clear_extension_map()
            .set_local_ice_credentials(IceCreds::new())
            .set_crypto_provider(crypto);
        let opus =
            FormatParams { min_p_time: Some(10), use_inband_fec: Some(true), ..Default::default() };
        config.codec_config().add_config(
            OPUS_PT.into(),
            None,
            Codec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            opus,
        );
        let mut rtc = config.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(std::io::Error::other)?);
        Ok(Self { rtc, socket, local, sending: None, sent: 0, seen: Seen::default() })
    }

    /// Its ICE username fragment and password.
    pub fn ice(&mut self) -> (String, String) {
        let creds = self.rtc.direct_api().local_ice_credentials();
        (creds.ufrag, creds.pass)
    }

    /// Its certificate's SHA-256 fingerprint, `AB:CD:…`.
    pub fn fingerprint(&mut self) -> String {
        let fingerprint = self.rtc.direct_api().local_dtls_fingerprint().to_string();
        fingerprint.split_once(' ').map_or(String::new(), |(_, hex)| hex.to_owned())
    }

    /// Connects to `remote`, taking the DTLS client side if `dtls_client`.
    pub fn connect(&mut self, remote: &Remote, dtls_client: bool) -> Result<(), String> {
        let fingerprint: Fingerprint = format!("sha-256 {}", remote.fingerprint).parse()?;
        let candidate = Candidate::host(remote.candidate, "udp").map_err(|e| e.to_string())?;
        self.rtc.add_remote_candidate(candidate);
        let mut api = self.rtc.direct_api();
        api.set_ice_controlling(true);
        api.set_remote_ice_credentials(IceCreds {
            ufrag: remote.ufrag.clone(),
            pass: remote.pwd.clone(),
        });
        api.set_remote_fingerprint(fingerprint);
        api.start_dtls(dtls_client).map_err(|e| e.to_string())
    }

    /// Sends an Opus stream as `ssrc` once connected: a 20 ms packet every 20 ms while it
    /// runs, whose payload is the packet's number, big-endian.
    pub fn send_audio(&mut self, ssrc: u32) {
        let (mid, ssrc) = (Mid::from("a"), Ssrc::from(ssrc));
        let mut api = self.rtc.direct_api();
        api.declare_media(mid, MediaKind::Audio);
        api.declare_stream_tx(ssrc, None, mid, None);
        self.sending = Some(ssrc);
    }

    /// Expects an audio stream as `ssrc` (a consumer's).
    pub fn receive_audio(&mut self, ssrc: u32) {
        let mid = Mid::from(format!("r{ssrc}").as_str());
        let mut api = self.rtc.direct_api();
        api.declare_media(mid, MediaKind::Audio);
        api.expect_stream_rx(ssrc.into(), None, mid, None);
    }

    fn send_next(&mut self) {
        let Some(ssrc) = self.sending else { return };
        let n = self.sent;
        self.sent += 1;
        let write = RtpWrite::new(
            Pt::from(OPUS_PT),
            SeqNo::from(n + 1),
            (n * 960) as u32,
            Instant::now(),
            n.to_be_bytes().to_vec(),
        );
        if let Some(tx) = self.rtc.direct_api().stream_tx(&ssrc) {
            tx.write_rtp(write);
        }
    }

    /// Runs the connection until `done(seen)` holds or `limit` passes; whether it held.
    pub async fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Seen) -> bool,
    ) -> bool {
        let deadline = Instant::now() + limit;
        let mut buf = vec![0u8; 2048];
        let mut next_packet = Instant::now();
        loop {
            let sending = self.sending.is_some() && self.seen.connected;
            let now = Instant::now();
            if sending && now >= next_packet {
                self.send_next();
                // Steady, never a burst to catch up (with the time it took to connect).
                next_packet = (next_packet + Duration::from_millis(20)).max(now);
            }
            let mut wake = self.drain();
            if sending {
                wake = wake.min(next_packet);
            }
            if done(&self.seen) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            crate::rtc::step(&mut self.rtc, &self.socket, wake.min(deadline), &mut buf).await;
        }
    }

    fn drain(&mut self) -> Instant {
        crate::rtc::drain(&mut self.rtc, &self.socket, &mut self.seen, |event, seen| {
            if let Event::RtpPacket(packet) = event {
                seen.frames += 1;
                seen.last = packet.payload.to_vec();
            }
        })
    }
}
