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

mod pool_bench;
#[path = "../tests/testpool/mod.rs"]
mod testpool;

use std::time::{Duration, Instant};

use hashrig::stratum::{Pool, PoolChange, PoolEvent, PoolMiner, PoolOptions};
use pool_bench::{engine, env, percentile};

fn miner(pool: &testpool::TestPool) -> PoolMiner {
    let p = Pool::new(pool.url().parse().unwrap(), Some("bench"), Some("x")).unwrap();
    PoolMiner::start(engine(), PoolOptions::new(vec![p])).unwrap()
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
    pool_bench::hashrate_kept(rounds, seconds, "pool mining", "", || miner(&pool));
}
