//! The CPU's threaded search driver: a range is cut into chunks that the
//! threads of a Rayon pool take in order from a shared counter, each chunk
//! is scanned by a kernel, and the candidates are either judged on the
//! reference as they come ([`search`]) or handed back raw for the engine to
//! judge ([`CpuSearcher::scan`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use super::{CpuKernel, KernelFns};
use crate::job::{GenericWork, KernelWork, PreparedJob};
use crate::search::{verify_candidates, Found};
use crate::sha256::{digest_block, IV};
use crate::{CancelToken, Error, Job, NonceRange, SearchOptions, SearchReport, Solution};

/// Nonces per chunk: a couple of milliseconds of one core, which bounds how
/// long cancellation takes.
const HEADER_CHUNK: u64 = 1 << 16;
const GENERIC_CHUNK: u64 = 1 << 12;

/// Hashing threads when none are asked for: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The most hashing threads the CPU backend takes: 16 per core, at least
/// 64. Far more threads than cores only share the cores, and past this the
/// pool's idle threads cost more than they add (on 2 cores: 64 threads
/// kept 99% of the rate, 256 lost 6%, 2,048 lost 98%).
pub fn max_threads() -> usize {
    (16 * default_threads()).max(64)
}

/// How the CPU backend names itself: `cpu (<kernel>, <n> threads)`.
pub(crate) fn device_name(kernel: CpuKernel, threads: usize) -> String {
    let plural = if threads == 1 { "" } else { "s" };
    format!("cpu ({}, {threads} thread{plural})", kernel.name())
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
    search_prepared(&PreparedJob::new(job.clone()), range, options)
}

/// [`search`] of a job already prepared, at the prepared job's target.
pub fn search_prepared(
    job: &PreparedJob,
    range: NonceRange,
    options: &SearchOptions,
) -> Result<SearchReport, Error> {
    range.check(job.job())?;
    let searcher = CpuSearcher::new(options.threads, options.kernel)?;
    searcher.search(job, range, options)
}

/// A pool of hashing threads and a kernel this CPU runs.
pub(crate) struct CpuSearcher {
    pool: rayon::ThreadPool,
    kernel: CpuKernel,
    fns: KernelFns,
}

/// What the workers collect from the chunks.
#[derive(Clone, Copy)]
enum Collect {
    /// Judged on the reference as they come; the lowest only, or all.
    Solutions { stop_at_first: bool },
    /// Raw candidates, judged by the caller.
    Candidates,
}

/// What one pass over a range gave.
struct Pass {
    solutions: Vec<Solution>,
    candidates: Vec<u64>,
    hashes: u64,
}

