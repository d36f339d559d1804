//! A token bucket limiting how many messages one client may send.

use std::time::Instant;

/// Allows `rate` messages per second on average and bursts of up to `burst`.
#[derive(Debug)]
pub(super) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket; `rate == 0` means unlimited.
    pub(super) fn new(rate: u32, burst: u32) -> Self {
        Self { rate: rate.into(), burst: burst.into(), tokens: burst.into(), last: Instant::now() }
    }

    /// Takes one token if there is one.
    pub(super) fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&mut self, now: Instant) -> bool {
        if self.rate == 0.0 {
            return true;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn allows_a_burst_then_the_sustained_rate() {
        let mut bucket = TokenBucket::new(10, 5);
        let t0 = bucket.last;
        assert_eq!((0..8).filter(|_| bucket.allow_at(t0)).count(), 5);
        // 10 per second: one more token every 100 ms.
        assert!(bucket.allow_at(t0 + Duration::from_millis(100)));
        assert!(!bucket.allow_at(t0 + Duration::from_millis(150)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..8).filter(|_| bucket.allow_at(later)).count(), 5);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut bucket = TokenBucket::new(0, 0);
        assert!((0..10_000).all(|_| bucket.allow()));
    }
}
