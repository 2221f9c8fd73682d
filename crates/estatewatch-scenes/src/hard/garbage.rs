//! Hard garbage clips: bin-room scenes under the conditions of issue 14, item 3.

use super::spec;
use crate::suite::SUITE_DWELL_S;
use crate::{ClipSpec, Kind, Variant};

/// The hard suite's bin-room clips (positives and negatives).
pub fn specs() -> Vec<ClipSpec> {
    use Variant::*;
    let mut v = Vec::new();
    for i in 0..8u64 {
        let mut s = spec(
            Kind::Garbage,
            15_000 + i,
            [Day, Night, Ir, Day][(i % 4) as usize],
        );
        s.params.dwell_s = Some(SUITE_DWELL_S);
        v.push(s);
    }
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
    v
}
