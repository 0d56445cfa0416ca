//! What the pool, Stratum V2 and solo benches share: their sizes from the
//! environment, a CPU engine, percentiles, a measured rate, and the
//! alternated comparison of mining on a work source with a plain engine.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashrig::engine::{CpuUse, Engine, EngineOptions, RollTime, Work};
use hashrig::pool::PoolMiner;
use hashrig::{Header, HeaderJob, Job};

/// A size from the environment, or `default`.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A CPU engine on every core, or on HASHRIG_BENCH_THREADS threads.
pub fn engine() -> Arc<Engine> {
    let threads = std::env::var("HASHRIG_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok());
    Arc::new(
        Engine::start(EngineOptions {
            cpu: CpuUse::On,
            gpus: false,
            cpu_threads: threads,
            ..Default::default()
        })
        .unwrap(),
    )
}

/// The `p` quantile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// `engine`'s hashes per second over `seconds`, after a second to settle.
pub fn rate(engine: &Engine, seconds: u64) -> f64 {
    let hashes = |e: &Engine| e.stats().iter().map(|d| d.hashes).sum::<u64>();
    std::thread::sleep(Duration::from_secs(1));
    let (h0, t0) = (hashes(engine), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    (hashes(engine) - h0) as f64 / t0.elapsed().as_secs_f64()
}

/// Mining through `miner()` against a plain engine on the same devices
/// (the genesis header, time rolled), `rounds` rounds of `seconds`
/// alternated; prints each round and the ratio of the medians, `what`
/// naming the mining.
pub fn hashrate_kept(
    rounds: u64,
    seconds: u64,
    what: &str,
    note: &str,
    miner: impl Fn() -> PoolMiner,
) {
    let header = Header::from_hex("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c").unwrap();
    let (mut plain, mut mined) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let e = engine();
        let job = Job::from(HeaderJob::from_header(header).unwrap());
        e.submit(Work::new(job).from_nonce(0).then(RollTime))
            .unwrap();
        let r = rate(&e, seconds);
        drop(e);
        plain.push(r);
        let m = miner();
        // The event stream is read as the command line reads it.
        let stop = AtomicBool::new(false);
        let r2 = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let _ = m.recv_timeout(Duration::from_millis(50));
                }
            });
            let r = rate(m.engine(), seconds);
            stop.store(true, Ordering::Relaxed);
            r
        });
        m.stop(Duration::from_secs(1));
        drop(m);
        mined.push(r2);
        println!(
            "round {round}: plain engine {:.2} MH/s, {what} {:.2} MH/s",
            r / 1e6,
            r2 / 1e6
        );
    }
    plain.sort_by(f64::total_cmp);
    mined.sort_by(f64::total_cmp);
    let (a, b) = (percentile(&plain, 0.5), percentile(&mined, 0.5));
    println!(
        "hashrate kept: {what} {:.2} / plain {:.2} MH/s = {:.3} (medians of {rounds} alternated rounds of {seconds} s{note})",
        b / 1e6,
        a / 1e6,
        b / a
    );
}

/// Job switches and submit delays on `m`, in milliseconds and sorted: for
/// each of `jobs` jobs, `send` hands the work source a new job and says
/// its id and when it was written; the switch runs from then to every
/// device hashing it (the engine's own `job_switch` for the last step).
/// The submit delays are those of the shares seen meanwhile and in three
/// seconds after.
pub fn switches_and_delays(
    m: &PoolMiner,
    jobs: u64,
    mut send: impl FnMut() -> (String, Instant),
) -> (Vec<f64>, Vec<f64>) {
    use hashrig::pool::{PoolChange, PoolEvent};
    let mut switches = Vec::new();
    let mut delays = Vec::new();
    for _ in 0..jobs {
        let (job, written) = send();
        let (engine_job, submitted) = loop {
            match m.recv_timeout(Duration::from_secs(10)).expect("the job") {
                PoolEvent::Pool {
                    change:
                        PoolChange::Job {
                            job_id,
                            engine_job,
                            submitted,
                            ..
                        },
                    ..
                } if job_id == job => break (engine_job, submitted),
                PoolEvent::Share(s) => delays.extend(s.submit_delay),
                _ => {}
            }
        };
        let started = loop {
            let stats = m.engine().stats();
            if stats.iter().all(|d| d.job == Some(engine_job)) {
                break stats.iter().filter_map(|d| d.job_switch).max().unwrap();
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        switches.push((submitted.duration_since(written) + started).as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(20));
    }
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if let Some(PoolEvent::Share(s)) = m.recv_timeout(Duration::from_millis(50)) {
            delays.extend(s.submit_delay);
        }
    }
    switches.sort_by(f64::total_cmp);
    let mut delays: Vec<f64> = delays.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    delays.sort_by(f64::total_cmp);
    (switches, delays)
}
