//! [`Credits`] and [`Credit`]: how many of one client's frames may be on their way through the
//! actors at once.
//!
//! A reader takes a credit for each frame it hands on (waiting while all are out) and the
//! credit travels with the command until the command is applied. Frames already read flow
//! through the actors back to back, with no reply per frame, while a client that sends faster
//! than the node applies is slowed by TCP backpressure rather than by a growing queue.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::link::ClientLink;

/// One client's credits. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Credits(Arc<Semaphore>);

impl Credits {
    /// `n` frames in flight at most (at least one).
    pub fn new(n: usize) -> Self {
        Self(Arc::new(Semaphore::new(n.max(1))))
    }

    /// Takes a credit if one is left.
    pub fn try_take(&self) -> Option<Credit> {
        self.0
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| Credit { _permit: Some(permit), receipt: None })
    }

    /// Takes a credit, waiting until one is returned if all are out.
    pub async fn take(&self) -> Credit {
        // The semaphore is never closed, so acquiring only fails if that changes.
        Credit { _permit: self.0.clone().acquire_owned().await.ok(), receipt: None }
    }
}

/// One frame's credit, returned to its [`Credits`] when dropped.
///
/// It travels with the frame's command and is dropped once the command is applied, after the
/// events the command produced were pushed: which also makes it the place for a receipt, a
/// frame queued to the client at that moment (Socket.IO's acknowledgement of an event).
#[derive(Debug, Default)]
pub struct Credit {
    _permit: Option<OwnedSemaphorePermit>,
    receipt: Option<(ClientLink, String)>,
}

impl Credit {
    /// A credit of no client's: for commands that no reader paces (long-polling, tests).
    pub fn none() -> Self {
        Self { _permit: None, receipt: None }
    }

    /// This credit, queueing `frame` (already encoded by the edge) to `link` when it is
    /// dropped, that is once its command has been applied.
    pub fn with_receipt(mut self, link: ClientLink, frame: String) -> Self {
        self.receipt = Some((link, frame));
        self
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        if let Some((link, frame)) = self.receipt.take() {
            // A client whose queue is full is being closed as a slow consumer anyway.
            let _ = link.frame(frame);
        }
    }
}
