//! The lane-generic SHA-256d header scan: one body, written once against the
//! [`Lanes`] vector interface, that each SIMD file instantiates inside its
//! own `#[target_feature]` function so it compiles to that instruction set.
//!
//! The body follows what the fastest CPU miners do: it starts from the
//! per-job [`HeaderWork`] (midstate, rounds 0..2 done, round 3 reduced to two
//! additions), folds every padding word into constants, computes the final
//! hash only up to round 60 (the last three rounds do not touch H7), and
//! compares H7 before anything else. Its rounds are in [`super::rounds`];
//! this file runs them one batch after another ([`scan_header`]) or as a
//! two-stage software pipeline ([`scan_header_pipelined`]).

use super::rounds::{all_steps, expand, interleaved_steps, round, FirstHash, SecondHash};
use crate::job::HeaderWork;
use crate::sha256::{small_sigma0, small_sigma1, IV, K};

/// A vector of `LANES` independent 32-bit words.
///
/// Implementors are only ever constructed inside functions compiled for
/// their instruction set, after run-time detection; the methods are
/// `#[inline(always)]` so they compile into that context.
pub(crate) trait Lanes: Copy {
    /// Number of 32-bit lanes.
    const LANES: usize;
    /// Every lane `x`.
    fn splat(x: u32) -> Self;
    /// `start, start + 1, …, start + LANES - 1` (wrapping).
    fn counting_from(start: u32) -> Self;
    /// Lane-wise wrapping addition.
    fn add(self, other: Self) -> Self;
    /// Lane-wise byte swap.
    fn swap_bytes(self) -> Self;
    /// Σ0 of FIPS 180-4 (4.4).
    fn big_sigma0(self) -> Self;
    /// Σ1 (4.5).
    fn big_sigma1(self) -> Self;
    /// σ0 (4.6).
    fn small_sigma0(self) -> Self;
    /// σ1 (4.7).
    fn small_sigma1(self) -> Self;
    /// Ch(self, f, g) (4.2).
    fn ch(self, f: Self, g: Self) -> Self;
    /// Maj(self, b, c) (4.3).
    fn maj(self, b: Self, c: Self) -> Self;
    /// Bit i set where lane i equals `other`'s lane i.
    fn eq_mask(self, other: Self) -> u32;
    /// Bit i set where lane i, byte-swapped, is at most `limit` (unsigned).
    fn swapped_le_mask(self, limit: u32) -> u32;
    /// Lane i from `values[i]` (`values` holds at least `LANES` words).
    fn load(values: &[u32]) -> Self;
    /// Lane i into `out[i]` (`out` holds at least `LANES` words).
    fn store(self, out: &mut [u32]);
    /// Keeps the code that computes `a` and `e` before every later
    /// `fence`, and the code that reads them after, in the instruction
    /// stream (it emits nothing). The pipelined scan fences its two hashes
    /// every second round so that the compiler's scheduler, which groups a
    /// block's instructions by dependency chain to save registers, keeps
    /// them interleaved. None by default.
    #[inline(always)]
    fn fence(a: &mut Self, e: &mut Self) {
        let _ = (a, e);
    }
}

/// Applies `round` for each listed t with `kw` = K[t] + w[t].
macro_rules! rounds_from_schedule {
    ($s:ident, $w:ident, $($t:literal)*) => {
        $( $s = round($s, V::splat(K[$t]).add($w[$t])); )*
    };
}

/// For each listed t: w[t] from the general schedule, then round t.
macro_rules! expand_and_round {
    ($s:ident, $w:ident, $($t:literal)*) => {
        $( $w[$t] = expand(&$w, $t); $s = round($s, V::splat(K[$t]).add($w[$t])); )*
    };
}

/// For `LANES` nonces from `first`: the working variable e after round 60
/// of the final hash. The last three rounds only shift it into h, so the
/// final H7 = e60 + IV[7].
#[inline(always)]
fn final_e60<V: Lanes>(work: &HeaderWork, first: u32) -> V {
    let mut first_hash = FirstHash::<V>::start(work, first);
    all_steps!(first_hash, work);
    let mut second = SecondHash::start(first_hash.digest(work));
    all_steps!(second);
    second.e60()
}

