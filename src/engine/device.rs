//! What the engine drives: the [`Device`] interface, and its CPU and GPU
//! implementations. Test doubles (slow, failing, hanging or lying devices)
//! implement the same trait.

use crate::cpu::{device_name, CpuSearcher};
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
}

/// The CPU backend as an engine device: a pool of hashing threads and the
/// fastest (or a chosen) kernel.
pub struct CpuDevice {
    searcher: CpuSearcher,
    name: String,
}

impl CpuDevice {
    /// A device with `threads` hashing threads (every core when `None`) and
    /// `kernel` (the fastest supported one when `None`).
    pub fn new(threads: Option<usize>, kernel: Option<CpuKernel>) -> Result<Self, Error> {
        let searcher = CpuSearcher::new(threads, kernel)?;
        let name = device_name(searcher.kernel(), searcher.threads());
        Ok(CpuDevice { searcher, name })
    }

    /// The kernel in use.
    pub fn kernel(&self) -> CpuKernel {
        self.searcher.kernel()
    }

    /// Hashing threads.
    pub fn threads(&self) -> usize {
        self.searcher.threads()
    }
}

impl Device for CpuDevice {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind::Cpu
    }

    fn details(&self) -> DeviceDetails {
        DeviceDetails {
            cpu_kernel: Some(self.kernel()),
            threads: Some(self.threads()),
            ..Default::default()
        }
    }

    fn nominal_rate(&self) -> f64 {
        let one = crate::cpu::calibrate()
            .rates
            .iter()
            .find(|(k, _)| *k == self.kernel())
            .map_or(1e6, |r| r.1);
        one * self.threads() as f64
    }

    fn search(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error> {
        self.searcher.scan(job, range, cancel)
    }
}

/// A GPU as an engine device.
#[cfg(feature = "gpu")]
pub struct GpuWorker {
    gpu: crate::gpu::GpuDevice,
}

#[cfg(feature = "gpu")]
impl GpuWorker {
    /// Wraps an opened GPU.
    pub fn new(gpu: crate::gpu::GpuDevice) -> Self {
        GpuWorker { gpu }
    }

    /// The GPU.
    pub fn gpu(&self) -> &crate::gpu::GpuDevice {
        &self.gpu
    }
}

#[cfg(feature = "gpu")]
impl Device for GpuWorker {
    fn name(&self) -> String {
        self.gpu.name().to_string()
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind::Gpu
    }

    fn details(&self) -> DeviceDetails {
        DeviceDetails {
            nonces_per_invocation: Some(self.gpu.nonces_per_invocation()),
            workgroup_size: Some(self.gpu.config().workgroup_size),
            pci_bus_id: self.gpu.pci_bus_id().map(str::to_string),
            ..Default::default()
        }
    }

    fn nominal_rate(&self) -> f64 {
        self.gpu.batch_nonces() as f64 / self.gpu.config().batch_time.as_secs_f64().max(1e-3)
    }

    fn search(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error> {
        let options = crate::SearchOptions {
            cancel: Some(cancel.clone()),
            ..Default::default()
        };
        self.gpu.scan_checked_range(job, range, &options)
    }
}
