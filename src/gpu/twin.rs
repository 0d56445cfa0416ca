//! The header shader's CPU twin: the straight-line rounds build.rs writes
//! into the WGSL kernel, written out by the same generator as Rust and
//! compiled here, run over the same uniform with the shader's own loop
//! and early exit. A mistake in the generator shows on every machine, not
//! only on a real adapter.

use std::ops::{Add, BitAnd, BitXor};

use super::shader::HeaderUniform;
use crate::sha256::{big_sigma0, big_sigma1, ch as ch_fn, small_sigma0, small_sigma1, IV};

/// A WGSL `u32`: additions wrap, as on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct W(pub u32);

impl Add for W {
    type Output = W;
    fn add(self, other: W) -> W {
        W(self.0.wrapping_add(other.0))
    }
}

impl BitXor for W {
    type Output = W;
    fn bitxor(self, other: W) -> W {
        W(self.0 ^ other.0)
    }
}

impl BitAnd for W {
    type Output = W;
    fn bitand(self, other: W) -> W {
        W(self.0 & other.0)
    }
}

// The shader's helper functions, by the names the generated code calls.
fn bsig0(x: W) -> W {
    W(big_sigma0(x.0))
}
fn bsig1(x: W) -> W {
    W(big_sigma1(x.0))
}
fn ssig0(x: W) -> W {
    W(small_sigma0(x.0))
}
fn ssig1(x: W) -> W {
    W(small_sigma1(x.0))
}
fn ch(e: W, f: W, g: W) -> W {
    W(ch_fn(e.0, f.0, g.0))
}

/// A WGSL `vec4<u32>`.
pub(crate) struct Vec4 {
    x: W,
    y: W,
    z: W,
    w: W,
}

impl Vec4 {
    fn new(v: [u32; 4]) -> Self {
        Vec4 {
            x: W(v[0]),
            y: W(v[1]),
            z: W(v[2]),
            w: W(v[3]),
        }
    }
}

/// `HeaderParams` of the shader, field for field.
pub(crate) struct HeaderParams {
    midstate_lo: Vec4,
    midstate_hi: Vec4,
    after3_lo: Vec4,
    after3_hi: Vec4,
    tail: Vec4,
    bases: Vec4,
    sched: Vec4,
}

impl HeaderParams {
    fn of(u: &HeaderUniform) -> Self {
        let half = |a: &[u32; 8], i: usize| Vec4::new(a[4 * i..4 * i + 4].try_into().expect("4"));
        HeaderParams {
            midstate_lo: half(&u.midstate, 0),
            midstate_hi: half(&u.midstate, 1),
            after3_lo: half(&u.after3, 0),
            after3_hi: half(&u.after3, 1),
            tail: Vec4::new(u.tail),
            bases: Vec4::new(u.bases),
            sched: Vec4::new(u.sched),
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/header_e60.rs"));

/// `search_header` on the CPU: the offsets (from the batch's first nonce)
/// the shader reports for `u`, in order, before any capacity limit.
pub(crate) fn search_header(u: &HeaderUniform) -> Vec<u32> {
    let p = HeaderParams::of(u);
    let [first, count, _, _] = u.batch;
    (0..count)
        .filter(|&offset| {
            let w3 = W(first.wrapping_add(offset).swap_bytes());
            let h7 = header_e60(w3, &p) + W(IV[7]);
            h7.0.swap_bytes() <= p.tail.w.0
        })
        .collect()
}
