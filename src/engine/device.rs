//! What the engine drives: the [`Device`] interface. The CPU and GPU
//! implement it beside their backends (`cpu::CpuDevice`,
//! `gpu::GpuWorker`); test doubles (slow, failing, hanging or lying
//! devices) implement the same trait.

use crate::DeviceError;
use crate::{CancelToken, CpuKernel, Error, Found, NonceRange, PreparedJob};

/// What kind of hardware a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// The CPU backend.
    Cpu,
    /// A GPU through wgpu.
    Gpu,
    /// Anything else that implements [`Device`].
    Other,
}

impl DeviceKind {
    /// `"cpu"`, `"gpu"` or `"other"`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Gpu => "gpu",
            DeviceKind::Other => "other",
        }
    }
}

/// Fixed facts about a device, shown beside its statistics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceDetails {
    /// The CPU kernel, for the CPU.
    pub cpu_kernel: Option<CpuKernel>,
    /// Hashing threads, for the CPU.
    pub threads: Option<usize>,
    /// Nonces each shader invocation tests, for a GPU.
    pub nonces_per_invocation: Option<u32>,
    /// Invocations per workgroup, for a GPU.
    pub workgroup_size: Option<u32>,
    /// The kernel form's name (`rotation-amounts`), for a GPU.
    pub kernel_form: Option<&'static str>,
    /// The PCI bus id (`0000:03:00.0`), for a GPU whose backend reports
    /// one: how its temperature and power sensors are found.
    pub pci_bus_id: Option<String>,
}

/// A hashing device the engine can drive: one thread of the engine calls
/// [`search`](Device::search) repeatedly with ranges sized from the
/// device's measured rate.
pub trait Device: Send {
    /// The name shown in statistics and messages.
    fn name(&self) -> String;

    /// The kind of hardware.
    fn kind(&self) -> DeviceKind;

    /// Fixed facts shown beside the statistics.
    fn details(&self) -> DeviceDetails {
        DeviceDetails::default()
    }

    /// A first guess of the rate in hashes per second, used to size the
    /// first ranges before any is measured.
    fn nominal_rate(&self) -> f64;

    /// Searches `range` of `job` and reports every nonce whose hash meets
    /// `job.target()` (the engine passes an easier target than the one it
    /// mines for, so that proofs of work come back regularly). The range
    /// lies in the job's nonce space (the engine checked it once, when the
    /// job was submitted). Returns within about one batch when `cancel` is
    /// set, with `searched` saying how far it got. An error takes the device
    /// out of service.
    fn search(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error>;

    /// Whether [`recover`](Device::recover) can bring the device back after
    /// it was taken out of service. By default it cannot.
    fn recoverable(&self) -> bool {
        false
    }

    /// Opens the device again after it was taken out of service and checks
    /// it (a GPU: a new device on its adapter, self-tested). The engine
    /// calls it after a backoff, up to
    /// [`EngineOptions::recovery_attempts`](super::EngineOptions::recovery_attempts)
    /// times; `Ok` puts the device back to work.
    fn recover(&mut self) -> Result<(), Error> {
        Err(DeviceError::CannotReopen(self.name()).into())
    }
}