impl CpuSearcher {
    /// `threads` hashing threads (one per core by default) running `kernel`
    /// (the fastest by default).
    pub(crate) fn new(threads: Option<usize>, kernel: Option<CpuKernel>) -> Result<Self, Error> {
        let kernel = CpuKernel::resolve(kernel)?;
        let threads = threads.unwrap_or_else(default_threads).max(1);
        if threads > max_threads() {
            return Err(Error::Options {
                option: "threads",
                reason: format!(
                    "{threads} is more than {} (16 per core here)",
                    max_threads()
                ),
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("hashrig-cpu-{i}"))
            .build()
            .map_err(|e| Error::ThreadPool {
                threads,
                reason: e.to_string(),
            })?;
        let fns = kernel.fns().ok_or_else(|| kernel.unsupported())?;
        Ok(CpuSearcher { pool, kernel, fns })
    }

    pub(crate) fn kernel(&self) -> CpuKernel {
        self.kernel
    }

    pub(crate) fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Verified solutions of a range already checked.
    pub(crate) fn search(
        &self,
        job: &PreparedJob,
        range: NonceRange,
        options: &SearchOptions,
    ) -> Result<SearchReport, Error> {
        let started = Instant::now();
        let collect = Collect::Solutions {
            stop_at_first: options.stop_at_first,
        };
        let pass = self.pass(job, range, options, collect)?;
        let threads = self.threads();
        Ok(SearchReport {
            solutions: pass.solutions,
            hashes: pass.hashes,
            elapsed: started.elapsed(),
            cancelled: options
                .cancel
                .as_ref()
                .is_some_and(CancelToken::is_cancelled),
            device: device_name(self.kernel, threads),
            kernel: self.kernel,
            threads,
        })
    }

    /// The kernel's raw candidates in a range already checked, for the
    /// engine to judge, and how much of the range was searched (a prefix,
    /// when cancelled).
    pub(crate) fn scan(
        &self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error> {
        let options = SearchOptions {
            cancel: Some(cancel.clone()),
            ..Default::default()
        };
        let pass = self.pass(job, range, &options, Collect::Candidates)?;
        Ok(Found {
            candidates: pass.candidates,
            searched: pass.hashes,
        })
    }

    /// One search over the whole range: the workers take chunks of a few
    /// milliseconds each from a shared counter and check the token before
    /// each, so cancellation is prompt, and what was hashed is exactly a
    /// prefix of the range. (Cutting the range into one chunk per thread
    /// and joining after each made every thread wait for the slowest at
    /// each join: 6-10% lost whenever anything else ran on the machine.)
    fn pass(
        &self,
        job: &PreparedJob,
        range: NonceRange,
        options: &SearchOptions,
        collect: Collect,
    ) -> Result<Pass, Error> {
        let threads = self.threads();
        let chunk = match job.work() {
            KernelWork::Header(_) => HEADER_CHUNK,
            KernelWork::Generic(_) => GENERIC_CHUNK,
        };
        let chunks = range.count.div_ceil(chunk);
        let next_chunk = AtomicU64::new(0);
        // With stop_at_first, chunks past the lowest one holding a solution are skipped.
        let last_useful_chunk = AtomicU64::new(u64::MAX);
        // Every chunk taken is scanned whole, and chunks are taken in order:
        // the hashes are a prefix of the range.
        let hashes = AtomicU64::new(0);
        let found: Mutex<Pass> = Mutex::new(Pass {
            solutions: Vec::new(),
            candidates: Vec::new(),
            hashes: 0,
        });
        let failure: Mutex<Option<Error>> = Mutex::new(None);
        let cancelled = || {
            options
                .cancel
                .as_ref()
                .is_some_and(CancelToken::is_cancelled)
        };

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
                let part = NonceRange::new(
                    range.start + index * chunk,
                    chunk.min(range.count - index * chunk),
                );
                candidates.clear();
                scan_chunk(&self.fns, job, part, &mut candidates);
                hashes.fetch_add(part.count, Ordering::Relaxed);
                if let Some(p) = &options.progress {
                    p.fetch_add(part.count, Ordering::Relaxed);
                }
                if candidates.is_empty() {
                    continue;
                }
                match collect {
                    Collect::Candidates => found
                        .lock()
                        .expect("not poisoned")
                        .candidates
                        .extend_from_slice(&candidates),
                    Collect::Solutions { stop_at_first } => {
                        let verified = verify_candidates(job, part, &candidates);
                        if let Some(&nonce) = verified.wrong.first() {
                            failure.lock().expect("not poisoned").get_or_insert(
                                Error::KernelMismatch {
                                    device: self.kernel.name().to_string(),
                                    nonce,
                                },
                            );
                            return;
                        }
                        if stop_at_first && !verified.solutions.is_empty() {
                            last_useful_chunk.fetch_min(index, Ordering::Relaxed);
                        }
                        found
                            .lock()
                            .expect("not poisoned")
                            .solutions
                            .extend(verified.solutions);
                    }
                }
            }
        };
        // No more workers than chunks: a small range does not wake every
        // thread of a large pool.
        let workers = (threads as u64).min(chunks).max(1);
        self.pool.scope(|s| {
            for _ in 0..workers {
                s.spawn(|_| worker());
            }
        });

        if let Some(e) = failure.into_inner().expect("not poisoned") {
            return Err(e);
        }
        let mut pass = found.into_inner().expect("not poisoned");
        pass.hashes = hashes.into_inner();
        pass.solutions.sort();
        pass.candidates.sort_unstable();
        if let Collect::Solutions {
            stop_at_first: true,
        } = collect
        {
            pass.solutions.truncate(1);
        }
        Ok(pass)
    }
}

/// The kernel's candidates in one chunk.
fn scan_chunk(fns: &KernelFns, job: &PreparedJob, part: NonceRange, out: &mut Vec<u64>) {
    match job.work() {
        KernelWork::Header(work) => {
            let (Ok(start), Ok(count)) = (u32::try_from(part.start), u32::try_from(part.count))
            else {
                unreachable!("a checked header range lies in 2^32");
            };
            let mut found = Vec::new();
            (fns.scan_header)(work, start, count, &mut found);
            out.extend(found.into_iter().map(u64::from));
        }
        KernelWork::Generic(work) => scan_generic(fns, work, part.start, part.count, out),
    }
}

/// Scans generic-job nonces `[start, start + count)` and pushes each nonce
/// whose digest's first word (its most significant, read big-endian) is at
/// most the target's: the same early exit as the GPU kernel.
fn scan_generic(fns: &KernelFns, work: &GenericWork, start: u64, count: u64, out: &mut Vec<u64>) {
    const BATCH: u64 = 256;
    let mut states = Vec::with_capacity(BATCH as usize);
    let mut blocks = Vec::with_capacity(BATCH as usize);
    let mut done = 0;
    while done < count {
        let n = (count - done).min(BATCH);
        let first = start.wrapping_add(done);
        states.clear();
        states.resize(n as usize, work.midstate);
        for (j, template) in work.blocks.iter().enumerate() {
            blocks.clear();
            for i in 0..n {
                let mut block = *template;
                work.patch_block(j, &mut block, first.wrapping_add(i));
                blocks.push(block);
            }
            (fns.compress_many)(&mut states, &blocks);
        }
        if work.double {
            blocks.clear();
            for state in states.iter_mut() {
                blocks.push(digest_block(state));
                *state = IV;
            }
            (fns.compress_many)(&mut states, &blocks);
        }
        for (i, state) in states.iter().enumerate() {
            if state[0] <= work.target_msw {
                out.push(first.wrapping_add(i as u64));
            }
        }
        done += n;
    }
}
