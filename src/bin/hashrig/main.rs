//! The `hashrig` command: mine a header, solve a generic proof-of-work job,
//! benchmark, list devices and self-test. Results go to stdout (text or
//! JSON Lines), progress and notices to stderr. Exit status: 0 success or
//! found, 1 nothing found (or a self-test failed), 2 bad input or error.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hashrig::engine::{DeviceState, Event, RollTime, Work};
use hashrig::{
    CompactTarget, CpuKernel, GenericJob, Header, HeaderJob, Job, NonceEndian, NonceRange, Target,
};
use serde_json::json;

mod devices;

/// SHA-256d nonce search on GPUs and CPUs, every solution verified.
#[derive(Parser)]
#[command(name = "hashrig", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Search a Bitcoin header's nonce field for a block hash at or below a target.
    Mine(MineArgs),
    /// Search a generic proof-of-work job: SHA-256(d) of data || nonce || suffix.
    Pow(PowArgs),
    /// Measure the hashrate of each device and the total.
    Bench(BenchArgs),
    /// List what can hash here.
    Devices(DevicesArgs),
    /// Run known-answer tests on every kernel and device.
    Selftest(SelftestArgs),
    /// Measure each GPU's best launch settings now and cache them.
    Calibrate(CalibrateArgs),
}

#[derive(Args)]
struct CalibrateArgs {
    /// GPU selector: an index, part of the adapter name, or a PCI bus id.
    /// Repeat for several. Defaults to $HASHRIG_DEVICE, else every usable GPU.
    #[arg(long = "device", value_name = "SELECTOR")]
    devices: Vec<String>,
    /// GPU batch duration to aim for, in milliseconds.
    #[arg(long, default_value_t = 20)]
    batch_ms: u64,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

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

#[derive(Args, Clone)]
pub(crate) struct DeviceArgs {
    /// auto: GPUs if usable, else CPU; cpu; gpu.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// GPU selector: an index, part of the adapter name, or a PCI bus id.
    /// Repeat for several. Defaults to $HASHRIG_DEVICE.
    #[arg(long = "device", value_name = "SELECTOR")]
    pub devices: Vec<String>,
    /// CPU worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// CPU kernel: soft, scalar, sha-ni, avx2, avx512, neon, arm-sha2 (default: the fastest measured).
    #[arg(long, value_name = "KERNEL")]
    pub cpu_kernel: Option<String>,
    /// Whether the CPU hashes beside the GPUs (auto: only when no GPU is usable).
    #[arg(long, value_enum, default_value_t = CpuChoice::Auto)]
    pub cpu: CpuChoice,
    /// GPU batch duration to aim for, in milliseconds (bounds job-switch latency).
    #[arg(long, default_value_t = 20)]
    pub batch_ms: u64,
    /// Measure GPU launch settings again instead of using the cache.
    #[arg(long)]
    pub recalibrate: bool,
}

/// Whether the CPU hashes beside the GPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CpuChoice {
    /// Only when no GPU is usable.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

#[derive(Args)]
struct MineArgs {
    /// The 80-byte header as 160 hex digits.
    #[arg(long)]
    header: String,
    /// Target as 8 hex digits of compact nBits (default: the header's own).
    #[arg(long, group = "target_choice")]
    bits: Option<String>,
    /// Target as 64 hex digits, most significant first.
    #[arg(long, group = "target_choice")]
    target: Option<String>,
    /// Target as pool difficulty (difficulty 1 = 0x00000000ffff0000…).
    #[arg(long, group = "target_choice", allow_negative_numbers = true)]
    difficulty: Option<String>,
    /// Target as a number of leading zero bits of the block hash.
    #[arg(long, group = "target_choice")]
    zero_bits: Option<String>,
    /// First nonce (decimal or 0x-hex).
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    start: String,
    /// Number of nonces. Without it the search runs to the end of the 32-bit
    /// space and then goes on with the header's time field rolled forward
    /// one second at a time (each solution then shows its header).
    #[arg(long, allow_negative_numbers = true)]
    count: Option<String>,
    /// Find every solution in the range instead of stopping at the first.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    device: DeviceArgs,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// Nonce byte order for `pow`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Endian {
    Le,
    Be,
}

#[derive(Args)]
struct PowArgs {
    /// The bytes before the nonce, as text.
    #[arg(long, group = "data_choice", required = true)]
    data: Option<String>,
    /// The bytes before the nonce, as hex.
    #[arg(long, group = "data_choice")]
    data_hex: Option<String>,
    /// Bytes after the nonce, as hex.
    #[arg(long)]
    suffix_hex: Option<String>,
    /// Leading zero bits the hash must have.
    #[arg(long, group = "pow_target", required = true)]
    zero_bits: Option<String>,
    /// Target as 64 hex digits; the hash, read big-endian, must be at most this.
    #[arg(long, group = "pow_target")]
    target: Option<String>,
    /// SHA-256d instead of SHA-256.
    #[arg(long)]
    double: bool,
    /// Byte order of the 8-byte nonce.
    #[arg(long, value_enum, default_value_t = Endian::Le)]
    nonce_endian: Endian,
    /// First nonce (decimal or 0x-hex).
    #[arg(long, default_value = "0", allow_negative_numbers = true)]
    start: String,
    /// Number of nonces (default 2^32).
    #[arg(long, allow_negative_numbers = true)]
    count: Option<String>,
    /// Find every solution in the range instead of stopping at the first.
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    device: DeviceArgs,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// Seconds to measure (all devices at once, after a short warm-up).
    #[arg(long, default_value = "3")]
    seconds: String,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DevicesArgs {
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SelftestArgs {
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// Bad input or a failure: exit status 2.
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // clap's message up to its usage block, folded into one line.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!(
                "hashrig: {}",
                message.join(" ").trim_start_matches("error: ")
            );
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = match cli.command {
        Command::Mine(a) => mine(a),
        Command::Pow(a) => pow(a),
        Command::Bench(a) => bench(a),
        Command::Devices(a) => devices::list(a.json),
        Command::Selftest(a) => selftest(a.json),
        Command::Calibrate(a) => devices::calibrate(&a.devices, a.batch_ms, a.json),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hashrig: {}", one_line(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

/// Parses a non-negative integer, decimal or 0x-hex, naming the option.
fn parse_u64(option: &str, text: &str) -> Result<u64> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| anyhow::anyhow!("{option}: {text:?} is not a non-negative integer"))
}

fn parse_zero_bits(text: &str) -> Result<Target> {
    let bits: u32 = text
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("zero-bits: {text:?} is not a non-negative integer"))?;
    Ok(Target::from_leading_zero_bits(bits)?)
}

fn parse_difficulty(text: &str) -> Result<Target> {
    let d: f64 = text
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("difficulty: {text:?} is not a number"))?;
    Ok(Target::from_difficulty(d)?)
}

