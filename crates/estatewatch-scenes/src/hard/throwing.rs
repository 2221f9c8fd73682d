//! Hard throwing clips: tower scenes under the conditions of issue 14, item 1.
//!
//! Throws at every shake level (0, 0.5, 1, 2 and 3 px of random
//! frame-to-frame shake, `shake_px`), by day (with a rough, strongly
//! textured facade) and at night, mostly 8 px or larger; some with a slow
//! drift, some picked up late (`late_s`: hidden for the first second or so
//! after release, from a high floor). Negatives (birds, leaves, rain,
//! window lights) get the same shake: each kind at every level, by day
//! and at night in turn.

use super::spec;
use crate::{ClipSpec, Kind, Variant};

/// Shake levels measured, pixels each way per frame.
pub const SHAKE_LEVELS: [f32; 5] = [0.0, 0.5, 1.0, 2.0, 3.0];

/// The hard suite's tower clips (positives and negatives).
pub fn specs() -> Vec<ClipSpec> {
    use Variant::*;
    let mut v = Vec::new();
    let sizes = [8.0, 10.0, 12.0, 16.0, 20.0, 30.0, 9.0, 14.0];
    let mut seed = 11_000u64;
    // Per shake level: 4 day throws, 4 night (or IR) throws.
    for (li, shake) in SHAKE_LEVELS.iter().enumerate() {
        for i in 0..8usize {
            let variant = if i < 4 {
                Day
            } else if i % 3 == 0 {
                Ir
            } else {
                Night
            };
            let mut s = spec(Kind::Throwing, seed, variant);
            seed += 1;
            s.params.size_px = Some(sizes[(i + li) % sizes.len()]);
            s.params.style = Some(if (i + li) % 2 == 0 { "drop" } else { "toss" }.into());
            s.params.shake_px = Some(*shake);
            if variant == Day {
                s.params.texture = Some([2.0, 3.0, 4.0][(i + li) % 3]);
            }
            if i == 2 || i == 6 {
                s.params.drift_px = Some(4.0 + li as f32);
            }
            v.push(s);
        }
    }
    // Late pick-ups: released from a high floor, first seen about 0.8–1.4 s later.
    for i in 0..6u64 {
        let mut s = spec(
            Kind::Throwing,
            11_500 + i,
            [Day, Night, Ir][(i % 3) as usize],
        );
        s.params.size_px = Some([10.0, 14.0, 20.0][(i % 3) as usize]);
        s.params.style = Some("drop".into());
        s.params.late_s = Some([0.8, 1.1, 1.4][(i / 2) as usize]);
        s.params.shake_px = Some([0.0, 0.5, 1.0][(i % 3) as usize]);
        v.push(s);
    }
    // Negatives: birds, leaves, rain, lights, with shake too.
    let neg = [
        Kind::BirdLevel,
        Kind::BirdGlidingDown,
        Kind::BirdFlapping,
        Kind::Leaves,
        Kind::Rain,
        Kind::WindowLights,
    ];
    // Every kind at every level, by day and at night in turn (each level
    // has each kind once; across two neighbouring levels, both ways).
    for (li, shake) in SHAKE_LEVELS.iter().enumerate() {
        for (i, k) in neg.iter().enumerate() {
            let mut s = spec(
                *k,
                12_000 + (li * 10 + i) as u64,
                [Day, Night][(i + li) % 2],
            );
            s.params.shake_px = Some(*shake);
            v.push(s);
        }
    }
    v
}
