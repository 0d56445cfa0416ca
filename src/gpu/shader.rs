//! The WGSL kernel's host side: the generated shader source and the
//! uniform structs it reads (mirrored field by field in
//! shaders/sha256d.wgsl). Its tests hold a CPU twin of each entry point
//! that follows the shader's arithmetic on the same uniform, with no
//! adapter.

use bytemuck::{Pod, Zeroable};

use crate::job::{GenericWork, HeaderWork, NonceEndian};
use crate::sha256::{small_sigma0, small_sigma1};

/// The WGSL source with its straight-line parts written out by build.rs,
/// in its first form ([`KernelForm::ConstantRotates`]).
pub const SHADER_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/sha256d.wgsl"));

/// Σ0's, Σ1's, σ0's and σ1's rotation and shift amounts (FIPS 180-4),
/// the uniform's `rotations`: the rotation-amounts form rotates by these.
pub(crate) const ROTATIONS: [u32; 12] = [2, 13, 22, 6, 11, 25, 7, 18, 17, 19, 3, 10];

/// The kernel's entry points: Bitcoin headers and generic jobs.
#[cfg(feature = "internals")]
pub const ENTRY_POINTS: [&str; 2] = ["search_header", "search_generic"];

/// The default invocations per workgroup (`WORKGROUP_SIZE` in the shader,
/// a pipeline-overridable constant; [`LaunchConfig`](super::LaunchConfig)
/// sets it per device).
pub const WORKGROUP_SIZE: u32 = 64;

/// The header job uniform, `HeaderParams` in the shader. Every field is a
/// u32 stored little-endian, in groups of four (one `vec4<u32>` each).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub(crate) struct HeaderUniform {
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
    /// The rotation amounts the `rotation-amounts` form reads (`rotations`).
    pub rotations: [u32; 12],
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
            rotations: ROTATIONS,
        }
    }

    /// The uniform of `job` for a batch (what the search writes).
    #[cfg(test)]
    pub(crate) fn for_job(
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
pub(crate) struct GenericUniform {
    /// State after the prefix's whole blocks (`midstate_lo`, `midstate_hi`).
    pub midstate: [u32; 8],
    /// Blocks after the midstate, nonce word index, nonce byte offset in
    /// that word, flags: 1 = double, 2 = big-endian nonce (`shape`).
    pub layout: [u32; 4],
    /// First nonce low and high words, nonce count, nonces per invocation (`batch`).
    pub batch: [u32; 4],
    /// The target's most significant word, result capacity, 0, 0 (`check`).
    pub check: [u32; 4],
    /// The rotation amounts the `rotation-amounts` form reads (`rotations`).
    pub rotations: [u32; 12],
    /// The first block's schedule sums of job words, 3 words unused (`pairs`).
    pub pairs: [u32; 20],
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
            rotations: ROTATIONS,
            pairs: schedule_pairs(work),
        }
    }
}

