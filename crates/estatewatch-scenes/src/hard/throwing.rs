//! Hard throwing clips: tower scenes under the conditions of issue 14, item 1.

use super::spec;
use crate::{ClipSpec, Kind, Variant};

/// The hard suite's tower clips (positives and negatives).
pub fn specs() -> Vec<ClipSpec> {
    use Variant::*;
    let mut v = Vec::new();
    // Throws across sizes 8..=30 px, day, night and IR.
    let sizes = [8.0, 10.0, 12.0, 16.0, 20.0, 30.0];
    for i in 0..12u64 {
        let mut s = spec(
            Kind::Throwing,
            11_000 + i,
            [Day, Night, Ir, Day][(i % 4) as usize],
        );
        s.params.size_px = Some(sizes[(i % 6) as usize]);
        s.params.style = Some(if i % 2 == 0 { "drop" } else { "toss" }.into());
        v.push(s);
    }
    // Negatives: birds, leaves, rain, lights.
    let neg = [
        Kind::BirdLevel,
        Kind::BirdGlidingDown,
        Kind::Leaves,
        Kind::Rain,
        Kind::WindowLights,
    ];
    for (i, k) in neg.iter().enumerate() {
        v.push(spec(*k, 12_000 + i as u64, [Day, Night][i % 2]));
    }
    v
}
