//! Solo mining against the loopback test node (tests/testnode: templates
//! of a real block's transactions, blocks judged by rust-bitcoin):
//! - job switch: from a new tip on the node (its long poll answered) to
//!   every device hashing the new template (median and p99);
//! - submit delay: from the engine's verified block to `submitblock`
//!   written (median and p99);
//! - hashrate kept: solo mining against a plain engine run on the same
//!   devices, alternated, as a ratio of medians.
//!
//! `cargo bench --bench solo` (HASHRIG_BENCH_ROUNDS, HASHRIG_BENCH_SECONDS
//! and HASHRIG_BENCH_JOBS change the sizes, HASHRIG_BENCH_THREADS the CPU
//! threads, all cores by default).

mod pool_bench;
#[path = "../tests/testnode/mod.rs"]
mod testnode;

use std::time::{Duration, Instant};

use hashrig::node::{Auth, Node};
use hashrig::pool::{PoolChange, PoolEvent, PoolMiner};
use hashrig::upstream::PoolOptions;
use pool_bench::{engine, env, percentile};

fn miner(node: &testnode::TestNode) -> PoolMiner {
    let script = bitcoin::ScriptBuf::from_bytes(vec![0x51]);
    let address = bitcoin::Address::p2wsh(&script, bitcoin::KnownHrp::Regtest).to_string();
    let n = Node::new(
        node.url().parse().unwrap(),
        &address,
        Some(Auth::Cookie(node.cookie.clone())),
    )
    .unwrap();
    PoolMiner::start(engine(), PoolOptions::new(vec![n.into()])).unwrap()
}

fn main() {
    let rounds = env("HASHRIG_BENCH_ROUNDS", 3);
    let seconds = env("HASHRIG_BENCH_SECONDS", 5);
    let jobs = env("HASHRIG_BENCH_JOBS", 100);

    // Job switches on new tips, blocks rare (difficulty 1) so that only
    // the node moves the tip.
    let node = testnode::TestNode::start(
        testnode::TESTNET_BLOCK,
        testnode::Behaviour {
            bits: 0x1d00_ffff,
            ..Default::default()
        },
    );
    let m = miner(&node);
    let mut switches = Vec::new();
    let wait_job = |m: &PoolMiner, height: u64| loop {
        if let PoolEvent::Pool {
            change: PoolChange::Job {
                job_id, engine_job, ..
            },
            ..
        } = m.recv_timeout(Duration::from_secs(20)).expect("a job")
        {
            if job_id.starts_with(&format!("{height}:")) {
                return engine_job;
            }
        }
    };
    wait_job(&m, node.height());
    for _ in 0..jobs {
        std::thread::sleep(Duration::from_millis(30));
        let at = Instant::now();
        node.new_tip();
        let engine_job = wait_job(&m, node.height());
        loop {
            let stats = m.engine().stats();
            if stats.iter().all(|d| d.job == Some(engine_job)) {
                let started = stats.iter().filter_map(|d| d.job_switch).max().unwrap();
                let _ = started;
                switches.push(at.elapsed().as_secs_f64() * 1e3);
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    m.stop(Duration::from_secs(1));
    drop(m);
    switches.sort_by(f64::total_cmp);
    println!(
        "job switch (new tip on the node -> every device on the new template) over {} tips: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        switches.len(),
        percentile(&switches, 0.5),
        percentile(&switches, 0.99),
        switches.last().unwrap()
    );

    // Submit delays: many blocks at an easy target.
    let node = testnode::TestNode::start(testnode::TESTNET_BLOCK, Default::default());
    let m = miner(&node);
    let mut delays = Vec::new();
    let until = Instant::now() + Duration::from_secs(seconds * 4);
    while Instant::now() < until {
        if let Some(PoolEvent::Share(s)) = m.recv_timeout(Duration::from_millis(50)) {
            delays.extend(s.submit_delay);
        }
    }
    m.stop(Duration::from_secs(1));
    drop(m);
    let mut delays: Vec<f64> = delays.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    delays.sort_by(f64::total_cmp);
    println!(
        "the five slowest submits (ms): {:?}",
        &delays[delays.len().saturating_sub(5)..]
    );
    let valid = node.judged().iter().filter(|j| j.faults.is_empty()).count();
    println!(
        "submit delay (verified block -> submitblock written) over {} blocks ({} accepted, {valid} valid by rust-bitcoin): median {:.3} ms, p99 {:.3} ms",
        delays.len(),
        node.accepted(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );

    // Hashrate kept, alternated.
    let node = testnode::TestNode::start(
        testnode::MAINNET_BLOCK,
        testnode::Behaviour {
            bits: 0x1d00_ffff,
            ..Default::default()
        },
    );
    pool_bench::hashrate_kept(
        rounds,
        seconds,
        "solo mining",
        ", a mainnet template",
        || miner(&node),
    );
}
