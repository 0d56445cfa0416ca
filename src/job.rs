//! What is searched: a Bitcoin header job or a generic proof-of-work job,
//! and [`PreparedJob`], the per-job precomputation every kernel starts
//! from, made once when a job is submitted and shared by every device.

use std::sync::Arc;

use crate::sha256::{
    self, big_sigma0, big_sigma1, block_words, ch, digest_block, maj, small_sigma0, small_sigma1,
    Digest, Midstate, IV, K,
};
use crate::{BlockHash, Error, Header, Target};

/// Byte order of the 64-bit nonce in a generic job's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NonceEndian {
    /// Least significant byte first.
    #[default]
    Little,
    /// Most significant byte first.
    Big,
}

/// A Bitcoin header job: the header's 32-bit nonce field is searched for a
/// block hash at or below `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderJob {
    /// The header; its `nonce` field is ignored and replaced by each candidate.
    pub header: Header,
    /// The target to meet.
    pub target: Target,
}

impl HeaderJob {
    /// A job at the target of the header's own nBits.
    pub fn from_header(header: Header) -> Result<Self, Error> {
        let target = Target::from_compact(header.bits)?;
        Ok(HeaderJob { header, target })
    }

    /// A job at an explicit target.
    pub fn new(header: Header, target: Target) -> Self {
        HeaderJob { header, target }
    }

    /// The header with `nonce` in its nonce field, or `None` when `nonce`
    /// does not fit the field's 32 bits.
    pub fn solved(&self, nonce: u64) -> Option<Header> {
        Some(self.header.with_nonce(u32::try_from(nonce).ok()?))
    }
}

/// A generic proof-of-work job, as toy blockchains and many other schemes
/// define one: `prefix || nonce (8 bytes) || suffix`, hashed with SHA-256 once
/// or twice, and read as a big-endian number that must be at most `target`
/// (so `Target::from_leading_zero_bits(n)` asks for `n` leading zero bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericJob {
    /// Bytes before the nonce; any length (whole blocks are folded into a midstate once).
    pub prefix: Vec<u8>,
    /// Bytes after the nonce; may be empty.
    pub suffix: Vec<u8>,
    /// Byte order of the 8 nonce bytes.
    pub nonce_endian: NonceEndian,
    /// SHA-256d instead of SHA-256.
    pub double: bool,
    /// The target to meet.
    pub target: Target,
}

impl GenericJob {
    /// The whole message for `nonce`.
    pub fn message(&self, nonce: u64) -> Vec<u8> {
        self.message_after(0, nonce)
    }

    /// The message for `nonce` without its first `skip` prefix bytes.
    fn message_after(&self, skip: usize, nonce: u64) -> Vec<u8> {
        let rest = &self.prefix[skip..];
        let mut m = Vec::with_capacity(rest.len() + 8 + self.suffix.len() + 72);
        m.extend_from_slice(rest);
        m.extend_from_slice(&match self.nonce_endian {
            NonceEndian::Little => nonce.to_le_bytes(),
            NonceEndian::Big => nonce.to_be_bytes(),
        });
        m.extend_from_slice(&self.suffix);
        m
    }

    /// The digest of the message for `nonce` on the portable reference,
    /// continuing from `mid`, the reference midstate of this job's prefix
    /// ([`Midstate::of_prefix`]): the same digest as [`digest`](Self::digest)
    /// without hashing the prefix again, so that judging a candidate of a
    /// job with megabytes of data costs a block or two, not the data.
    pub(crate) fn digest_after(&self, mid: &Midstate, nonce: u64) -> Digest {
        let total = self.prefix.len() + 8 + self.suffix.len();
        let mut tail = self.message_after(mid.bytes_folded as usize, nonce);
        tail.extend_from_slice(&sha256::padding(total as u64));
        let mut state = mid.state;
        for block in tail.chunks_exact(64) {
            sha256::compress(&mut state, &block_words(block));
        }
        if self.double {
            sha256::sha256(&sha256::state_bytes(&state))
        } else {
            Digest::from_state(&state)
        }
    }

    /// The digest of the message for `nonce` on the portable reference.
    pub fn digest(&self, nonce: u64) -> Digest {
        let m = self.message(nonce);
        if self.double {
            sha256::sha256d(&m)
        } else {
            sha256::sha256(&m)
        }
    }
}

