//! Hard garbage clips: bin-room scenes under the conditions of issue 14,
//! item 3. Each condition runs by day, at night and under IR:
//! - perspective: bags left at the zone's far edge, in the middle and by the
//!   camera, of every usual size;
//! - large bags near the camera (a bit over 2 % of the frame and more);
//! - people who set the bag down and stay crouched by it a while (the drop
//!   time is when they move off it, and the "left" panel must show the bag
//!   without them);
//! - negatives: people who crouch by the bins and leave nothing, a person
//!   standing, a bag carried through, a bin moved, a lighting change.

use super::spec;
use crate::suite::SUITE_DWELL_S;
use crate::{ClipSpec, Kind, Variant};

/// The hard suite's bin-room clips (positives and negatives).
pub fn specs() -> Vec<ClipSpec> {
    use Variant::*;
    let light = [Day, Night, Ir];
    let mut v = Vec::new();
    let mut seed = 15_000u64;
    let mut garbage = |v: &mut Vec<ClipSpec>, variant, set: &dyn Fn(&mut ClipSpec)| {
        let mut s = spec(Kind::Garbage, seed, variant);
        seed += 1;
        s.params.dwell_s = Some(SUITE_DWELL_S);
        set(&mut s);
        v.push(s);
    };
    // Perspective: far, middle and near, each with a small, usual and large bag.
    for (i, depth) in [0.05f32, 0.5, 0.95].into_iter().enumerate() {
        for (j, scale) in [0.15f32, 0.25, 0.35].into_iter().enumerate() {
            garbage(&mut v, light[(i + j) % 3], &|s| {
                s.params.bag_depth = Some(depth);
                s.params.bag_scale = Some(scale);
            });
        }
    }
    // Large bags by the camera: about 2 % of the frame and more.
    for (i, scale) in [0.38f32, 0.42, 0.45].into_iter().enumerate() {
        garbage(&mut v, light[i % 3], &|s| {
            s.params.bag_depth = Some(0.9 + 0.05 * i as f32);
            s.params.bag_scale = Some(scale);
        });
    }
    // Set down, then crouched by it 3..10 s before leaving; some with someone
    // else crouching nearby too.
    for (i, crouch) in [3.0f32, 5.0, 7.0, 10.0, 4.0, 8.0].into_iter().enumerate() {
        garbage(&mut v, light[i % 3], &|s| {
            s.params.crouch_s = Some(crouch);
            s.params.bag_depth = Some([0.3f32, 0.7, 0.9][i % 3]);
            if i >= 4 {
                s.params.crouchers = Some(1);
            }
        });
    }
    // The placeholder clips of the first hard suite (default conditions).
    for i in 0..4u64 {
        garbage(&mut v, [Day, Night, Ir, Day][i as usize], &|_| {});
    }
    // Negatives.
    let neg = [
        Kind::PersonStanding,
        Kind::BagCarried,
        Kind::BinMoved,
        Kind::LightingChange,
    ];
    for (i, k) in neg.iter().enumerate() {
        let mut s = spec(*k, 16_000 + i as u64, [Day, Night][i % 2]);
        s.params.dwell_s = Some(SUITE_DWELL_S);
        v.push(s);
    }
    // People crouching by the bins and leaving nothing, 1..3 at a time.
    for i in 0..6u64 {
        let mut s = spec(Kind::BinroomEmpty, 16_100 + i, light[(i % 3) as usize]);
        s.params.dwell_s = Some(SUITE_DWELL_S);
        s.params.crouchers = Some(1 + (i % 3) as u32);
        v.push(s);
    }
    v
}
