//! [`Ring`]: the last few seconds of a camera's encoded stream, in memory.

use crate::ingest::EncodedUnit;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

/// Encoded access units, oldest first, each with a sequence number that
/// never repeats. It keeps at least `keep` of video, counted back from the
/// newest unit to a keyframe: every unit from the newest keyframe that
/// arrived at or before `newest - keep` onward, so a clip starting `keep`
/// back can always start on a keyframe (one GOP more than `keep` at most).
#[derive(Debug)]
pub struct Ring {
    units: VecDeque<(u64, EncodedUnit)>,
    next_seq: u64,
    keep: Duration,
    bytes: usize,
}

impl Ring {
    pub fn new(keep: Duration) -> Ring {
        Ring {
            units: VecDeque::new(),
            next_seq: 0,
            keep,
            bytes: 0,
        }
    }

    /// Adds the newest unit and drops what is no longer needed.
    pub fn push(&mut self, unit: EncodedUnit) {
        let cutoff = unit.arrived.checked_sub(self.keep);
        self.bytes += unit.buffer.size();
        self.units.push_back((self.next_seq, unit));
        self.next_seq += 1;
        let Some(cutoff) = cutoff else { return };
        // The newest keyframe at or before the cutoff: everything before it goes.
        let first = self
            .units
            .iter()
            .rposition(|(_, u)| u.keyframe && u.arrived <= cutoff);
        if let Some(first) = first {
            for _ in 0..first {
                if let Some((_, u)) = self.units.pop_front() {
                    self.bytes -= u.buffer.size();
                }
            }
        }
    }

    /// Empties the ring (the stream restarted: its old units do not continue).
    pub fn clear(&mut self) {
        self.units.clear();
        self.bytes = 0;
    }

    /// Arrival time of the newest unit.
    pub fn newest(&self) -> Option<SystemTime> {
        self.units.back().map(|(_, u)| u.arrived)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The time between the oldest and the newest unit held (their arrival).
    pub fn span(&self) -> Duration {
        match (self.units.front(), self.units.back()) {
            (Some((_, a)), Some((_, b))) => b.arrived.duration_since(a.arrived).unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    /// The units from the newest keyframe that arrived at or before `t` (or
    /// the oldest keyframe held, when none did) to the newest unit.
    pub fn from_keyframe_before(&self, t: SystemTime) -> Vec<(u64, EncodedUnit)> {
        let start = self
            .units
            .iter()
            .rposition(|(_, u)| u.keyframe && u.arrived <= t)
            .or_else(|| self.units.iter().position(|(_, u)| u.keyframe));
        match start {
            Some(i) => self.units.iter().skip(i).cloned().collect(),
            None => Vec::new(),
        }
    }

    /// The units with a sequence number above `seq`.
    pub fn after(&self, seq: u64) -> Vec<(u64, EncodedUnit)> {
        let i = self.units.partition_point(|(s, _)| *s <= seq);
        self.units.iter().skip(i).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer as gst;

    fn unit(at_ms: u64, key: bool) -> EncodedUnit {
        gst::init().unwrap();
        let mut b = gst::Buffer::with_size(10).unwrap();
        if !key {
            b.get_mut().unwrap().set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        let mut u = EncodedUnit::new(b, gst::Caps::new_empty_simple("video/x-h264"));
        u.arrived = SystemTime::UNIX_EPOCH + Duration::from_millis(at_ms);
        u
    }

    /// 10 fps, a keyframe every second, for `secs` seconds.
    fn filled(keep_ms: u64, secs: u64) -> Ring {
        let mut r = Ring::new(Duration::from_millis(keep_ms));
        for i in 0..secs * 10 {
            r.push(unit(i * 100, i % 10 == 0));
        }
        r
    }

    #[test]
    fn keeps_at_least_keep_back_to_a_keyframe() {
        let r = filled(2500, 20);
        // Newest at 19.9 s; cutoff 17.4 s; the keyframe before it is at 17 s.
        let all = r.from_keyframe_before(SystemTime::UNIX_EPOCH);
        assert_eq!(
            all[0].1.arrived,
            SystemTime::UNIX_EPOCH + Duration::from_secs(17)
        );
        assert!(all[0].1.keyframe);
        assert_eq!(all.len(), 30);
        assert_eq!(r.bytes(), 300);
    }

    #[test]
    fn finds_the_keyframe_before_a_moment_and_what_came_after() {
        let r = filled(5000, 20);
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(16_450);
        let from = r.from_keyframe_before(t);
        assert_eq!(
            from[0].1.arrived,
            SystemTime::UNIX_EPOCH + Duration::from_secs(16)
        );
        let last_seq = from[5].0;
        let after = r.after(last_seq);
        assert_eq!(after.len(), from.len() - 6);
        assert_eq!(after[0].0, last_seq + 1);
        assert!(r.after(u64::MAX - 1).is_empty());
    }
}
