//! One media worker: a thread owning one UDP socket and the peer connections of the rooms
//! hashed to it. It handles operations from the room actors ([`Op`]), datagrams (routed by
//! [`Demux`]) and time, and forwards each uplink's media to the downlinks of its viewers.

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use str0m::{config::CryptoProvider, media::MediaKind};
use tokio::{net::UdpSocket, sync::mpsc};

use super::outbox::Outbox;

use super::{
    demux::{Demux, Route},
    next_id,
    peer::{Ended, Happened, Offered, Peer, PeerId, Role, STALL_LIMIT},
    MediaError, Op, WorkerLoad,
};

/// The peer connections of one room on this worker, by session.
#[derive(Debug, Default)]
pub(super) struct Room {
    uplinks: HashMap<String, PeerId>,
    /// By (viewer, publisher).
    downlinks: HashMap<(String, String), PeerId>,
    /// Transports without SDP, by key.
    pub(super) transports: HashMap<String, PeerId>,
    /// Producers and consumers, by key: their transport and SSRC.
    pub(super) sources: HashMap<String, (PeerId, u32)>,
}

impl Room {
    fn is_empty(&self) -> bool {
        self.uplinks.is_empty() && self.downlinks.is_empty() && self.transports.is_empty()
    }

    fn peers(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.uplinks
            .values()
            .chain(self.downlinks.values())
            .chain(self.transports.values())
            .copied()
    }
}

pub(super) struct Worker {
    pub(super) outbox: Outbox,
    /// The announced address: the destination of every datagram clients send here.
    pub(super) local: SocketAddr,
    pub(super) crypto: Arc<CryptoProvider>,
    pub(super) peers: HashMap<PeerId, Peer>,
    pub(super) rooms: HashMap<String, Room>,
    pub(super) demux: Demux,
    pub(super) load: Arc<WorkerLoad>,
    /// When each peer next needs time to pass, earliest first. An entry whose peer has moved
    /// its time (or is gone) is skipped when it comes up.
    timers: BinaryHeap<Reverse<(Instant, PeerId)>>,
    /// When stalled peers were last looked for.
    swept: Instant,
}

/// Starts worker `index` on its own thread.
pub(super) fn spawn(
    index: usize,
    socket: std::net::UdpSocket,
    local: SocketAddr,
    ops: mpsc::UnboundedReceiver<Op>,
    load: Arc<WorkerLoad>,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name(format!("media-{index}")).spawn(move || {
        runtime.block_on(async move {
            let socket = match UdpSocket::from_std(socket) {
                Ok(socket) => socket,
                Err(e) => return log::error!("media worker {index}: its socket failed: {e}"),
            };
            let crypto = Arc::new(str0m::crypto::from_feature_flags());
            let worker = Worker {
                outbox: Outbox::new(socket),
                local,
                crypto,
                peers: HashMap::new(),
                rooms: HashMap::new(),
                demux: Demux::default(),
                load,
                timers: BinaryHeap::new(),
                swept: Instant::now(),
            };
            worker.run(ops).await;
        });
    })?;
    Ok(())
}

impl Worker {
    async fn run(mut self, mut ops: mpsc::UnboundedReceiver<Op>) {
        let mut buf = vec![0u8; 2048];
        loop {
            let sweep = self.swept + Duration::from_secs(1);
            let wake = self.timers.peek().map_or(sweep, |Reverse((at, _))| (*at).min(sweep));
            tokio::select! {
                op = ops.recv() => match op {
                    Some(op) => self.on_op(op),
                    None => return,
                },
                got = self.outbox.socket().recv_from(&mut buf) => {
                    if let Ok((n, source)) = got {
                        self.on_datagram(&buf[..n], source);
                    }
                }
                writable = self.outbox.socket().writable(), if self.outbox.is_waiting() => {
                    if writable.is_ok() {
                        self.outbox.flush();
                    }
                }
                () = tokio::time::sleep_until(wake.into()) => self.on_time(),
            }
        }
    }

