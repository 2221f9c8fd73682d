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
    // People and vehicles in the zone while a flame burns: hi-vis walkers
    // crossing, a car's lit front sweeping by, a blinking beacon beside it.
    let busy = [
        (Kind::Fire, Kind::OrangeJacket, Night),
        (Kind::Fire, Kind::Headlights, Day),
        (Kind::Smoke, Kind::OrangeJacket, Ir),
        (Kind::FireSmoke, Kind::FlashingLight, Night),
    ];
    for (i, (k, with, variant)) in busy.iter().enumerate() {
        let mut s = spec(*k, 13_100 + i as u64, *variant);
        s.with = vec![*with];
        v.push(s);
    }
    // Several distractors at once, no incident: walkers, a car's lights, a
    // blinking beacon and a red bike wheeled in, by day, night and IR.
    let crowds = [
        (Kind::OrangeJacket, Kind::Headlights, Day),
        (Kind::FlashingLight, Kind::OrangeJacket, Night),
        (Kind::OrangeBike, Kind::FlashingLight, Ir),
        (Kind::Headlights, Kind::OrangeBike, Night),
    ];
    for (i, (k, with, variant)) in crowds.iter().enumerate() {
        let mut s = spec(*k, 14_100 + i as u64, *variant);
        s.with = vec![*with];
        v.push(s);
    }
    // The distractors of issue 14 as conditions, each by day, at night and
    // under IR: fluttering red-and-white tape, printed red signs and posters
    // with a flame pictogram, blinking red/orange lights nobody masked, a car
    // crossing, people in hi-vis. Each once with no incident (and a second
    // distractor beside it), and once beside a burning flame, which must
    // still raise `fire`.
    let distractors = [
        Kind::StripedTape,
        Kind::FlamePoster,
        Kind::BlinkingLight,
        Kind::Vehicle,
        Kind::OrangeJacket,
    ];
    for (i, d) in distractors.iter().enumerate() {
        for (j, variant) in [Day, Night, Ir].into_iter().enumerate() {
            let n = (i * 3 + j) as u64;
            let mut quiet = spec(*d, 14_200 + n, variant);
            quiet.with = vec![distractors[(i + 1 + j) % distractors.len()]];
            v.push(quiet);
            let mut burning = spec(Kind::Fire, 13_200 + n, variant);
            burning.with = vec![*d];
            v.push(burning);
        }
    }
    // Sun through cloud lightening broad patches of a textured yard by a
    // few per cent (real footage's failure mode), alone and beside a real
    // plume, which must still raise `smoke`; and a pale car crossing by day
    // with sun patches beside it.
    for (i, (k, with)) in [
        (Kind::SunPatches, Kind::Sunlight),
        (Kind::SunPatches, Kind::Vehicle),
        (Kind::SunPatches, Kind::OrangeJacket),
        (Kind::Smoke, Kind::SunPatches),
        (Kind::FireSmoke, Kind::SunPatches),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = spec(k, 14_300 + i as u64, Day);
        s.with = vec![with];
        v.push(s);
    }
    v
}
