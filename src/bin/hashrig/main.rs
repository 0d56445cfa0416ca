//! The `hashrig` command: mine a header, solve a generic proof-of-work job,
//! benchmark, list devices and self-test. Results go to stdout (text or
//! JSON Lines), progress and notices to stderr. Exit status: 0 success or
//! found, 1 nothing found (or a self-test failed), 2 bad input or error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use hashrig::{
    CancelToken, CompactTarget, CpuKernel, GenericJob, Header, HeaderJob, Job, NonceEndian,
    NonceRange, SearchOptions, SearchReport, Target,
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
    /// CPU kernel: soft, scalar, sha-ni, avx2, avx512 (default: the fastest measured).
    #[arg(long, value_name = "KERNEL")]
    pub cpu_kernel: Option<String>,
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
    /// Number of nonces (default: to the end of the 32-bit space).
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
    /// Seconds to measure each device.
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

/// A stderr status line, refreshed while a search runs, when stderr is a terminal.
pub(crate) struct Progress {
    pub hashes: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// Starts the display; `total` is the number of nonces (or None for a timed run of `seconds`).
    pub fn start(label: &str, total: Option<u64>, seconds: Option<f64>) -> Self {
        let hashes = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (hashes, done, label) = (hashes.clone(), done.clone(), label.to_string());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let n = hashes.load(Ordering::Relaxed);
                    let secs = started.elapsed().as_secs_f64();
                    let share = match (total, seconds) {
                        (Some(t), _) => n as f64 / t as f64,
                        (None, Some(s)) => secs / s,
                        _ => 0.0,
                    };
                    eprint!(
                        "\r{label}: {:.2} MH/s, {:.1}% done   ",
                        n as f64 / secs / 1e6,
                        100.0 * share.min(1.0)
                    );
                }
                eprint!("\r{}\r", " ".repeat(label.len() + 40));
            })
        });
        Progress {
            hashes,
            done,
            thread,
        }
    }

    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a search on the chosen backend with progress on stderr.
fn run_search(
    job: &Job,
    range: NonceRange,
    all: bool,
    device: &DeviceArgs,
) -> Result<(String, SearchReport)> {
    let chosen = devices::choose(device)?;
    let progress = Progress::start("searching", Some(range.count), None);
    let result = chosen.search(job, range, !all, Some(progress.hashes.clone()), None);
    progress.finish();
    result
}

/// Prints the solutions and a summary; returns 0 if any solution was found, else 1.
fn report_search(job: &Job, device: &str, report: &SearchReport, json: bool) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    for s in &report.solutions {
        let hash = job.display_hash(&s.hash);
        if json {
            writeln!(
                out,
                "{}",
                json!({"type": "solution", "nonce": s.nonce, "nonce_hex": format!("{:#x}", s.nonce), "hash": hash, "device": device})
            )?;
        } else {
            writeln!(
                out,
                "solution nonce {} ({:#x}) hash {hash}",
                s.nonce, s.nonce
            )?;
        }
    }
    let secs = report.elapsed.as_secs_f64();
    let mhs = report.rate() / 1e6;
    if json {
        writeln!(
            out,
            "{}",
            json!({"type": "summary", "found": report.solutions.len(), "hashes": report.hashes,
                   "seconds": secs, "mhs": mhs, "device": device, "cancelled": report.cancelled})
        )?;
    } else {
        eprintln!(
            "{} solution(s), {} hashes in {secs:.3} s ({mhs:.2} MH/s) on {device}",
            report.solutions.len(),
            report.hashes
        );
    }
    Ok(if report.solutions.is_empty() { 1 } else { 0 })
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
    let (device, report) = run_search(&job, range, a.all, &a.device)?;
    report_search(&job, &device, &report, a.json)
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
    let (device, report) = run_search(&job, range, a.all, &a.device)?;
    report_search(&job, &device, &report, a.json)
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
    let chosen = devices::choose(&a.device)?;
    // Genesis at a target no hash will meet in a few seconds: pure hashing work.
    let header = Header::from_hex(devices::GENESIS_HEX)?.with_nonce(0);
    let job = Job::from(HeaderJob::new(header, Target::from_leading_zero_bits(64)?));
    let mut out = std::io::stdout().lock();
    let mut total = 0.0;
    let results = chosen.bench(&job, seconds)?;
    for r in &results {
        total += r.mhs;
        if a.json {
            writeln!(out, "{}", r.to_json())?;
        } else {
            writeln!(out, "{:<40} {:>10.2} MH/s  ({})", r.name, r.mhs, r.detail)?;
        }
    }
    if a.json {
        writeln!(
            out,
            "{}",
            json!({"type": "total", "mhs": total, "devices": results.len(), "seconds": seconds})
        )?;
    } else {
        writeln!(out, "{:<40} {:>10.2} MH/s", "total", total)?;
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

/// Options for a CPU search.
pub(crate) fn cpu_options(
    kernel: CpuKernel,
    threads: Option<usize>,
    first: bool,
    progress: Option<Arc<AtomicU64>>,
    cancel: Option<CancelToken>,
) -> SearchOptions {
    SearchOptions {
        stop_at_first: first,
        threads,
        kernel: Some(kernel),
        cancel,
        progress,
    }
}
