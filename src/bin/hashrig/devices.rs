//! Device choice for the command line: resolves `--backend`, `--device`,
//! `--threads` and `--cpu-kernel` into what hashes, and runs searches,
//! benchmarks and self-tests on it.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use hashrig::engine::{CpuUse, DeviceKind, DeviceStats, Engine, EngineOptions};
use hashrig::{search, CpuKernel, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};
use serde_json::json;

use hashrig::gpu::{self, GpuDevice, LaunchConfig};

use crate::{cpu_kernel, BackendChoice, CpuChoice, DeviceArgs};

/// Bitcoin's genesis header, the known answer for self-tests and the bench job.
pub(crate) const GENESIS_HEX: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn cpu_threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => bail!("threads: must be at least 1"),
        Some(n) if n > 4096 => bail!("threads: {n} is more than 4096"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Starts an engine on the devices `args` choose: `--backend`, `--device`,
/// `--cpu`, `--threads`, `--cpu-kernel`, `--batch-ms`. GPUs that fail to
/// open or fail their self-test are left out with a warning on stderr.
pub(crate) fn engine(args: &DeviceArgs) -> Result<Engine> {
    let threads = cpu_threads(args.threads)?;
    let kernel = cpu_kernel(args.cpu_kernel.as_deref())?;
    let batch_ms = args.batch_ms;
    if !(1..=2000).contains(&batch_ms) {
        bail!("batch-ms: {batch_ms} is not between 1 and 2000");
    }
    let cpu = match (args.backend, args.cpu) {
        (BackendChoice::Cpu, CpuChoice::Off) => {
            bail!("cpu: --backend cpu with --cpu off leaves nothing to hash on")
        }
        (BackendChoice::Cpu, _) | (_, CpuChoice::On) => CpuUse::On,
        (BackendChoice::Gpu, CpuChoice::Auto) | (_, CpuChoice::Off) => CpuUse::Off,
        (BackendChoice::Auto, CpuChoice::Auto) => CpuUse::Auto,
    };
    let options = EngineOptions {
        cpu,
        cpu_threads: args.threads.map(|_| threads),
        cpu_kernel: Some(kernel),
        gpus: args.backend != BackendChoice::Cpu,
        devices: args.devices.clone(),
        batch_time: Duration::from_millis(batch_ms),
        recalibrate: args.recalibrate,
        ..Default::default()
    };
    let engine = match Engine::start(options) {
        Ok(e) => e,
        Err(e) if args.backend == BackendChoice::Gpu && matches!(e, hashrig::Error::Device(_)) => {
            bail!("backend gpu: no usable GPU adapter ({e})")
        }
        Err(e) => return Err(e.into()),
    };
    for w in engine.warnings() {
        eprintln!("hashrig: warning: {w}");
    }
    let gpus = engine
        .stats()
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .count();
    if gpus == 0 && args.backend == BackendChoice::Auto {
        eprintln!("hashrig: no usable GPU; hashing on the CPU");
    }
    Ok(engine)
}

/// `hashrig calibrate`: measures each selected GPU's launch settings,
/// caches them and prints the choice.
pub(crate) fn calibrate(selectors: &[String], batch_ms: u64, json: bool) -> Result<u8> {
    if !(1..=2000).contains(&batch_ms) {
        bail!("batch-ms: {batch_ms} is not between 1 and 2000");
    }
    let all = gpu::adapters();
    let chosen = gpu::select(&all, selectors)?;
    if chosen.is_empty() {
        bail!("calibrate: no usable GPU adapter (name one with --device, e.g. llvmpipe)");
    }
    let mut out = std::io::stdout().lock();
    for entry in &chosen {
        let (c, warnings) = gpu::cached_or_calibrate(entry, Duration::from_millis(batch_ms), true)?;
        for w in warnings {
            eprintln!("hashrig: warning: {w}");
        }
        let l = &c.config;
        if json {
            let tried: Vec<_> = c
                .measured
                .iter()
                .map(|(wg, per, rate)| json!({"workgroup_size": wg, "nonces_per_invocation": per, "mhs": rate / 1e6}))
                .collect();
            let line = json!({"type": "calibration", "device": entry.label(),
                "workgroup_size": l.workgroup_size, "nonces_per_invocation": l.nonces_per_invocation,
                "batch_nonces": l.batch_nonces, "batch_ms": batch_ms, "mhs": c.rate / 1e6,
                "seconds": c.took.as_secs_f64(), "measured": tried,
                "cache": gpu::calibrate::cache_path().map(|p| p.display().to_string())});
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{}: workgroup {} x {} nonces, {} nonces/batch, {:.2} MH/s ({:.2} s)",
                entry.label(),
                l.workgroup_size,
                l.nonces_per_invocation,
                l.batch_nonces,
                c.rate / 1e6,
                c.took.as_secs_f64()
            )?;
        }
    }
    Ok(0)
}

