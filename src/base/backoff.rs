//! Retry backoff: the one rule every reconnect loop follows (the MQTT
//! publisher, the sensor inputs, the camera supervisors).
//!
//! A [`Backoff`] starts at its minimum delay, doubles after each failed
//! attempt up to its maximum, and goes back to the minimum after a success.
//! The wait actually slept is the delay [`jitter`]ed: uniform in
//! [0.8·d, d], and never below [`JITTER_FLOOR`]. Jitter only goes down, so a
//! loop's maximum is a real cap (at most 5 s means never more than 5 s), and
//! the 20 % spread keeps gateways or cameras that dropped together from all
//! retrying in the same instant.

use std::time::Duration;

/// The shortest wait [`jitter`] gives, whatever the delay.
pub const JITTER_FLOOR: Duration = Duration::from_millis(100);

/// A doubling, capped retry delay; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    delay: Duration,
}

impl Backoff {
    /// Starts at `min`; a `max` below `min` counts as `min`.
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff {
            min,
            max: max.max(min),
            delay: min,
        }
    }

    /// After a failed attempt: the wait before the next one (the current
    /// delay, jittered). The delay then doubles, up to the maximum.
    pub fn next_wait(&mut self) -> Duration {
        let wait = jitter(self.delay);
        self.delay = self.delay.saturating_mul(2).min(self.max);
        wait
    }

    /// After a success: the next failure waits about the minimum again.
    pub fn reset(&mut self) {
        self.delay = self.min;
    }

    /// The delay the next wait is drawn from, before jitter.
    pub fn delay(&self) -> Duration {
        self.delay
    }
}

/// `d` jittered: uniform in [0.8·d, d], never below [`JITTER_FLOOR`].
pub fn jitter(d: Duration) -> Duration {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let lo = ms - ms / 5;
    Duration::from_millis(rand::random_range(lo..=ms)).max(JITTER_FLOOR)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..200 {
            let j = jitter(ms(1000));
            assert!(j >= ms(800) && j <= ms(1000), "{j:?}");
        }
        assert_eq!(jitter(ms(10)), ms(100));
        assert_eq!(jitter(Duration::ZERO), JITTER_FLOOR);
    }

    #[test]
    fn delay_doubles_up_to_the_cap_and_waits_stay_within_it() {
        // The MQTT loops' bounds: 200 ms .. 5 s.
        let mut b = Backoff::new(ms(200), ms(5000));
        let mut delays = Vec::new();
        for _ in 0..8 {
            let d = b.delay();
            let wait = b.next_wait();
            assert!(wait >= d - d / 5 && wait <= d, "{wait:?} for {d:?}");
            assert!(wait <= ms(5000));
            delays.push(d.as_millis());
        }
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
        b.reset();
        assert_eq!(b.delay(), ms(200));
        let first = b.next_wait();
        assert!(first >= ms(160) && first <= ms(200), "{first:?}");
    }

    #[test]
    fn a_max_below_the_min_counts_as_the_min() {
        // A camera with reconnect_max_ms < reconnect_min_ms.
        let mut b = Backoff::new(ms(2000), ms(500));
        for _ in 0..3 {
            assert!(b.next_wait() <= ms(2000));
            assert_eq!(b.delay(), ms(2000));
        }
    }
}