/// Something to search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// A Bitcoin block header.
    Header(HeaderJob),
    /// A generic prefix + nonce + suffix job.
    Generic(GenericJob),
}

impl Job {
    /// The size of the nonce space: 2^32 for headers, 2^64 for generic jobs.
    pub fn nonce_space(&self) -> u128 {
        match self {
            Job::Header(_) => 1 << 32,
            Job::Generic(_) => 1 << 64,
        }
    }

    /// The target.
    pub fn target(&self) -> &Target {
        match self {
            Job::Header(j) => &j.target,
            Job::Generic(j) => &j.target,
        }
    }

    /// The same job at another target.
    pub fn with_target(&self, target: Target) -> Job {
        let mut job = self.clone();
        match &mut job {
            Job::Header(j) => j.target = target,
            Job::Generic(j) => j.target = target,
        }
        job
    }

    /// The reference digest for `nonce`, or `None` when the nonce lies
    /// outside the job's nonce space.
    pub fn digest(&self, nonce: u64) -> Option<Digest> {
        match self {
            Job::Header(j) => Some(*j.solved(nonce)?.block_hash().digest()),
            Job::Generic(j) => Some(j.digest(nonce)),
        }
    }

    /// The header that `nonce` completes, for header jobs (`None` for
    /// generic jobs and for nonces past 32 bits).
    pub fn solved_header(&self, nonce: u64) -> Option<Header> {
        match self {
            Job::Header(j) => j.solved(nonce),
            Job::Generic(_) => None,
        }
    }

    /// The most significant 32 bits of `digest` read as this kind of job
    /// reads a hash: little-endian for a block hash, big-endian otherwise.
    /// Every kernel's early exit compares this word with the target's.
    pub fn most_significant_word(&self, digest: &Digest) -> u32 {
        match self {
            Job::Header(_) => BlockHash::from_digest(*digest).most_significant_word(),
            Job::Generic(_) => digest.most_significant_word_be(),
        }
    }

    /// Whether a digest meets the job's target, in the job's byte order.
    pub fn is_met_by(&self, digest: &Digest) -> bool {
        self.is_met_at(self.target(), digest)
    }

    /// Whether a digest meets `target`, in this job's byte order.
    pub(crate) fn is_met_at(&self, target: &Target, digest: &Digest) -> bool {
        match self {
            Job::Header(_) => target.is_met_by(&BlockHash::from_digest(*digest)),
            Job::Generic(_) => target.is_met_by_digest(digest),
        }
    }

    /// The digest as people show it for this kind of job: reversed for a
    /// block hash, as it comes out of SHA-256 otherwise.
    pub fn display_hash(&self, digest: &Digest) -> String {
        match self {
            Job::Header(_) => BlockHash::from_digest(*digest).to_string(),
            Job::Generic(_) => digest.to_hex(),
        }
    }
}

impl From<HeaderJob> for Job {
    fn from(j: HeaderJob) -> Self {
        Job::Header(j)
    }
}

impl From<GenericJob> for Job {
    fn from(j: GenericJob) -> Self {
        Job::Generic(j)
    }
}

/// A job with everything its kernels need computed once: made when a job
/// is submitted, then shared (`Arc`) by every device that searches it.
/// [`with_target`](Self::with_target) gives the same job at another
/// target (the engine's easier proof targets) without copying the job.
#[derive(Clone, Debug)]
pub struct PreparedJob {
    job: Arc<Job>,
    target: Target,
    work: KernelWork,
    /// For a generic job: the reference midstate of its prefix, from which
    /// candidates are judged.
    reference_midstate: Option<Midstate>,
}

/// The precomputation of one job for the kernels.
#[derive(Clone, Debug)]
pub(crate) enum KernelWork {
    /// A header job.
    Header(HeaderWork),
    /// A generic job.
    Generic(GenericWork),
}

impl PreparedJob {
    /// Prepares `job` at its own target.
    pub fn new(job: Job) -> Self {
        let job = Arc::new(job);
        let target = *job.target();
        let (work, reference_midstate) = match &*job {
            Job::Header(j) => (KernelWork::Header(HeaderWork::new(j)), None),
            Job::Generic(j) => {
                let mid = Midstate::of_prefix(&j.prefix);
                (KernelWork::Generic(GenericWork::after(j, mid)), Some(mid))
            }
        };
        PreparedJob {
            job,
            target,
            work,
            reference_midstate,
        }
    }