/// A cgminer-style status on stderr, one line per device and a total,
/// redrawn every second while it runs, when stderr is a terminal.
pub(crate) struct Status {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Status {
    /// Starts the display; `total` is the range's size, when it is finite.
    pub fn start(engine: &Arc<Engine>, total: Option<u64>) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (engine, done) = (engine.clone(), done.clone());
            std::thread::spawn(move || {
                let mut drawn = 0;
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    let lines = status_lines(&engine.stats(), total);
                    let mut err = std::io::stderr().lock();
                    if drawn > 0 {
                        let _ = write!(err, "\x1b[{drawn}A");
                    }
                    for l in &lines {
                        let _ = writeln!(err, "\x1b[2K{l}");
                    }
                    drawn = lines.len();
                }
                let mut err = std::io::stderr().lock();
                if drawn > 0 {
                    let _ = write!(err, "\x1b[{drawn}A\x1b[0J");
                }
            })
        });
        Status { done, thread }
    }

    /// Stops and erases the display.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The status lines: each device, then the total.
pub(crate) fn status_lines(stats: &[DeviceStats], total: Option<u64>) -> Vec<String> {
    let mut lines = Vec::new();
    let line = |name: &str,
                s5: f64,
                avg: f64,
                eff: f64,
                sol: u64,
                stale: u64,
                hw: u64,
                state: &str| {
        format!(
            "{name:<36} 5s {:>9.2}  avg {:>9.2}  eff {:>9.2} MH/s  A:{sol} S:{stale} HW:{hw}  {state}",
            s5 / 1e6,
            avg / 1e6,
            eff / 1e6
        )
    };
    for d in stats {
        lines.push(line(
            &d.name,
            d.rate_5s,
            d.rate_avg,
            d.effective_rate,
            d.solutions,
            d.stale,
            d.hardware_errors,
            d.state.name(),
        ));
    }
    let sum = |f: fn(&DeviceStats) -> f64| stats.iter().map(f).sum::<f64>();
    let hashes: u64 = stats.iter().map(|d| d.hashes).sum();
    let done = total.map_or(String::new(), |t| {
        format!("{:.1}% done", 100.0 * hashes as f64 / t as f64)
    });
    lines.push(line(
        "total",
        sum(|d| d.rate_5s),
        sum(|d| d.rate_avg),
        sum(|d| d.effective_rate),
        stats.iter().map(|d| d.solutions).sum(),
        stats.iter().map(|d| d.stale).sum(),
        stats.iter().map(|d| d.hardware_errors).sum(),
        &done,
    ));
    lines
}

