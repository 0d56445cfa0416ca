//! NVIDIA GPUs through NVML, loaded once at run time. No NVML (no NVIDIA
//! driver, or no permission) is normal: those GPUs then have no NVML
//! readings.

use std::sync::OnceLock;

use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
use nvml_wrapper::Nvml;

use super::Health;

/// NVML, if it loads here.
fn nvml() -> Option<&'static Nvml> {
    static NVML: OnceLock<Option<Nvml>> = OnceLock::new();
    NVML.get_or_init(|| {
        Nvml::init()
            .or_else(|_| {
                Nvml::builder()
                    .lib_path("libnvidia-ml.so.1".as_ref())
                    .init()
            })
            .ok()
    })
    .as_ref()
}

/// Whether NVML knows the GPU at `bus_id`.
pub(super) fn has(bus_id: &str) -> bool {
    nvml().is_some_and(|n| n.device_by_pci_bus_id(bus_id).is_ok())
}

/// Reads the GPU at `bus_id`; what NVML does not give is `None`.
pub(super) fn read(bus_id: &str) -> Health {
    let Some(device) = nvml().and_then(|n| n.device_by_pci_bus_id(bus_id).ok()) else {
        return Health::default();
    };
    Health {
        temperature_c: device
            .temperature(TemperatureSensor::Gpu)
            .ok()
            .map(f64::from),
        power_w: device.power_usage().ok().map(|mw| mw as f64 / 1000.0),
        fan_rpm: None,
        fan_percent: device.fan_speed(0).ok().map(f64::from),
        core_clock_mhz: device.clock_info(Clock::Graphics).ok().map(f64::from),
        memory_clock_mhz: device.clock_info(Clock::Memory).ok().map(f64::from),
    }
}
