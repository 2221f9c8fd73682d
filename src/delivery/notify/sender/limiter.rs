//! The sender's rate limit: a sliding window of the times a notifier's
//! requests were sent ([`Adapter::rate_limit`](crate::delivery::notify::adapter::Adapter::rate_limit)),
//! and the wait a vendor asked for when its own limit was hit.

use crate::delivery::notify::adapter::RateLimit;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A sliding window of send times.
pub(super) struct Limiter {
    limit: Option<RateLimit>,
    sent: VecDeque<Instant>,
    /// The vendor said to wait until then.
    blocked_until: Option<Instant>,
}

impl Limiter {
    pub(super) fn new(limit: Option<RateLimit>) -> Limiter {
        Limiter {
            limit: limit.filter(|l| l.requests > 0),
            sent: VecDeque::new(),
            blocked_until: None,
        }
    }

    /// `None` when a request may go now, else when it may.
    pub(super) fn ready_at(&mut self, now: Instant) -> Option<Instant> {
        if let Some(t) = self.blocked_until {
            if now < t {
                return Some(t);
            }
            self.blocked_until = None;
        }
        let l = self.limit?;
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= l.per)
        {
            self.sent.pop_front();
        }
        if (self.sent.len() as u32) < l.requests {
            None
        } else {
            self.sent.front().map(|t| *t + l.per)
        }
    }

    pub(super) fn record(&mut self, now: Instant) {
        if self.limit.is_some() {
            self.sent.push_back(now);
        }
    }

    /// The vendor's own limit was hit.
    pub(super) fn block(&mut self, now: Instant, wait: Option<Duration>) {
        let wait = wait
            .or(self.limit.map(|l| l.per))
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(3600));
        self.blocked_until = Some(now + wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limiter_keeps_a_sliding_window() {
        let per = Duration::from_secs(60);
        let mut l = Limiter::new(Some(RateLimit { requests: 2, per }));
        let t0 = Instant::now();
        assert!(l.ready_at(t0).is_none());
        l.record(t0);
        l.record(t0 + Duration::from_secs(10));
        assert_eq!(l.ready_at(t0 + Duration::from_secs(30)), Some(t0 + per));
        assert!(l.ready_at(t0 + per).is_none());
        l.block(t0 + per, Some(Duration::from_secs(5)));
        assert_eq!(
            l.ready_at(t0 + per),
            Some(t0 + per + Duration::from_secs(5))
        );
        let mut none = Limiter::new(None);
        for _ in 0..100 {
            none.record(t0);
        }
        assert!(none.ready_at(t0).is_none());
    }
}
