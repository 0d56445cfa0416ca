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

use crate::{cpu_kernel, cpu_options, BackendChoice, DeviceArgs, Progress};

/// Bitcoin's genesis header, the known answer for self-tests and the bench job.
pub(crate) const GENESIS_HEX: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// What the command line hashes on.
pub(crate) enum Chosen {
    Cpu { kernel: CpuKernel, threads: usize },
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
    match args.backend {
        BackendChoice::Cpu => Ok(Chosen::Cpu { kernel, threads }),
        BackendChoice::Auto => {
            eprintln!("hashrig: no usable GPU adapter; hashing on the CPU");
            Ok(Chosen::Cpu { kernel, threads })
        }
        BackendChoice::Gpu => bail!("gpu: this build has no GPU backend"),
    }
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
        }
    }

    /// Hashes `job` for `seconds` on each device.
    pub fn bench(&self, job: &Job, seconds: f64) -> Result<Vec<BenchResult>> {
        match self {
            Chosen::Cpu { kernel, threads } => {
                let progress = Progress::start("cpu", None, Some(seconds));
                let cancel = CancelToken::new();
                let timer = {
                    let cancel = cancel.clone();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_secs_f64(seconds));
                        cancel.cancel();
                    })
                };
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
        }
    }
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
    Ok(0)
}

/// Known-answer tests on every CPU kernel: NIST vectors through the
/// kernel's compression, and the genesis block found at its real target.
pub(crate) fn selftest() -> Vec<(String, Result<(), String>)> {
    CpuKernel::available()
        .into_iter()
        .map(|kernel| (format!("cpu {kernel}"), cpu_selftest(kernel)))
        .collect()
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
