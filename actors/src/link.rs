//! `ClientLink`: the one way anything in the core talks to a client.
//!
//! A link is the sending half of a bounded queue drained, in order, by the connection's writer
//! task at the edge (which encodes with the connection's dialect). Everyone who must reach a
//! client (its connection actor, the directory, a call actor) holds a clone, so every event to
//! one client is ordered by the moment it was pushed.
//!
//! The queue is bounded: a push to a full queue does not wait and does not grow a buffer. It
//! marks the client as a slow consumer and wakes the writer, which closes the connection with
//! [`CloseReason::SlowConsumer`]. Nothing in the node ever buffers without bound for a client.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use tokio::sync::{mpsc, Notify};

use crate::{error::CloseReason, event::Event, ids::ConnId};

/// What the writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// An event to encode and send.
    Event(Event),
    /// Send a transport-level ping.
    Ping,
    /// Close the connection for this reason; nothing after it is sent.
    Close(CloseReason),
}

/// Why a push failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue was full: the client is now being closed as a slow consumer.
    Full,
    /// The connection is closing or closed.
    Closed,
}

#[derive(Debug)]
struct Shared {
    conn: ConnId,
    overflowed: AtomicBool,
    wake: Notify,
}

/// A cloneable handle that queues events for one client. See the module docs.
#[derive(Debug, Clone)]
pub struct ClientLink {
    tx: mpsc::Sender<Outbound>,
    shared: Arc<Shared>,
}

/// The writer side of a link, owned by the connection's writer task.
#[derive(Debug)]
pub struct LinkReceiver {
    rx: mpsc::Receiver<Outbound>,
    shared: Arc<Shared>,
}

/// Creates a link for connection `conn` whose queue holds at most `capacity` items.
pub fn channel(conn: ConnId, capacity: usize) -> (ClientLink, LinkReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let shared = Arc::new(Shared { conn, overflowed: AtomicBool::new(false), wake: Notify::new() });
    (ClientLink { tx, shared: shared.clone() }, LinkReceiver { rx, shared })
}

impl ClientLink {
    /// The connection this link reaches.
    pub fn conn(&self) -> ConnId {
        self.shared.conn
    }

    /// Queues `event` without waiting. A full queue closes the client (see the module docs).
    pub fn push(&self, event: Event) -> Result<(), PushError> {
        self.offer(Outbound::Event(event))
    }

    /// Queues a transport-level ping.
    pub fn ping(&self) -> Result<(), PushError> {
        self.offer(Outbound::Ping)
    }

    /// Asks the writer to close the connection after what is already queued.
    pub fn close(&self, reason: CloseReason) {
        // A full queue already means "close as slow consumer", which ends the connection too.
        let _ = self.offer(Outbound::Close(reason));
    }

    /// Whether the connection still accepts events.
    pub fn is_open(&self) -> bool {
        !self.tx.is_closed() && !self.shared.overflowed.load(Ordering::Relaxed)
    }

    fn offer(&self, item: Outbound) -> Result<(), PushError> {
        if self.shared.overflowed.load(Ordering::Relaxed) {
            return Err(PushError::Full);
        }
        match self.tx.try_send(item) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(PushError::Closed),
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.shared.overflowed.swap(true, Ordering::Relaxed) {
                    log::warn!("{}: outbound queue full, closing slow consumer", self.shared.conn);
                    self.shared.wake.notify_one();
                }
                Err(PushError::Full)
            }
        }
    }
}

impl LinkReceiver {
    /// The next item to write, in push order. After an overflow this returns
    /// `Close(SlowConsumer)` at once, skipping whatever is still queued; `None` once every
    /// link is dropped.
    pub async fn next(&mut self) -> Option<Outbound> {
        if self.overflowed() {
            return Some(Outbound::Close(CloseReason::SlowConsumer));
        }
        tokio::select! {
            biased;
            () = self.shared.wake.notified() => Some(Outbound::Close(CloseReason::SlowConsumer)),
            item = self.rx.recv() => item,
        }
    }

    /// The next item if one is queued (or the slow-consumer close after an overflow).
    pub fn try_next(&mut self) -> Option<Outbound> {
        if self.overflowed() {
            return Some(Outbound::Close(CloseReason::SlowConsumer));
        }
        self.rx.try_recv().ok()
    }

    /// Resolves when the queue overflows; lets a writer stuck on a slow socket give up.
    pub async fn overflow(&self) {
        if !self.overflowed() {
            self.shared.wake.notified().await;
        }
    }

    /// Whether the queue has overflowed.
    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Relaxed)
    }

    /// Stops accepting pushes; queued items can still be read.
    pub fn close(&mut self) {
        self.rx.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{error::ClientError, error::ErrorKind};

    fn err() -> Event {
        Event::Error(ClientError::new(ErrorKind::Internal))
    }

    #[tokio::test]
    async fn delivers_in_push_order() {
        let (link, mut rx) = channel(ConnId(1), 8);
        link.push(err()).unwrap();
        link.ping().unwrap();
        link.close(CloseReason::ShuttingDown);
        assert!(matches!(rx.next().await, Some(Outbound::Event(_))));
        assert!(matches!(rx.next().await, Some(Outbound::Ping)));
        assert!(matches!(rx.next().await, Some(Outbound::Close(CloseReason::ShuttingDown))));
    }

    #[tokio::test]
    async fn a_full_queue_marks_a_slow_consumer_without_growing() {
        let (link, mut rx) = channel(ConnId(1), 2);
        link.push(err()).unwrap();
        link.push(err()).unwrap();
        assert_eq!(link.push(err()), Err(PushError::Full));
        assert!(!link.is_open());
        // Later pushes fail fast too, and the writer is told to close at once.
        assert_eq!(link.push(err()), Err(PushError::Full));
        assert!(matches!(rx.next().await, Some(Outbound::Close(CloseReason::SlowConsumer))));
        rx.overflow().await;
    }

    #[tokio::test]
    async fn pushing_to_a_dropped_writer_reports_closed() {
        let (link, rx) = channel(ConnId(1), 2);
        drop(rx);
        assert_eq!(link.push(err()), Err(PushError::Closed));
        assert!(!link.is_open());
    }
}