    /// The job as submitted (at its own target).
    pub fn job(&self) -> &Job {
        &self.job
    }

    /// What one nonce of this job costs a kernel, in units of a header
    /// nonce (two SHA-256 compressions): a generic job's blocks after its
    /// prefix's midstate, and one more for SHA-256d. Device rates are kept
    /// in header nonces a second, so that a job with a long suffix gets
    /// ranges, and a watchdog allowance, sized to what it costs.
    pub(crate) fn relative_cost(&self) -> f64 {
        match &self.work {
            KernelWork::Header(_) => 1.0,
            KernelWork::Generic(w) => (w.blocks.len() + usize::from(w.double)) as f64 / 2.0,
        }
    }

    /// The reference digest for `nonce` (`None` for a header nonce past 32
    /// bits). A generic job's continues from its prefix's midstate.
    pub(crate) fn reference_digest(&self, nonce: u64) -> Option<Digest> {
        match (&*self.job, &self.reference_midstate) {
            (Job::Generic(j), Some(mid)) => Some(j.digest_after(mid, nonce)),
            (job, _) => job.digest(nonce),
        }
    }

    /// The job, shared.
    pub fn shared_job(&self) -> &Arc<Job> {
        &self.job
    }

    /// The target searched for: the job's own, or the one given to
    /// [`with_target`](Self::with_target).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The same job searched at `target`: shares the job and its
    /// precomputation, only the early-exit word changes.
    pub fn with_target(&self, target: Target) -> PreparedJob {
        let msw = target.most_significant_word();
        let work = match &self.work {
            KernelWork::Header(w) => KernelWork::Header(HeaderWork {
                target_msw: msw,
                ..*w
            }),
            KernelWork::Generic(w) => KernelWork::Generic(GenericWork {
                target_msw: msw,
                ..w.clone()
            }),
        };
        PreparedJob {
            job: self.job.clone(),
            target,
            work,
            reference_midstate: self.reference_midstate,
        }
    }

    /// Whether a digest meets the searched target, in the job's byte order.
    pub fn is_met_by(&self, digest: &Digest) -> bool {
        self.job.is_met_at(&self.target, digest)
    }

    /// The size of the job's nonce space.
    pub fn nonce_space(&self) -> u128 {
        self.job.nonce_space()
    }

    pub(crate) fn work(&self) -> &KernelWork {
        &self.work
    }
}

impl From<Job> for PreparedJob {
    fn from(job: Job) -> Self {
        PreparedJob::new(job)
    }
}

/// Everything about a header job that does not depend on the nonce,
/// computed once: the midstate, the second block's fixed words, the working
/// variables after the rounds before the nonce word, and the constant parts
/// of the message schedule. Kernels on every device start from this.
///
/// The nonce enters the second block as word 3, `W3 = nonce.swap_bytes()`,
/// because the header stores it little-endian and SHA-256 reads big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderWork {
    /// State after the first 64 header bytes.
    pub midstate: [u32; 8],
    /// W0..W2 of the second block: the merkle root's last 4 bytes, time, bits.
    pub tail: [u32; 3],
    /// Working variables a..h after rounds 0, 1 and 2 of the second block.
    pub after3: [u32; 8],
    /// Round 3 gives `a = W3 + a4_base` and `e = W3 + e4_base`.
    pub a4_base: u32,
    /// See `a4_base`.
    pub e4_base: u32,
    /// K[16] + W16 and K[17] + W17 (W16, W17 do not depend on the nonce).
    pub kw16: u32,
    /// See `kw16`.
    pub kw17: u32,
    /// W16 and W17 themselves.
    pub w16: u32,
    /// See `w16`.
    pub w17: u32,
    /// W18 = σ0(W3) + c18.
    pub c18: u32,
    /// W19 = W3 + c19.
    pub c19: u32,
    /// The target's most significant word, compared with the byte-swapped H7.
    pub target_msw: u32,
}

