//! A tiny deterministic random number generator (SplitMix64).
//!
//! The scene generator must give the same clip for the same seed on every
//! machine and every version of its dependencies, so it does not use `rand`'s
//! `StdRng` (whose algorithm may change between releases).

/// SplitMix64: fast, good enough for test footage, stable forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator for a sub-stream, so adding draws in one part of a scene
    /// does not shift the numbers another part sees.
    pub fn fork(&self, stream: u64) -> Rng {
        let mut r = Rng(self.0 ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }

    /// Uniform integer in `lo..=hi`.
    pub fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.f32() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.f32().max(1e-7);
        let u2 = self.f32();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    /// One element of a slice. Callers guarantee it is not empty (every
    /// scene builds its lists with at least one element).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len().saturating_sub(1) as i64) as usize]
    }
}

/// Smooth deterministic 1-D noise in about `[-1, 1]`: a sum of sines with
/// phases from `seed`. Used for flicker, sway and camera shake.
pub fn wobble(seed: u64, t: f32, base_hz: f32) -> f32 {
    let mut r = Rng::new(seed);
    let mut v = 0.0;
    let mut amp = 0.5;
    let mut f = base_hz;
    for _ in 0..3 {
        let phase = r.f32() * std::f32::consts::TAU;
        let jitter = r.range(0.8, 1.25);
        v += amp * (std::f32::consts::TAU * f * jitter * t + phase).sin();
        amp *= 0.5;
        f *= 2.1;
    }
    v / 0.875
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_ranges_hold() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.range(2.0, 3.0);
            assert_eq!(x, b.range(2.0, 3.0));
            assert!((2.0..3.0).contains(&x));
            let i = a.int(-2, 2);
            b.int(-2, 2);
            assert!((-2..=2).contains(&i));
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn wobble_is_bounded() {
        for i in 0..500 {
            let v = wobble(3, i as f32 * 0.013, 2.0);
            assert!((-1.01..=1.01).contains(&v), "{v}");
        }
    }
}
