//! [`Timing`]: count, total and last duration of something timed
//! repeatedly (an analyzer's frame, a model run, a publish's PUBACK).

use serde::Serialize;
use std::time::Duration;

/// Count, total and last duration of something timed repeatedly.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Timing {
    pub count: u64,
    pub total_ms: f64,
    pub last_ms: f64,
}

impl Timing {
    pub fn record(&mut self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        self.count += 1;
        self.total_ms += ms;
        self.last_ms = ms;
    }

    /// Mean milliseconds, 0 before the first record.
    pub fn mean_ms(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_ms / self.count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_count_total_last_and_mean() {
        let mut t = Timing::default();
        assert_eq!(t.mean_ms(), 0.0);
        t.record(Duration::from_millis(10));
        t.record(Duration::from_millis(30));
        assert_eq!(t.count, 2);
        assert_eq!(t.total_ms, 40.0);
        assert_eq!(t.last_ms, 30.0);
        assert_eq!(t.mean_ms(), 20.0);
    }
}
