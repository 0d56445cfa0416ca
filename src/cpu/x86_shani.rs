//! SHA-NI kernel: the SHA extensions' two-rounds-per-instruction
//! `sha256rnds2`, with several nonces interleaved to hide its latency.
//!
//! This file enables SSE4.1 and SHA only, never AVX: 128-bit legacy-encoded
//! SHA instructions beside VEX-encoded code hit the AVX/SSE transition
//! penalty on some cores.
//!
//! The state lives in the instruction set's ABEF / CDGH layout: lane 0 of
//! `abef` holds F, lane 3 holds A; lane 0 of `cdgh` holds H.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::streams::{self, each_stream, quads, STREAMS};
use super::KernelFns;
use crate::job::{HeaderWork, HEADER_LEN_BITS, HEADER_PAD_W4};
use crate::sha256::{DIGEST_LEN_BITS, DIGEST_PAD_W8, IV, K};

/// Lanes (w0, w1, w2, w3) with w0 in lane 0.
#[inline(always)]
unsafe fn words(w0: u32, w1: u32, w2: u32, w3: u32) -> __m128i {
    _mm_setr_epi32(w0 as i32, w1 as i32, w2 as i32, w3 as i32)
}

/// w + K[4q..4q+4].
#[inline(always)]
unsafe fn add_k(w: __m128i, q: usize) -> __m128i {
    _mm_add_epi32(w, _mm_loadu_si128(K[4 * q..].as_ptr().cast()))
}

/// The next four schedule words from the previous sixteen (m0 oldest).
#[inline(always)]
unsafe fn next_words(m0: __m128i, m1: __m128i, m2: __m128i, m3: __m128i) -> __m128i {
    let t = _mm_add_epi32(_mm_sha256msg1_epu32(m0, m1), _mm_alignr_epi8::<4>(m3, m2));
    _mm_sha256msg2_epu32(t, m3)
}

/// Four rounds with `kw` = K + W for those rounds.
#[inline(always)]
unsafe fn four_rounds(abef: &mut __m128i, cdgh: &mut __m128i, kw: __m128i) {
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, kw);
    std::mem::swap(abef, cdgh);
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, _mm_shuffle_epi32::<0x0e>(kw));
    std::mem::swap(abef, cdgh);
}

/// Packs a..h into (ABEF, CDGH).
#[inline(always)]
unsafe fn pack(s: [u32; 8]) -> (__m128i, __m128i) {
    let [a, b, c, d, e, f, g, h] = s;
    (words(f, e, b, a), words(h, g, d, c))
}

/// Unpacks (ABEF, CDGH) into (ABCD, EFGH) with A and E in lane 0.
#[inline(always)]
unsafe fn unpack(abef: __m128i, cdgh: __m128i) -> (__m128i, __m128i) {
    let feba = _mm_shuffle_epi32::<0x1b>(abef); // A B E F
    let dchg = _mm_shuffle_epi32::<0xb1>(cdgh); // G H C D
    let abcd = _mm_blend_epi16::<0xf0>(feba, dchg);
    let efgh = _mm_alignr_epi8::<8>(dchg, feba);
    (abcd, efgh)
}

/// Each stream's second header block (W0..W15 as four vectors) for the
/// nonces from `first` on: the job's three words, the nonce as W3, the
/// padding and the length.
#[inline(always)]
unsafe fn header_blocks(work: &HeaderWork, first: u32) -> [[__m128i; 4]; STREAMS] {
    let mut m = [[_mm_setzero_si128(); 4]; STREAMS];
    each_stream!(i => {
        let w3 = first.wrapping_add(i as u32).swap_bytes();
        m[i] = [
            words(work.tail[0], work.tail[1], work.tail[2], w3),
            words(HEADER_PAD_W4, 0, 0, 0),
            _mm_setzero_si128(),
            words(0, 0, 0, HEADER_LEN_BITS),
        ];
    });
    m
}

