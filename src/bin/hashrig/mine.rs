//! `hashrig mine` (a header's nonce field) and `hashrig pow` (a generic
//! proof-of-work job): one search on every selected device, each solution
//! printed as it is found, a summary at the end.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use hashrig::engine::{DeviceState, Event, RollTime, Work};
use hashrig::{CompactTarget, GenericJob, Header, HeaderJob, Job, NonceEndian, NonceRange, Target};
use serde::Serialize;

use crate::args::{self, DeviceArgs, RangeArgs};
use crate::monitor::MonitorArgs;
use crate::pool::PoolArgs;
use crate::report::Report;
use crate::session::{Lines, Session};

#[derive(Args)]
pub(crate) struct MineArgs {
    /// The 80-byte header as 160 hex digits (or --pool to mine on a pool).
    #[arg(long, value_parser = Header::from_hex, required_unless_present_any = ["pools", "nodes"], conflicts_with_all = ["pools", "nodes"])]
    header: Option<Header>,
    #[command(flatten)]
    pub(crate) pool: PoolArgs,
    /// Target as 8 hex digits of compact nBits (default: the header's own).
    #[arg(long, group = "target_choice", value_parser = parse_bits)]
    bits: Option<Target>,
    /// Target as 64 hex digits, most significant first.
    #[arg(long, group = "target_choice", value_parser = args::parse_target)]
    target: Option<Target>,
    /// Target as pool difficulty (difficulty 1 = 0x00000000ffff0000…).
    #[arg(long, group = "target_choice", allow_negative_numbers = true, value_parser = args::parse_difficulty)]
    difficulty: Option<Target>,
    /// Target as a number of leading zero bits of the block hash.
    #[arg(long, group = "target_choice", value_parser = args::parse_zero_bits)]
    zero_bits: Option<Target>,
    /// Without --count the search runs to the end of the 32-bit space and
    /// then goes on with the header's time field rolled forward one second
    /// at a time (each solution then shows its header).
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    device: DeviceArgs,
    #[command(flatten)]
    monitor: MonitorArgs,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_bits(text: &str) -> Result<Target, hashrig::Error> {
    Ok(Target::from_compact(CompactTarget::from_hex(text)?)?)
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("data_choice").required(true).args(["data", "data_hex", "data_file"])))]
#[command(group(clap::ArgGroup::new("pow_target").required(true).args(["zero_bits", "target"])))]
pub(crate) struct PowArgs {
    /// The bytes before the nonce, as text.
    #[arg(long)]
    data: Option<String>,
    /// The bytes before the nonce, as hex.
    #[arg(long, value_parser = parse_data_hex)]
    data_hex: Option<Bytes>,
    /// The bytes before the nonce, read from a file (`-`: standard input),
    /// for data longer than a command line takes.
    #[arg(long, value_name = "PATH")]
    data_file: Option<std::path::PathBuf>,
    /// Bytes after the nonce, as hex.
    #[arg(long, value_parser = parse_suffix_hex)]
    suffix_hex: Option<Bytes>,
    /// Leading zero bits the hash must have.
    #[arg(long, value_parser = args::parse_zero_bits)]
    zero_bits: Option<Target>,
    /// Target as 64 hex digits; the hash, read big-endian, must be at most this.
    #[arg(long, value_parser = args::parse_target)]
    target: Option<Target>,
    /// SHA-256d instead of SHA-256.
    #[arg(long)]
    double: bool,
    /// Byte order of the 8-byte nonce.
    #[arg(long, value_enum, default_value_t = EndianChoice::Le)]
    nonce_endian: EndianChoice,
    /// Without --count, 2^32 nonces are searched.
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    device: DeviceArgs,
    #[command(flatten)]
    monitor: MonitorArgs,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

/// `--nonce-endian`: the nonce's byte order in a generic job's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum EndianChoice {
    /// Least significant byte first.
    Le,
    /// Most significant byte first.
    Be,
}