/// Pushes the nonces `first + lane` (lane < `valid`) whose final hash,
/// given by `e60`, passes the early exit.
#[inline(always)]
fn push_passing<V: Lanes>(work: &HeaderWork, e60: V, first: u32, valid: u32, out: &mut Vec<u32>) {
    // With the usual target (msw 0) the test is H7 == 0, i.e. e60 == -IV[7].
    let mut mask = if work.target_msw == 0 {
        e60.eq_mask(V::splat(IV[7].wrapping_neg()))
    } else {
        e60.add(V::splat(IV[7])).swapped_le_mask(work.target_msw)
    };
    if valid < 32 {
        mask &= (1u32 << valid) - 1;
    }
    while mask != 0 {
        let lane = mask.trailing_zeros();
        out.push(first.wrapping_add(lane));
        mask &= mask - 1;
    }
}

/// Scans `count` nonces from `start` and pushes every nonce whose H7 passes
/// the early exit. `start + count` must not pass 2^32.
#[inline(always)]
pub(crate) fn scan_header<V: Lanes>(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    let lanes = V::LANES as u32;
    let mut done = 0u32;
    while done < count {
        let first = start.wrapping_add(done);
        let e60: V = final_e60(work, first);
        push_passing(work, e60, first, (count - done).min(lanes), out);
        done = done.saturating_add(lanes);
    }
}

/// [`scan_header`] as a two-stage software pipeline: each pass runs the
/// first hash of batch i beside the second hash of batch i - 1, round by
/// round, so that the core has two independent dependency chains to issue
/// from at the code size of one body. The pipeline is filled and drained
/// within the call (one extra pass, whose idle half is discarded), so a
/// range is always scanned whole, and a job switch between calls loses no
/// nonce.
#[inline(always)]
pub(crate) fn scan_header_pipelined<V: Lanes>(
    work: &HeaderWork,
    start: u32,
    count: u32,
    out: &mut Vec<u32>,
) {
    if count == 0 {
        return;
    }
    let lanes = V::LANES as u32;
    let batches = count.div_ceil(lanes);
    let mut carry = [V::splat(0); 8];
    for pass in 0..=batches {
        // The last pass's first hash is past the range; it is discarded.
        let first = start.wrapping_add(pass.wrapping_mul(lanes));
        let mut first_hash = FirstHash::<V>::start(work, first);
        let mut second = SecondHash::start(carry);
        interleaved_steps!(first_hash, work, second);
        carry = first_hash.digest(work);
        if let Some(batch) = pass.checked_sub(1) {
            let done = batch * lanes;
            let valid = (count - done).min(lanes);
            push_passing(work, second.e60(), start.wrapping_add(done), valid, out);
        }
    }
}

/// The entry points of a SIMD kernel built on the lane-generic body: for
/// the vector type `$v` compiled with `$features`, `kernel()` (the plain
/// scan) and `pipelined_kernel()` (the two-stage pipelined scan), each
/// `Some` only where `$detected` holds on this CPU.
macro_rules! simd_kernel {
    ($v:ty, $features:literal, $detected:expr) => {
        #[target_feature(enable = $features)]
        fn scan_header_simd(
            work: &crate::job::HeaderWork,
            start: u32,
            count: u32,
            out: &mut Vec<u32>,
        ) {
            $crate::cpu::lanes::scan_header::<$v>(work, start, count, out)
        }

        #[target_feature(enable = $features)]
        fn scan_header_pipelined_simd(
            work: &crate::job::HeaderWork,
            start: u32,
            count: u32,
            out: &mut Vec<u32>,
        ) {
            $crate::cpu::lanes::scan_header_pipelined::<$v>(work, start, count, out)
        }

        #[target_feature(enable = $features)]
        fn compress_many_simd(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
            $crate::cpu::lanes::compress_many::<$v>(states, blocks)
        }

        fn scan_header(work: &crate::job::HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
            // SAFETY: only reachable through the tables `kernel()` and
            // `pipelined_kernel()` return after detecting the features.
            unsafe { scan_header_simd(work, start, count, out) }
        }

        fn scan_header_pipelined(
            work: &crate::job::HeaderWork,
            start: u32,
            count: u32,
            out: &mut Vec<u32>,
        ) {
            // SAFETY: as for `scan_header`.
            unsafe { scan_header_pipelined_simd(work, start, count, out) }
        }

        fn compress_many(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
            // SAFETY: as for `scan_header`.
            unsafe { compress_many_simd(states, blocks) }
        }

        /// The kernel, if this CPU has its instructions.
        pub(super) fn kernel() -> Option<$crate::cpu::KernelFns> {
            ($detected).then_some($crate::cpu::KernelFns {
                scan_header,
                compress_many,
            })
        }

        /// The two-stage pipelined form of the same kernel, under the same
        /// check.
        pub(super) fn pipelined_kernel() -> Option<$crate::cpu::KernelFns> {
            kernel().map(|fns| $crate::cpu::KernelFns {
                scan_header: scan_header_pipelined,
                ..fns
            })
        }
    };
}
pub(super) use simd_kernel;