/// The nonce range from --start and --count, checked against the job.
fn nonce_range(job: &Job, start: &str, count: Option<&str>) -> Result<NonceRange> {
    let start = parse_u64("start", start)?;
    let count = match count {
        Some(c) => parse_u64("count", c)?,
        None => match job {
            Job::Header(_) => (1u64 << 32)
                .checked_sub(start)
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "range: start {start} is past the 32-bit nonce space of a header"
                    )
                })?,
            Job::Generic(_) => ((1u128 << 64) - start as u128).min(1 << 32) as u64,
        },
    };
    let range = NonceRange::new(start, count);
    range.check(job)?;
    Ok(range)
}

/// Runs `job` over `range` on every selected device, printing each
/// solution on stdout as it is found and a summary at the end; returns 0
/// if any solution was found, else 1.
/// With `roll`, a header job goes on past its nonce space with the time
/// field rolled (see [`RollTime`]).
fn run_job(
    job: &Job,
    range: NonceRange,
    all: bool,
    roll: bool,
    device: &DeviceArgs,
    json: bool,
) -> Result<u8> {
    let engine = Arc::new(devices::engine(device)?);
    let names: Vec<String> = engine.stats().iter().map(|d| d.name.clone()).collect();
    let names = names.join(" + ");
    let started = Instant::now();
    let status = devices::Status::start(&engine, Some(range.count));
    let mut work = Work::new(job.clone()).range(range);
    if roll {
        work = work.then(RollTime);
    }
    let id = engine.submit(work)?;
    let mut found = 0usize;
    let mut failure: Option<String> = None;
    let mut out = std::io::stdout().lock();
    while let Some(event) = engine.recv() {
        match event {
            Event::Solution(s) if s.job == id && !s.stale => {
                found += 1;
                let (nonce, hash) = (s.solution.nonce, s.work.display_hash(&s.solution.hash));
                // The solved header, nonce filled in (its time may be rolled).
                let header = match &*s.work {
                    Job::Header(h) => Some(h.header.with_nonce(nonce as u32).to_hex()),
                    Job::Generic(_) => None,
                };
                if json {
                    let mut line = json!({"type": "solution", "nonce": nonce,
                        "nonce_hex": format!("{nonce:#x}"), "hash": hash, "device": s.device});
                    if let Some(h) = &header {
                        line["header"] = json!(h);
                    }
                    writeln!(out, "{line}")?;
                } else if *s.work != *job {
                    let h = header.unwrap_or_default();
                    writeln!(
                        out,
                        "solution nonce {nonce} ({nonce:#x}) hash {hash} header {h}"
                    )?;
                } else {
                    writeln!(out, "solution nonce {nonce} ({nonce:#x}) hash {hash}")?;
                }
                out.flush()?;
                if !all {
                    break;
                }
            }
            Event::Solution(_) => {}
            Event::Exhausted(done) if done == id => break,
            Event::Exhausted(_) => {}
            Event::DeviceFailed { device, reason } => {
                eprintln!("hashrig: {device} taken out of service: {reason}");
                let stats = engine.stats();
                if stats
                    .iter()
                    .all(|d| matches!(d.state, DeviceState::Failed(_)))
                {
                    failure = Some(format!("every device failed; the last: {device}: {reason}"));
                    break;
                }
            }
        }
    }
    engine.pause();
    status.finish();
    if let Some(f) = failure {
        bail!(f);
    }
    let secs = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    let hashes: u64 = stats.iter().map(|d| d.hashes).sum();
    let hardware_errors: u64 = stats.iter().map(|d| d.hardware_errors).sum();
    let mhs = hashes as f64 / secs.max(1e-9) / 1e6;
    if json {
        writeln!(
            out,
            "{}",
            json!({"type": "summary", "found": found, "hashes": hashes, "seconds": secs,
                   "mhs": mhs, "device": names, "hardware_errors": hardware_errors,
                   "cancelled": false})
        )?;
    } else {
        eprintln!("{found} solution(s), {hashes} hashes in {secs:.3} s ({mhs:.2} MH/s) on {names}");
    }
    Ok(if found == 0 { 1 } else { 0 })
}

