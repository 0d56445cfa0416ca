//! Device choice for the command line: resolves `--backend`, `--device`,
//! `--threads` and `--cpu-kernel` into what hashes, and runs searches,
//! benchmarks and self-tests on it.

use std::io::Write;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use hashrig::{
    search, CancelToken, CpuKernel, Header, HeaderJob, Job, NonceRange, SearchReport, Target,
};
use serde_json::json;

use hashrig::gpu::{self, GpuDevice, LaunchConfig};

use crate::{cpu_kernel, cpu_options, BackendChoice, DeviceArgs, Progress};

/// Bitcoin's genesis header, the known answer for self-tests and the bench job.
pub(crate) const GENESIS_HEX: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// What the command line hashes on.
pub(crate) enum Chosen {
    Cpu {
        kernel: CpuKernel,
        threads: usize,
    },
    Gpus {
        gpus: Vec<GpuDevice>,
        kernel: CpuKernel,
    },
}

/// One device's benchmark result.
pub(crate) struct BenchResult {
    pub name: String,
    pub kind: &'static str,
    pub mhs: f64,
    pub detail: String,
    pub extra: serde_json::Value,
}

impl BenchResult {
    pub fn to_json(&self) -> serde_json::Value {
        let mut v =
            json!({"type": "device", "name": self.name, "kind": self.kind, "mhs": self.mhs});
        if let (Some(obj), Some(extra)) = (v.as_object_mut(), self.extra.as_object()) {
            obj.extend(extra.clone());
        }
        v
    }
}

