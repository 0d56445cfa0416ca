//! `hashrig bench`: every selected device hashing at once for a few
//! seconds after a warm-up, each device's claimed and proof-based rate and
//! the total.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;
use hashrig::engine::{CpuUse, DeviceState, DeviceStats, RollTime, Work};
use hashrig::health::Health;
use hashrig::selftest::GENESIS_HEADER_HEX;
use hashrig::{Header, HeaderJob, Job, Target};
use serde::Serialize;

use crate::args::{self, BackendChoice, DeviceArgs};
use crate::monitor::MonitorArgs;
use crate::report::Report;
use crate::session::{Lines, Session};
use crate::status::{fit, NAME_WIDTH_MAX};

#[derive(Args)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    device: DeviceArgs,
    /// Seconds to measure (all devices at once, after a short warm-up).
    #[arg(long, default_value = "3", value_parser = parse_seconds)]
    seconds: f64,
    #[command(flatten)]
    monitor: MonitorArgs,
    /// JSON Lines on stdout.
    #[arg(long)]
    json: bool,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && (0.1..=3600.0).contains(s))
        .ok_or_else(|| format!("seconds: {text:?} is not a number of seconds from 0.1 to 3600"))
}

/// One device's measured rates.
#[derive(Serialize)]
struct DeviceLine {
    name: String,
    kind: &'static str,
    /// Claimed, from the hashes the device reports.
    mhs: f64,
    /// From verified proofs of work.
    effective_mhs: f64,
    proofs: u64,
    hardware_errors: u64,
    state: &'static str,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threads: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonces_per_invocation: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workgroup_size: Option<u32>,
    /// Sensor readings at the end, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature_c: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    power_w: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fan_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    core_clock_mhz: Option<f64>,
}

impl DeviceLine {
    /// The rates between two snapshots of one device `seconds` apart.
    fn between(before: &DeviceStats, after: &DeviceStats, health: Health, seconds: f64) -> Self {
        DeviceLine {
            name: after.name.clone(),
            kind: after.kind.name(),
            mhs: (after.hashes - before.hashes) as f64 / seconds.max(1e-9) / 1e6,
            effective_mhs: (after.effective_hashes - before.effective_hashes)
                / seconds.max(1e-9)
                / 1e6,
            proofs: after.proofs - before.proofs,
            hardware_errors: after.hardware_errors,
            state: after.state.name(),
            seconds,
            // The CPU kernel, or the GPU kernel form.
            kernel: after
                .details
                .cpu_kernel
                .map(|k| k.name())
                .or(after.details.kernel_form),
            threads: after.details.threads,
            nonces_per_invocation: after.details.nonces_per_invocation,
            workgroup_size: after.details.workgroup_size,
            temperature_c: health.temperature_c,
            power_w: health.power_w,
            fan_percent: health.fan_percent,
            core_clock_mhz: health.core_clock_mhz,
        }
    }
}

impl Report for DeviceLine {
    const TYPE: &'static str = "device";
    fn text(&self) -> String {
        let health = Health {
            temperature_c: self.temperature_c,
            power_w: self.power_w,
            fan_percent: self.fan_percent,
            ..Default::default()
        }
        .brief();
        let line = format!(
            "{:<w$} {:>10.2} MH/s  (effective {:.2} from {} proofs, HW {}) {health}",
            fit(&self.name, NAME_WIDTH_MAX),
            self.mhs,
            self.effective_mhs,
            self.proofs,
            self.hardware_errors,
            w = NAME_WIDTH_MAX
        );
        line.trim_end().to_string()
    }
}

/// Every device together.
#[derive(Serialize)]
struct Total {
    mhs: f64,
    effective_mhs: f64,
    devices: usize,
    seconds: f64,
    /// Stopped by a signal: during the warm-up (nothing measured) or part
    /// of the way through the measurement.
    interrupted: bool,
}