/// Second-block padding words of an 80-byte message: W4 = 0x80000000, W15 = 640 bits.
pub(crate) const HEADER_PAD_W4: u32 = 0x8000_0000;
/// See [`HEADER_PAD_W4`].
pub(crate) const HEADER_LEN_BITS: u32 = 640;

impl HeaderWork {
    pub(crate) fn new(job: &HeaderJob) -> Self {
        let bytes = job.header.to_bytes();
        let midstate = Midstate::of_prefix(&bytes[..64]).state;
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let tail = [word(64), word(68), word(72)];
        let mut s = midstate;
        for (t, w) in tail.iter().enumerate() {
            s = sha256::round(s, K[t].wrapping_add(*w));
        }
        let [a, b, c, d, e, f, g, h] = s;
        let pre3 = h
            .wrapping_add(big_sigma1(e))
            .wrapping_add(ch(e, f, g))
            .wrapping_add(K[3]);
        let t2 = big_sigma0(a).wrapping_add(maj(a, b, c));
        // W16 = σ1(W14) + W9 + σ0(W1) + W0, with W9 = W14 = 0.
        let w16 = small_sigma0(tail[1]).wrapping_add(tail[0]);
        // W17 = σ1(W15) + W10 + σ0(W2) + W1, with W10 = 0.
        let w17 = small_sigma1(HEADER_LEN_BITS)
            .wrapping_add(small_sigma0(tail[2]))
            .wrapping_add(tail[1]);
        HeaderWork {
            midstate,
            tail,
            after3: s,
            a4_base: pre3.wrapping_add(t2),
            e4_base: pre3.wrapping_add(d),
            kw16: K[16].wrapping_add(w16),
            kw17: K[17].wrapping_add(w17),
            w16,
            w17,
            // W18 = σ1(W16) + W11 + σ0(W3) + W2, with W11 = 0.
            c18: small_sigma1(w16).wrapping_add(tail[2]),
            // W19 = σ1(W17) + W12 + σ0(W4) + W3, with W12 = 0.
            c19: small_sigma1(w17).wrapping_add(small_sigma0(HEADER_PAD_W4)),
            target_msw: job.target.most_significant_word(),
        }
    }

    /// H7 of the final hash for one nonce, on the plain reference rounds:
    /// what every kernel's early exit compares.
    pub(crate) fn reference_h7(&self, nonce: u32) -> u32 {
        let mut block = [0u32; 16];
        block[..3].copy_from_slice(&self.tail);
        block[3] = nonce.swap_bytes();
        block[4] = HEADER_PAD_W4;
        block[15] = HEADER_LEN_BITS;
        let mut state = self.midstate;
        sha256::compress(&mut state, &block);
        let mut out = IV;
        sha256::compress(&mut out, &digest_block(&state));
        out[7]
    }

    /// Whether `h7` passes the early exit: the hash's most significant word
    /// (H7 read little-endian) is at most the target's.
    #[inline(always)]
    pub(crate) fn passes_early_exit(&self, h7: u32) -> bool {
        h7.swap_bytes() <= self.target_msw
    }
}

/// A generic job prepared for kernels: the prefix midstate, and the blocks
/// that follow it with the nonce bytes zeroed, to be patched per nonce.
/// Cheap to clone: the blocks are shared.
#[derive(Clone, Debug)]
pub(crate) struct GenericWork {
    pub midstate: [u32; 8],
    /// The message blocks after the midstate, padding included.
    pub blocks: Arc<[[u32; 16]]>,
    /// For nonce byte i (in message order): block, word, and left shift.
    pub nonce_slots: [(usize, usize, u32); 8],
    pub endian: NonceEndian,
    pub double: bool,
    /// The target's most significant word, compared with the digest's
    /// first word (a generic digest is read big-endian).
    pub target_msw: u32,
}

impl GenericWork {
    #[cfg(test)]
    pub(crate) fn new(job: &GenericJob) -> Self {
        Self::after(job, Midstate::of_prefix(&job.prefix))
    }