/// The most `--data-file` reads: far beyond any proof-of-work prefix, and
/// bounded so that a wrong path (a device, a huge file) fails cleanly.
const MAX_DATA_FILE: u64 = 64 << 20;

/// Reads `--data-file` (`-` for standard input), at most [`MAX_DATA_FILE`].
fn read_data(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut data = Vec::new();
    let what = path.display();
    let read = if path.as_os_str() == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_DATA_FILE + 1)
            .read_to_end(&mut data)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_DATA_FILE + 1).read_to_end(&mut data))
    };
    read.map_err(|e| anyhow::anyhow!("data-file: {what}: {e}"))?;
    if data.len() as u64 > MAX_DATA_FILE {
        bail!(
            "data-file: {what} is larger than {} MiB",
            MAX_DATA_FILE >> 20
        );
    }
    Ok(data)
}

/// Bytes given as hex (one value: clap reads an `Option<Vec<_>>` as a list).
#[derive(Clone)]
struct Bytes(Vec<u8>);

fn parse_data_hex(text: &str) -> Result<Bytes, hashrig::Error> {
    hashrig::hex::decode("data-hex", text).map(Bytes)
}

fn parse_suffix_hex(text: &str) -> Result<Bytes, hashrig::Error> {
    hashrig::hex::decode("suffix-hex", text).map(Bytes)
}

/// A verified solution.
#[derive(Serialize)]
struct SolutionLine {
    nonce: u64,
    nonce_hex: String,
    /// Display order: reversed for block hashes.
    hash: String,
    device: String,
    /// The solved header (its time may be rolled), for header jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<String>,
    /// Whether the header differs from the one given (time rolled): the
    /// text form then shows it.
    #[serde(skip)]
    rolled: bool,
}

impl Report for SolutionLine {
    const TYPE: &'static str = "solution";
    fn text(&self) -> String {
        let (nonce, hash) = (self.nonce, &self.hash);
        match (&self.header, self.rolled) {
            (Some(h), true) => {
                format!("solution nonce {nonce} ({nonce:#x}) hash {hash} header {h}")
            }
            _ => format!("solution nonce {nonce} ({nonce:#x}) hash {hash}"),
        }
    }
}

/// What a search did.
#[derive(Serialize)]
struct Summary {
    found: usize,
    hashes: u64,
    seconds: f64,
    mhs: f64,
    /// Every device, joined by ` + `.
    device: String,
    hardware_errors: u64,
    cancelled: bool,
}

impl Report for Summary {
    const TYPE: &'static str = "summary";
    fn text(&self) -> String {
        let interrupted = if self.cancelled {
            "; interrupted before the end"
        } else {
            ""
        };
        format!(
            "{} solution(s), {} hashes in {:.3} s ({:.2} MH/s) on {}{interrupted}",
            self.found, self.hashes, self.seconds, self.mhs, self.device
        )
    }
    fn text_on_stderr(&self) -> bool {
        true
    }
}

/// What `mine` checks before it starts anything, and all that `config
/// --check` checks: the devices' options, the temperature limits, and the
/// pools (where no header is given).
pub(crate) fn check(a: &MineArgs) -> Result<()> {
    crate::args::cpu_use(&a.device)?;
    crate::monitor::health_options(&a.monitor)?;
    crate::monitor::check_listeners(&a.monitor)?;
    if a.header.is_none() {
        crate::pool::pool_options(&a.pool)?;
    }
    Ok(())
}

pub(crate) fn mine(a: MineArgs) -> Result<u8> {
    check(&a)?;
    let Some(header) = a.header else {
        return crate::pool::mine_pool(&a.pool, &a.device, &a.monitor, a.json);
    };
    let target = match a.bits.or(a.target).or(a.difficulty).or(a.zero_bits) {
        Some(t) => t,
        None => Target::from_compact(header.bits).map_err(hashrig::Error::from)?,
    };
    let job = Job::from(HeaderJob::new(header, target));
    let work = match a.range.count {
        Some(count) => Work::new(job.clone()).range(NonceRange::new(a.range.start, count)),
        None => Work::new(job.clone())
            .from_nonce(a.range.start)
            .then(RollTime),
    };
    run(&job, work, &a.range, &a.device, &a.monitor, a.json)
}