impl Report for Total {
    const TYPE: &'static str = "total";
    fn text(&self) -> String {
        let interrupted = match (self.interrupted, self.seconds > 0.0) {
            (false, _) => String::new(),
            (true, true) => format!("; interrupted after {:.1} s", self.seconds),
            (true, false) => "; interrupted during the warm-up: nothing measured".into(),
        };
        format!(
            "{:<w$} {:>10.2} MH/s  (effective {:.2}){interrupted}",
            "total",
            self.mhs,
            self.effective_mhs,
            w = NAME_WIDTH_MAX
        )
    }
}

pub(crate) fn bench(a: BenchArgs) -> Result<u8> {
    // With nothing chosen, a benchmark reports every GPU and the CPU;
    // devices named with --device are measured alone (--cpu on adds it).
    let mut device = a.device.clone();
    // $HASHRIG_DEVICE names GPUs as --device does, so they too are
    // measured alone (an explicit --backend cpu wins over it).
    if device.devices.is_empty() && device.backend != BackendChoice::Cpu {
        if let Some(v) = std::env::var("HASHRIG_DEVICE")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            device.devices.push(v);
        }
    }
    if CpuUse::from(device.cpu) == CpuUse::Auto
        && device.backend == BackendChoice::Auto
        && device.devices.is_empty()
    {
        device.cpu = args::CpuChoice::On;
    }
    let engine = Arc::new(args::engine(&device)?);
    let mut run = Session::start(
        engine.clone(),
        &a.monitor,
        None,
        Lines::Devices(None),
        a.json,
    )?;
    // Genesis at a target no hash meets in a benchmark: pure hashing work,
    // with the time field rolled if 2^32 nonces run out.
    let header = Header::from_hex(GENESIS_HEADER_HEX)?.with_nonce(0);
    let job = Job::from(HeaderJob::new(header, Target::from_leading_zero_bits(64)?));
    engine.submit(Work::new(job).then(RollTime))?;
    // A short warm-up settles batch sizes and clocks before the measurement.
    let warm_up_interrupted = wait(&mut run, (a.seconds / 5.0).clamp(0.2, 2.0))?;
    let before = engine.stats();
    let t0 = Instant::now();
    let interrupted = warm_up_interrupted || wait(&mut run, a.seconds)?;
    let after = engine.stats();
    let seconds = if warm_up_interrupted {
        0.0
    } else {
        t0.elapsed().as_secs_f64()
    };
    let health = run.monitor.health.latest();
    let mut out = run.finish()?;
    let lines: Vec<DeviceLine> = before
        .iter()
        .zip(&after)
        .enumerate()
        .map(|(i, (b, d))| {
            DeviceLine::between(b, d, health.get(i).cloned().unwrap_or_default(), seconds)
        })
        .collect();
    for line in &lines {
        out.emit(line)?;
    }
    out.emit(&Total {
        mhs: lines.iter().map(|l| l.mhs).sum(),
        effective_mhs: lines.iter().map(|l| l.effective_mhs).sum(),
        devices: lines.len(),
        seconds,
        interrupted,
    })?;
    // A device that failed measured nothing trustworthy: an error, not a
    // low figure.
    let failed: Vec<String> = after
        .iter()
        .filter_map(|d| match &d.state {
            DeviceState::Failed(reason) => Some(format!("{}: {reason}", d.name)),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        anyhow::bail!("failed during the bench: {}", failed.join("; "));
    }
    // As `mine` stopped before it found anything exits 1: stopped during
    // the warm-up, nothing was measured. Stopped later, the figures hold
    // for the part measured (and the total says it was interrupted).
    Ok(if warm_up_interrupted { 1 } else { 0 })
}

/// Waits `seconds`, reporting health events; whether a stop (a signal)
/// ended the wait early.
fn wait(run: &mut Session, seconds: f64) -> Result<bool> {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    loop {
        if run.tick()? {
            return Ok(true);
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}
