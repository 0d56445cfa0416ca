//! Calibration against the exhaustive sweep: `calibrate` picks launch
//! settings in a short search, `sweep` measures every combination of
//! workgroup size and nonces per invocation; this prints both, and the
//! rate of the calibrated choice as a share of the best swept one, measured
//! in the same run and on the same adapter (`HASHRIG_DEVICE`, else the
//! first adapter found).
//!
//! `cargo bench --bench gpu_calibration`

mod bench_adapter;

use std::time::Duration;

use hashrig::gpu::{calibrate, measure, sweep, GpuDevice};

fn main() {
    let Some(entry) = bench_adapter::chosen("gpu_calibration") else {
        return;
    };
    let batch = Duration::from_millis(20);
    let span = Duration::from_millis(400);
    println!("adapter: {}", entry.label());
    let cal = calibrate(&entry, batch, Duration::from_millis(100), None).expect("calibration");
    println!(
        "calibrate: workgroup {} x {} nonces in {:.2} s",
        cal.config.workgroup_size,
        cal.config.nonces_per_invocation,
        cal.took.as_secs_f64()
    );
    let table = sweep(&entry, batch, span).expect("sweep");
    for (wg, per, rate) in &table {
        println!(
            "sweep: workgroup {wg:>3} x {per:>2} nonces: {:>8.2} MH/s",
            rate / 1e6
        );
    }
    let best = table
        .iter()
        .copied()
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .expect("a setting");
    // The calibrated choice and the best swept setting measured again,
    // alternately, five times each; the medians are compared, so that both
    // figures come from the same conditions on a noisy machine.
    let best_config = hashrig::gpu::LaunchConfig {
        workgroup_size: best.0,
        nonces_per_invocation: best.1,
        batch_time: batch,
        ..Default::default()
    };
    let ours = GpuDevice::open(&entry, cal.config).expect("device opens");
    let theirs = GpuDevice::open(&entry, best_config).expect("device opens");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        a.push(measure(&ours, Duration::from_millis(100), span).expect("measure"));
        b.push(measure(&theirs, Duration::from_millis(100), span).expect("measure"));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, b) = (median(&mut a), median(&mut b));
    println!(
        "best swept: workgroup {} x {} nonces; alternating medians: calibrated {:.2} MH/s, best swept {:.2} MH/s: {:.1}%",
        best.0,
        best.1,
        a / 1e6,
        b / 1e6,
        100.0 * a / b
    );
}
