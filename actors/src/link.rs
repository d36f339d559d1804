//! `ClientLink`: the one way anything in the core talks to a client.
//!
//! A link is the sending half of a bounded queue drained, in order, by the connection's writer
//! task at the edge (which encodes with the connection's dialect). Everyone who must reach a
//! client (its connection actor, the directory, a call actor) holds a clone, so every event to
//! one client is ordered by the moment it was pushed.
//!
//! The queue is bounded (see [`Backlog`]): a push past the bound does not wait and does not grow
//! a buffer. It marks the client as a slow consumer and wakes the writer, which closes the
//! connection with [`CloseReason::SlowConsumer`]. Nothing in the node ever buffers without
//! bound for a client.
//!
//! A client is judged by whether it keeps up, not by one instant: past its usual depth a queue
//! may still grow (to a hard ceiling) while its writer keeps taking items, so a burst that a
//! peer may legitimately send (its rate limit's burst) never closes a receiver that reads as
//! fast as it can; a receiver whose writer has taken nothing for the stall time is closed.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use crate::{error::CloseReason, event::Event, ids::ConnId};

/// What the writer task receives.
#[derive(Debug)]
pub enum Outbound {
    /// An event to encode and send.
    Event(Event),
    /// A frame the edge already encoded (a transport packet of its own), sent as is.
    Frame(String),
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

/// When a client's queue of `len` items is too far behind: at its `hard` ceiling, or past its
/// `soft` depth with nothing taken for `stall`. One rule for every queue of events to a client
/// (a WebSocket's link, a polling session's outbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Depth a client that keeps up may always reach.
    pub soft: usize,
    /// Depth no client may pass.
    pub hard: usize,
    /// How long a queue past `soft` may go with nothing taken.
    pub stall: Duration,
}

impl Backlog {
    /// Exactly `capacity` items, whatever the writer does.
    pub fn strict(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self { soft: capacity, hard: capacity, stall: Duration::ZERO }
    }

    /// Whether one more item overflows a queue of `len` items whose writer last took one (or
    /// which last became non-empty) at `since`.
    pub fn exceeded(&self, len: usize, since: Instant) -> bool {
        len >= self.hard || (len >= self.soft && since.elapsed() >= self.stall)
    }
}

/// The queued items, and since when a queue past its soft depth has waited: the push that
/// took it there, or the writer's last take since.
#[derive(Debug)]
struct Queue {
    items: VecDeque<Outbound>,
    since: Instant,
}

/// A queue that holds little memory while quiet: an idle client costs its queue a few words
/// (at most [`KEEP`] slots), where a channel would keep a block of slots for the connection's
/// life.
#[derive(Debug)]
struct Shared {
    conn: ConnId,
    backlog: Backlog,
    queue: Mutex<Queue>,
    /// Links alive; at zero the writer sees the end.
    links: AtomicUsize,
    /// The writer stopped taking items.
    closed: AtomicBool,
    overflowed: AtomicBool,
    /// Wakes the writer: an item, an overflow, or the last link gone.
    wake: Notify,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock; a poisoned queue is still a queue.
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Slots an emptied queue may keep; a larger allocation (after a burst) is given back once
/// two bursts in a row needed no more than this.
const KEEP: usize = 8;

/// A cloneable handle that queues events for one client. See the module docs.
#[derive(Debug)]
pub struct ClientLink {
    shared: Arc<Shared>,
}

/// The writer side of a link, owned by the connection's writer task.
#[derive(Debug)]
pub struct LinkReceiver {
    shared: Arc<Shared>,
    /// The most items queued at once since the queue was last empty, and in the burst before.
    /// A busy client keeps its burst-sized queue (regrowing it every burst cost allocations
    /// per message); a client whose bursts got small gives the memory back.
    peaks: [usize; 2],
}

/// Creates a link for connection `conn` whose queue holds at most `capacity` items.
pub fn channel(conn: ConnId, capacity: usize) -> (ClientLink, LinkReceiver) {
    bounded(conn, Backlog::strict(capacity))
}

/// Creates a link for connection `conn` whose queue is judged by `backlog`.
pub fn bounded(conn: ConnId, backlog: Backlog) -> (ClientLink, LinkReceiver) {
    let shared = Arc::new(Shared {
        conn,
        backlog,
        queue: Mutex::new(Queue { items: VecDeque::new(), since: Instant::now() }),
        links: AtomicUsize::new(1),
        closed: AtomicBool::new(false),
        overflowed: AtomicBool::new(false),
        wake: Notify::new(),
    });
    (ClientLink { shared: shared.clone() }, LinkReceiver { shared, peaks: [0; 2] })
}

impl Clone for ClientLink {
    fn clone(&self) -> Self {
        self.shared.links.fetch_add(1, Ordering::Relaxed);
        Self { shared: self.shared.clone() }
    }
}

impl Drop for ClientLink {
    fn drop(&mut self) {
        if self.shared.links.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.wake.notify_one();
        }
    }
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

