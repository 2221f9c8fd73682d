//! Hard fire and smoke clips: shed scenes under the conditions of issue 14, item 2.

use super::spec;
use crate::{ClipSpec, Kind, Variant};

/// The hard suite's shed clips (positives and negatives).
pub fn specs() -> Vec<ClipSpec> {
    use Variant::*;
    let mut v = Vec::new();
    for i in 0..8u64 {
        let k = [Kind::Fire, Kind::Smoke, Kind::FireSmoke, Kind::Fire][(i % 4) as usize];
        v.push(spec(
            k,
            13_000 + i,
            [Night, Ir, Day, Night][(i % 4) as usize],
        ));
    }
    let neg = [
        Kind::OrangeJacket,
        Kind::FlashingLight,
        Kind::Headlights,
        Kind::OrangeBike,
    ];
    for (i, k) in neg.iter().enumerate() {
        v.push(spec(*k, 14_000 + i as u64, [Night, Ir][i % 2]));
    }
    v
}
