//! How an engine is built ([`EngineOptions`]), checked in one place: every
//! front door (the command line, the C ABI, a daemon's own code) gets the
//! same answer for the same options.

use std::time::Duration;

use crate::{CpuKernel, Error};

/// The GPU batch durations an engine accepts.
pub const BATCH_TIMES: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_millis(2000);

/// Whether the CPU hashes beside the GPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuUse {
    /// Only when no GPU is usable.
    #[default]
    Auto,
    /// Always.
    On,
    /// Never (an engine with no GPU then has no device and fails to start).
    Off,
}

/// How an engine is built.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Whether the CPU hashes.
    pub cpu: CpuUse,
    /// CPU hashing threads; by default every core, or every core but one
    /// when GPUs run too (that core verifies results and feeds the GPUs).
    pub cpu_threads: Option<usize>,
    /// The CPU kernel; the fastest by default.
    pub cpu_kernel: Option<CpuKernel>,
    /// Whether GPUs are used at all. Without the `gpu` feature there are
    /// none, whatever this says (the field is there in every build, so that
    /// the same code builds with and without GPUs).
    pub gpus: bool,
    /// GPU selectors (index, part of the name, PCI bus id); empty for the
    /// automatic choice. Ignored without the `gpu` feature.
    pub devices: Vec<String>,
    /// The batch duration aimed at on GPUs; the ranges every device gets
    /// are sized from it too.
    pub batch_time: Duration,
    /// Ignore cached GPU calibrations and measure again (ignored without
    /// the `gpu` feature).
    pub recalibrate: bool,
    /// The GPU kernel form every GPU uses, instead of the fastest form
    /// calibration measures on each.
    #[cfg(feature = "gpu")]
    pub kernel_form: Option<crate::gpu::KernelForm>,
    /// Proofs of work each device should find per second (they set each
    /// device's internal proof target).
    pub proofs_per_second: f64,
    /// Candidates failing verification after which a device is taken out.
    pub hardware_error_limit: u64,
    /// How long a range may take beyond twenty times its expected time
    /// before its device counts as hung.
    pub watchdog: Duration,
    /// How many times a device that was taken out of service (and can be
    /// opened again: a GPU) is opened again, self-tested and put back to
    /// work before it stays out (0: never).
    pub recovery_attempts: u32,
    /// The wait before the first attempt; it doubles after each failed one.
    pub recovery_backoff: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cpu: CpuUse::Auto,
            cpu_threads: None,
            cpu_kernel: None,
            gpus: true,
            devices: Vec::new(),
            batch_time: Duration::from_millis(20),
            recalibrate: false,
            #[cfg(feature = "gpu")]
            kernel_form: None,
            proofs_per_second: 256.0,
            hardware_error_limit: 16,
            watchdog: Duration::from_secs(10),
            recovery_attempts: 5,
            recovery_backoff: Duration::from_secs(10),
        }
    }
}

impl EngineOptions {
    /// Checks every option: what [`Engine::start`](super::Engine::start)
    /// and [`Engine::with_devices`](super::Engine::with_devices) call
    /// first, for callers that want to know before they start anything.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, reason: String| Err(Error::Options { option, reason });
        if !BATCH_TIMES.contains(&self.batch_time) {
            return bad(
                "batch-time",
                format!(
                    "{} ms is not from {} to {} ms",
                    self.batch_time.as_millis(),
                    BATCH_TIMES.start().as_millis(),
                    BATCH_TIMES.end().as_millis()
                ),
            );
        }
        if let Some(t) = self.cpu_threads {
            let max = crate::cpu::max_threads();
            if t == 0 || t > max {
                return bad(
                    "threads",
                    format!("{t} is not from 1 to {max} (16 per core here)"),
                );
            }
        }
        if !(self.proofs_per_second.is_finite() && self.proofs_per_second > 0.0) {
            return bad(
                "proofs-per-second",
                format!("{} is not a positive number", self.proofs_per_second),
            );
        }
        if self.hardware_error_limit == 0 {
            return bad("hardware-error-limit", "must be at least 1".into());
        }
        if self.watchdog.is_zero() {
            return bad("watchdog", "must be longer than zero".into());
        }
        if self.recovery_attempts > 0 && self.recovery_backoff.is_zero() {
            return bad(
                "recovery-backoff",
                "must be longer than zero when devices are recovered".into(),
            );
        }
        #[cfg(feature = "gpu")]
        let gpus = self.gpus;
        #[cfg(not(feature = "gpu"))]
        let gpus = false;
        if self.cpu == CpuUse::Off && !gpus {
            return bad(
                "cpu",
                "the CPU off and no GPUs leaves nothing to hash on".into(),
            );
        }
        Ok(())
    }
}