    /// Queues a frame the edge encoded itself.
    pub fn frame(&self, frame: String) -> Result<(), PushError> {
        self.offer(Outbound::Frame(frame))
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
        !self.shared.closed.load(Ordering::Relaxed)
            && !self.shared.overflowed.load(Ordering::Relaxed)
    }

    fn offer(&self, item: Outbound) -> Result<(), PushError> {
        let shared = &*self.shared;
        if shared.overflowed.load(Ordering::Relaxed) {
            return Err(PushError::Full);
        }
        {
            let mut queue = shared.queue();
            if shared.closed.load(Ordering::Relaxed) {
                return Err(PushError::Closed);
            }
            let len = queue.items.len();
            if !shared.backlog.exceeded(len, queue.since) {
                if len + 1 == shared.backlog.soft {
                    // The stall clock starts when the queue reaches its soft depth.
                    queue.since = Instant::now();
                }
                queue.items.push_back(item);
                drop(queue);
                shared.wake.notify_one();
                return Ok(());
            }
        }
        if !shared.overflowed.swap(true, Ordering::Relaxed) {
            log::warn!("{}: outbound queue full, closing slow consumer", shared.conn);
            shared.wake.notify_one();
        }
        Err(PushError::Full)
    }
}

impl LinkReceiver {
    /// The next item to write, in push order. After an overflow this returns
    /// `Close(SlowConsumer)` at once, skipping whatever is still queued; `None` once every
    /// link is dropped and the queue is empty.
    pub async fn next(&mut self) -> Option<Outbound> {
        loop {
            if let Some(item) = self.try_next() {
                return Some(item);
            }
            if self.shared.links.load(Ordering::Acquire) == 0 {
                // A push may have come just before the last link went.
                return self.try_next();
            }
            self.shared.wake.notified().await;
        }
    }

    /// The next item if one is queued (or the slow-consumer close after an overflow).
    pub fn try_next(&mut self) -> Option<Outbound> {
        if self.overflowed() {
            return Some(Outbound::Close(CloseReason::SlowConsumer));
        }
        let mut queue = self.shared.queue();
        self.peaks[0] = self.peaks[0].max(queue.items.len());
        if queue.items.len() >= self.shared.backlog.soft {
            // Only a queue at its soft depth or past it is judged by its stall time.
            queue.since = Instant::now();
        }
        let item = queue.items.pop_front();
        if queue.items.is_empty() && item.is_some() {
            if queue.items.capacity() > KEEP && self.peaks.iter().all(|&peak| peak <= KEEP) {
                queue.items = VecDeque::new();
            }
            self.peaks = [0, self.peaks[0]];
        }
        item
    }

    /// Resolves when the queue overflows; lets a writer stuck on a slow socket give up.
    pub async fn overflow(&self) {
        while !self.overflowed() {
            self.shared.wake.notified().await;
        }
    }

