//! The arguments that several commands share, parsed into the library's
//! types by clap (bad input: one line, exit 2), and the engine they choose.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use hashrig::engine::{CpuUse, DeviceKind, Engine, EngineOptions};
use hashrig::{CpuKernel, Target};

/// Which hardware hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendChoice {
    /// GPUs when usable ones exist, else the CPU.
    Auto,
    /// The CPU only.
    Cpu,
    /// GPUs only; an error if none is usable.
    Gpu,
}

/// `--cpu`: whether the CPU hashes beside the GPUs (the library's
/// [`CpuUse`], spelt for the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CpuChoice {
    /// Only when no GPU is usable.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

impl From<CpuChoice> for CpuUse {
    fn from(c: CpuChoice) -> CpuUse {
        match c {
            CpuChoice::Auto => CpuUse::Auto,
            CpuChoice::On => CpuUse::On,
            CpuChoice::Off => CpuUse::Off,
        }
    }
}

/// The devices a command hashes on.
#[derive(Args, Clone)]
pub(crate) struct DeviceArgs {
    /// auto: GPUs if usable, else CPU; cpu; gpu.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// GPU selector: an index, part of the adapter name, or a PCI bus id,
    /// optionally with a backend (`llvmpipe@gl`, `@vulkan`); software
    /// adapters such as llvmpipe may be named. Repeat for several.
    /// Defaults to $HASHRIG_DEVICE, which means what the same --device
    /// would (except beside --backend cpu, which it does not contradict).
    #[arg(long = "device", value_name = "SELECTOR")]
    pub devices: Vec<String>,
    /// CPU worker threads (default: every core).
    #[arg(long, value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// CPU kernel: soft, scalar, sha-ni, sha-ni-60, avx2, avx512, avx2-pipelined, avx512-pipelined, avx512vl, avx512vl-pipelined, neon, neon-pipelined, arm-sha2 (default: the fastest measured).
    #[arg(long, value_name = "KERNEL", value_parser = parse_kernel)]
    pub cpu_kernel: Option<CpuKernel>,
    /// Whether the CPU hashes beside the GPUs (auto: only when no GPU is usable).
    #[arg(long, value_enum, default_value_t = CpuChoice::Auto)]
    pub cpu: CpuChoice,
    /// GPU batch duration to aim for, in milliseconds (bounds job-switch latency).
    #[arg(long, default_value_t = 20, value_parser = parse_batch_ms)]
    pub batch_ms: u64,
    /// Measure GPU launch settings again instead of using the cache.
    #[arg(long)]
    pub recalibrate: bool,
    /// GPU kernel form: constant-rotates, rotation-amounts (default: the
    /// fastest calibration measures on each GPU).
    #[arg(long, value_name = "FORM", value_parser = parse_kernel_form)]
    pub kernel_form: Option<hashrig::gpu::KernelForm>,
}

/// A GPU kernel form by name.
pub(crate) fn parse_kernel_form(text: &str) -> Result<hashrig::gpu::KernelForm, String> {
    text.trim()
        .parse()
        .map_err(|e: hashrig::gpu::UnknownKernelForm| e.to_string())
}

/// The part of the nonce space a search covers.
#[derive(Args, Clone)]
pub(crate) struct RangeArgs {
    /// First nonce (decimal or 0x-hex).
    #[arg(long, default_value = "0", value_parser = parse_nonce, allow_negative_numbers = true)]
    pub start: u64,
    /// Number of nonces.
    #[arg(long, value_parser = parse_nonce, allow_negative_numbers = true)]
    pub count: Option<u64>,
    /// Find every solution in the range instead of stopping at the first.
    #[arg(long)]
    pub all: bool,
}

/// A non-negative integer, decimal or 0x-hex.
pub(crate) fn parse_nonce(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| format!("{text:?} is not a non-negative integer"))
}

fn parse_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("threads: must be at least 1".into()),
        Ok(n) if n > hashrig::cpu::max_threads() => Err(format!(
            "threads: {n} is more than {} (16 per core here)",
            hashrig::cpu::max_threads()
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("threads: {text:?} is not a positive integer")),
    }
}

/// A GPU batch time in whole milliseconds, 1 to 2000.
pub(crate) fn parse_batch_ms(text: &str) -> Result<u64, String> {
    let (low, high) = (
        hashrig::engine::BATCH_TIMES.start().as_millis() as u64,
        hashrig::engine::BATCH_TIMES.end().as_millis() as u64,
    );
    match text.trim().parse::<u64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        _ => Err(format!(
            "batch-ms: {text:?} is not a whole number of milliseconds from {low} to {high}"
        )),
    }
}

fn parse_kernel(text: &str) -> Result<CpuKernel, hashrig::Error> {
    text.parse::<CpuKernel>()?.require()
}

/// A target given as leading zero bits.
pub(crate) fn parse_zero_bits(text: &str) -> Result<Target, String> {
    let bits: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("zero-bits: {text:?} is not a non-negative integer"))?;
    Target::from_leading_zero_bits(bits).map_err(|e| e.to_string())
}

/// A target given as pool difficulty.
pub(crate) fn parse_difficulty(text: &str) -> Result<Target, String> {
    let d: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("difficulty: {text:?} is not a number"))?;
    Target::from_difficulty(d).map_err(|e| e.to_string())
}

/// A target given as 64 hex digits.
pub(crate) fn parse_target(text: &str) -> Result<Target, hashrig::Error> {
    Target::from_hex(text)
}

/// Whether the CPU hashes, from `--backend` and `--cpu`; refuses the
/// combinations that leave nothing to hash on or contradict each other
/// (checked by `config --check` too).
pub(crate) fn cpu_use(args: &DeviceArgs) -> Result<CpuUse> {
    if args.backend == BackendChoice::Cpu && !args.devices.is_empty() {
        bail!(
            "device: --device selects GPUs, and --backend cpu hashes on the CPU only (drop one of them)"
        );
    }
    Ok(match (args.backend, CpuUse::from(args.cpu)) {
        (BackendChoice::Cpu, CpuUse::Off) => {
            bail!("cpu: --backend cpu with --cpu off leaves nothing to hash on")
        }
        (BackendChoice::Cpu, _) | (_, CpuUse::On) => CpuUse::On,
        (BackendChoice::Gpu, CpuUse::Auto) | (_, CpuUse::Off) => CpuUse::Off,
        (BackendChoice::Auto, CpuUse::Auto) => CpuUse::Auto,
    })
}

/// Starts an engine on the devices `args` choose: `--backend`, `--device`,
/// `--cpu`, `--threads`, `--cpu-kernel`, `--batch-ms`. GPUs that fail to
/// open or fail their self-test are left out with a warning on stderr.
pub(crate) fn engine(args: &DeviceArgs) -> Result<Engine> {
    let cpu = cpu_use(args)?;
    let options = EngineOptions {
        cpu,
        cpu_threads: args.threads,
        cpu_kernel: args.cpu_kernel,
        gpus: args.backend != BackendChoice::Cpu,
        devices: args.devices.clone(),
        batch_time: Duration::from_millis(args.batch_ms),
        recalibrate: args.recalibrate,
        kernel_form: args.kernel_form,
        ..Default::default()
    };
    let engine = match Engine::start(options) {
        Ok(e) => e,
        Err(hashrig::Error::NoDevice(why)) if args.backend == BackendChoice::Gpu => {
            bail!("--backend gpu: {why}")
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
