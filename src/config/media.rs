//! The media plane's section of the configuration.

use serde::Deserialize;

use super::Config;

/// The media plane's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaSection {
    /// Whether the node runs the media plane.
    pub enabled: bool,
    /// Address the media workers' UDP sockets bind to.
    pub bind: std::net::IpAddr,
    /// Address clients send media to (the host's, behind NAT or in a container); found out
    /// at start when absent.
    pub announce_ip: Option<std::net::IpAddr>,
    /// UDP port of the first media worker (worker `i` uses `port + i`); 0 picks free ports.
    pub port: u16,
    /// Media workers (threads, one UDP socket each); 0 means one per CPU core.
    pub workers: usize,
}

impl Default for MediaSection {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            announce_ip: None,
            port: 0,
            workers: 0,
        }
    }
}

impl Config {
    /// Media workers: the configured count, or one per CPU core.
    pub fn media_workers(&self) -> usize {
        match self.media.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The media plane's settings for the core.
    pub fn media(&self) -> switchboard_actors::media::MediaConfig {
        switchboard_actors::media::MediaConfig {
            enabled: self.media.enabled,
            bind: self.media.bind,
            announce: self.media.announce_ip,
            port: self.media.port,
            workers: self.media_workers(),
        }
    }
}
