//! A media worker's socket and what it could not send yet. A datagram the socket refuses (its
//! buffer is full) waits in a bounded queue and goes out as soon as the socket is writable,
//! in order; past the bound it is dropped, as a congested network would, and counted.

use std::{collections::VecDeque, io::ErrorKind, net::SocketAddr, sync::atomic::Ordering};

use tokio::net::UdpSocket;

use super::WorkerLoad;

/// Most datagrams waiting for the socket.
const WAITING: usize = 8192;

/// The socket and its queue. See the module docs.
pub(super) struct Outbox {
    socket: UdpSocket,
    waiting: VecDeque<(SocketAddr, Vec<u8>)>,
}

impl Outbox {
    pub(super) fn new(socket: UdpSocket) -> Self {
        Self { socket, waiting: VecDeque::new() }
    }

    /// The socket, to receive from.
    pub(super) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Whether datagrams wait for the socket to be writable.
    pub(super) fn is_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Sends `data` to `to`, now or once the socket can take it.
    pub(super) fn send(&mut self, to: SocketAddr, data: &[u8], load: &WorkerLoad) {
        if self.waiting.is_empty() {
            match self.socket.try_send_to(data, to) {
                Ok(_) => return,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // Unreachable destinations and the like: the datagram is lost, as on a network.
                Err(_) => return,
            }
        }
        if self.waiting.len() >= WAITING {
            load.send_drops.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.waiting.push_back((to, data.to_vec()));
    }

    /// Sends what waits, in order, until the socket refuses again.
    pub(super) fn flush(&mut self) {
        while let Some((to, data)) = self.waiting.front() {
            match self.socket.try_send_to(data, *to) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Ok(_) | Err(_) => {
                    self.waiting.pop_front();
                }
            }
        }
    }
}
