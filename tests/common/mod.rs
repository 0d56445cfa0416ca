//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod json_lines;

use std::sync::Arc;

use hashrig::engine::{CpuUse, Engine, EngineOptions};
use hashrig::{BlockHash, Header};

/// Whether `f` comes true within `within`, asked every 20 ms.
pub fn until(within: std::time::Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + within;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// An engine hashing on one CPU thread, no GPU: what pool and node tests
/// mine with.
pub fn cpu_engine() -> Arc<Engine> {
    #[allow(unused_mut)]
    let mut options = EngineOptions {
        cpu: CpuUse::On,
        cpu_threads: Some(1),
        ..Default::default()
    };
    // Built without GPUs (the AArch64 kernel tests), there are none to
    // leave out.
    #[cfg(feature = "gpu")]
    {
        options.gpus = false;
    }
    Arc::new(Engine::start(options).unwrap())
}

/// A real mainnet block: height, header and its block hash.
pub struct MainnetBlock {
    pub height: u64,
    pub header: Header,
    pub hash: BlockHash,
}

/// The blocks of tests/data/mainnet_headers.tsv.
pub fn mainnet_blocks() -> Vec<MainnetBlock> {
    let text = include_str!("../data/mainnet_headers.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            MainnetBlock {
                height: cols[0].parse().unwrap(),
                header: Header::from_hex(cols[1]).unwrap(),
                hash: BlockHash::from_display_hex(cols[2]).unwrap(),
            }
        })
        .collect()
}

/// A window of `size` nonces that holds `nonce`, clamped into the 32-bit space.
pub fn window_around(nonce: u32, size: u64) -> (u64, u64) {
    let start = (nonce as u64)
        .saturating_sub(size / 2)
        .min((1u64 << 32) - size);
    (start, size)
}

/// A small deterministic generator (SplitMix64) for randomized jobs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The ranges a device searched, as it logged them.
pub type RangeLog = std::sync::Arc<std::sync::Mutex<Vec<hashrig::NonceRange>>>;

/// Whether a check meets another job's events or ranges.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OtherJobs {
    /// Only the one job ran: anything else fails the test.
    Forbidden,
    /// An earlier job was replaced: what belongs to it is left out.
    Skipped,
}

/// Collects job `id`'s solutions until it is exhausted; panics on a
/// duplicate, on a stale or wrong solution, and (when forbidden) on
/// another job's solution. Returns the nonces and the failed devices.
pub fn run_to_end(
    engine: &hashrig::engine::Engine,
    id: hashrig::engine::JobId,
    others: OtherJobs,
) -> (std::collections::BTreeSet<u64>, Vec<String>) {
    use hashrig::engine::Event;
    let mut nonces = std::collections::BTreeSet::new();
    let mut failed = Vec::new();
    loop {
        match engine
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("an event")
        {
            Event::Solution(s) if s.job != id => {
                assert!(
                    others == OtherJobs::Skipped,
                    "a solution of job {:?}",
                    s.job
                );
            }
            Event::Solution(s) => {
                assert!(!s.stale);
                assert!(s.work.is_met_by(&s.solution.hash));
                assert!(nonces.insert(s.solution.nonce), "reported twice");
            }
            Event::DeviceFailed { device, .. } => failed.push(device),
            Event::DeviceRecovered { .. } => {}
            Event::Exhausted(done) if done == id => return (nonces, failed),
            Event::Exhausted(_) => {}
        }
    }
}

/// The logged ranges, sorted, are disjoint and exactly cover `range`
/// (ranges outside it are left out when another job's may be there).
pub fn assert_exact_cover(logs: &[RangeLog], range: hashrig::NonceRange, others: OtherJobs) {
    let end = range.start + range.count;
    let mut all: Vec<hashrig::NonceRange> = logs
        .iter()
        .flat_map(|l| l.lock().unwrap().clone())
        .filter(|r| r.count > 0)
        .filter(|r| others == OtherJobs::Forbidden || (r.start >= range.start && r.start < end))
        .collect();
    all.sort_by_key(|r| r.start);
    let mut at = range.start;
    for r in &all {
        assert_eq!(r.start, at, "gap or overlap at {at}");
        at += r.count;
    }
    assert_eq!(at, end);
}

/// The genesis block's header at `zero_bits` leading zero bits.
pub fn genesis_job(zero_bits: u32) -> hashrig::Job {
    const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
    hashrig::Job::from(hashrig::HeaderJob::new(
        Header::from_hex(GENESIS).unwrap(),
        hashrig::Target::from_leading_zero_bits(zero_bits).unwrap(),
    ))
}

/// The nonces of `range` that solve `job`, from the CPU search.
pub fn reference(
    job: &hashrig::Job,
    range: hashrig::NonceRange,
) -> std::collections::BTreeSet<u64> {
    hashrig::search(job, range, &hashrig::SearchOptions::default())
        .unwrap()
        .solutions
        .iter()
        .map(|s| s.nonce)
        .collect()
}

/// Searches `range` of `job` for real (one thread, the fastest kernel's
/// verified search, in pieces of 2^14) but no faster than `rate`, until
/// `stop()` says so: what the tests' simulated devices do.
pub fn throttled_search(
    job: &hashrig::PreparedJob,
    range: hashrig::NonceRange,
    rate: f64,
    stop: impl Fn() -> bool,
) -> Result<hashrig::Found, hashrig::Error> {
    let options = hashrig::SearchOptions {
        threads: Some(1),
        kernel: Some(hashrig::CpuKernel::fastest()),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let mut found = hashrig::Found::default();
    while found.searched < range.count && !stop() {
        let count = (1 << 14).min(range.count - found.searched);
        let part = hashrig::NonceRange::new(range.start + found.searched, count);
        let report = hashrig::search_prepared(job, part, &options)?;
        found
            .candidates
            .extend(report.solutions.iter().map(|s| s.nonce));
        found.searched += count;
        let due = std::time::Duration::from_secs_f64(found.searched as f64 / rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    Ok(found)
}

/// A directory under the system's temporary directory, removed with
/// everything in it when dropped: also when the test fails.
pub struct ScratchDir(pub std::path::PathBuf);

impl ScratchDir {
    /// `hashrig-NAME-PID`, made empty.
    pub fn new(name: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("hashrig-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
