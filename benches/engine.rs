//! Engine figures that criterion does not fit: the job-replacement latency
//! (from `submit` to every device working on the new job, median and 99th
//! percentile over many replacements) and the aggregate hashrate of the CPU
//! and a GPU together against the sum of each alone.
//!
//! `LP_NUM_THREADS=1 cargo bench --bench engine` (on a 2-core machine with
//! lavapipe, one core for the CPU device and one for lavapipe, so that the
//! devices do not share cores).

use std::time::{Duration, Instant};

use hashrig::engine::{CpuUse, Engine, EngineOptions, RollTime, Work};
use hashrig::{Header, HeaderJob, Job, Target};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn job(time_offset: u32) -> Job {
    let mut header = Header::from_hex(GENESIS).unwrap();
    header.time += time_offset;
    Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(64).unwrap(),
    ))
}

/// Hashes per second of every device together over `seconds`, after a
/// warm-up; each device's own rate is printed.
fn rate(engine: &Engine, seconds: f64) -> f64 {
    engine.submit(Work::new(job(0)).then(RollTime)).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let before: Vec<u64> = engine.stats().iter().map(|d| d.hashes).collect();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let stats = engine.stats();
    let elapsed = t.elapsed().as_secs_f64();
    let rates: Vec<f64> = stats
        .iter()
        .zip(&before)
        .map(|(d, b)| (d.hashes - b) as f64 / elapsed)
        .collect();
    let each: Vec<String> = stats
        .iter()
        .zip(&rates)
        .map(|(d, r)| format!("{} {:.2}", d.name, r / 1e6))
        .collect();
    println!("  {}", each.join(" + "));
    rates.iter().sum()
}

fn options(cpu: CpuUse, gpus: bool) -> EngineOptions {
    EngineOptions {
        cpu,
        gpus,
        cpu_threads: Some(1),
        devices: vec![std::env::var("HASHRIG_DEVICE").unwrap_or_else(|_| "0".into())],
        ..Default::default()
    }
}

fn main() {
    let together = Engine::start(options(CpuUse::On, true));
    let Ok(together) = together else {
        eprintln!("engine bench: no GPU adapter; nothing measured");
        return;
    };
    let names: Vec<String> = together.stats().iter().map(|d| d.name.clone()).collect();
    println!("devices: {}", names.join(" + "));

    // Job replacement: every device must start on the new job.
    together.submit(Work::new(job(0)).then(RollTime)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut latencies = Vec::new();
    for i in 1..=200u32 {
        let id = together.submit(Work::new(job(i)).then(RollTime)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stats = together.stats();
            if stats.iter().all(|d| d.job == Some(id)) {
                let worst = stats.iter().filter_map(|d| d.job_switch).max().unwrap();
                latencies.push(worst);
                break;
            }
            assert!(Instant::now() < deadline, "a device never switched");
            std::thread::sleep(Duration::from_micros(200));
        }
        // Let the devices settle into the job before the next replacement.
        std::thread::sleep(Duration::from_millis(15 + (i % 7) as u64 * 5));
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "job replacement over {} replacements: median {:.2} ms, p99 {:.2} ms, max {:.2} ms (batch target 20 ms)",
        latencies.len(),
        ms(latencies[latencies.len() / 2]),
        ms(latencies[latencies.len() * 99 / 100]),
        ms(*latencies.last().unwrap())
    );

    // Aggregate rate against the sum of each device alone: three rounds of
    // (together, CPU alone, GPU alone), medians, so that the machine's slow
    // drifts hit all three.
    drop(together);
    let seconds = 3.0;
    let (mut both, mut cpu, mut gpu) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        both.push(rate(
            &Engine::start(options(CpuUse::On, true)).unwrap(),
            seconds,
        ));
        cpu.push(rate(
            &Engine::start(options(CpuUse::On, false)).unwrap(),
            seconds,
        ));
        gpu.push(rate(
            &Engine::start(options(CpuUse::Off, true)).unwrap(),
            seconds,
        ));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mhs = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{:.2}", r / 1e6))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "rounds (MH/s): together [{}], cpu [{}], gpu [{}]",
        mhs(&both),
        mhs(&cpu),
        mhs(&gpu)
    );
    let (both, cpu, gpu) = (median(&mut both), median(&mut cpu), median(&mut gpu));
    println!(
        "medians: cpu {:.2} MH/s, gpu {:.2} MH/s, sum {:.2} MH/s; together {:.2} MH/s = {:.1}% of the sum",
        cpu / 1e6,
        gpu / 1e6,
        (cpu + gpu) / 1e6,
        both / 1e6,
        100.0 * both / (cpu + gpu)
    );
}