    /// Whether the queue has overflowed.
    pub fn overflowed(&self) -> bool {
        self.shared.overflowed.load(Ordering::Relaxed)
    }

    /// Stops accepting pushes; queued items can still be read.
    pub fn close(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
    }
}

impl Drop for LinkReceiver {
    fn drop(&mut self) {
        self.close();
        // What is queued will never be written.
        drop(std::mem::take(&mut self.shared.queue().items));
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
    async fn the_writer_sees_the_end_once_every_link_is_gone_and_the_queue_drained() {
        let (link, mut rx) = channel(ConnId(1), 8);
        let other = link.clone();
        link.push(err()).unwrap();
        drop(link);
        drop(other);
        assert!(matches!(rx.next().await, Some(Outbound::Event(_))));
        assert!(rx.next().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_writer_is_woken_by_a_push_from_another_task() {
        let (link, mut rx) = channel(ConnId(1), 8);
        let pusher = tokio::spawn(async move {
            tokio::task::yield_now().await;
            link.ping().unwrap();
        });
        assert!(matches!(rx.next().await, Some(Outbound::Ping)));
        pusher.await.unwrap();
    }

    #[tokio::test]
    async fn a_queue_keeps_its_burst_memory_while_bursts_last_and_then_gives_it_back() {
        let (link, mut rx) = channel(ConnId(1), 64);
        let burst = |rx: &mut LinkReceiver, n: usize| {
            for _ in 0..n {
                link.ping().unwrap();
            }
            while rx.try_next().is_some() {}
            rx.shared.queue().items.capacity()
        };
        assert!(burst(&mut rx, 40) >= 40, "a busy client keeps its queue");
        assert!(burst(&mut rx, 40) >= 40);
        assert!(burst(&mut rx, 1) >= 40, "one small burst is not yet quiet");
        assert_eq!(burst(&mut rx, 1), 0, "two small bursts in a row give it back");
        assert!(burst(&mut rx, 3) <= KEEP, "small bursts stay small");
    }

    #[tokio::test]
    async fn past_its_soft_depth_a_queue_grows_while_its_writer_takes_and_no_further() {
        let backlog = Backlog { soft: 4, hard: 10, stall: Duration::from_secs(60) };
        let (link, mut rx) = bounded(ConnId(1), backlog);
        // A burst past the soft depth is taken while the writer keeps up.
        for _ in 0..9 {
            link.ping().unwrap();
        }
        assert!(matches!(rx.try_next(), Some(Outbound::Ping)));
        link.ping().unwrap();
        link.ping().unwrap();
        // The hard ceiling (10 queued) holds whatever the writer does.
        assert_eq!(link.ping(), Err(PushError::Full));
        assert!(matches!(rx.try_next(), Some(Outbound::Close(CloseReason::SlowConsumer))));
    }

    #[tokio::test]
    async fn a_queue_past_its_soft_depth_whose_writer_stalls_is_a_slow_consumer() {
        let backlog = Backlog { soft: 2, hard: 100, stall: Duration::from_millis(30) };
        let (link, mut rx) = bounded(ConnId(1), backlog);
        link.ping().unwrap();
        link.ping().unwrap();
        link.ping().unwrap();
        // Taking refreshes the clock; then nothing is taken for longer than the stall time.
        assert!(rx.try_next().is_some());
        let taken = Instant::now();
        while taken.elapsed() < Duration::from_millis(40) {
            tokio::task::yield_now().await;
        }
        assert_eq!(link.ping(), Err(PushError::Full));
    }

    #[tokio::test]
    async fn pushing_to_a_dropped_writer_reports_closed() {
        let (link, rx) = channel(ConnId(1), 2);
        drop(rx);
        assert_eq!(link.push(err()), Err(PushError::Closed));
        assert!(!link.is_open());
    }
}