fn cpu_threads(requested: Option<usize>) -> Result<usize> {
    match requested {
        Some(0) => bail!("threads: must be at least 1"),
        Some(n) if n > 4096 => bail!("threads: {n} is more than 4096"),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Resolves the device options.
pub(crate) fn choose(args: &DeviceArgs) -> Result<Chosen> {
    let threads = cpu_threads(args.threads)?;
    let kernel = cpu_kernel(args.cpu_kernel.as_deref())?;
    if args.backend == BackendChoice::Cpu {
        return Ok(Chosen::Cpu { kernel, threads });
    }
    let all = gpu::adapters();
    let selected = gpu::select(&all, &args.devices)?;
    let mut gpus = Vec::new();
    for entry in &selected {
        match GpuDevice::open(entry, LaunchConfig::default())
            .and_then(|d| d.self_test().map(|()| d))
        {
            Ok(d) => gpus.push(d),
            Err(e) => eprintln!("hashrig: warning: leaving out {}: {e}", entry.label()),
        }
    }
    if !gpus.is_empty() {
        return Ok(Chosen::Gpus { gpus, kernel });
    }
    if args.backend == BackendChoice::Gpu {
        let why = if selected.is_empty() {
            "no usable GPU adapter found"
        } else {
            "no selected GPU passed its self-test"
        };
        bail!("gpu: {why} (see `hashrig devices`)");
    }
    eprintln!("hashrig: no usable GPU adapter; hashing on the CPU");
    Ok(Chosen::Cpu { kernel, threads })
}

impl Chosen {
    /// Searches `range`; returns the device's name and the report.
    pub fn search(
        &self,
        job: &Job,
        range: NonceRange,
        first: bool,
        progress: Option<Arc<AtomicU64>>,
        cancel: Option<CancelToken>,
    ) -> Result<(String, SearchReport)> {
        match self {
            Chosen::Cpu { kernel, threads } => {
                let options = cpu_options(*kernel, Some(*threads), first, progress, cancel);
                Ok((
                    format!("cpu ({kernel}, {threads} threads)"),
                    search(job, range, &options)?,
                ))
            }
            Chosen::Gpus { gpus, kernel } => {
                // Equal shares of the range, one per GPU, searched side by side.
                let share = range.count.div_ceil(gpus.len() as u64);
                let results: Vec<_> = std::thread::scope(|scope| {
                    let handles: Vec<_> = gpus
                        .iter()
                        .enumerate()
                        .filter_map(|(i, g)| {
                            let start = range.start + i as u64 * share;
                            let count =
                                share.min((range.start + range.count).saturating_sub(start));
                            (count > 0).then(|| {
                                let options = cpu_options(
                                    *kernel,
                                    None,
                                    first,
                                    progress.clone(),
                                    cancel.clone(),
                                );
                                scope.spawn(move || {
                                    g.search(job, NonceRange::new(start, count), &options)
                                })
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("search thread"))
                        .collect()
                });
                let mut report: Option<SearchReport> = None;
                for r in results {
                    let r = r?;
                    report = Some(match report {
                        None => r,
                        Some(mut t) => {
                            t.solutions.extend(r.solutions);
                            t.hashes += r.hashes;
                            t.elapsed = t.elapsed.max(r.elapsed);
                            t
                        }
                    });
                }
                let mut report = report.expect("at least one GPU");
                report.solutions.sort();
                if first {
                    report.solutions.truncate(1);
                }
                let names: Vec<&str> = gpus.iter().map(|g| g.name()).collect();
                Ok((names.join(" + "), report))
            }
        }
    }

    /// Hashes `job` for `seconds` on each device.
    pub fn bench(&self, job: &Job, seconds: f64) -> Result<Vec<BenchResult>> {
        match self {
            Chosen::Cpu { kernel, threads } => {
                let progress = Progress::start("cpu", None, Some(seconds));
                let (cancel, timer) = cancel_after(seconds);
                let options = cpu_options(
                    *kernel,
                    Some(*threads),
                    false,
                    Some(progress.hashes.clone()),
                    Some(cancel),
                );
                let report = search(job, NonceRange::FULL_HEADER, &options);
                progress.finish();
                let _ = timer.join();
                let report = report?;
                Ok(vec![BenchResult {
                    name: format!("cpu: {}", cpu_name()),
                    kind: "cpu",
                    mhs: report.rate() / 1e6,
                    detail: format!("{kernel}, {threads} threads"),
                    extra: json!({"kernel": kernel.name(), "threads": threads,
                                  "hashes": report.hashes, "seconds": report.elapsed.as_secs_f64()}),
                }])
            }
            Chosen::Gpus { gpus, .. } => gpus.iter().map(|g| bench_gpu(g, job, seconds)).collect(),
        }
    }
}

/// A token that a timer thread cancels after `seconds`.
fn cancel_after(seconds: f64) -> (CancelToken, std::thread::JoinHandle<()>) {
    let cancel = CancelToken::new();
    let timer = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(seconds));
            cancel.cancel();
        })
    };
    (cancel, timer)
}

fn bench_gpu(g: &GpuDevice, job: &Job, seconds: f64) -> Result<BenchResult> {
    // One untimed batch first: pipeline compilation and first-use costs.
    g.search(
        job,
        NonceRange::new(0, g.config().batch_nonces as u64),
        &Default::default(),
    )?;
    let progress = Progress::start(g.name(), None, Some(seconds));
    let (cancel, timer) = cancel_after(seconds);
    let options = cpu_options(
        CpuKernel::fastest(),
        None,
        false,
        Some(progress.hashes.clone()),
        Some(cancel),
    );
    let report = g.search(job, NonceRange::FULL_HEADER, &options);
    progress.finish();
    let _ = timer.join();
    let report = report?;
    let c = g.config();
    Ok(BenchResult {
        name: format!("gpu: {}", g.name()),
        kind: "gpu",
        mhs: report.rate() / 1e6,
        detail: format!(
            "{} nonces/invocation, {} nonces/batch",
            c.nonces_per_invocation, c.batch_nonces
        ),
        extra: json!({"hashes": report.hashes, "seconds": report.elapsed.as_secs_f64(),
                      "hardware_errors": g.hardware_errors(),
                      "nonces_per_invocation": c.nonces_per_invocation, "batch_nonces": c.batch_nonces}),
    })
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
    let genesis = Header::from_hex(GENESIS_HEX).map_err(|e| e.to_string())?;
    let job = Job::from(HeaderJob::from_header(genesis).map_err(|e| e.to_string())?);
    let range = NonceRange::new(genesis.nonce as u64 - 40_000, 65_536);
    let report = search(&job, range, &cpu_options(kernel, None, false, None, None))
        .map_err(|e| e.to_string())?;
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
    let got = search(&easy, range, &cpu_options(kernel, None, false, None, None))
        .map_err(|e| e.to_string())?;
    let want = search(
        &easy,
        range,
        &cpu_options(CpuKernel::Soft, None, false, None, None),
    )
    .map_err(|e| e.to_string())?;
    if got.solutions != want.solutions {
        return Err("solutions at an easy target differ from the reference".into());
    }
    Ok(())
}
