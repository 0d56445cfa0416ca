//! Device health: temperature, power, fan and clocks where the platform
//! exposes them, and a watch that holds a device out of the work while it
//! is too hot.
//!
//! - NVIDIA GPUs through NVML, loaded at run time (feature `nvml`); a
//!   machine without NVML simply has no NVML readings.
//! - AMD and Intel GPUs through Linux sysfs hwmon, found by the adapter's
//!   PCI bus id (`/sys/bus/pci/devices/<bus id>/hwmon/hwmon*`).
//! - The CPU through the hwmon of its temperature driver (`k10temp`,
//!   `coretemp`, `zenpower`, `cpu_thermal`).
//!
//! The sysfs root is `/sys`, or `$HASHRIG_SYSFS_ROOT` where set (tests run
//! the real parser on a fake tree that way). A value the platform does not
//! give is `None`, never 0.

mod hwmon;
#[cfg(feature = "nvml")]
mod nvml;
mod watch;

use std::path::PathBuf;

#[cfg(feature = "internals")]
pub use hwmon::read_hwmon;
#[cfg(not(feature = "internals"))]
use hwmon::read_hwmon;
pub use watch::{HealthEvent, HealthOptions, HealthWatch};

use crate::engine::{DeviceDetails, DeviceKind};

/// The environment variable naming another sysfs root than `/sys`.
pub const SYSFS_ROOT_VAR: &str = "HASHRIG_SYSFS_ROOT";

/// One reading of a device's sensors; `None` where the platform does not
/// say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// Temperature in degrees Celsius (the GPU die or edge, the CPU package).
    pub temperature_c: Option<f64>,
    /// Power draw in watts.
    pub power_w: Option<f64>,
    /// Fan speed in revolutions per minute.
    pub fan_rpm: Option<u32>,
    /// Fan duty in percent.
    pub fan_percent: Option<f64>,
    /// Core (graphics) clock in MHz.
    pub core_clock_mhz: Option<f64>,
    /// Memory clock in MHz.
    pub memory_clock_mhz: Option<f64>,
}

impl Health {
    /// Whether nothing at all is known.
    pub fn is_empty(&self) -> bool {
        *self == Health::default()
    }

    /// A short text such as `71°C 215W fan 40%`, empty when nothing is known.
    pub fn brief(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.temperature_c {
            parts.push(format!("{t:.0}°C"));
        }
        if let Some(p) = self.power_w {
            parts.push(format!("{p:.0}W"));
        }
        match (self.fan_percent, self.fan_rpm) {
            (Some(f), _) => parts.push(format!("fan {f:.0}%")),
            (None, Some(r)) => parts.push(format!("fan {r}rpm")),
            (None, None) => {}
        }
        parts.join(" ")
    }
}

/// Where a device's readings come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sensor {
    /// A Linux hwmon directory (`…/hwmon/hwmon3`).
    Hwmon(PathBuf),
    /// An NVIDIA GPU through NVML, by PCI bus id.
    #[cfg(feature = "nvml")]
    Nvml(String),
}

impl Sensor {
    /// Reads the sensor now; a sensor that went away reads as all `None`.
    pub fn read(&self) -> Health {
        match self {
            Sensor::Hwmon(dir) => read_hwmon(dir),
            #[cfg(feature = "nvml")]
            Sensor::Nvml(bus_id) => nvml::read(bus_id),
        }
    }

    /// Where it reads from, for messages.
    pub fn describe(&self) -> String {
        match self {
            Sensor::Hwmon(dir) => format!("hwmon {}", dir.display()),
            #[cfg(feature = "nvml")]
            Sensor::Nvml(bus_id) => format!("NVML {bus_id}"),
        }
    }
}

/// The sysfs root: `$HASHRIG_SYSFS_ROOT` or `/sys`.
pub fn sysfs_root() -> PathBuf {
    std::env::var_os(SYSFS_ROOT_VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/sys"), PathBuf::from)
}

/// The sensor for a device of `kind` with `details`, if the platform has
/// one: NVML first for a GPU, then the hwmon of its PCI device; for the CPU
/// the hwmon of its temperature driver.
pub fn sensor_for(kind: DeviceKind, details: &DeviceDetails) -> Option<Sensor> {
    let root = sysfs_root();
    match kind {
        DeviceKind::Gpu => {
            let bus_id = details.pci_bus_id.as_deref()?;
            #[cfg(feature = "nvml")]
            if nvml::has(bus_id) {
                return Some(Sensor::Nvml(bus_id.to_string()));
            }
            hwmon::for_pci(&root, bus_id).map(Sensor::Hwmon)
        }
        DeviceKind::Cpu => hwmon::for_cpu(&root).map(Sensor::Hwmon),
        DeviceKind::Other => None,
    }
}
