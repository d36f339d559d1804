//! [`Credits`] and [`Credit`]: how many of one client's frames may be on their way through the
//! actors at once.
//!
//! A reader takes a credit for each frame it hands on (waiting while all are out) and the
//! credit travels with the command until the command is applied. Frames already read flow
//! through the actors back to back, with no reply per frame, while a client that sends faster
//! than the node applies is slowed by TCP backpressure rather than by a growing queue.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
        self.0.clone().try_acquire_owned().ok().map(|permit| Credit { _permit: Some(permit) })
    }

    /// Takes a credit, waiting until one is returned if all are out.
    pub async fn take(&self) -> Credit {
        // The semaphore is never closed, so acquiring only fails if that changes.
        Credit { _permit: self.0.clone().acquire_owned().await.ok() }
    }
}

/// One frame's credit, returned to its [`Credits`] when dropped.
#[derive(Debug, Default)]
pub struct Credit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Credit {
    /// A credit of no client's: for commands that no reader paces (long-polling, tests).
    pub fn none() -> Self {
        Self { _permit: None }
    }
}
