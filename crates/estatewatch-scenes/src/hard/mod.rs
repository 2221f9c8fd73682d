//! The `hard` suite: conditions the analyzers were not first written for
//! (issue 14), kept beside the `default` suite, which stays as it is.
//!
//! Each incident family keeps its clips in its own file, so the people
//! working on an analyzer extend only theirs:
//! [`throwing`] (camera shake and drift, daylight facade texture, late
//! tracks), [`fire`] (real flame looks, people and vehicles in the zone,
//! striped tape, signs, blinking lights) and [`garbage`] (bags near the
//! camera, crouching people, perspective). Seeds start at 10 000 so hard
//! clip names never meet default ones. Real footage joins the suite in
//! `scripts/scorecard.sh` with every analyzer over the whole frame
//! (`scenegen --real … --all-analyzers`).

pub mod fire;
pub mod garbage;
pub mod throwing;

use super::{ClipSpec, Kind, Variant};

/// Every clip of the hard suite.
pub fn suite() -> Vec<ClipSpec> {
    let mut v = throwing::specs();
    v.extend(fire::specs());
    v.extend(garbage::specs());
    v
}

pub(crate) fn spec(kind: Kind, seed: u64, variant: Variant) -> ClipSpec {
    let mut s = ClipSpec::new(kind, seed);
    s.variant = variant;
    s
}