fn mine(a: MineArgs) -> Result<u8> {
    let header = Header::from_hex(&a.header)?;
    let target = if let Some(bits) = &a.bits {
        Target::from_compact(CompactTarget::from_hex(bits)?).map_err(hashrig::Error::from)?
    } else if let Some(t) = &a.target {
        Target::from_hex(t)?
    } else if let Some(d) = &a.difficulty {
        parse_difficulty(d)?
    } else if let Some(z) = &a.zero_bits {
        parse_zero_bits(z)?
    } else {
        Target::from_compact(header.bits).map_err(hashrig::Error::from)?
    };
    let job = Job::from(HeaderJob::new(header, target));
    let range = nonce_range(&job, &a.start, a.count.as_deref())?;
    let roll = a.count.is_none();
    run_job(&job, range, a.all, roll, &a.device, a.json)
}

fn pow(a: PowArgs) -> Result<u8> {
    let prefix = match (&a.data, &a.data_hex) {
        (Some(text), _) => text.as_bytes().to_vec(),
        (None, Some(hex)) => hashrig::hex::decode("data-hex", hex)?,
        (None, None) => bail!("pow: give --data or --data-hex"),
    };
    let suffix = match &a.suffix_hex {
        Some(hex) => hashrig::hex::decode("suffix-hex", hex)?,
        None => Vec::new(),
    };
    let target = match (&a.zero_bits, &a.target) {
        (Some(z), _) => parse_zero_bits(z)?,
        (None, Some(t)) => Target::from_hex(t)?,
        (None, None) => bail!("pow: give --zero-bits or --target"),
    };
    let job = Job::from(GenericJob {
        prefix,
        suffix,
        nonce_endian: match a.nonce_endian {
            Endian::Le => NonceEndian::Little,
            Endian::Be => NonceEndian::Big,
        },
        double: a.double,
        target,
    });
    let range = nonce_range(&job, &a.start, a.count.as_deref())?;
    run_job(&job, range, a.all, false, &a.device, a.json)
}

