//! A small deterministic pseudo-random number generator (xorshift64*), so that a run with
//! the same seed and shopper count makes the same choices, without the `rand` crate.

/// xorshift64* (Vigna): 64-bit state, never zero.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

/// One step of splitmix64, used to spread nearby seeds (0, 1, 2, ...) over the state space.
fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl XorShift64 {
    /// A generator for one shopper: distinct shoppers get unrelated streams.
    pub fn for_shopper(seed: u64, shopper: u64) -> Self {
        Self::new(splitmix64(seed ^ splitmix64(shopper)))
    }

    pub fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves; replace it with a fixed odd constant.
        let state = if seed == 0 {
            0x2545_F491_4F6C_DD1D
        } else {
            seed
        };
        Self { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..bound` (0 when `bound` is 0), by multiply-shift: no modulo bias worth
    /// mentioning and no division.
    pub fn below(&mut self, bound: u64) -> u64 {
        let wide = u128::from(self.next_u64()) * u128::from(bound);
        u64::try_from(wide >> 64).unwrap_or(0)
    }

    /// A value in `low..=high` (`low` when `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.below(high - low + 1)
    }

    /// An index into a slice of length `len` (0 when `len` is 0).
    pub fn index(&mut self, len: usize) -> usize {
        let picked = self.below(u64::try_from(len).unwrap_or(u64::MAX));
        usize::try_from(picked).unwrap_or(0)
    }

    /// Up to `count` distinct indices into `0..len`, in the order drawn (partial Fisher–Yates).
    pub fn distinct_indices(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut pool: Vec<usize> = (0..len).collect();
        let take = count.min(len);
        for i in 0..take {
            let j = i + self.index(len - i);
            pool.swap(i, j);
        }
        pool.truncate(take);
        pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        let mut a = XorShift64::for_shopper(7, 3);
        let mut b = XorShift64::for_shopper(7, 3);
        let first: Vec<u64> = (0..100).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..100).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn different_shoppers_get_different_sequences() {
        let mut a = XorShift64::for_shopper(7, 0);
        let mut b = XorShift64::for_shopper(7, 1);
        let first: Vec<u64> = (0..10).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..10).map(|_| b.next_u64()).collect();
        assert_ne!(first, second);
    }

    #[test]
    fn zero_seed_does_not_get_stuck() {
        let mut rng = XorShift64::new(0);
        let values: Vec<u64> = (0..10).map(|_| rng.next_u64()).collect();
        assert!(values.iter().all(|&v| v != 0));
    }

    #[test]
    fn known_first_value_for_seed_one() {
        // x = 1: x ^= x>>12 -> 1; x ^= x<<25 -> 0x2000001; x ^= x>>27 -> 0x2000001.
        let mut rng = XorShift64::new(1);
        assert_eq!(
            rng.next_u64(),
            0x0200_0001_u64.wrapping_mul(0x2545_F491_4F6C_DD1D)
        );
    }

    #[test]
    fn below_and_between_stay_in_range_and_cover_it() {
        let mut rng = XorShift64::new(42);
        let mut seen = [false; 3];
        for _ in 0..1000 {
            let v = rng.between(1, 3);
            assert!((1..=3).contains(&v));
            seen[usize::try_from(v - 1).unwrap()] = true;
            assert!(rng.below(10) < 10);
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
        assert_eq!(rng.between(5, 5), 5);
        assert_eq!(rng.between(5, 2), 5);
        assert_eq!(rng.index(0), 0);
    }

    #[test]
    fn distinct_indices_are_distinct_and_bounded() {
        let mut rng = XorShift64::new(9);
        for len in 0..8 {
            for count in 0..5 {
                let picked = rng.distinct_indices(len, count);
                assert_eq!(picked.len(), count.min(len));
                let mut sorted = picked.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), picked.len());
                assert!(picked.iter().all(|&i| i < len));
            }
        }
    }
}
