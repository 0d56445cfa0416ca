//! How soon a GPU leaves a replaced job: the time from cancelling a
//! running search to its return, with the next batch queued shortly before
//! the running one ends (`queue_lead`, the default) and with two batches
//! always in flight (`queue_lead: Duration::MAX`), on the same adapter in
//! the same run, alternating. The throughput of both is measured too: a
//! late queue must not leave the device idle.
//!
//! The adapter is the one `HASHRIG_DEVICE` names, else the first one found
//! (lavapipe on a machine without a GPU).

mod bench_adapter;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hashrig::gpu::{GpuDevice, LaunchConfig};
use hashrig::{CancelToken, Header, HeaderJob, Job, NonceRange, SearchOptions};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// Starts a search over most of the nonce space, cancels it after `after`,
/// and returns how long it took to come back.
fn switch_time(gpu: &GpuDevice, job: &Job, after: Duration) -> Duration {
    let cancel = CancelToken::new();
    let options = SearchOptions {
        cancel: Some(cancel.clone()),
        ..Default::default()
    };
    std::thread::scope(|s| {
        let search = s.spawn(|| gpu.search(job, NonceRange::new(0, 1 << 32), &options));
        std::thread::sleep(after);
        let cancelled = Instant::now();
        cancel.cancel();
        search.join().expect("no panic").expect("search runs");
        cancelled.elapsed()
    })
}

fn gpu_switch(c: &mut Criterion) {
    let Some(entry) = bench_adapter::chosen("gpu_switch") else {
        return;
    };
    let job = Job::from(HeaderJob::from_header(Header::from_hex(GENESIS).unwrap()).unwrap());
    let configs = [
        ("queue_lead 4 ms [default]", LaunchConfig::default()),
        (
            "two batches in flight",
            LaunchConfig {
                queue_lead: Duration::MAX,
                ..Default::default()
            },
        ),
    ];
    let devices: Vec<(&str, GpuDevice)> = configs
        .iter()
        .map(|(name, config)| (*name, GpuDevice::open(&entry, *config).expect("opens")))
        .collect();
    let mut group = c.benchmark_group(format!("job_switch {}", entry.info.name));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    for (name, gpu) in &devices {
        group.bench_function(*name, |b| {
            let mut k = 0u64;
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // Cancel at different points of a batch.
                    k += 1;
                    total += switch_time(gpu, &job, Duration::from_millis(150 + (k * 7) % 23));
                }
                total
            })
        });
    }
    group.finish();

    // Alternating medians of the switch time and of the rate.
    let mut switch = vec![Vec::new(); devices.len()];
    let mut rate = vec![Vec::new(); devices.len()];
    for round in 0..15u64 {
        for (i, (_, gpu)) in devices.iter().enumerate() {
            let after = Duration::from_millis(150 + (round * 7) % 23);
            switch[i].push(switch_time(gpu, &job, after).as_secs_f64());
            if round % 3 == 0 {
                let r = hashrig::gpu::measure(
                    gpu,
                    Duration::from_millis(100),
                    Duration::from_millis(500),
                );
                rate[i].push(r.expect("measures"));
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    for (i, (name, _)) in devices.iter().enumerate() {
        println!(
            "{name}: switch median {:.1} ms, rate median {:.2} MH/s",
            median(&mut switch[i]) * 1e3,
            median(&mut rate[i]) / 1e6
        );
    }
    println!(
        "switch time ratio (default / two in flight): {:.2}; rate ratio: {:.3}",
        median(&mut switch[0]) / median(&mut switch[1]),
        median(&mut rate[0]) / median(&mut rate[1])
    );
}

criterion_group!(benches, gpu_switch);
criterion_main!(benches);