fn bench(a: BenchArgs) -> Result<u8> {
    let seconds: f64 = a
        .seconds
        .trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
        .with_context(|| {
            format!(
                "seconds: {:?} is not a number of seconds between 0 and 3600",
                a.seconds
            )
        })?;
    // A benchmark reports every GPU and the CPU unless told otherwise.
    let mut device = a.device.clone();
    if device.cpu == CpuChoice::Auto && device.backend == BackendChoice::Auto {
        device.cpu = CpuChoice::On;
    }
    let engine = Arc::new(devices::engine(&device)?);
    // Genesis at a target no hash meets in a benchmark: pure hashing work,
    // with the time field rolled if 2^32 nonces run out.
    let header = Header::from_hex(devices::GENESIS_HEX)?.with_nonce(0);
    let job = Job::from(HeaderJob::new(header, Target::from_leading_zero_bits(64)?));
    let status = devices::Status::start(&engine, None);
    engine.submit(Work::new(job).then(RollTime))?;
    // A short warm-up settles batch sizes and clocks before the measurement.
    std::thread::sleep(Duration::from_secs_f64((seconds / 5.0).clamp(0.2, 2.0)));
    let before = engine.stats();
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let after = engine.stats();
    let secs = t0.elapsed().as_secs_f64();
    engine.pause();
    status.finish();
    let mut out = std::io::stdout().lock();
    let (mut total, mut total_eff) = (0.0, 0.0);
    let mut failed = Vec::new();
    for (b, d) in before.iter().zip(&after) {
        if let DeviceState::Failed(reason) = &d.state {
            failed.push(format!("{}: {reason}", d.name));
        }
        let mhs = (d.hashes - b.hashes) as f64 / secs / 1e6;
        let eff = (d.effective_hashes - b.effective_hashes) / secs / 1e6;
        let proofs = d.proofs - b.proofs;
        total += mhs;
        total_eff += eff;
        if a.json {
            let mut line = json!({"type": "device", "name": d.name, "kind": d.kind.name(),
                "mhs": mhs, "effective_mhs": eff, "proofs": proofs,
                "hardware_errors": d.hardware_errors, "state": d.state.name(), "seconds": secs});
            let obj = line.as_object_mut().expect("an object");
            if let Some(k) = d.details.cpu_kernel {
                obj.insert("kernel".into(), json!(k.name()));
            }
            if let Some(t) = d.details.threads {
                obj.insert("threads".into(), json!(t));
            }
            if let Some(n) = d.details.nonces_per_invocation {
                obj.insert("nonces_per_invocation".into(), json!(n));
            }
            if let Some(w) = d.details.workgroup_size {
                obj.insert("workgroup_size".into(), json!(w));
            }
            writeln!(out, "{line}")?;
        } else {
            writeln!(
                out,
                "{:<40} {mhs:>10.2} MH/s  (effective {eff:.2} from {proofs} proofs, HW {})",
                d.name, d.hardware_errors
            )?;
        }
    }
    if a.json {
        writeln!(
            out,
            "{}",
            json!({"type": "total", "mhs": total, "effective_mhs": total_eff,
                   "devices": after.len(), "seconds": secs})
        )?;
    } else {
        writeln!(
            out,
            "{:<40} {total:>10.2} MH/s  (effective {total_eff:.2})",
            "total"
        )?;
    }
    for f in &failed {
        eprintln!("hashrig: failed during the bench: {f}");
    }
    Ok(0)
}

fn selftest(json: bool) -> Result<u8> {
    let results = devices::selftest();
    let mut out = std::io::stdout().lock();
    let mut failed = 0;
    for (name, outcome) in &results {
        if outcome.is_err() {
            failed += 1;
        }
        if json {
            let line = json!({"type": "selftest", "device": name, "ok": outcome.is_ok(),
                               "error": outcome.as_ref().err()});
            writeln!(out, "{line}")?;
        } else {
            match outcome {
                Ok(()) => writeln!(out, "ok    {name}")?,
                Err(e) => writeln!(out, "FAIL  {name}: {e}")?,
            }
        }
    }
    if !json {
        writeln!(out, "{} passed, {} failed", results.len() - failed, failed)?;
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Resolves `--cpu-kernel` to a kernel this CPU runs.
pub(crate) fn cpu_kernel(choice: Option<&str>) -> Result<CpuKernel> {
    Ok(match choice {
        Some(name) => name.parse::<CpuKernel>()?.require()?,
        None => CpuKernel::fastest(),
    })
}