impl GenericUniform {
    /// The uniform of `job` for a batch, and the shader's `blocks` buffer.
    #[cfg(test)]
    pub(crate) fn for_job(
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

/// The uniform's `pairs`: the first block's (the nonce's own) schedule
/// sums that `compress_block` reads: `W[t-16] + σ0(W[t-15])` for
/// t = 16..=30, then `σ1(W[t-2]) + W[t-7]` for t = 16 and 17, from the
/// block with its nonce bytes zero. The shader takes a sum only where the
/// nonce reaches neither of its words.
fn schedule_pairs(work: &GenericWork) -> [u32; 20] {
    let mut q = [0u32; 20];
    if let Some(m) = work.blocks.first() {
        for t in 16..=30 {
            q[t - 16] = m[t - 16].wrapping_add(small_sigma0(m[t - 15]));
        }
        for t in 16..=17 {
            q[t - 1] = small_sigma1(m[t - 2]).wrapping_add(m[t - 7]);
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256::{self, IV};
    use crate::{GenericJob, Header, HeaderJob, Job, Target};

    /// CPU twin of `search_header`: the offsets (from the batch's first nonce)
    /// the shader reports, in order, before any capacity limit. It runs the
    /// generator's own straight-line rounds, compiled as Rust (see `twin.rs`).
    fn header_twin(u: &HeaderUniform) -> Vec<u32> {
        crate::gpu::twin::search_header(u)
    }

    /// CPU twin of `search_generic`, with the shader's nonce placement
    /// arithmetic on the uniform and the flattened blocks.
    fn generic_twin(u: &GenericUniform, blocks: &[u32]) -> Vec<u32> {
        let [nblocks, word, byte, flags] = u.layout;
        let shift = byte * 8;
        let [lo0, hi0, count, _] = u.batch;
        let job_word = |k: usize| {
            let k = k as u32;
            k != word % 16 && k != (word + 1) % 16 && (byte == 0 || k != (word + 2) % 16)
        };
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
                let first = j == 0;
                compress_block(&mut s, &m, &u.pairs, &|k| first && job_word(k));
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

    /// SplitMix64, for reproducible random jobs.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n).map(|_| self.next_u64() as u8).collect()
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }
    }

    /// The generator's straight-line header rounds, compiled as Rust,
    /// report exactly the nonces the reference hash says pass the early
    /// exit: a mistake in build.rs fails here, on every machine.
    #[test]
    fn header_twin_matches_reference() {
        let mut rng = Rng(5);
        for _ in 0..4 {
            let header = Header::from_bytes(&rng.bytes(80)).unwrap();
            let job = HeaderJob::new(header, Target::from_leading_zero_bits(8).unwrap());
            let first = rng.next_u64() as u32 & 0x7fff_ffff;
            let work_job = Job::from(job.clone());
            let want: Vec<u32> = (0..20_000u32)
                .filter(|&o| {
                    let d = work_job.digest((first + o) as u64).unwrap();
                    u32::from_le_bytes(d.as_bytes()[28..32].try_into().unwrap()) <= 0x00ff_ffff
                })
                .collect();
            let u = HeaderUniform::for_job(&job, first, 20_000, 1, 64);
            assert_eq!(header_twin(&u), want);
        }
    }

    /// `compress_block` of the shader: schedule words 16..=30 built from
    /// the host's sums of job words where `job_word` says the nonce
    /// reaches neither word, the rest as FIPS 180-4 has it.
    fn compress_block(
        state: &mut [u32; 8],
        m: &[u32; 16],
        pairs: &[u32],
        job_word: &dyn Fn(usize) -> bool,
    ) {
        let mut w = sha256::schedule(m);
        for t in 16..64 {
            let older = if t <= 30 && job_word(t - 16) && job_word(t - 15) {
                pairs[t - 16]
            } else {
                w[t - 16].wrapping_add(small_sigma0(w[t - 15]))
            };
            let newer = if t <= 17 && job_word(t - 2) && job_word(t - 7) {
                pairs[t - 1]
            } else {
                small_sigma1(w[t - 2]).wrapping_add(w[t - 7])
            };
            w[t] = newer.wrapping_add(older);
        }
        let mut s = *state;
        for (k, wt) in sha256::K.iter().zip(w) {
            s = sha256::round(s, k.wrapping_add(wt));
        }
        for (h, v) in state.iter_mut().zip(s) {
            *h = h.wrapping_add(v);
        }
    }

    /// The host's sums of the first block's job words are its schedule's.
    #[test]
    fn generic_pairs_are_the_schedules_sums() {
        let mut rng = Rng(9);
        let job = GenericJob {
            prefix: rng.bytes(100),
            suffix: rng.bytes(90),
            nonce_endian: NonceEndian::Little,
            double: true,
            target: Target::from_leading_zero_bits(6).unwrap(),
        };
        let work = GenericWork::new(&job);
        let q = GenericUniform::new(&work, 0, 1, 1, 1).pairs;
        let w = sha256::schedule(&work.blocks[0]);
        for t in 16..=30 {
            let newer = small_sigma1(w[t - 2]).wrapping_add(w[t - 7]);
            assert_eq!(q[t - 16].wrapping_add(newer), w[t], "W{t}");
        }
        for t in 16..=17 {
            let older = w[t - 16].wrapping_add(small_sigma0(w[t - 15]));
            assert_eq!(q[t - 1].wrapping_add(older), w[t], "W{t}");
        }
    }

    /// The generic kernel's nonce placement, on the uniform the host
    /// writes, against the reference.
    #[test]
    fn generic_twin_matches_reference() {
        let mut rng = Rng(6);
        for trial in 0..8 {
            let (pl, sl) = (rng.below(140) as usize, rng.below(60) as usize);
            let job = GenericJob {
                prefix: rng.bytes(pl),
                suffix: rng.bytes(sl),
                nonce_endian: if trial % 2 == 0 {
                    NonceEndian::Little
                } else {
                    NonceEndian::Big
                },
                double: trial % 3 == 0,
                target: Target::from_leading_zero_bits(6).unwrap(),
            };
            let first = if trial == 1 {
                u32::MAX as u64 - 100
            } else {
                rng.next_u64()
            };
            let (u, blocks) = GenericUniform::for_job(&job, first, 3000, 1, 64);
            let want: Vec<u32> = (0..3000u64)
                .filter(|&o| job.digest(first.wrapping_add(o)).as_bytes()[0] < 4)
                .map(|o| o as u32)
                .collect();
            assert_eq!(generic_twin(&u, &blocks), want, "trial {trial}");
        }
    }

    /// The uniform structs are as large as the WGSL structs they fill, in
    /// every form: 8 and 5 vec4<u32>, then the 3 of the rotation amounts
    /// (and the generic uniform's 5 of schedule sums).
    #[test]
    fn uniform_sizes_match_the_shader() {
        for form in crate::gpu::KernelForm::ALL {
            let module = naga::front::wgsl::parse_str(form.source()).expect("WGSL parses");
            let span = |name: &str| {
                module
                    .types
                    .iter()
                    .find_map(|(_, t)| match t.inner {
                        naga::TypeInner::Struct { span, .. } if t.name.as_deref() == Some(name) => {
                            Some(span as usize)
                        }
                        _ => None,
                    })
                    .expect("the struct is in the shader")
            };
            assert_eq!(std::mem::size_of::<HeaderUniform>(), span("HeaderParams"));
            assert_eq!(std::mem::size_of::<GenericUniform>(), span("GenericParams"));
        }
        assert_eq!(std::mem::size_of::<HeaderUniform>(), (8 + 3) * 16);
        assert_eq!(std::mem::size_of::<GenericUniform>(), (5 + 3 + 5) * 16);
    }
}
