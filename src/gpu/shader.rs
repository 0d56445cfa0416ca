//! The WGSL kernel's host side: the generated shader source, the uniform
//! structs it reads (mirrored field by field in shaders/sha256d.wgsl), and
//! a CPU twin of each entry point that follows the shader's arithmetic on
//! the same uniform, for tests that need no adapter.

use bytemuck::{Pod, Zeroable};

use crate::job::{GenericWork, HeaderWork, NonceEndian};
use crate::sha256::{self, IV};

/// The WGSL source with its straight-line parts written out by build.rs.
pub const SHADER_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/sha256d.wgsl"));

/// The default invocations per workgroup (`WORKGROUP_SIZE` in the shader,
/// a pipeline-overridable constant; [`LaunchConfig`](super::LaunchConfig)
/// sets it per device).
pub const WORKGROUP_SIZE: u32 = 64;

/// The header job uniform, `HeaderParams` in the shader. Every field is a
/// u32 stored little-endian, in groups of four (one `vec4<u32>` each).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct HeaderUniform {
    /// H0..H7 after the first 64 header bytes (`midstate_lo`, `midstate_hi`).
    pub midstate: [u32; 8],
    /// a..h after rounds 0..2 of the second block (`after3_lo`, `after3_hi`).
    pub after3: [u32; 8],
    /// W0, W1, W2 of the second block, then the target's most significant word (`tail`).
    pub tail: [u32; 4],
    /// a4_base, e4_base, K16 + W16, K17 + W17 (`bases`).
    pub bases: [u32; 4],
    /// W16, W17, c18, c19 (`sched`).
    pub sched: [u32; 4],
    /// First nonce, nonce count, nonces per invocation, result capacity (`batch`).
    pub batch: [u32; 4],
}

impl HeaderUniform {
    /// The uniform for a batch of `count` nonces from `first`.
    pub(crate) fn new(
        work: &HeaderWork,
        first: u32,
        count: u32,
        per_invocation: u32,
        capacity: u32,
    ) -> Self {
        HeaderUniform {
            midstate: work.midstate,
            after3: work.after3,
            tail: [work.tail[0], work.tail[1], work.tail[2], work.target_msw],
            bases: [work.a4_base, work.e4_base, work.kw16, work.kw17],
            sched: [work.w16, work.w17, work.c18, work.c19],
            batch: [first, count, per_invocation, capacity],
        }
    }

    /// The uniform of `job` for a batch (what the search writes).
    pub fn for_job(
        job: &crate::HeaderJob,
        first: u32,
        count: u32,
        per_invocation: u32,
        capacity: u32,
    ) -> Self {
        Self::new(
            &HeaderWork::new(job),
            first,
            count,
            per_invocation,
            capacity,
        )
    }
}

/// The generic job uniform, `GenericParams` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct GenericUniform {
    /// State after the prefix's whole blocks (`midstate_lo`, `midstate_hi`).
    pub midstate: [u32; 8],
    /// Blocks after the midstate, nonce word index, nonce byte offset in
    /// that word, flags: 1 = double, 2 = big-endian nonce (`shape`).
    pub layout: [u32; 4],
    /// First nonce low and high words, nonce count, nonces per invocation (`batch`).
    pub batch: [u32; 4],
    /// The target's most significant word, result capacity, 0, 0 (`check`).
    pub check: [u32; 4],
}

impl GenericUniform {
    pub(crate) fn new(
        work: &GenericWork,
        first: u64,
        count: u32,
        per_invocation: u32,
        capacity: u32,
    ) -> Self {
        let (block, word, shift) = work.nonce_slots[0];
        let mut flags = 0;
        if work.double {
            flags |= 1;
        }
        if work.endian == NonceEndian::Big {
            flags |= 2;
        }
        GenericUniform {
            midstate: work.midstate,
            layout: [
                work.blocks.len() as u32,
                (block * 16 + word) as u32,
                3 - shift / 8,
                flags,
            ],
            batch: [first as u32, (first >> 32) as u32, count, per_invocation],
            check: [work.target_msw, capacity, 0, 0],
        }
    }
}

impl GenericUniform {
    /// The uniform of `job` for a batch, and the shader's `blocks` buffer.
    pub fn for_job(
        job: &crate::GenericJob,
        first: u64,
        count: u32,
        per_invocation: u32,
        capacity: u32,
    ) -> (Self, Vec<u32>) {
        let work = GenericWork::new(job);
        (
            Self::new(&work, first, count, per_invocation, capacity),
            generic_blocks(&work),
        )
    }
}

/// The blocks after the midstate, flattened as the shader's `blocks` buffer.
pub(crate) fn generic_blocks(work: &GenericWork) -> Vec<u32> {
    work.blocks.iter().flatten().copied().collect()
}

/// CPU twin of `search_header`: the offsets (from the batch's first nonce)
/// the shader reports, in order, before any capacity limit. It runs the
/// generator's own straight-line rounds, compiled as Rust (see `twin.rs`).
pub fn header_twin(u: &HeaderUniform) -> Vec<u32> {
    super::twin::search_header(u)
}

/// CPU twin of `search_generic`, with the shader's nonce placement
/// arithmetic on the uniform and the flattened blocks.
pub fn generic_twin(u: &GenericUniform, blocks: &[u32]) -> Vec<u32> {
    let [nblocks, word, byte, flags] = u.layout;
    let shift = byte * 8;
    let [lo0, hi0, count, _] = u.batch;
    let mut found = Vec::new();
    for offset in 0..count {
        let lo = lo0.wrapping_add(offset);
        let hi = hi0.wrapping_add((lo < lo0) as u32);
        let (n0, n1) = if flags & 2 != 0 {
            (hi, lo)
        } else {
            (lo.swap_bytes(), hi.swap_bytes())
        };
        let p0 = n0 >> shift;
        let p1 = if shift != 0 {
            (n0 << (32 - shift)) | (n1 >> shift)
        } else {
            n1
        };
        let p2 = if shift != 0 { n1 << (32 - shift) } else { 0 };
        let mut s = u.midstate;
        for j in 0..nblocks {
            let base = j * 16;
            let mut m = [0u32; 16];
            for (k, mk) in m.iter_mut().enumerate() {
                let g = base + k as u32;
                let patch = [(word, p0), (word + 1, p1), (word + 2, p2)]
                    .iter()
                    .filter(|(at, _)| *at == g)
                    .fold(0, |acc, (_, p)| acc | p);
                *mk = blocks[g as usize] | patch;
            }
            sha256::compress(&mut s, &m);
        }
        if flags & 1 != 0 {
            let d = sha256::digest_block(&s);
            s = IV;
            sha256::compress(&mut s, &d);
        }
        if s[0] <= u.check[0] {
            found.push(offset);
        }
    }
    found
}
