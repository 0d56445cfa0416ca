//! A GPU as an engine device, which can be opened again on its adapter
//! after a driver error or a hang.

use super::{AdapterEntry, GpuDevice};
use crate::engine::{Device, DeviceDetails, DeviceKind};
use crate::DeviceError;
use crate::{CancelToken, Error, Found, NonceRange, PreparedJob};

/// A GPU as an engine device.
pub struct GpuWorker {
    gpu: GpuDevice,
    /// The adapter it was opened on, to open it again after a failure.
    entry: Option<AdapterEntry>,
}

impl GpuWorker {
    /// Wraps an opened GPU (which then cannot be opened again).
    pub fn new(gpu: GpuDevice) -> Self {
        GpuWorker { gpu, entry: None }
    }

    /// Wraps a GPU opened on `entry`: after a failure the engine opens it
    /// again there (same launch settings) and self-tests it.
    pub fn on_adapter(gpu: GpuDevice, entry: AdapterEntry) -> Self {
        GpuWorker {
            gpu,
            entry: Some(entry),
        }
    }

    /// The GPU.
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }
}

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
            kernel_form: Some(self.gpu.form().name()),
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

    fn recoverable(&self) -> bool {
        self.entry.is_some()
    }

    fn recover(&mut self) -> Result<(), Error> {
        let Some(entry) = &self.entry else {
            return Err(DeviceError::CannotReopen(self.gpu.name().to_string()).into());
        };
        let gpu = GpuDevice::open(entry, self.gpu.config())?;
        gpu.self_test()?;
        self.gpu = gpu;
        Ok(())
    }
}
