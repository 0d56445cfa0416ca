//! Stratum V2 mining against a minimal loopback V2 pool
//! (tests/sv2pool/loopback.rs: SRI's Noise responder, one standard
//! channel, every share answered at once):
//! - handshake: TCP connect, Noise NX with the authority key checked,
//!   both ways (median and p99);
//! - job switch: from `SetNewPrevHash` written to the socket to every
//!   device hashing the new job (median and p99 over many blocks);
//! - submit delay: from the engine's verified solution to the
//!   `SubmitSharesStandard` written (median and p99);
//! - encryption: the CPU time to encrypt one share's frame;
//! - hashrate kept: V2 pool mining against a plain engine run on the same
//!   devices, alternated, as a ratio of medians.
//!
//! `cargo bench --bench pool_sv2` (HASHRIG_BENCH_ROUNDS,
//! HASHRIG_BENCH_SECONDS and HASHRIG_BENCH_JOBS change the sizes).

#[path = "../tests/sv2pool/loopback.rs"]
mod loopback;
mod pool_bench;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use hashrig::stratum::{Pool, PoolMiner};
use hashrig::sv2::messages::{self, ShareFields};
use hashrig::sv2::{transport, AuthorityKey};
use hashrig::upstream::PoolOptions;
use pool_bench::{engine, env, percentile};

fn miner(pool: &loopback::Loopback) -> PoolMiner {
    let p = Pool::new(pool.url().parse().unwrap(), Some("bench"), Some("x")).unwrap();
    PoolMiner::start(engine(), PoolOptions::new(vec![p.into()])).unwrap()
}

fn main() {
    let rounds = env("HASHRIG_BENCH_ROUNDS", 3);
    let seconds = env("HASHRIG_BENCH_SECONDS", 5);
    let jobs = env("HASHRIG_BENCH_JOBS", 200);
    // Difficulty about 0.001: some twenty shares a second on two cores.
    let pool = loopback::Loopback::at_difficulty(0.001);
    let key: AuthorityKey = loopback::PUBLIC.parse().unwrap();

    // Handshakes.
    let mut handshakes = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let mut s = TcpStream::connect(("127.0.0.1", pool.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        transport::handshake(&mut s, Some(&key), Duration::from_secs(5)).unwrap();
        handshakes.push(t.elapsed().as_secs_f64() * 1e3);
    }
    handshakes.sort_by(f64::total_cmp);
    println!(
        "handshake (connect + Noise NX, certificate checked) over {} connections: median {:.3} ms, p99 {:.3} ms",
        handshakes.len(),
        percentile(&handshakes, 0.5),
        percentile(&handshakes, 0.99)
    );

    // Encryption of one share.
    {
        let mut s = TcpStream::connect(("127.0.0.1", pool.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let (_, mut writer) =
            transport::handshake(&mut s, Some(&key), Duration::from_secs(5)).unwrap();
        let n = 200_000u32;
        let t = Instant::now();
        for i in 0..n {
            let f = messages::submit_standard(&ShareFields {
                channel_id: 1,
                sequence_number: i,
                job_id: 1,
                nonce: i,
                ntime: 1_700_000_000,
                version: 0x2000_0000,
            });
            std::hint::black_box(writer.encrypt(&f).unwrap());
        }
        println!(
            "encrypting one SubmitSharesStandard (built and sealed): {:.0} ns of CPU",
            t.elapsed().as_secs_f64() * 1e9 / n as f64
        );
    }

    // Job switches and submit delays.
    let m = miner(&pool);
    let until = Instant::now() + Duration::from_secs(30);
    while !pool.connected() {
        assert!(Instant::now() < until, "the miner did not open a channel");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (switches, delays) = pool_bench::switches_and_delays(&m, jobs, || {
        let (job, written) = pool.new_block().expect("the channel is open");
        (job.to_string(), written)
    });
    m.stop(Duration::from_secs(1));
    drop(m);
    println!(
        "job switch (SetNewPrevHash written -> every device on the new job) over {} blocks: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        switches.len(),
        percentile(&switches, 0.5),
        percentile(&switches, 0.99),
        switches.last().unwrap()
    );
    if !delays.is_empty() {
        println!(
            "submit delay (verified solution -> SubmitSharesStandard written) over {} shares: median {:.3} ms, p99 {:.3} ms",
            delays.len(),
            percentile(&delays, 0.5),
            percentile(&delays, 0.99)
        );
    }

    // Hashrate kept, alternated; each round's miner gets a block to mine.
    pool_bench::hashrate_kept(rounds, seconds, "V2 pool mining", "", || {
        let m = miner(&pool);
        while !pool.connected() {
            std::thread::sleep(Duration::from_millis(20));
        }
        pool.new_block();
        m
    });
}
