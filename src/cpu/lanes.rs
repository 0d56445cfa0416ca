//! The lane-generic SHA-256d header scan: one body, written once against the
//! [`Lanes`] vector interface, that each SIMD file instantiates inside its
//! own `#[target_feature]` function so it compiles to that instruction set.
//!
//! The body follows what the fastest CPU miners do: it starts from the
//! per-job [`HeaderWork`] (midstate, rounds 0..2 done, round 3 reduced to two
//! additions), folds every padding word into constants, computes the final
//! hash only up to round 60 (the last three rounds do not touch H7), and
//! compares H7 before anything else.
//!
//! Each schedule word is computed just before the round that reads it, so
//! that only a sixteen-word window is live and the schedule's independent
//! work fills the gaps in the rounds' dependency chain. (Computing the whole
//! schedule first took 215 stack loads and stores per 16 nonces on AVX-512
//! instead of 60, and ran 4-8% slower.)

use crate::job::{HeaderWork, HEADER_LEN_BITS, HEADER_PAD_W4};
use crate::sha256::{small_sigma0, small_sigma1, DIGEST_LEN_BITS, DIGEST_PAD_W8, IV, K};

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
}

/// One round on the working variables with `kw` = K[t] + W[t].
#[inline(always)]
fn round<V: Lanes>(s: [V; 8], kw: V) -> [V; 8] {
    let [a, b, c, d, e, f, g, h] = s;
    let t1 = h.add(e.big_sigma1()).add(e.ch(f, g)).add(kw);
    let t2 = a.big_sigma0().add(a.maj(b, c));
    [t1.add(t2), a, b, c, d.add(t1), e, f, g]
}

/// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16].
#[inline(always)]
fn expand<V: Lanes>(w: &[V; 64], t: usize) -> V {
    w[t - 2]
        .small_sigma1()
        .add(w[t - 7])
        .add(w[t - 15].small_sigma0())
        .add(w[t - 16])
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
    let w3 = V::counting_from(first).swap_bytes();

    // Second header block, from the state after round 2.
    let [a3, b3, c3, _, e3, f3, g3, _] = work.after3;
    let mut s = [
        w3.add(V::splat(work.a4_base)),
        V::splat(a3),
        V::splat(b3),
        V::splat(c3),
        w3.add(V::splat(work.e4_base)),
        V::splat(e3),
        V::splat(f3),
        V::splat(g3),
    ];
    // W4 = 0x80000000, W5..W14 = 0, W15 = 640: K[t] + W[t] are constants.
    s = round(s, V::splat(K[4].wrapping_add(HEADER_PAD_W4)));
    for &k in &K[5..15] {
        s = round(s, V::splat(k));
    }
    s = round(s, V::splat(K[15].wrapping_add(HEADER_LEN_BITS)));
    s = round(s, V::splat(work.kw16));
    s = round(s, V::splat(work.kw17));

    let mut w = [V::splat(0); 64];
    w[2] = V::splat(work.tail[2]);
    w[3] = w3;
    w[4] = V::splat(HEADER_PAD_W4);
    w[15] = V::splat(HEADER_LEN_BITS);
    w[16] = V::splat(work.w16);
    w[17] = V::splat(work.w17);
    w[18] = w3.small_sigma0().add(V::splat(work.c18));
    rounds_from_schedule!(s, w, 18);
    w[19] = w3.add(V::splat(work.c19));
    rounds_from_schedule!(s, w, 19);
    w[20] = w[18].small_sigma1().add(V::splat(HEADER_PAD_W4));
    rounds_from_schedule!(s, w, 20);
    w[21] = w[19].small_sigma1();
    rounds_from_schedule!(s, w, 21);
    w[22] = w[20].small_sigma1().add(V::splat(HEADER_LEN_BITS));
    rounds_from_schedule!(s, w, 22);
    w[23] = w[21].small_sigma1().add(V::splat(work.w16));
    rounds_from_schedule!(s, w, 23);
    w[24] = w[22].small_sigma1().add(V::splat(work.w17));
    rounds_from_schedule!(s, w, 24);
    w[25] = w[23].small_sigma1().add(w[18]);
    rounds_from_schedule!(s, w, 25);
    w[26] = w[24].small_sigma1().add(w[19]);
    rounds_from_schedule!(s, w, 26);
    w[27] = w[25].small_sigma1().add(w[20]);
    rounds_from_schedule!(s, w, 27);
    w[28] = w[26].small_sigma1().add(w[21]);
    rounds_from_schedule!(s, w, 28);
    w[29] = w[27].small_sigma1().add(w[22]);
    rounds_from_schedule!(s, w, 29);
    w[30] = w[28]
        .small_sigma1()
        .add(w[23])
        .add(V::splat(small_sigma0(HEADER_LEN_BITS)));
    rounds_from_schedule!(s, w, 30);
    w[31] = w[29].small_sigma1().add(w[24]).add(V::splat(
        small_sigma0(work.w16).wrapping_add(HEADER_LEN_BITS),
    ));
    rounds_from_schedule!(s, w, 31);
    w[32] = w[30]
        .small_sigma1()
        .add(w[25])
        .add(V::splat(small_sigma0(work.w17).wrapping_add(work.w16)));
    rounds_from_schedule!(s, w, 32);
    expand_and_round!(s, w, 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);

    // The first digest is the second hash's message W0..W7.
    let mut w = [V::splat(0); 64];
    for i in 0..8 {
        w[i] = s[i].add(V::splat(work.midstate[i]));
    }
    w[8] = V::splat(DIGEST_PAD_W8);
    w[15] = V::splat(DIGEST_LEN_BITS);
    let mut s = IV.map(V::splat);
    rounds_from_schedule!(s, w, 0 1 2 3 4 5 6 7);
    // W8 = 0x80000000, W9..W14 = 0, W15 = 256.
    s = round(s, V::splat(K[8].wrapping_add(DIGEST_PAD_W8)));
    for &k in &K[9..15] {
        s = round(s, V::splat(k));
    }
    s = round(s, V::splat(K[15].wrapping_add(DIGEST_LEN_BITS)));
    w[16] = w[1].small_sigma0().add(w[0]);
    rounds_from_schedule!(s, w, 16);
    w[17] = w[2]
        .small_sigma0()
        .add(w[1])
        .add(V::splat(small_sigma1(DIGEST_LEN_BITS)));
    rounds_from_schedule!(s, w, 17);
    w[18] = w[16].small_sigma1().add(w[3].small_sigma0()).add(w[2]);
    rounds_from_schedule!(s, w, 18);
    w[19] = w[17].small_sigma1().add(w[4].small_sigma0()).add(w[3]);
    rounds_from_schedule!(s, w, 19);
    w[20] = w[18].small_sigma1().add(w[5].small_sigma0()).add(w[4]);
    rounds_from_schedule!(s, w, 20);
    w[21] = w[19].small_sigma1().add(w[6].small_sigma0()).add(w[5]);
    rounds_from_schedule!(s, w, 21);
    w[22] = w[20]
        .small_sigma1()
        .add(w[7].small_sigma0())
        .add(w[6])
        .add(V::splat(DIGEST_LEN_BITS));
    rounds_from_schedule!(s, w, 22);
    w[23] = w[21]
        .small_sigma1()
        .add(w[16])
        .add(w[7])
        .add(V::splat(small_sigma0(DIGEST_PAD_W8)));
    rounds_from_schedule!(s, w, 23);
    w[24] = w[22].small_sigma1().add(w[17]).add(V::splat(DIGEST_PAD_W8));
    rounds_from_schedule!(s, w, 24);
    w[25] = w[23].small_sigma1().add(w[18]);
    rounds_from_schedule!(s, w, 25);
    w[26] = w[24].small_sigma1().add(w[19]);
    rounds_from_schedule!(s, w, 26);
    w[27] = w[25].small_sigma1().add(w[20]);
    rounds_from_schedule!(s, w, 27);
    w[28] = w[26].small_sigma1().add(w[21]);
    rounds_from_schedule!(s, w, 28);
    w[29] = w[27].small_sigma1().add(w[22]);
    rounds_from_schedule!(s, w, 29);
    w[30] = w[28]
        .small_sigma1()
        .add(w[23])
        .add(V::splat(small_sigma0(DIGEST_LEN_BITS)));
    rounds_from_schedule!(s, w, 30);
    w[31] = w[29]
        .small_sigma1()
        .add(w[24])
        .add(w[16].small_sigma0())
        .add(V::splat(DIGEST_LEN_BITS));
    rounds_from_schedule!(s, w, 31);
    expand_and_round!(s, w, 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60);
    s[4]
}

/// Scans `count` nonces from `start` and pushes every nonce whose H7 passes
/// the early exit. `start + count` must not pass 2^32.
#[inline(always)]
pub(crate) fn scan_header<V: Lanes>(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    let lanes = V::LANES as u32;
    // With the usual target (msw 0) the test is H7 == 0, i.e. e60 == -IV[7].
    let zero_msw = work.target_msw == 0;
    let want = V::splat(IV[7].wrapping_neg());
    let iv7 = V::splat(IV[7]);
    let mut done = 0u32;
    while done < count {
        let first = start.wrapping_add(done);
        let e60: V = final_e60(work, first);
        let mut mask = if zero_msw {
            e60.eq_mask(want)
        } else {
            e60.add(iv7).swapped_le_mask(work.target_msw)
        };
        let valid = (count - done).min(lanes);
        if valid < 32 {
            mask &= (1u32 << valid) - 1;
        }
        while mask != 0 {
            let lane = mask.trailing_zeros();
            out.push(first.wrapping_add(lane));
            mask &= mask - 1;
        }
        done = done.saturating_add(lanes);
    }
}

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