    /// The work of `job` whose prefix's whole blocks `mid` has folded.
    pub(crate) fn after(job: &GenericJob, mid: Midstate) -> Self {
        let rest = &job.prefix[mid.bytes_folded as usize..];
        let mut tail = rest.to_vec();
        let nonce_at = tail.len();
        tail.extend_from_slice(&[0; 8]);
        tail.extend_from_slice(&job.suffix);
        let total = job.prefix.len() + 8 + job.suffix.len();
        tail.extend_from_slice(&sha256::padding(total as u64));
        let blocks = tail.chunks_exact(64).map(block_words).collect();
        let mut nonce_slots = [(0, 0, 0); 8];
        for (i, slot) in nonce_slots.iter_mut().enumerate() {
            let at = nonce_at + i;
            *slot = (at / 64, at % 64 / 4, 8 * (3 - (at % 4) as u32));
        }
        GenericWork {
            midstate: mid.state,
            blocks,
            nonce_slots,
            endian: job.nonce_endian,
            double: job.double,
            target_msw: job.target.most_significant_word(),
        }
    }

    /// Writes the nonce's bytes that fall in block `index` into `block`.
    #[inline]
    pub(crate) fn patch_block(&self, index: usize, block: &mut [u32; 16], nonce: u64) {
        let bytes = match self.endian {
            NonceEndian::Little => nonce.to_le_bytes(),
            NonceEndian::Big => nonce.to_be_bytes(),
        };
        for (byte, &(at, word, shift)) in bytes.iter().zip(&self.nonce_slots) {
            if at == index {
                let w = &mut block[word];
                *w = (*w & !(0xff << shift)) | (*byte as u32) << shift;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Judging from the prefix's midstate gives the whole message's digest,
    /// for every prefix length around the block boundaries, both nonce
    /// orders, with and without a suffix, single and double.
    #[test]
    fn a_digest_after_the_midstate_is_the_whole_digest() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 128, 200, 1000] {
            for (endian, double, suffix) in [
                (NonceEndian::Little, false, vec![]),
                (NonceEndian::Big, true, vec![7u8; 3]),
                (NonceEndian::Little, true, vec![9u8; 130]),
            ] {
                let job = GenericJob {
                    prefix: (0..len).map(|i| (i * 31 + 7) as u8).collect(),
                    suffix,
                    nonce_endian: endian,
                    double,
                    target: Target::from_leading_zero_bits(1).unwrap(),
                };
                let mid = Midstate::of_prefix(&job.prefix);
                for nonce in [0u64, 1, 0xdead_beef, u64::MAX] {
                    assert_eq!(
                        job.digest_after(&mid, nonce),
                        job.digest(nonce),
                        "length {len}, nonce {nonce}"
                    );
                }
            }
        }
    }

    #[test]
    fn header_work_rounds_match_reference() {
        let header = Header::from_hex("0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710").unwrap();
        let job = HeaderJob::from_header(header).unwrap();
        let work = HeaderWork::new(&job);
        let digest = *header.block_hash().digest();
        let h7 = u32::from_be_bytes(digest.as_bytes()[28..32].try_into().unwrap());
        assert_eq!(work.reference_h7(header.nonce), h7);
        assert!(work.passes_early_exit(h7));
        // The midstate and the bases agree with plain rounds for any nonce.
        let mut s = work.after3;
        let w3 = 0x1234_5678u32;
        s = sha256::round(s, K[3].wrapping_add(w3));
        assert_eq!(s[0], w3.wrapping_add(work.a4_base));
        assert_eq!(s[4], w3.wrapping_add(work.e4_base));
    }

    #[test]
    fn generic_work_patches_nonce_bytes() {
        for prefix_len in [0usize, 5, 55, 56, 63, 64, 100, 130] {
            for endian in [NonceEndian::Little, NonceEndian::Big] {
                let job = GenericJob {
                    prefix: (0..prefix_len as u8).collect(),
                    suffix: vec![9, 8, 7],
                    nonce_endian: endian,
                    double: false,
                    target: Target::MAX,
                };
                let work = GenericWork::new(&job);
                let nonce = 0x0102_0304_0506_0708u64;
                let mut state = work.midstate;
                for (j, template) in work.blocks.iter().enumerate() {
                    let mut block = *template;
                    work.patch_block(j, &mut block, nonce);
                    sha256::compress(&mut state, &block);
                }
                assert_eq!(
                    sha256::state_bytes(&state),
                    *job.digest(nonce).as_bytes(),
                    "prefix {prefix_len}"
                );
            }
        }
    }
}
