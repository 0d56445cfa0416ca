//! The CPU backend as an engine device.

use super::{device_name, CpuSearcher};
use crate::engine::{Device, DeviceDetails, DeviceKind};
use crate::{CancelToken, CpuKernel, Error, Found, NonceRange, PreparedJob};

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
        // Threads beyond the cores share them: no faster than the cores
        // (an overestimate sizes the first range too large for the
        // watchdog).
        let cores = super::default_threads().max(1);
        one * self.threads().min(cores) as f64
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