/// A scalar [`Lanes`] of one lane: the same body as plain `u32` code, the
/// portable fast kernel and a check that the body itself is right.
impl Lanes for u32 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn counting_from(start: u32) -> Self {
        start
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        u32::swap_bytes(self)
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        crate::sha256::big_sigma0(self)
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        crate::sha256::big_sigma1(self)
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        small_sigma0(self)
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        small_sigma1(self)
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        crate::sha256::ch(self, f, g)
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        crate::sha256::maj(self, b, c)
    }
    #[inline(always)]
    fn eq_mask(self, other: Self) -> u32 {
        (self == other) as u32
    }
    #[inline(always)]
    fn swapped_le_mask(self, limit: u32) -> u32 {
        (u32::swap_bytes(self) <= limit) as u32
    }
    #[inline(always)]
    fn load(values: &[u32]) -> Self {
        values[0]
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        out[0] = self;
    }
}

/// Compresses `blocks[i]` into `states[i]` for every i, `LANES` at a time
/// (the tail through the scalar body). Serves generic jobs, whose message
/// layout varies too much for a specialised scan.
#[inline(always)]
pub(crate) fn compress_many<V: Lanes>(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
    debug_assert_eq!(states.len(), blocks.len());
    let lanes = V::LANES;
    let whole = states.len() / lanes * lanes;
    for (st, bl) in states[..whole]
        .chunks_exact_mut(lanes)
        .zip(blocks[..whole].chunks_exact(lanes))
    {
        let mut w = [V::splat(0); 64];
        let mut column = [0u32; 64];
        for (t, wt) in w.iter_mut().take(16).enumerate() {
            for (lane, block) in bl.iter().enumerate() {
                column[lane] = block[t];
            }
            *wt = V::load(&column);
        }
        let mut init = [V::splat(0); 8];
        for (i, v) in init.iter_mut().enumerate() {
            for (lane, state) in st.iter().enumerate() {
                column[lane] = state[i];
            }
            *v = V::load(&column);
        }
        let mut s = init;
        rounds_from_schedule!(s, w, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        expand_and_round!(s, w, 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);
        for i in 0..8 {
            s[i].add(init[i]).store(&mut column);
            for (lane, state) in st.iter_mut().enumerate() {
                state[i] = column[lane];
            }
        }
    }
    for (state, block) in states[whole..].iter_mut().zip(&blocks[whole..]) {
        crate::sha256::compress(state, block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::HeaderJob;
    use crate::{Header, Target};

    /// A job where about one nonce in 16 passes the early exit.
    fn easy_work() -> HeaderWork {
        let header = Header::from_bytes(&[0x37; 80]).expect("80 bytes");
        HeaderWork::new(&HeaderJob::new(
            header,
            Target::from_leading_zero_bits(4).expect("4 <= 256"),
        ))
    }

    /// The pipelined scan finds exactly what the plain one finds, in the
    /// same order, for every range length up to several passes (one pass is
    /// one nonce in the scalar instance), from an ordinary start and from
    /// starts whose range ends at the top of the nonce space.
    #[test]
    fn pipelined_scan_matches_plain_scan_for_every_length() {
        let work = easy_work();
        for count in 0u32..=70 {
            for start in [
                0u32,
                1_000_003,
                0u32.wrapping_sub(count),
                (u32::MAX - count) / 2,
            ] {
                let (mut plain, mut piped) = (Vec::new(), Vec::new());
                scan_header::<u32>(&work, start, count, &mut plain);
                scan_header_pipelined::<u32>(&work, start, count, &mut piped);
                assert_eq!(piped, plain, "start {start}, count {count}");
                let expected: Vec<u32> = (0..count)
                    .map(|i| start.wrapping_add(i))
                    .filter(|&n| work.passes_early_exit(work.reference_h7(n)))
                    .collect();
                assert_eq!(plain, expected, "start {start}, count {count}");
            }
        }
    }
}
