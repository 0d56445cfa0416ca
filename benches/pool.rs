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

use std::time::Duration;

use hashrig::stratum::{Pool, PoolMiner};
use hashrig::upstream::PoolOptions;
use pool_bench::{engine, env, percentile};

fn miner(pool: &testpool::TestPool) -> PoolMiner {
    let p = Pool::new(pool.url().parse().unwrap(), Some("bench"), Some("x")).unwrap();
    PoolMiner::start(engine(), PoolOptions::new(vec![p.into()])).unwrap()
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
    let (switches, delays) = pool_bench::switches_and_delays(&m, jobs, || pool.notify(true));
    m.stop(Duration::from_secs(1));
    drop(m);
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