    fn on_datagram(&mut self, data: &[u8], source: SocketAddr) {
        let id = match self.demux.route(data, source) {
            Route::Peer(id) => id,
            Route::UnknownUfrag | Route::UnknownSource | Route::Garbage => {
                self.load.dropped_datagrams.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let Some(peer) = self.peers.get_mut(&id) else { return };
        super::transport::learn_client_ufrag(peer, data);
        if peer.receive(Instant::now(), source, self.local, data) {
            self.load.early_datagrams.fetch_add(1, Ordering::Relaxed);
        }
        self.drive(id);
    }

    fn on_time(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, id))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            // Only the peer's current time counts; an earlier entry of it is stale.
            let Some(peer) = self.peers.get_mut(&id).filter(|p| p.next == at) else { continue };
            peer.tick(now);
            self.drive(id);
        }
        if now.duration_since(self.swept) < Duration::from_secs(1) {
            return;
        }
        self.swept = now;
        let stalled: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.stalled.is_some_and(|t| now.duration_since(t) > STALL_LIMIT))
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            self.end(id, Ended::NoIce);
        }
    }

    /// Polls peer `id` and acts on what happened: forwarding its media, passing keyframe
    /// requests to the uplink; a peer that failed is removed.
    pub(super) fn drive(&mut self, id: PeerId) {
        let mut happened = Vec::new();
        let Some(peer) = self.peers.get_mut(&id) else { return };
        peer.poll(&mut self.outbox, &self.load, &mut happened);
        if let Some(why) = peer.ended() {
            return self.end(id, why);
        }
        if peer.scheduled != Some(peer.next) {
            peer.scheduled = Some(peer.next);
            self.timers.push(Reverse((peer.next, id)));
            if self.timers.len() > 4 * self.peers.len() + 64 {
                // Mostly stale entries: keep each peer's current one only.
                self.timers = self.peers.iter().map(|(id, p)| Reverse((p.next, *id))).collect();
            }
        }
        for event in happened {
            self.on_happened(id, event);
        }
    }

    fn on_happened(&mut self, id: PeerId, event: Happened) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        match (event, &mut peer.role) {
            (event, Role::Transport(_)) => self.on_transport_event(id, event),
            (Happened::Added(mid, kind), Role::Up { tracks, .. })
                if !tracks.iter().any(|(m, _)| *m == mid) =>
            {
                tracks.push((mid, kind));
            }
            (Happened::Media(data), Role::Up { viewers, .. }) => {
                let viewers = viewers.clone();
                for viewer in viewers {
                    let Some(down) = self.peers.get_mut(&viewer) else { continue };
                    let Role::Down { mids, .. } = &down.role else { continue };
                    let Some(&(_, local)) = mids.iter().find(|(up, _)| *up == data.mid) else {
                        continue;
                    };
                    if down.forward(local, &data) {
                        self.load.forwarded_frames.fetch_add(1, Ordering::Relaxed);
                        let bytes = data.data.len() as u64;
                        self.load.forwarded_bytes.fetch_add(bytes, Ordering::Relaxed);
                    }
                    self.drive(viewer);
                }
            }
            (Happened::Message(message), Role::Up { viewers, .. }) => {
                let viewers = viewers.clone();
                for viewer in viewers {
                    let Some(down) = self.peers.get_mut(&viewer) else { continue };
                    let Role::Down { channel: Some(channel), .. } = down.role else { continue };
                    if down.relay(channel, &message) {
                        self.load.forwarded_messages.fetch_add(1, Ordering::Relaxed);
                    }
                    self.drive(viewer);
                }
            }
            (Happened::Keyframe(req), Role::Down { uplink, mids, .. }) => {
                let (uplink, mid) =
                    (*uplink, mids.iter().find(|(_, l)| *l == req.mid).map(|m| m.0));
                if let (Some(up), Some(mid)) = (self.peers.get_mut(&uplink), mid) {
                    up.request_keyframe(mid, &req);
                    self.drive(uplink);
                }
            }
            (Happened::Connected, Role::Down { uplink, mids, .. }) => {
                // A new viewer gets video at once: its publisher is asked for a keyframe.
                let (uplink, mids) = (*uplink, mids.clone());
                let Some(up) = self.peers.get_mut(&uplink) else { return };
                let video: Vec<_> = match &up.role {
                    Role::Up { tracks, .. } => tracks
                        .iter()
                        .filter(|(m, k)| *k == MediaKind::Video && mids.iter().any(|(u, _)| u == m))
                        .map(|(m, _)| *m)
                        .collect(),
                    Role::Down { .. } | Role::Transport(_) => Vec::new(),
                };
                for mid in video {
                    let req = str0m::media::KeyframeRequest {
                        mid,
                        rid: None,
                        kind: str0m::media::KeyframeRequestKind::Pli,
                    };
                    up.request_keyframe(mid, &req);
                }
                self.drive(uplink);
            }
            _ => {}
        }
    }

    fn on_op(&mut self, op: Op) {
        match op {
            Op::Publish { room, publisher, offer, reply } => {
                let _ = reply.send(self.publish(&room, &publisher, &offer));
            }
            Op::Watch { room, viewer, publisher, reply } => {
                let _ = reply.send(self.watch(&room, &viewer, &publisher));
            }
            Op::Answer { room, viewer, publisher, answer, reply } => {
                let _ = reply.send(self.answer(&room, &viewer, &publisher, &answer));
            }
            Op::Leave { room, session } => self.leave(&room, &session),
            Op::Transport { room, op } => self.on_transport_op(&room, op),
            Op::Close { room } => {
                let ids: Vec<PeerId> =
                    self.rooms.get(&room).map_or_else(Vec::new, |r| r.peers().collect());
                for id in ids {
                    self.remove(id);
                }
                self.rooms.remove(&room);
            }
        }
    }

    pub(super) fn add(&mut self, peer: Peer) -> PeerId {
        let id = next_id();
        self.demux.name(id, &peer.ufrag);
        self.peers.insert(id, peer);
        self.load.peers.store(self.peers.len() as u64, Ordering::Relaxed);
        id
    }

    fn publish(&mut self, room: &str, publisher: &str, offer: &str) -> Result<String, MediaError> {
        let existing = self.rooms.get(room).and_then(|r| r.uplinks.get(publisher)).copied();
        if let Some(id) = existing.filter(|id| self.peers.contains_key(id)) {
            let peer = self.peers.get_mut(&id).ok_or(MediaError::NotPublishing)?;
            let answer = peer.accept_offer(offer)?;
            let ufrag = peer.ufrag.clone();
            self.demux.name(id, &ufrag);
            self.drive(id);
            return Ok(answer);
        }
        let role = Role::Up { tracks: Vec::new(), data: false, viewers: Vec::new() };
        let mut peer = Peer::new(room, publisher, role, &self.crypto, self.local)?;
        let answer = peer.accept_offer(offer)?;
        let id = self.add(peer);
        self.rooms.entry(room.to_owned()).or_default().uplinks.insert(publisher.to_owned(), id);
        self.drive(id);
        Ok(answer)
    }

    fn watch(&mut self, room: &str, viewer: &str, publisher: &str) -> Result<String, MediaError> {
        let uplink = self
            .rooms
            .get(room)
            .and_then(|r| r.uplinks.get(publisher))
            .copied()
            .ok_or(MediaError::NotPublishing)?;
        let (tracks, data) = match self.peers.get(&uplink).map(|p| &p.role) {
            Some(Role::Up { tracks, data, .. }) if !tracks.is_empty() || *data => {
                (tracks.clone(), *data)
            }
            _ => return Err(MediaError::NotPublishing),
        };
        let key = (viewer.to_owned(), publisher.to_owned());
        if let Some(old) = self.rooms.get(room).and_then(|r| r.downlinks.get(&key)).copied() {
            self.remove(old);
        }
        let role = Role::Down { uplink, mids: Vec::new(), channel: None };
        let mut peer = Peer::new(room, viewer, role, &self.crypto, self.local)?;
        let Offered { sdp: offer, mids, channel } = peer.offer(&tracks, data, publisher)?;
        peer.role = Role::Down { uplink, mids, channel };
        let id = self.add(peer);
        self.rooms.entry(room.to_owned()).or_default().downlinks.insert(key, id);
        if let Some(Peer { role: Role::Up { viewers, .. }, .. }) = self.peers.get_mut(&uplink) {
            viewers.push(id);
        }
        self.drive(id);
        Ok(offer)
    }

    fn answer(
        &mut self,
        room: &str,
        viewer: &str,
        publisher: &str,
        answer: &str,
    ) -> Result<(), MediaError> {
        let key = (viewer.to_owned(), publisher.to_owned());
        let id = self
            .rooms
            .get(room)
            .and_then(|r| r.downlinks.get(&key))
            .copied()
            .ok_or(MediaError::NoOffer)?;
        let local = self.local;
        let peer = self.peers.get_mut(&id).ok_or(MediaError::NoOffer)?;
        peer.accept_answer(answer, local)?;
        self.drive(id);
        Ok(())
    }

    /// `session` left `room`: its uplink (with every viewer's downlink of it) and its own
    /// downlinks close.
    fn leave(&mut self, room: &str, session: &str) {
        let Some(r) = self.rooms.get(room) else { return };
        let mut ids: Vec<PeerId> = r.uplinks.get(session).copied().into_iter().collect();
        ids.extend(
            r.downlinks
                .iter()
                .filter(|((v, p), _)| v == session || p == session)
                .map(|(_, id)| *id),
        );
        ids.extend(
            r.transports
                .values()
                .filter(|id| self.peers.get(id).is_some_and(|p| p.session == session)),
        );
        for id in ids {
            self.remove(id);
        }
    }

    /// Peer `id` ended for reason `why`: it is counted and removed.
    fn end(&mut self, id: PeerId, why: Ended) {
        if let Some(peer) = self.peers.get_mut(&id) {
            log::info!("media: peer {}/{} ended: {why:?}", peer.room, peer.session);
            super::transport::ended(peer, &why);
        }
        let counter = match why {
            Ended::NoIce => &self.load.ice_failures,
            Ended::Failed(_) => &self.load.dtls_failures,
            Ended::Panicked => &self.load.panics,
            Ended::Closed => {
                return self.remove(id);
            }
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.remove(id);
    }

    /// Closes and forgets peer `id`, and, for an uplink, its viewers' downlinks.
    pub(super) fn remove(&mut self, id: PeerId) {
        let Some(mut peer) = self.peers.remove(&id) else { return };
        peer.close();
        // What the close has to send (a DTLS close_notify) goes out now.
        peer.tick(Instant::now());
        peer.poll(&mut self.outbox, &self.load, &mut Vec::new());
        self.demux.forget(id);
        if let Some(room) = self.rooms.get_mut(&peer.room) {
            room.uplinks.retain(|_, p| *p != id);
            room.downlinks.retain(|_, p| *p != id);
            room.transports.retain(|_, p| *p != id);
            room.sources.retain(|_, (p, _)| *p != id);
            if room.is_empty() {
                self.rooms.remove(&peer.room);
            }
        }
        match peer.role {
            Role::Transport(transport) => self.forget_transport(id, *transport),
            Role::Up { viewers, .. } => {
                for viewer in viewers {
                    self.remove(viewer);
                }
            }
            Role::Down { uplink, .. } => {
                if let Some(Peer { role: Role::Up { viewers, .. }, .. }) =
                    self.peers.get_mut(&uplink)
                {
                    viewers.retain(|v| *v != id);
                }
            }
        }
        self.load.peers.store(self.peers.len() as u64, Ordering::Relaxed);
    }
}
