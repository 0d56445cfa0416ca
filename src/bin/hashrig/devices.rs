//! `hashrig devices`: what can hash here, the CPU and every GPU adapter.

use anyhow::Result;
use hashrig::{cpu, gpu, CpuKernel};
use serde::Serialize;

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
    for a in gpu::adapters() {
        let i = &a.info;
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
        })?;
    }
    Ok(0)
}