pub(crate) fn pow(a: PowArgs) -> Result<u8> {
    let prefix = match (a.data, a.data_hex, a.data_file) {
        (Some(text), _, _) => text.into_bytes(),
        (_, Some(hex), _) => hex.0,
        (_, _, Some(path)) => read_data(&path)?,
        _ => bail!("pow: give --data, --data-hex or --data-file"),
    };
    let Some(target) = a.zero_bits.or(a.target) else {
        bail!("pow: give --zero-bits or --target");
    };
    let job = Job::from(GenericJob {
        prefix,
        suffix: a.suffix_hex.map(|b| b.0).unwrap_or_default(),
        nonce_endian: match a.nonce_endian {
            EndianChoice::Le => NonceEndian::Little,
            EndianChoice::Be => NonceEndian::Big,
        },
        double: a.double,
        target,
    });
    let count = a
        .range
        .count
        .unwrap_or_else(|| ((1u128 << 64) - a.range.start as u128).min(1 << 32) as u64);
    let work = Work::new(job.clone()).range(NonceRange::new(a.range.start, count));
    run(&job, work, &a.range, &a.device, &a.monitor, a.json)
}

/// Runs `work` (whose first job is `job`) on every selected device,
/// printing each solution as it is found and a summary at the end; returns
/// 0 if any solution was found, else 1. Ctrl-C, SIGTERM or the API's stop
/// end it early with the summary (`"cancelled": true`).
fn run(
    job: &Job,
    work: Work,
    range: &RangeArgs,
    device: &DeviceArgs,
    watch: &MonitorArgs,
    json: bool,
) -> Result<u8> {
    // Bad ranges fail before any device is opened.
    work.check()?;
    let engine = Arc::new(args::engine(device)?);
    let mut run = Session::start(engine, watch, None, Lines::Devices(range.count), json)?;
    let engine = run.engine.clone();
    let id = engine.submit(work)?;
    let mut found = 0usize;
    let mut failure: Option<String> = None;
    let mut cancelled = false;
    loop {
        if run.tick()? {
            cancelled = true;
            break;
        }
        let Some(event) = engine.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        match event {
            Event::Solution(s) if s.job == id && !s.stale => {
                found += 1;
                let nonce = s.solution.nonce;
                run.out.emit(&SolutionLine {
                    nonce,
                    nonce_hex: format!("{nonce:#x}"),
                    hash: s.work.display_hash(&s.solution.hash),
                    device: s.device,
                    header: s.work.solved_header(nonce).map(|h| h.to_hex()),
                    rolled: *s.work != *job,
                })?;
                if !range.all {
                    break;
                }
            }
            Event::Solution(_) => {}
            Event::Exhausted(done) if done == id => break,
            Event::Exhausted(_) => {}
            Event::DeviceRecovered { device, attempt } => crate::status::above(|| {
                eprintln!("hashrig: {device} is back at work (opened again, attempt {attempt})")
            }),
            Event::DeviceFailed { device, reason } => {
                crate::status::above(|| {
                    eprintln!("hashrig: {device} taken out of service: {reason}")
                });
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
    let (names, started) = (run.names.clone(), run.started);
    let mut out = run.finish()?;
    if let Some(f) = failure {
        bail!(f);
    }
    let seconds = started.elapsed().as_secs_f64();
    let stats = engine.stats();
    let hashes: u64 = stats.iter().map(|d| d.hashes).sum();
    out.emit(&Summary {
        found,
        hashes,
        seconds,
        mhs: hashes as f64 / seconds.max(1e-9) / 1e6,
        device: names.join(" + "),
        hardware_errors: stats.iter().map(|d| d.hardware_errors).sum(),
        cancelled,
    })?;
    Ok(if found == 0 { 1 } else { 0 })
}