/// The CPU's model name where the OS tells it.
pub(crate) fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// `hashrig devices`.
pub(crate) fn list(json: bool) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let kernels: Vec<&str> = CpuKernel::available().iter().map(|k| k.name()).collect();
    let fastest = CpuKernel::fastest();
    let threads = cpu_threads(None)?;
    if json {
        writeln!(
            out,
            "{}",
            json!({"type": "device", "kind": "cpu", "name": cpu_name(), "threads": threads,
                   "kernels": kernels, "kernel": fastest.name(), "auto": true})
        )?;
    } else {
        writeln!(
            out,
            "cpu  {}  {threads} threads  kernels: {}  (fastest: {fastest})",
            cpu_name(),
            kernels.join(", ")
        )?;
    }
    for a in gpu::adapters() {
        let i = &a.info;
        if json {
            let line = json!({"type": "device", "kind": "gpu", "index": a.index, "name": i.name,
                "vendor": format!("{:#06x}", i.vendor), "device_id": format!("{:#06x}", i.device),
                "device_type": format!("{:?}", i.device_type), "backend": format!("{:?}", i.backend),
                "driver": i.driver, "driver_info": i.driver_info, "pci_bus_id": i.device_pci_bus_id,
                "software": a.software, "auto": a.auto(), "reason": a.skipped_because});
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "gpu {}  {}  {:?} {:?}  driver {} {}  pci {}  {}",
                a.index,
                i.name,
                i.device_type,
                i.backend,
                i.driver,
                i.driver_info,
                if i.device_pci_bus_id.is_empty() {
                    "-"
                } else {
                    &i.device_pci_bus_id
                },
                match &a.skipped_because {
                    None => "auto: yes".to_string(),
                    Some(why) => format!("auto: no ({why})"),
                }
            )?;
        }
    }
    Ok(0)
}

/// Known-answer tests on every CPU kernel: NIST vectors through the
/// kernel's compression, and the genesis block found at its real target.
pub(crate) fn selftest() -> Vec<(String, Result<(), String>)> {
    let mut results: Vec<_> = CpuKernel::available()
        .into_iter()
        .map(|kernel| (format!("cpu {kernel}"), cpu_selftest(kernel)))
        .collect();
    for a in gpu::adapters() {
        let outcome = GpuDevice::open(&a, LaunchConfig::default()).and_then(|d| d.self_test());
        results.push((
            format!("gpu {}", a.label()),
            outcome.map_err(|e| e.to_string()),
        ));
    }
    results
}

fn cpu_selftest(kernel: CpuKernel) -> Result<(), String> {
    let abc = kernel
        .sha256_many(&[b"abc".as_slice(); 16])
        .map_err(|e| e.to_string())?;
    if abc
        .iter()
        .any(|d| d.to_hex() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    {
        return Err("SHA-256(\"abc\") is wrong".into());
    }
    let on = |kernel: CpuKernel, job: &Job, range: NonceRange| {
        let options = SearchOptions {
            kernel: Some(kernel),
            ..Default::default()
        };
        search(job, range, &options).map_err(|e| e.to_string())
    };
    let genesis = Header::from_hex(GENESIS_HEX).map_err(|e| e.to_string())?;
    let job = Job::from(HeaderJob::from_header(genesis).map_err(|e| e.to_string())?);
    let report = on(
        kernel,
        &job,
        NonceRange::new(genesis.nonce as u64 - 40_000, 65_536),
    )?;
    let nonces: Vec<u64> = report.solutions.iter().map(|s| s.nonce).collect();
    if nonces != [genesis.nonce as u64] {
        return Err(format!(
            "genesis search found {nonces:?}, expected [{}]",
            genesis.nonce
        ));
    }
    // An easy target: the kernel must agree with the reference on every solution.
    let easy = Job::from(HeaderJob::new(
        genesis,
        Target::from_leading_zero_bits(8).map_err(|e| e.to_string())?,
    ));
    let range = NonceRange::new(0, 20_000);
    let got = on(kernel, &easy, range)?;
    let want = on(CpuKernel::Soft, &easy, range)?;
    if got.solutions != want.solutions {
        return Err("solutions at an easy target differ from the reference".into());
    }
    Ok(())
}
