//! Nonce-range search on the CPU: the range is cut into chunks that Rayon
//! workers take in order, each chunk is scanned by a kernel, and every
//! candidate the kernel reports is checked on the reference before it
//! becomes a solution.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cpu::{self, CpuKernel, KernelFns};
use crate::job::{GenericWork, HeaderWork, Job};
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
        let end = self.start as u128 + self.count as u128;
        if end > job.nonce_space() {
            return Err(Error::Range(format!(
                "start {} + count {} passes the end of the nonce space ({})",
                self.start,
                self.count,
                job.nonce_space()
            )));
        }
        Ok(())
    }
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
pub fn verify_candidate(job: &Job, device: &str, nonce: u64) -> Result<Option<Solution>, Error> {
    let hash = job.digest(nonce);
    let top = match job {
        Job::Header(_) => u32::from_le_bytes(hash.0[28..32].try_into().expect("4 bytes")),
        Job::Generic(_) => u32::from_be_bytes(hash.0[..4].try_into().expect("4 bytes")),
    };
    if top > job.target().most_significant_word() {
        return Err(Error::KernelMismatch {
            device: device.to_string(),
            nonce,
        });
    }
    Ok(job.is_met_by(&hash).then_some(Solution { nonce, hash }))
}

/// Nonces per chunk: a couple of milliseconds of one core, which bounds how
/// long cancellation takes.
const HEADER_CHUNK: u64 = 1 << 16;
const GENERIC_CHUNK: u64 = 1 << 12;

/// A job prepared for a kernel.
enum Prepared {
    Header(HeaderWork),
    Generic(GenericWork),
}

impl Prepared {
    fn new(job: &Job) -> Self {
        match job {
            Job::Header(j) => Prepared::Header(HeaderWork::new(j)),
            Job::Generic(j) => Prepared::Generic(GenericWork::new(j)),
        }
    }

    /// Candidates in `[start, start + count)`.
    fn scan(&self, fns: &KernelFns, start: u64, count: u64, out: &mut Vec<u64>) {
        match self {
            Prepared::Header(work) => {
                let mut found = Vec::new();
                (fns.scan_header)(work, start as u32, count as u32, &mut found);
                out.extend(found.into_iter().map(u64::from));
            }
            Prepared::Generic(work) => cpu::scan_generic(fns, work, start, count, out),
        }
    }
}

/// Searches `range` of `job` on the CPU and returns every verified solution
/// (or the lowest, with `stop_at_first`).
///
/// ```
/// use hashrig::{search, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};
///
/// let genesis = Header::from_hex("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")?;
/// let job = Job::from(HeaderJob::from_header(genesis)?);
/// let range = NonceRange::new(2_083_200_000, 50_000);
/// let report = search(&job, range, &SearchOptions::default())?;
/// assert_eq!(report.solutions[0].nonce, 2_083_236_893);
/// # Ok::<(), hashrig::Error>(())
/// ```
pub fn search(
    job: &Job,
    range: NonceRange,
    options: &SearchOptions,
) -> Result<SearchReport, Error> {
    range.check(job)?;
    let kernel = match options.kernel {
        Some(k) => k.require()?,
        None => CpuKernel::fastest(),
    };
    let threads = options
        .threads
        .unwrap_or_else(rayon::current_num_threads)
        .max(1);
    let pool = thread_pool(threads)?;
    search_in(&pool, kernel, job, range, options)
}

/// How the CPU backend names itself: `cpu (<kernel>, <n> threads)`.
pub(crate) fn cpu_device_name(kernel: CpuKernel, threads: usize) -> String {
    format!("cpu ({}, {threads} threads)", kernel.name())
}

/// A pool of `threads` hashing threads.
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("hashrig-cpu-{i}"))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {threads} threads: {e}")))
}

/// [`search`] on an existing pool with a supported `kernel`; the range
/// must already be checked.
pub(crate) fn search_in(
    pool: &rayon::ThreadPool,
    kernel: CpuKernel,
    job: &Job,
    range: NonceRange,
    options: &SearchOptions,
) -> Result<SearchReport, Error> {
    let fns = kernel.fns().expect("checked by require or calibration");
    let threads = pool.current_num_threads();
    let prepared = Prepared::new(job);
    let chunk = match job {
        Job::Header(_) => HEADER_CHUNK,
        Job::Generic(_) => GENERIC_CHUNK,
    };
    let chunks = range.count.div_ceil(chunk);
    let next_chunk = AtomicU64::new(0);
    // With stop_at_first, chunks past the lowest one holding a solution are skipped.
    let last_useful_chunk = AtomicU64::new(u64::MAX);
    let hashes = AtomicU64::new(0);
    let found: Mutex<Vec<Solution>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let cancelled = || {
        options
            .cancel
            .as_ref()
            .is_some_and(CancelToken::is_cancelled)
    };
    let started = Instant::now();

    let worker = || {
        let mut candidates = Vec::new();
        loop {
            if cancelled() || failure.lock().expect("not poisoned").is_some() {
                return;
            }
            let index = next_chunk.fetch_add(1, Ordering::Relaxed);
            if index >= chunks || index > last_useful_chunk.load(Ordering::Relaxed) {
                return;
            }
            let start = range.start + index * chunk;
            let count = chunk.min(range.count - index * chunk);
            candidates.clear();
            prepared.scan(&fns, start, count, &mut candidates);
            hashes.fetch_add(count, Ordering::Relaxed);
            if let Some(p) = &options.progress {
                p.fetch_add(count, Ordering::Relaxed);
            }
            for &nonce in &candidates {
                match verify_candidate(job, kernel.name(), nonce) {
                    Ok(Some(solution)) => {
                        found.lock().expect("not poisoned").push(solution);
                        if options.stop_at_first {
                            last_useful_chunk.fetch_min(index, Ordering::Relaxed);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        failure.lock().expect("not poisoned").get_or_insert(e);
                        return;
                    }
                }
            }
        }
    };
    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| worker());
        }
    });

    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut solutions = found.into_inner().expect("not poisoned");
    solutions.sort();
    if options.stop_at_first {
        solutions.truncate(1);
    }
    Ok(SearchReport {
        solutions,
        hashes: hashes.into_inner(),
        elapsed: started.elapsed(),
        cancelled: cancelled(),
        device: cpu_device_name(kernel, threads),
        kernel,
        threads,
    })
}
