//! What the SHA-extension kernels (x86 SHA-NI, AArch64 SHA2) share: they
//! hash a few nonces side by side, four rounds per step, to hide the
//! latency of the round instructions.
//!
//! The macros call the kernel file's own `next_words(m0, m1, m2, m3)` (the
//! next four schedule words), `four_rounds(&mut s0, &mut s1, kw)` and
//! `add_k(w, q)` (K[4q..4q+4] + w), so that each file keeps its own state
//! layout and intrinsics.

use crate::job::HeaderWork;

/// Nonces hashed side by side: six measured fastest on AMD Zen 4 (125.0
/// cycles per nonce with four, 121.2 with six, 122.3 with eight; see
/// docs/BENCHMARKS.md).
pub(crate) const STREAMS: usize = 6;

/// Runs `$body` once per stream with `$i` bound to 0, 1, … `STREAMS - 1`:
/// literal indices keep every stream's vectors in registers.
macro_rules! each_stream {
    ($i:ident => $body:block) => {{
        {
            let $i = 0usize;
            $body
        }
        {
            let $i = 1usize;
            $body
        }
        {
            let $i = 2usize;
            $body
        }
        {
            let $i = 3usize;
            $body
        }
        {
            let $i = 4usize;
            $body
        }
        {
            let $i = 5usize;
            $body
        }
    }};
}
pub(crate) use each_stream;

/// Four rounds on every stream for each listed quad q (rounds 4q..4q+3),
/// extending the message schedule `$m` (four words a vector, oldest first)
/// from q = 4 on.
macro_rules! quads {
    ($s0:ident, $s1:ident, $m:ident; $($q:literal)*) => {$(
        $crate::cpu::streams::each_stream!(i => {
            if $q >= 4 {
                let [m0, m1, m2, m3] = $m[i];
                $m[i] = [m1, m2, m3, next_words(m0, m1, m2, m3)];
            }
            let w = $m[i][if $q >= 3 { 3 } else { $q }];
            four_rounds(&mut $s0[i], &mut $s1[i], add_k(w, $q));
        });
    )*};
}
pub(crate) use quads;

/// Scans `count` nonces from `start`, `STREAMS` at a time through `h7`
/// (H7 of SHA-256d for the nonces from its argument on), and pushes each
/// nonce that passes the early exit.
#[inline(always)]
pub(crate) fn scan(
    work: &HeaderWork,
    start: u32,
    count: u32,
    out: &mut Vec<u32>,
    h7: impl Fn(u32) -> [u32; STREAMS],
) {
    let mut done = 0u32;
    while done < count {
        let first = start.wrapping_add(done);
        let valid = (count - done).min(STREAMS as u32) as usize;
        for (i, &h) in h7(first).iter().enumerate().take(valid) {
            if work.passes_early_exit(h) {
                out.push(first.wrapping_add(i as u32));
            }
        }
        done = done.saturating_add(STREAMS as u32);
    }
}
