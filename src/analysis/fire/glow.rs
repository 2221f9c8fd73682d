//! A young flame's glow is fire, not smoke: the *core hold*.
//!
//! In a grey IR picture a young flame lights the wall all round it before it
//! is big and steady enough to be a flame candidate (flame-coloured in 60 %
//! of [`flame::PERSIST_S`](super::flame::PERSIST_S)): the lit wall turns
//! lighter and greyer, a veil, and a smoke region opens seconds before the
//! flame does (`fire-3002`, `fire-3010` in the default suite: `smoke` at
//! 5.3 s and 6.0 s, `fire` two seconds later). The flame-glow rule in
//! [`super`] counts a smoke region round a flame candidate as that flame's
//! sighting, but there is no candidate yet.
//!
//! What there is, is a *core*: inside the veil, a cell where flame-coloured
//! pixels (in IR, 60 grey levels over the frame's mean and at least 200)
//! showed in a third of the last second's frames and changed brightness in a
//! fifth of them. A glow is brightest at its source and spreads all round it,
//! so the core lies in the middle of the region's width, with region rows
//! above and below it ([`centred`]); smoke rises from a fire, so a plume's
//! flame, when it has one, lies at or below the plume's bottom.
//!
//! A smoke region about to open an incident with a centred core is *held*
//! for up to [`HOLD_S`] seconds ([`CoreHold`]): long enough for the flame to
//! become a candidate, after which the flame-glow rule raises `fire` (for
//! [`RESET_S`] after a hold, a region round the flame counts as its glow
//! without the in-place and growth tests, as it would round an open smoke
//! incident's flame: [`CoreHold::recent`]). When
//! no flame appears in that time the region opens `smoke` as before, so a
//! plume with a bright spot in it (a lamp's reflection) is late by
//! [`HOLD_S`], never lost. Treating the core itself as a flame (tried
//! before: any flickering bright cell) delayed real smoke by up to 1.6 s,
//! because a thickening plume's own cells brighten in steps; a core needs
//! flame-coloured pixels, which a plume's grey does not reach.

use super::features::History;

/// Seconds a smoke region round a core is held: the flame's own
/// persistence (1.5 s) and half a second to confirm.
pub const HOLD_S: f64 = super::flame::PERSIST_S + 0.5;
/// Seconds without a held region after which a zone's hold starts afresh.
pub const RESET_S: f64 = 3.0;
/// Least share of the last second's frames in which a core cell showed
/// flame-coloured pixels.
pub const CORE_SEEN: f32 = 1.0 / 3.0;
/// Least share of those frames in which its flame pixels changed brightness.
pub const CORE_FLICKER: f32 = 0.2;

/// The region's core: the cell of `bbox` (cells, inclusive) with
/// flame-coloured pixels in the most of the last `frames` frames, when it
/// passes [`CORE_SEEN`] and [`CORE_FLICKER`]; its column and row.
pub fn core(
    hist: &History,
    gw: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    frames: usize,
) -> Option<(usize, usize)> {
    let frames = frames.max(1);
    let mut best: Option<(usize, (usize, usize))> = None;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let c = y * gw + x;
            let seen = (0..frames).filter(|&a| hist.flame_n(a, c) > 0).count();
            if (seen as f32) < CORE_SEEN * frames as f32 || best.is_some_and(|(s, _)| s >= seen) {
                continue;
            }
            let changed = (0..frames)
                .filter(|&a| hist.flame_changed(a, c) > 0)
                .count();
            if changed as f32 >= CORE_FLICKER * frames as f32 {
                best = Some((seen, (x, y)));
            }
        }
    }
    best.map(|(_, at)| at)
}

/// Whether a core at `(x, y)` sits where a glow's source would, in the
/// region box `(x0, y0, x1, y1)`: in the middle half of its width, with at
/// least one of its rows above and one below.
pub fn centred((x0, y0, x1, y1): (usize, usize, usize, usize), (x, y): (usize, usize)) -> bool {
    let w = x1 + 1 - x0;
    let margin = w / 4;
    x >= x0 + margin && x + margin <= x1 && y > y0 && y < y1
}

/// Per zone, since when smoke regions round a core have been held.
#[derive(Debug, Clone)]
pub struct CoreHold {
    /// Stream time of the first held frame, and of the last.
    since: Vec<Option<(f64, f64)>>,
}

impl CoreHold {
    pub fn new(zones: usize) -> CoreHold {
        CoreHold {
            since: vec![None; zones],
        }
    }

    /// A region of `zone` with a centred core would open smoke at `t`:
    /// whether it is still held (less than [`HOLD_S`] since the zone's hold
    /// began; a hold begins afresh after [`RESET_S`] with none).
    pub fn hold(&mut self, zone: usize, t: f64) -> bool {
        let Some(slot) = self.since.get_mut(zone) else {
            return false;
        };
        let (first, _) = match *slot {
            Some((first, last)) if t - last <= RESET_S && t >= first => (first, last),
            _ => (t, t),
        };
        *slot = Some((first, t));
        t - first < HOLD_S
    }

    /// Whether `zone` held a region in the last [`RESET_S`] seconds. The
    /// hold stands in for the smoke incident it kept shut: meanwhile a
    /// region round a flame candidate counts as that flame's glow as it
    /// would round an open incident's flame (no in-place or growth test), so
    /// the young flame's `fire` is not later than its `smoke` would have
    /// let it be.
    pub fn recent(&self, zone: usize, t: f64) -> bool {
        self.since
            .get(zone)
            .copied()
            .flatten()
            .is_some_and(|(_, last)| t >= last && t - last <= RESET_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_is_centred_when_the_region_surrounds_it() {
        // fire-3002's veil round its young flame.
        assert!(centred((60, 20, 65, 24), (63, 22)));
        // A plume above its flame: the flame at or below its bottom row.
        assert!(!centred((60, 20, 65, 24), (63, 24)));
        assert!(!centred((60, 12, 65, 20), (62, 21)));
        // A bright spot at the region's side or top.
        assert!(!centred((40, 20, 55, 26), (41, 23)));
        assert!(!centred((40, 20, 55, 26), (47, 20)));
    }

    #[test]
    fn a_hold_lasts_hold_s_then_lets_smoke_open_and_restarts_after_a_pause() {
        let mut h = CoreHold::new(2);
        assert!(h.hold(0, 10.0));
        assert!(h.hold(0, 10.0 + HOLD_S - 0.1));
        assert!(!h.hold(0, 10.0 + HOLD_S));
        // The other zone has its own.
        assert!(h.hold(1, 11.0));
        // After a pause longer than RESET_S, a new hold.
        let later = 10.0 + HOLD_S + RESET_S + 0.5;
        assert!(h.hold(0, later));
        // A zone it does not know is never held.
        assert!(!h.hold(5, 10.0));
        // Recent: within RESET_S of the last held frame.
        assert!(h.recent(0, later + RESET_S));
        assert!(!h.recent(0, later + RESET_S + 0.1));
        assert!(!h.recent(5, later));
    }
}
