//! The GPU backend: one long-lived context per device (pipelines and
//! buffers built once) and a batched nonce search that queues the next
//! batch shortly before the running one ends.
//!
//! `adapters` finds and selects adapters on every backend, `calibrate`
//! measures launch settings, `opening` opens the selected GPUs in one
//! call (calibrated, cached and self-tested), `device` is one GPU's
//! context and its known-answer test, `scan` searches a range batch by
//! batch, `batch` encodes and queues one batch, `pacing` times when the
//! next batch goes and sizes it, `shader` holds the WGSL source and its
//! uniforms, `form` the ways that source is written (and, in its tests, their CPU twins), `cost` counts the
//! kernel's operations per nonce.

mod adapters;
mod batch;
#[cfg(feature = "internals")]
pub mod calibrate;
#[cfg(not(feature = "internals"))]
mod calibrate;
#[cfg(feature = "internals")]
pub mod cost;
mod device;
mod environment;
mod form;
mod opening;
mod pacing;
mod scan;
#[cfg(feature = "internals")]
pub mod shader;
#[cfg(not(feature = "internals"))]
mod shader;
#[cfg(test)]
mod twin;
mod worker;

use std::time::Duration;

use shader::WORKGROUP_SIZE;

pub use adapters::{adapters, backend_name, device_type_name, select, AdapterEntry};
pub use calibrate::{
    cache_path, cached, cached_or_calibrate, calibrate, kernel_version, Calibration, FormTrial,
    NONCES_PER_INVOCATION, WORKGROUP_SIZES,
};
#[cfg(feature = "internals")]
pub use calibrate::{cached_or_calibrate_in, calibrate_sources, measure, sweep};
pub use device::GpuDevice;
pub use environment::set_runtime_dir;
pub use form::{KernelForm, UnknownKernelForm};
pub use opening::{open_selected, Opened};
pub use worker::GpuWorker;

/// The most nonces one invocation tests.
pub const MAX_NONCES_PER_INVOCATION: u32 = 4096;

/// The most loop iterations one invocation runs, all loops together. Some
/// drivers cut an invocation short after a fixed number of them (llvmpipe
/// and lavapipe stop at 65,535, whatever the loops' conditions say), which
/// would hash shortened messages and miss solutions; this is half that.
/// The header kernel runs one iteration per nonce; the generic kernel one
/// per nonce and one per message block after the midstate, so a generic
/// job tests fewer nonces per invocation as its message grows, and one
/// with more blocks than this is searched on the CPU.
pub const LOOP_BUDGET: u32 = 1 << 15;

/// Launch settings of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Invocations per workgroup (fixed when the pipelines are built).
    pub workgroup_size: u32,
    /// Nonces each invocation tests, from 1 to
    /// [`MAX_NONCES_PER_INVOCATION`] (a value outside is brought inside).
    pub nonces_per_invocation: u32,
    /// Nonces in the first dispatch; later ones adapt to `batch_time`.
    pub batch_nonces: u32,
    /// Candidate slots in the results buffer; a batch with more candidates
    /// is searched again on the CPU.
    pub result_capacity: u32,
    /// How long a batch may take before the device counts as hung.
    pub batch_timeout: Duration,
    /// The longest a batch should take: the batch size adapts after every
    /// batch so that a batch takes a little less (85%) than this. It bounds
    /// how soon a replaced job leaves the device and keeps clear of driver
    /// watchdogs.
    pub batch_time: Duration,
    /// How long before the running batch's expected end the next one is
    /// queued behind it: long enough to cover the host's turnaround, so
    /// that the device never waits, and short, so that a replaced job
    /// leaves the device soon after the running batch instead of after
    /// the whole batch queued behind it. A lead at least as long as a
    /// batch (`Duration::MAX`) queues at once: two batches always in flight.
    pub queue_lead: Duration,
    /// The kernel form to build (none: the one the adapter's compiler is
    /// known to want; calibration measures them all).
    pub form: Option<KernelForm>,
    /// Whether generic jobs compress the nonce's own block apart from the
    /// blocks after it, where the form does (none: yes, except on CPU
    /// drivers, which run the one loop faster).
    pub first_block_apart: Option<bool>,
}

impl Default for LaunchConfig {
    fn default() -> Self {
        LaunchConfig {
            workgroup_size: WORKGROUP_SIZE,
            nonces_per_invocation: 16,
            batch_nonces: 1 << 22,
            result_capacity: 1024,
            batch_timeout: Duration::from_secs(20),
            batch_time: Duration::from_millis(20),
            queue_lead: Duration::from_millis(4),
            form: None,
            first_block_apart: None,
        }
    }
}
