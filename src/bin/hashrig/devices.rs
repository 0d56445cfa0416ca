//! `hashrig devices`: what can hash here, the CPU and every GPU adapter.

use anyhow::Result;
use hashrig::{cpu, gpu, CpuKernel};
use serde::Serialize;

use crate::calibrate::form_rates;
use crate::report::{Output, Report};

/// The CPU.
#[derive(Serialize)]
struct CpuLine {
    kind: &'static str,
    name: String,
    threads: usize,
    kernels: Vec<&'static str>,
    kernel: &'static str,
    auto: bool,
}

impl Report for CpuLine {
    const TYPE: &'static str = "device";
    fn text(&self) -> String {
        format!(
            "cpu  {}  {} threads  kernels: {}  (fastest: {})",
            self.name,
            self.threads,
            self.kernels.join(", "),
            self.kernel
        )
    }
}

/// A GPU adapter.
#[derive(Serialize)]
struct GpuLine {
    kind: &'static str,
    index: usize,
    name: String,
    vendor: String,
    device_id: String,
    device_type: String,
    backend: String,
    driver: String,
    driver_info: String,
    pci_bus_id: String,
    software: bool,
    auto: bool,
    /// Why automatic selection skips it.
    reason: Option<String>,
    /// The GPU kernel form it runs: the one its calibration chose (for the
    /// default batch time), else the one calibration would start from.
    kernel_form: &'static str,
    /// Whether `kernel_form` comes from a calibration.
    calibrated: bool,
    /// Each form's rate when it was calibrated (none for a form that was
    /// unusable there); empty when it was not.
    kernel_forms: Vec<FormRate>,
}

/// One kernel form's measured rate.
#[derive(Serialize)]
struct FormRate {
    form: &'static str,
    mhs: Option<f64>,
}

impl Report for GpuLine {
    const TYPE: &'static str = "device";
    fn text(&self) -> String {
        format!(
            "gpu {}  {}  {} {}  driver {} {}  pci {}  {}",
            self.index,
            self.name,
            self.device_type,
            self.backend,
            self.driver,
            self.driver_info,
            if self.pci_bus_id.is_empty() {
                "-"
            } else {
                &self.pci_bus_id
            },
            match &self.reason {
                None => "auto: yes".to_string(),
                Some(why) => format!("auto: no ({why})"),
            }
        ) + &format!(
            "  kernel {}{}",
            self.kernel_form,
            if self.calibrated {
                let rates = form_rates(self.kernel_forms.iter().map(|f| (f.form, f.mhs)));
                format!(" (calibrated: {rates})")
            } else {
                " (not calibrated yet)".to_string()
            }
        )
    }
}

/// The CPU's model name where the OS tells it.
fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

pub(crate) fn list(json: bool) -> Result<u8> {
    let mut out = Output::new(json);
    out.emit(&CpuLine {
        kind: "cpu",
        name: cpu_name(),
        threads: cpu::default_threads(),
        kernels: CpuKernel::available().iter().map(|k| k.name()).collect(),
        kernel: CpuKernel::fastest().name(),
        auto: true,
    })?;
    let batch_time = gpu::LaunchConfig::default().batch_time;
    for a in gpu::adapters() {
        let i = &a.info;
        let calibration = gpu::cached(&a, batch_time);
        out.emit(&GpuLine {
            kind: "gpu",
            index: a.index,
            name: i.name.clone(),
            vendor: format!("{:#06x}", i.vendor),
            device_id: format!("{:#06x}", i.device),
            device_type: gpu::device_type_name(i.device_type).to_string(),
            backend: hashrig::gpu::backend_name(i.backend).to_string(),
            driver: i.driver.clone(),
            driver_info: i.driver_info.clone(),
            pci_bus_id: i.device_pci_bus_id.clone(),
            software: a.software,
            auto: a.auto(),
            reason: a.skipped_because.clone(),
            kernel_form: calibration
                .as_ref()
                .and_then(|c| c.config.form)
                .unwrap_or_else(|| gpu::KernelForm::preferred_for(i))
                .name(),
            calibrated: calibration.is_some(),
            kernel_forms: calibration
                .iter()
                .flat_map(|c| &c.forms)
                .map(|t| FormRate {
                    form: t.form.name(),
                    mhs: t.rate.as_ref().ok().map(|r| r / 1e6),
                })
                .collect(),
        })?;
    }
    Ok(0)
}
