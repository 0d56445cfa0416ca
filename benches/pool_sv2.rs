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

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashrig::engine::{CpuUse, Engine, EngineOptions, RollTime, Work};
use hashrig::stratum::{Pool, PoolChange, PoolEvent, PoolMiner, PoolOptions};
use hashrig::sv2::messages::{self, ShareFields};
use hashrig::sv2::{transport, AuthorityKey};
use hashrig::{Header, HeaderJob, Job, Target};

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

fn miner(pool: &loopback::Loopback) -> PoolMiner {
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
    // Difficulty about 0.001: some twenty shares a second on two cores.
    let target = Target::from_difficulty(0.001).unwrap();
    let mut target_le = target.to_be_bytes();
    target_le.reverse();
    let pool = loopback::Loopback::start(target_le);
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
    let mut switches = Vec::new();
    let mut delays = Vec::new();
    for _ in 0..jobs {
        let (job, written) = pool.new_block().expect("the channel is open");
        let job = job.to_string();
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
        while !pool.connected() {
            std::thread::sleep(Duration::from_millis(20));
        }
        pool.new_block();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let r2 = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = m.recv_timeout(Duration::from_millis(50));
                }
            });
            let r = rate(m.engine(), seconds);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            r
        });
        m.stop(Duration::from_secs(1));
        drop(m);
        pooled.push(r2);
        println!(
            "round {round}: plain engine {:.2} MH/s, V2 pool mining {:.2} MH/s",
            r / 1e6,
            r2 / 1e6
        );
    }
    plain.sort_by(f64::total_cmp);
    pooled.sort_by(f64::total_cmp);
    let (a, b) = (percentile(&plain, 0.5), percentile(&pooled, 0.5));
    println!(
        "hashrate kept: V2 pool {:.2} / plain {:.2} MH/s = {:.3} (medians of {rounds} alternated rounds of {seconds} s)",
        b / 1e6,
        a / 1e6,
        b / a
    );
}
