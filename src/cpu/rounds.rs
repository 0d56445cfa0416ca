//! The lane-generic SHA-256d body as two hashes taken one round at a time.
//!
//! [`FirstHash`] is the header's second block from the per-job
//! [`HeaderWork`] (midstate, rounds 0..2 done, round 3 reduced to two
//! additions, every padding word folded into constants); [`SecondHash`] is
//! the hash of its digest, computed only up to round 60 (the last three
//! rounds do not touch H7). Each `step::<T>()` is round T with the schedule
//! word it reads, computed just before it, so that only a sixteen-word
//! window is live and the schedule's independent work fills the gaps in the
//! rounds' dependency chain. (Computing the whole schedule first took 215
//! stack loads and stores per 16 nonces on AVX-512 instead of 60, and ran
//! 4-8% slower.)
//!
//! Written as steps, one body serves two schedules: [`all_steps!`] runs one
//! hash's rounds back to back, and [`interleaved_steps!`] runs round T of
//! one batch's first hash beside round T of the previous batch's second, two
//! independent dependency chains at the code size of one body (see
//! `lanes::scan_header_pipelined`).

use super::lanes::Lanes;
use crate::job::{HeaderWork, HEADER_LEN_BITS, HEADER_PAD_W4};
use crate::sha256::{small_sigma0, small_sigma1, DIGEST_LEN_BITS, DIGEST_PAD_W8, IV, K};

/// One round on the working variables with `kw` = K[t] + W[t].
#[inline(always)]
pub(super) fn round<V: Lanes>(s: [V; 8], kw: V) -> [V; 8] {
    let [a, b, c, d, e, f, g, h] = s;
    let t1 = h.add(e.big_sigma1()).add(e.ch(f, g)).add(kw);
    let t2 = a.big_sigma0().add(a.maj(b, c));
    [t1.add(t2), a, b, c, d.add(t1), e, f, g]
}

/// W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16].
#[inline(always)]
pub(super) fn expand<V: Lanes>(w: &[V; 64], t: usize) -> V {
    w[t - 2]
        .small_sigma1()
        .add(w[t - 7])
        .add(w[t - 15].small_sigma0())
        .add(w[t - 16])
}

/// [`Lanes::fence`] on a state's `a` and `e`, the two values each round's
/// dependency chain runs through.
#[inline(always)]
fn fence_state<V: Lanes>(s: &mut [V; 8]) {
    let [a, _, _, _, e, _, _, _] = s;
    V::fence(a, e);
}

/// Calls `$hash.step::<T>($($arg)*)` for T = 0..=63, in order.
macro_rules! all_steps {
    ($hash:ident $(, $arg:expr)?) => {
        $crate::cpu::rounds::for_each_round!(all_steps $hash ($($arg)?))
    };
    (@each $hash:ident $args:tt; $($t:literal)*) => {
        $( $hash.step::<$t> $args; )*
    };
}
pub(super) use all_steps;

/// For T = 0..=63: round T of `$first` (a [`FirstHash`], with `$work`), then
/// round T of `$second` (a [`SecondHash`]), both fenced every second round
/// ([`Lanes::fence`]; every round and every fourth measured the same).
macro_rules! interleaved_steps {
    ($first:ident, $work:expr, $second:ident) => {
        $crate::cpu::rounds::for_each_round!(interleaved_steps $first, $work, $second)
    };
    (@each $first:ident, $work:expr, $second:ident; $($t:literal)*) => {
        $(
            $first.step::<$t>($work);
            $second.step::<$t>();
            if $t % 2 == 1 {
                $first.fence();
                $second.fence();
            }
        )*
    };
}
pub(super) use interleaved_steps;

/// Calls `$m!(@each $args; 0 1 … 63)`.
macro_rules! for_each_round {
    ($m:ident $($args:tt)*) => {
        $m!(@each $($args)*;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
            16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47
            48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63)
    };
}
pub(super) use for_each_round;

/// The header's second block for `LANES` nonces, rounds 4..=63.
#[derive(Clone, Copy)]
pub(super) struct FirstHash<V> {
    s: [V; 8],
    w: [V; 64],
}

impl<V: Lanes> FirstHash<V> {
    /// The state after round 3 for the nonces `first, first + 1, …`.
    #[inline(always)]
    pub(super) fn start(work: &HeaderWork, first: u32) -> Self {
        let w3 = V::counting_from(first).swap_bytes();
        let [a3, b3, c3, _, e3, f3, g3, _] = work.after3;
        let s = [
            w3.add(V::splat(work.a4_base)),
            V::splat(a3),
            V::splat(b3),
            V::splat(c3),
            w3.add(V::splat(work.e4_base)),
            V::splat(e3),
            V::splat(f3),
            V::splat(g3),
        ];
        let mut w = [V::splat(0); 64];
        w[2] = V::splat(work.tail[2]);
        w[3] = w3;
        w[4] = V::splat(HEADER_PAD_W4);
        w[15] = V::splat(HEADER_LEN_BITS);
        w[16] = V::splat(work.w16);
        w[17] = V::splat(work.w17);
        FirstHash { s, w }
    }