/// H7 of SHA-256d(header) for `STREAMS` consecutive nonces from `first`.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn final_h7(work: &HeaderWork, first: u32) -> [u32; STREAMS] {
    // Rounds 0 and 1 of the second block, which see no nonce, start every stream.
    let mut after2 = work.midstate;
    for (k, w) in K.iter().zip(&work.tail[..2]) {
        after2 = crate::sha256::round(after2, k.wrapping_add(*w));
    }
    let (abef2, cdgh2) = pack(after2);
    let (mid_abef, mid_cdgh) = pack(work.midstate);

    let mut abef = [abef2; STREAMS];
    let mut cdgh = [cdgh2; STREAMS];
    let mut m = header_blocks(work, first);
    each_stream!(i => {
        // Rounds 2 and 3: the upper half of K + W for rounds 0..3.
        let kw = _mm_shuffle_epi32::<0x0e>(add_k(m[i][0], 0));
        cdgh[i] = _mm_sha256rnds2_epu32(cdgh[i], abef[i], kw);
        std::mem::swap(&mut abef[i], &mut cdgh[i]);
    });
    quads!(abef, cdgh, m; 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);

    // The second hash: message = first digest, then padding; state = IV.
    let (iv_abef, iv_cdgh) = pack(IV);
    each_stream!(i => {
        let (abcd, efgh) = unpack(_mm_add_epi32(abef[i], mid_abef), _mm_add_epi32(cdgh[i], mid_cdgh));
        m[i] = [abcd, efgh, words(DIGEST_PAD_W8, 0, 0, 0), words(0, 0, 0, DIGEST_LEN_BITS)];
        abef[i] = iv_abef;
        cdgh[i] = iv_cdgh;
    });
    quads!(abef, cdgh, m; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    let mut out = [0u32; STREAMS];
    each_stream!(i => {
        // Rounds 60 and 61 only: afterwards lane 0 (F) holds e after round
        // 60, which rounds 62 and 63 merely shift into h.
        let [m0, m1, m2, m3] = m[i];
        let kw = add_k(next_words(m0, m1, m2, m3), 15);
        let abef62 = _mm_sha256rnds2_epu32(cdgh[i], abef[i], kw);
        out[i] = (_mm_cvtsi128_si32(abef62) as u32).wrapping_add(IV[7]);
    });
    out
}

/// Rounds 4q+1 .. 4q+4 of the second hash on every stream, for each listed
/// q: the second hash's round 0 is an addition (see `final_h7`), so its
/// `sha256rnds2` pairs are (1, 2), (3, 4), … and the pair (4q+3, 4q+4)
/// takes one word from quad q and one from quad q + 1. K + W of quad q is
/// added again rather than kept from the quad before: a register is worth
/// more than an addition with six streams in sixteen registers.
macro_rules! shifted_quads {
    ($abef:ident, $cdgh:ident, $m:ident; $($q:literal)*) => {$(
        each_stream!(i => {
            let next = $q + 1;
            if next >= 4 {
                let [m0, m1, m2, m3] = $m[i];
                $m[i] = [m1, m2, m3, next_words(m0, m1, m2, m3)];
            }
            let (at, at_next) = if next >= 4 { (2, 3) } else { ($q, next) };
            let kw = add_k($m[i][at], $q);
            let kw_next = add_k($m[i][at_next], next);
            $cdgh[i] = _mm_sha256rnds2_epu32($cdgh[i], $abef[i], _mm_srli_si128::<4>(kw));
            std::mem::swap(&mut $abef[i], &mut $cdgh[i]);
            $cdgh[i] = _mm_sha256rnds2_epu32($cdgh[i], $abef[i], _mm_alignr_epi8::<12>(kw_next, kw));
            std::mem::swap(&mut $abef[i], &mut $cdgh[i]);
        });
    )*};
}

