//! Pool mining against the loopback test pool (tests/testpool):
//! - job switch: from a clean `mining.notify` written to the socket to
//!   every device hashing the new job (median and p99 over many jobs);
//! - submit delay: from the engine's verified solution to the
//!   `mining.submit` line written (median and p99);
//! - hashrate kept: pool mining against a plain engine run on the same
//!   devices, alternated, as a ratio of medians.
//!
//! `cargo bench --bench pool` (HASHRIG_BENCH_ROUNDS, HASHRIG_BENCH_SECONDS
//! and HASHRIG_BENCH_JOBS change the sizes).

#[path = "../tests/testpool/mod.rs"]
mod testpool;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hashrig::engine::{CpuUse, Engine, EngineOptions, RollTime, Work};
use hashrig::stratum::{Pool, PoolChange, PoolEvent, PoolMiner, PoolOptions};
use hashrig::{Header, HeaderJob, Job};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn engine() -> Arc<Engine> {
    Arc::new(
        Engine::start(EngineOptions {
            cpu: CpuUse::On,
            gpus: false,
            ..Default::default()
        })
        .unwrap(),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn miner(pool: &testpool::TestPool) -> PoolMiner {
    let p = Pool::new(pool.url().parse().unwrap(), Some("bench"), Some("x")).unwrap();
    PoolMiner::start(engine(), PoolOptions::new(vec![p])).unwrap()
}

fn rate(engine: &Engine, seconds: u64) -> f64 {
    let hashes = |e: &Engine| e.stats().iter().map(|d| d.hashes).sum::<u64>();
    std::thread::sleep(Duration::from_secs(1));
    let (h0, t0) = (hashes(engine), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    (hashes(engine) - h0) as f64 / t0.elapsed().as_secs_f64()
}

fn main() {
    let rounds = env("HASHRIG_BENCH_ROUNDS", 3);
    let seconds = env("HASHRIG_BENCH_SECONDS", 5);
    let jobs = env("HASHRIG_BENCH_JOBS", 200);
    // About 20 shares a second on two cores.
    let pool = testpool::TestPool::start(testpool::Behaviour {
        difficulty: 0.001,
        ..Default::default()
    });

    // Job switches and submit delays.
    let m = miner(&pool);
    assert!(pool.wait_for(60, |p| p.accepted() >= 1));
    let mut switches = Vec::new();
    let mut delays = Vec::new();
    for _ in 0..jobs {
        let (job, written) = pool.notify(true);
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
    m.stop(Duration::from_secs(1));
    drop(m);
    switches.sort_by(f64::total_cmp);
    let mut delays: Vec<f64> = delays.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    delays.sort_by(f64::total_cmp);
    println!(
        "job switch (notify written -> every device on the new job) over {} jobs: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        switches.len(),
        percentile(&switches, 0.5),
        percentile(&switches, 0.99),
        switches.last().unwrap()
    );
    println!(
        "submit delay (verified solution -> submit written) over {} shares: median {:.3} ms, p99 {:.3} ms",
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );

    // Hashrate kept, alternated.
    let header = Header::from_hex("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c").unwrap();
    let (mut plain, mut pooled) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let e = engine();
        let job = Job::from(HeaderJob::from_header(header).unwrap());
        e.submit(Work::new(job).from_nonce(0).then(RollTime))
            .unwrap();
        let r = rate(&e, seconds);
        drop(e);
        plain.push(r);
        let m = miner(&pool);
        // The event stream is read as the command line reads it.
        let reader = {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            (stop.clone(), stop)
        };
        let r2 = std::thread::scope(|s| {
            s.spawn(|| {
                while !reader.0.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = m.recv_timeout(Duration::from_millis(50));
                }
            });
            let r = rate(m.engine(), seconds);
            reader.1.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        });
        m.stop(Duration::from_secs(1));
        drop(m);
        pooled.push(r2);
        println!(
            "round {round}: plain engine {:.2} MH/s, pool mining {:.2} MH/s",
            r / 1e6,
            r2 / 1e6
        );
    }
    plain.sort_by(f64::total_cmp);
    pooled.sort_by(f64::total_cmp);
    let (a, b) = (percentile(&plain, 0.5), percentile(&pooled, 0.5));
    println!(
        "hashrate kept: pool {:.2} / plain {:.2} MH/s = {:.3} (medians of {rounds} alternated rounds of {seconds} s)",
        b / 1e6,
        a / 1e6,
        b / a
    );
}
