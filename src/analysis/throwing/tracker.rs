//! Multi-object tracking of small blobs across frames.
//!
//! Each track predicts where its object will be at the next frame's time
//! from its last velocity plus half of free fall (objects of interest fall;
//! others are gated generously enough to follow anyway). Blobs and tracks are
//! paired greedily by distance relative to each track's gate. A track that
//! finds no blob carries on for up to `max_gap_frames` frames, so an object
//! that vanishes against a window of its own brightness is picked up again.

use super::blobs::Blob;

/// One observation of a tracked object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    /// Stream time, seconds.
    pub t: f64,
    /// Centroid, pixels.
    pub x: f32,
    pub y: f32,
    /// Blob area (pixels) and larger box side.
    pub area: u32,
    pub side: u32,
}

/// A tracked object.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: u64,
    pub obs: Vec<Obs>,
    /// Frames since the last observation.
    pub misses: u32,
    /// True once the track raised an alert (or was judged a duplicate): it is
    /// followed to the end but never alerts again.
    pub done: bool,
}

/// Most observations kept per track (older ones are dropped).
const MAX_OBS: usize = 120;
/// Most live tracks; new blobs beyond this are not followed.
const MAX_TRACKS: usize = 256;

impl Track {
    fn last(&self) -> &Obs {
        // A track is created with one observation and never emptied.
        &self.obs[self.obs.len() - 1]
    }

    /// Predicted position at time `t` and the gate radius around it.
    fn predict(&self, t: f64, gravity_px: f32, max_speed_px: f32) -> (f32, f32, f32) {
        let last = self.last();
        let dt = (t - last.t).max(0.0) as f32;
        let size = last.side as f32;
        let n = self.obs.len();
        if n < 2 {
            // Unknown velocity: anything a falling object could reach.
            let r = 3.0 + size + max_speed_px * dt;
            return (last.x, last.y + 0.5 * gravity_px * dt * dt, r);
        }
        let prev = &self.obs[n - 2];
        let span = (last.t - prev.t).max(1e-3) as f32;
        let (vx, vy) = ((last.x - prev.x) / span, (last.y - prev.y) / span);
        let a = 0.5 * gravity_px;
        let px = last.x + vx * dt;
        let py = last.y + vy * dt + 0.5 * a * dt * dt;
        let speed = (vx * vx + vy * vy).sqrt();
        let r = 3.0 + 0.75 * size + 0.35 * speed * dt + 0.5 * gravity_px * dt * dt;
        (px, py, r)
    }
}

/// See the module doc.
#[derive(Debug)]
pub struct Tracker {
    pub tracks: Vec<Track>,
    next_id: u64,
    max_gap_frames: u32,
}

impl Tracker {
    pub fn new(max_gap_frames: u32) -> Tracker {
        Tracker {
            tracks: Vec::new(),
            next_id: 1,
            max_gap_frames,
        }
    }

    /// Adds one frame's blobs at time `t`. `gravity_px(y)` is free fall in
    /// pixels/s² at row y; `max_speed_px(y)` the fastest a new object may
    /// move. Returns the ids of tracks that got an observation this frame.
    pub fn update(
        &mut self,
        t: f64,
        blobs: &[Blob],
        gravity_px: impl Fn(f32) -> f32,
        max_speed_px: impl Fn(f32) -> f32,
    ) -> Vec<u64> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, track) in self.tracks.iter().enumerate() {
            let ly = track.last().y;
            let (px, py, r) = track.predict(t, gravity_px(ly), max_speed_px(ly));
            for (bi, b) in blobs.iter().enumerate() {
                let d = ((b.x - px).powi(2) + (b.y - py).powi(2)).sqrt();
                let (a0, a1) = (track.last().area.max(1), b.area.max(1));
                let ratio = a0.max(a1) as f32 / a0.min(a1) as f32;
                if d <= r && ratio <= 6.0 {
                    pairs.push((d / r, ti, bi));
                }
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut track_used = vec![false; self.tracks.len()];
        let mut blob_used = vec![false; blobs.len()];
        let mut updated = Vec::new();
        for (_, ti, bi) in pairs {
            if track_used[ti] || blob_used[bi] {
                continue;
            }
            track_used[ti] = true;
            blob_used[bi] = true;
            let b = &blobs[bi];
            let track = &mut self.tracks[ti];
            track.obs.push(obs(t, b));
            if track.obs.len() > MAX_OBS {
                track.obs.remove(0);
            }
            track.misses = 0;
            updated.push(track.id);
        }
        for (ti, used) in track_used.iter().enumerate() {
            if !used {
                self.tracks[ti].misses += 1;
            }
        }
        let max_gap = self.max_gap_frames;
        self.tracks.retain(|t| t.misses <= max_gap);
        for (bi, b) in blobs.iter().enumerate() {
            if blob_used[bi] || self.tracks.len() >= MAX_TRACKS {
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            self.tracks.push(Track {
                id,
                obs: vec![obs(t, b)],
                misses: 0,
                done: false,
            });
        }
        updated
    }

    /// The track with this id.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Track> {
        self.tracks.iter_mut().find(|t| t.id == id)
    }
}

fn obs(t: f64, b: &Blob) -> Obs {
    Obs {
        t,
        x: b.x,
        y: b.y,
        area: b.area,
        side: b.side(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(x: f32, y: f32) -> Blob {
        Blob {
            x,
            y,
            area: 9,
            x0: x as u32 - 1,
            y0: y as u32 - 1,
            x1: x as u32 + 1,
            y1: y as u32 + 1,
        }
    }

    #[test]
    fn follows_two_falling_objects_through_a_gap() {
        let mut tr = Tracker::new(3);
        let g = 100.0f32;
        for k in 0..20 {
            let t = k as f64 * 0.1;
            let y = 20.0 + 0.5 * g * (t * t) as f32;
            let mut blobs = vec![blob(50.0, y), blob(150.0, y + 5.0)];
            if (8..=10).contains(&k) {
                blobs.remove(0); // first object unseen for three frames
            }
            tr.update(t, &blobs, |_| g, |_| 200.0);
        }
        assert_eq!(tr.tracks.len(), 2, "{:?}", tr.tracks);
        assert_eq!(tr.tracks[0].obs.len(), 17);
        assert_eq!(tr.tracks[1].obs.len(), 20);
        assert!(tr.tracks[0].obs.iter().all(|o| o.x == 50.0));
    }

    #[test]
    fn a_longer_gap_ends_the_track() {
        let mut tr = Tracker::new(2);
        tr.update(0.0, &[blob(10.0, 10.0)], |_| 0.0, |_| 50.0);
        for k in 1..=3 {
            tr.update(k as f64 * 0.1, &[], |_| 0.0, |_| 50.0);
        }
        assert!(tr.tracks.is_empty());
    }
}