    /// Round `T` (nothing for T < 4: those are in [`FirstHash::start`]).
    #[inline(always)]
    pub(super) fn step<const T: usize>(&mut self, work: &HeaderWork) {
        let w = &mut self.w;
        let kw = match T {
            0..=3 => return,
            // W4 = 0x80000000, W5..W14 = 0, W15 = 640: K[t] + W[t] are constants.
            4 => V::splat(K[4].wrapping_add(HEADER_PAD_W4)),
            5..=14 => V::splat(K[T]),
            15 => V::splat(K[15].wrapping_add(HEADER_LEN_BITS)),
            16 => V::splat(work.kw16),
            17 => V::splat(work.kw17),
            _ => {
                w[T] = match T {
                    18 => w[3].small_sigma0().add(V::splat(work.c18)),
                    19 => w[3].add(V::splat(work.c19)),
                    20 => w[18].small_sigma1().add(V::splat(HEADER_PAD_W4)),
                    21 => w[19].small_sigma1(),
                    22 => w[20].small_sigma1().add(V::splat(HEADER_LEN_BITS)),
                    23 => w[21].small_sigma1().add(V::splat(work.w16)),
                    24 => w[22].small_sigma1().add(V::splat(work.w17)),
                    25..=29 => w[T - 2].small_sigma1().add(w[T - 7]),
                    30 => w[28]
                        .small_sigma1()
                        .add(w[23])
                        .add(V::splat(small_sigma0(HEADER_LEN_BITS))),
                    31 => w[29].small_sigma1().add(w[24]).add(V::splat(
                        small_sigma0(work.w16).wrapping_add(HEADER_LEN_BITS),
                    )),
                    32 => w[30]
                        .small_sigma1()
                        .add(w[25])
                        .add(V::splat(small_sigma0(work.w17).wrapping_add(work.w16))),
                    _ => expand(w, T),
                };
                V::splat(K[T]).add(w[T])
            }
        };
        self.s = round(self.s, kw);
    }

    /// See [`Lanes::fence`].
    #[inline(always)]
    pub(super) fn fence(&mut self) {
        fence_state(&mut self.s);
    }

    /// The first hash's digest after round 63: the second hash's W0..W7.
    #[inline(always)]
    pub(super) fn digest(&self, work: &HeaderWork) -> [V; 8] {
        let mut d = self.s;
        for (x, m) in d.iter_mut().zip(work.midstate) {
            *x = x.add(V::splat(m));
        }
        d
    }
}

/// The hash of the first digest, rounds 0..=60.
#[derive(Clone, Copy)]
pub(super) struct SecondHash<V> {
    s: [V; 8],
    w: [V; 64],
}

impl<V: Lanes> SecondHash<V> {
    /// The initial state for the message `digest` (W0..W7; W8 and W15 are
    /// the padding).
    #[inline(always)]
    pub(super) fn start(digest: [V; 8]) -> Self {
        let mut w = [V::splat(0); 64];
        w[..8].copy_from_slice(&digest);
        w[8] = V::splat(DIGEST_PAD_W8);
        w[15] = V::splat(DIGEST_LEN_BITS);
        SecondHash {
            s: IV.map(V::splat),
            w,
        }
    }

    /// Round `T` (nothing for T > 60: they do not reach H7).
    #[inline(always)]
    pub(super) fn step<const T: usize>(&mut self) {
        let w = &mut self.w;
        let kw = match T {
            0..=7 => V::splat(K[T]).add(w[T]),
            // W8 = 0x80000000, W9..W14 = 0, W15 = 256.
            8 => V::splat(K[8].wrapping_add(DIGEST_PAD_W8)),
            9..=14 => V::splat(K[T]),
            15 => V::splat(K[15].wrapping_add(DIGEST_LEN_BITS)),
            61.. => return,
            _ => {
                w[T] = match T {
                    16 => w[1].small_sigma0().add(w[0]),
                    17 => w[2]
                        .small_sigma0()
                        .add(w[1])
                        .add(V::splat(small_sigma1(DIGEST_LEN_BITS))),
                    18..=21 => w[T - 2]
                        .small_sigma1()
                        .add(w[T - 15].small_sigma0())
                        .add(w[T - 16]),
                    22 => w[20]
                        .small_sigma1()
                        .add(w[7].small_sigma0())
                        .add(w[6])
                        .add(V::splat(DIGEST_LEN_BITS)),
                    23 => w[21]
                        .small_sigma1()
                        .add(w[16])
                        .add(w[7])
                        .add(V::splat(small_sigma0(DIGEST_PAD_W8))),
                    24 => w[22].small_sigma1().add(w[17]).add(V::splat(DIGEST_PAD_W8)),
                    25..=29 => w[T - 2].small_sigma1().add(w[T - 7]),
                    30 => w[28]
                        .small_sigma1()
                        .add(w[23])
                        .add(V::splat(small_sigma0(DIGEST_LEN_BITS))),
                    31 => w[29]
                        .small_sigma1()
                        .add(w[24])
                        .add(w[16].small_sigma0())
                        .add(V::splat(DIGEST_LEN_BITS)),
                    _ => expand(w, T),
                };
                V::splat(K[T]).add(w[T])
            }
        };
        self.s = round(self.s, kw);
    }

    /// See [`Lanes::fence`].
    #[inline(always)]
    pub(super) fn fence(&mut self) {
        fence_state(&mut self.s);
    }

    /// The working variable e after round 60: the final H7 is this + IV[7].
    #[inline(always)]
    pub(super) fn e60(&self) -> V {
        self.s[4]
    }
}