/// [`final_h7`] in 60 `sha256rnds2` a nonce: rounds 0 to 2 of the header's second block
/// see no nonce (the host ran them), round 3 adds W3 = the nonce to `a`
/// and `e` alone, and the second hash's round 0 adds its W0 the same way
/// (its state is the IV); rounds 61 to 63 only shift e60 into h.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn final_h7_60(work: &HeaderWork, first: u32) -> [u32; STREAMS] {
    // The state after round 3 with W3 = 0; W3 adds to lanes A and E.
    let [a, b, c, _, e, f, g, _] = work.after3;
    let (abef4, cdgh4) = pack([work.a4_base, a, b, c, work.e4_base, e, f, g]);
    let (mid_abef, mid_cdgh) = pack(work.midstate);

    let mut abef = [abef4; STREAMS];
    let mut cdgh = [cdgh4; STREAMS];
    let mut m = header_blocks(work, first);
    each_stream!(i => {
        let w3 = first.wrapping_add(i as u32).swap_bytes();
        abef[i] = _mm_add_epi32(abef[i], words(0, w3, 0, w3));
    });
    quads!(abef, cdgh, m; 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);

    // The second hash: message = first digest, then padding; state = IV.
    // Round 0 with W0 = 0, from which W0 adds to lanes A and E.
    let (iv_abef1, iv_cdgh1) = pack(crate::sha256::round(IV, K[0]));
    each_stream!(i => {
        let (abcd, efgh) = unpack(_mm_add_epi32(abef[i], mid_abef), _mm_add_epi32(cdgh[i], mid_cdgh));
        m[i] = [abcd, efgh, words(DIGEST_PAD_W8, 0, 0, 0), words(0, 0, 0, DIGEST_LEN_BITS)];
        let w0 = _mm_shuffle_epi32::<0x00>(abcd);
        abef[i] = _mm_blend_epi16::<0xcc>(iv_abef1, _mm_add_epi32(iv_abef1, w0));
        cdgh[i] = iv_cdgh1;
    });
    shifted_quads!(abef, cdgh, m; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    let mut out = [0u32; STREAMS];
    each_stream!(i => {
        // After the pair (59, 60), lane 1 (E) holds e60.
        out[i] = (_mm_extract_epi32::<1>(abef[i]) as u32).wrapping_add(IV[7]);
    });
    out
}

/// Compresses one block into one state.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
unsafe fn compress1(state: &mut [u32; 8], block: &[u32; 16]) {
    let (mut abef, mut cdgh) = pack(*state);
    let (start_abef, start_cdgh) = (abef, cdgh);
    let mut m = [0usize, 1, 2, 3].map(|q| _mm_loadu_si128(block[4 * q..].as_ptr().cast()));
    for q in 0..16 {
        if q >= 4 {
            let [m0, m1, m2, m3] = m;
            m = [m1, m2, m3, next_words(m0, m1, m2, m3)];
        }
        four_rounds(&mut abef, &mut cdgh, add_k(m[q.min(3)], q));
    }
    let (abcd, efgh) = unpack(
        _mm_add_epi32(abef, start_abef),
        _mm_add_epi32(cdgh, start_cdgh),
    );
    _mm_storeu_si128(state.as_mut_ptr().cast(), abcd);
    _mm_storeu_si128(state[4..].as_mut_ptr().cast(), efgh);
}

fn scan_header(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    // SAFETY: reachable only through the table `kernel()` returns after
    // detecting the extensions `final_h7` is compiled for.
    streams::scan(work, start, count, out, |first| unsafe {
        final_h7(work, first)
    })
}

fn scan_header_60(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    // SAFETY: as for `scan_header`, through `kernel_60()`.
    streams::scan(work, start, count, out, |first| unsafe {
        final_h7_60(work, first)
    })
}

fn compress_many(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
    for (state, block) in states.iter_mut().zip(blocks) {
        // SAFETY: as for `scan_header`.
        unsafe { compress1(state, block) }
    }
}

fn detected() -> bool {
    is_x86_feature_detected!("sha") && is_x86_feature_detected!("sse4.1")
}

/// The SHA-NI kernel, if this CPU has the SHA extensions and SSE4.1.
pub(super) fn kernel() -> Option<KernelFns> {
    detected().then_some(KernelFns {
        scan_header,
        compress_many,
    })
}

/// The SHA-NI kernel in 60 `sha256rnds2` a nonce instead of 62, if this
/// CPU has the SHA extensions and SSE4.1.
pub(super) fn kernel_60() -> Option<KernelFns> {
    detected().then_some(KernelFns {
        scan_header: scan_header_60,
        compress_many,
    })
}
