//! The vocabulary every backend shares: nonce ranges, what a device
//! reports for one ([`Found`]), verified [`Solution`]s, cancellation, search
//! options and reports, and the one function that turns a device's raw
//! candidates into verified solutions and hardware errors.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::cpu::CpuKernel;
use crate::job::{Job, PreparedJob};
use crate::sha256::Digest;
use crate::Error;

/// Nonces `[start, start + count)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonceRange {
    /// The first nonce.
    pub start: u64,
    /// How many nonces; at least one.
    pub count: u64,
}

impl NonceRange {
    /// `[start, start + count)`.
    pub const fn new(start: u64, count: u64) -> Self {
        NonceRange { start, count }
    }

    /// The whole 32-bit nonce space of a header.
    pub const FULL_HEADER: NonceRange = NonceRange {
        start: 0,
        count: 1 << 32,
    };

    /// The range if it is non-empty and fits in `job`'s nonce space.
    pub fn check(&self, job: &Job) -> Result<(), Error> {
        if self.count == 0 {
            return Err(Error::Range("the nonce range is empty".into()));
        }
        if self.end() > job.nonce_space() {
            return Err(Error::Range(format!(
                "start {} + count {} passes the end of the nonce space ({})",
                self.start,
                self.count,
                job.nonce_space()
            )));
        }
        Ok(())
    }

    /// One past the last nonce.
    pub fn end(&self) -> u128 {
        self.start as u128 + self.count as u128
    }

    /// Whether `nonce` lies in the range.
    pub fn contains(&self, nonce: u64) -> bool {
        (self.start as u128..self.end()).contains(&(nonce as u128))
    }

    /// The first `count` nonces of the range (at most all of them).
    pub fn prefix(&self, count: u64) -> NonceRange {
        NonceRange::new(self.start, count.min(self.count))
    }

    /// The range after its first `count` nonces, if any are left.
    pub fn after(&self, count: u64) -> Option<NonceRange> {
        (count < self.count).then(|| NonceRange::new(self.start + count, self.count - count))
    }
}

/// What a device reports for one range.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// Every nonce whose hash the device found to meet the job's target,
    /// unverified. The engine verifies each one; a nonce that does not
    /// verify counts as a hardware error of the device.
    pub candidates: Vec<u64>,
    /// How many nonces from the start of the range were searched: the whole
    /// range, or less when the search was cancelled. The rest goes back to
    /// the engine's pool.
    pub searched: u64,
}

/// A nonce that meets the job's target, checked on the reference hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Solution {
    /// The nonce.
    pub nonce: u64,
    /// The reference digest for that nonce (SHA-256 output order).
    pub hash: Digest,
}

/// A flag that stops a search from another thread.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every search holding this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// How to search.
#[derive(Clone, Debug, Default)]
pub struct SearchOptions {
    /// Stop at the lowest solution in the range instead of finding all.
    pub stop_at_first: bool,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// The kernel; `None` uses [`CpuKernel::fastest`].
    pub kernel: Option<CpuKernel>,
    /// Stops the search early when cancelled.
    pub cancel: Option<CancelToken>,
    /// Incremented by the number of nonces hashed as chunks finish, for
    /// progress displays.
    pub progress: Option<Arc<AtomicU64>>,
}

/// What a search did.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchReport {
    /// Every solution found, in nonce order (at most one with `stop_at_first`).
    pub solutions: Vec<Solution>,
    /// Nonces hashed. These are always the first `hashes` nonces of the
    /// range, also when the search was cancelled, so that the rest can be
    /// searched later without a gap or an overlap.
    pub hashes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Whether the search stopped because its token was cancelled.
    pub cancelled: bool,
    /// The device that searched: `cpu (<kernel>, <n> threads)` or a GPU's name.
    pub device: String,
    /// The CPU kernel used (on a GPU: the one that searches a batch again
    /// if its results buffer overflows).
    pub kernel: CpuKernel,
    /// CPU worker threads used (0 on a GPU).
    pub threads: usize,
}

impl SearchReport {
    /// Hashes per second.
    pub fn rate(&self) -> f64 {
        self.hashes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Checks a nonce that a kernel on `device` reported: its reference digest
/// must pass the job's early exit (its most significant 32 bits at most the
/// target's), or the kernel is wrong and the error says so. A candidate
/// that passes the early exit but not the whole target is a near miss and
/// gives `None`.
#[cfg(feature = "internals")]
pub fn verify_candidate(job: &Job, device: &str, nonce: u64) -> Result<Option<Solution>, Error> {
    let mismatch = || Error::KernelMismatch {
        device: device.to_string(),
        nonce,
    };
    match check(job, job.target(), nonce, job.digest(nonce)) {
        Check::Solution(s) => Ok(Some(s)),
        Check::NearMiss => Ok(None),
        Check::Wrong => Err(mismatch()),
    }
}

/// What the reference says of one candidate.
enum Check {
    Solution(Solution),
    NearMiss,
    Wrong,
}

/// Judges `nonce` of `job` searched at `target`, whose reference digest is
/// `digest` (`None`: there is no such nonce).
fn check(job: &Job, target: &crate::Target, nonce: u64, digest: Option<Digest>) -> Check {
    let Some(hash) = digest else {
        return Check::Wrong;
    };
    if job.most_significant_word(&hash) > target.most_significant_word() {
        Check::Wrong
    } else if job.is_met_at(target, &hash) {
        Check::Solution(Solution { nonce, hash })
    } else {
        Check::NearMiss
    }
}

/// A device's candidates for one range after the reference has judged them.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    /// Candidates that meet the searched target, in the order reported.
    pub solutions: Vec<Solution>,
    /// Candidates outside the searched part of the range or failing the
    /// early exit on the reference: the device is wrong about them.
    pub wrong: Vec<u64>,
}

/// Judges every candidate a device reported for `searched` (the part of a
/// range it searched) of `job` at its searched target: the one place where
/// any device's raw results become solutions or hardware errors.
pub(crate) fn verify_candidates(
    job: &PreparedJob,
    searched: NonceRange,
    candidates: &[u64],
) -> Verified {
    let mut verified = Verified::default();
    for &nonce in candidates {
        if !searched.contains(nonce) {
            verified.wrong.push(nonce);
            continue;
        }
        match check(job.job(), job.target(), nonce, job.reference_digest(nonce)) {
            Check::Solution(s) => verified.solutions.push(s),
            Check::NearMiss => {}
            Check::Wrong => verified.wrong.push(nonce),
        }
    }
    verified
}
