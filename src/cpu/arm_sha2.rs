//! AArch64 SHA2-extension kernel: `sha256h` / `sha256h2` do four rounds per
//! pair and `sha256su0` / `sha256su1` four schedule words, with several
//! nonces interleaved to hide their latency.
//!
//! The state lives in the instruction set's layout: `abcd` with A in lane
//! 0, `efgh` with E in lane 0.

use core::arch::aarch64::*;

use super::streams::{self, each_stream, quads, STREAMS};
use super::KernelFns;
use crate::job::{HeaderWork, HEADER_LEN_BITS, HEADER_PAD_W4};
use crate::sha256::{DIGEST_LEN_BITS, DIGEST_PAD_W8, IV, K};

/// Lanes (w0, w1, w2, w3) with w0 in lane 0.
#[inline]
#[target_feature(enable = "neon,sha2")]
unsafe fn words(w: [u32; 4]) -> uint32x4_t {
    vld1q_u32(w.as_ptr())
}

/// w + K[4q..4q+4].
#[inline]
#[target_feature(enable = "neon,sha2")]
unsafe fn add_k(w: uint32x4_t, q: usize) -> uint32x4_t {
    vaddq_u32(w, vld1q_u32(K[4 * q..].as_ptr()))
}

/// The next four schedule words from the previous sixteen (m0 oldest).
#[inline]
#[target_feature(enable = "neon,sha2")]
unsafe fn next_words(m0: uint32x4_t, m1: uint32x4_t, m2: uint32x4_t, m3: uint32x4_t) -> uint32x4_t {
    vsha256su1q_u32(vsha256su0q_u32(m0, m1), m2, m3)
}

/// Four rounds with `kw` = K + W for those rounds.
#[inline]
#[target_feature(enable = "neon,sha2")]
unsafe fn four_rounds(abcd: &mut uint32x4_t, efgh: &mut uint32x4_t, kw: uint32x4_t) {
    let before = *abcd;
    *abcd = vsha256hq_u32(*abcd, *efgh, kw);
    *efgh = vsha256h2q_u32(*efgh, before, kw);
}

/// H7 of SHA-256d(header) for `STREAMS` consecutive nonces from `first`.
#[target_feature(enable = "neon,sha2")]
unsafe fn final_h7(work: &HeaderWork, first: u32) -> [u32; STREAMS] {
    let mid = work.midstate;
    let mid_abcd = words([mid[0], mid[1], mid[2], mid[3]]);
    let mid_efgh = words([mid[4], mid[5], mid[6], mid[7]]);
    let mut abcd = [mid_abcd; STREAMS];
    let mut efgh = [mid_efgh; STREAMS];
    let mut m = [[vdupq_n_u32(0); 4]; STREAMS];
    each_stream!(i => {
        let w3 = first.wrapping_add(i as u32).swap_bytes();
        m[i][0] = words([work.tail[0], work.tail[1], work.tail[2], w3]);
        m[i][1] = words([HEADER_PAD_W4, 0, 0, 0]);
        m[i][3] = words([0, 0, 0, HEADER_LEN_BITS]);
    });
    quads!(abcd, efgh, m; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);

    // The second hash: message = first digest, then padding; state = IV.
    let iv_abcd = words([IV[0], IV[1], IV[2], IV[3]]);
    let iv_efgh = words([IV[4], IV[5], IV[6], IV[7]]);
    each_stream!(i => {
        m[i] = [
            vaddq_u32(abcd[i], mid_abcd),
            vaddq_u32(efgh[i], mid_efgh),
            words([DIGEST_PAD_W8, 0, 0, 0]),
            words([0, 0, 0, DIGEST_LEN_BITS]),
        ];
        abcd[i] = iv_abcd;
        efgh[i] = iv_efgh;
    });
    quads!(abcd, efgh, m; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    let mut out = [0u32; STREAMS];
    each_stream!(i => {
        // Rounds 60..63: only efgh is wanted, and its lane 3 (h) is e
        // after round 60, which H7 adds to IV[7].
        let [m0, m1, m2, m3] = m[i];
        let kw = add_k(next_words(m0, m1, m2, m3), 15);
        let efgh64 = vsha256h2q_u32(efgh[i], abcd[i], kw);
        out[i] = vgetq_lane_u32::<3>(efgh64).wrapping_add(IV[7]);
    });
    out
}

/// Compresses one block into one state.
#[target_feature(enable = "neon,sha2")]
unsafe fn compress1(state: &mut [u32; 8], block: &[u32; 16]) {
    let start_abcd = vld1q_u32(state.as_ptr());
    let start_efgh = vld1q_u32(state[4..].as_ptr());
    let (mut abcd, mut efgh) = (start_abcd, start_efgh);
    let mut m = [0usize, 1, 2, 3].map(|q| vld1q_u32(block[4 * q..].as_ptr()));
    for q in 0..16 {
        if q >= 4 {
            let [m0, m1, m2, m3] = m;
            m = [m1, m2, m3, next_words(m0, m1, m2, m3)];
        }
        four_rounds(&mut abcd, &mut efgh, add_k(m[q.min(3)], q));
    }
    vst1q_u32(state.as_mut_ptr(), vaddq_u32(abcd, start_abcd));
    vst1q_u32(state[4..].as_mut_ptr(), vaddq_u32(efgh, start_efgh));
}

fn scan_header(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    // SAFETY: reachable only through the table `kernel()` returns after
    // detecting the extensions `final_h7` is compiled for.
    streams::scan(work, start, count, out, |first| unsafe {
        final_h7(work, first)
    })
}

fn compress_many(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
    for (state, block) in states.iter_mut().zip(blocks) {
        // SAFETY: as for `scan_header`.
        unsafe { compress1(state, block) }
    }
}

/// The SHA2-extension kernel, if this CPU has it.
pub(super) fn kernel() -> Option<KernelFns> {
    (std::arch::is_aarch64_feature_detected!("neon")
        && std::arch::is_aarch64_feature_detected!("sha2"))
    .then_some(KernelFns {
        scan_header,
        compress_many,
    })
}
