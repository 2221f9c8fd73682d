//! The frame-rate limiter at the head of every pipeline's tail (a buffer
//! probe on `videoscale`'s sink pad, see [`add_tail`](super::add_tail)): it
//! only drops frames, and it keeps every frame of a stream that is not
//! faster than the detect rate even when its timestamps jitter.

/// Keeps at most `fps` frames per second of stream time, dropping the rest,
/// and never drops a frame of a stream that is not faster than `fps`, even
/// when its timestamps jitter.
///
/// Output slots are `1/fps` apart, starting at the first frame. A frame is
/// kept when it is the frame nearest the next slot, judged without waiting
/// for the following frame: its timestamp plus half the interval since the
/// previous frame (the best guess of the halfway point to the next frame;
/// at most half a slot) is past the slot. After keeping a frame the next slot is the first one
/// beyond that same point, so a gap in the stream does not cause a burst.
///
/// With exact timestamps this keeps the same frames as `videorate`
/// (e.g. 0, 120, 200, 320, 400 ms of a 25 fps stream at 10 fps, every frame
/// of a 10 fps stream at 10 fps); with jitter of up to half a frame interval
/// it still keeps every frame of a stream at or below `fps`.
#[derive(Debug, Clone)]
pub(crate) struct RateLimiter {
    period_ns: u64,
    /// Timestamp of the previous frame seen (kept or not).
    prev: Option<u64>,
    /// The next output slot.
    slot: u64,
}

impl RateLimiter {
    pub(crate) fn new(fps: u32) -> RateLimiter {
        RateLimiter {
            period_ns: 1_000_000_000 / u64::from(fps.max(1)),
            prev: None,
            slot: 0,
        }
    }

    /// Whether to keep the frame with timestamp `pts_ns` (`None`: untimed, kept).
    pub(crate) fn keep(&mut self, pts_ns: Option<u64>) -> bool {
        let Some(t) = pts_ns else { return true };
        let prev = self.prev.replace(t);
        let half_gap = match prev {
            // The first frame, or time went back (stream restarted): start over.
            None => return self.restart(t),
            Some(p) if t < p => return self.restart(t),
            // Capped at half an output period, so a frame after a gap in
            // the stream does not reach over several slots.
            Some(p) => ((t - p) / 2).min(self.period_ns / 2),
        };
        let reach = t + half_gap;
        if reach <= self.slot {
            return false;
        }
        // Next slot: the first one beyond `reach`.
        let behind = (reach - self.slot) / self.period_ns + 1;
        self.slot += behind * self.period_ns;
        true
    }

    fn restart(&mut self, t: u64) -> bool {
        self.slot = t + self.period_ns;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Timestamps in ms → indices of the frames a limiter at `fps` keeps.
    fn kept(fps: u32, ms: &[u64]) -> Vec<usize> {
        let mut l = RateLimiter::new(fps);
        ms.iter()
            .enumerate()
            .filter(|(_, t)| l.keep(Some(**t * 1_000_000)))
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn limiter_keeps_every_frame_of_a_stream_at_the_rate_even_when_jittered() {
        let exact: Vec<u64> = (0..50).map(|i| i * 100).collect();
        assert_eq!(kept(10, &exact).len(), 50);
        // What the RTP jitter buffer gives while its skew estimate settles:
        // intervals of 95-99 ms, then ±20 ms of jitter.
        let mut t = 2062;
        let mut jittered = vec![t];
        for d in [
            99, 98, 97, 96, 95, 95, 95, 96, 97, 98, 99, 100, 120, 80, 115, 85, 100,
        ] {
            t += d;
            jittered.push(t);
        }
        assert_eq!(kept(10, &jittered).len(), jittered.len());
        // Slower than the limit: all kept; untimed frames: all kept.
        let slow: Vec<u64> = (0..20).map(|i| i * 200).collect();
        assert_eq!(kept(10, &slow).len(), 20);
        let mut l = RateLimiter::new(10);
        assert!((0..5).all(|_| l.keep(None)));
    }

    #[test]
    fn limiter_thins_a_faster_stream_like_videorate() {
        let ms: Vec<u64> = (0..50).map(|i| i * 40).collect(); // 25 fps, 2 s
        let k = kept(10, &ms);
        let times: Vec<u64> = k.iter().map(|&i| ms[i]).collect();
        assert_eq!(&times[..5], &[0, 120, 200, 320, 400]);
        assert_eq!(k.len(), 20);
        let ms: Vec<u64> = (0..90).map(|i| i * 1000 / 30).collect(); // 30 fps, 3 s
        assert_eq!(kept(10, &ms).len(), 30);
        // A gap in the stream does not make a burst afterwards.
        let ms = [0, 40, 80, 900, 940, 980, 1020, 1060, 1100];
        let times: Vec<u64> = kept(10, &ms).iter().map(|&i| ms[i]).collect();
        assert_eq!(times, vec![0, 900, 1020, 1100]);
        // Time going back (a restarted stream) starts over.
        let ms = [0, 100, 200, 50, 150];
        assert_eq!(kept(10, &ms), vec![0, 1, 2, 3, 4]);
    }
}
