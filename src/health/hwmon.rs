//! Linux hwmon: the kernel's sensor files (`temp1_input` in millidegrees,
//! `power1_average` in microwatts, `fan1_input` in RPM, `pwm1` as 0–255,
//! `freq1_input` in hertz), read as the `amdgpu`, `i915`/`xe`, `k10temp` and
//! `coretemp` drivers write them.

use std::path::{Path, PathBuf};

use super::Health;

/// Temperature labels preferred over the first sensor, most wanted first:
/// a GPU's edge or die, a CPU's control or package temperature.
const PREFERRED_TEMPERATURES: [&str; 6] = ["edge", "gpu", "tctl", "tdie", "package id 0", "cpu"];

/// hwmon driver names that measure the CPU.
const CPU_DRIVERS: [&str; 5] = [
    "k10temp",
    "coretemp",
    "zenpower",
    "cpu_thermal",
    "cpu-thermal",
];

/// A sensor file's first line, trimmed; `None` if absent or unreadable.
fn read_text(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// A sensor file as a number; `None` if absent or not a finite number.
fn read_number(path: &Path) -> Option<f64> {
    read_text(path)?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// The `tempN_input` files of `dir` as `(N, label)`, by N.
fn temperatures(dir: &Path) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String)> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let n = name
                .strip_prefix("temp")?
                .strip_suffix("_input")?
                .parse()
                .ok()?;
            let label = read_text(&dir.join(format!("temp{n}_label"))).unwrap_or_default();
            Some((n, label.to_lowercase()))
        })
        .collect();
    found.sort();
    found
}

/// Reads one hwmon directory. Absent or malformed files give `None`.
pub fn read_hwmon(dir: &Path) -> Health {
    let temps = temperatures(dir);
    let chosen = PREFERRED_TEMPERATURES
        .iter()
        .find_map(|want| temps.iter().find(|(_, label)| label == want))
        .or(temps.first());
    let temperature_c = chosen
        .and_then(|(n, _)| read_number(&dir.join(format!("temp{n}_input"))))
        .map(|milli| milli / 1000.0);
    let power_w = read_number(&dir.join("power1_average"))
        .or_else(|| read_number(&dir.join("power1_input")))
        .map(|micro| micro / 1e6);
    let fan_rpm = read_number(&dir.join("fan1_input"))
        .filter(|r| *r >= 0.0)
        .map(|r| r as u32);
    let fan_percent = read_number(&dir.join("pwm1"))
        .filter(|p| (0.0..=255.0).contains(p))
        .map(|p| p * 100.0 / 255.0);
    // amdgpu: freq1 is the core clock (sclk), freq2 the memory (mclk).
    let clock = |n: u32, label: &str| {
        let given = read_text(&dir.join(format!("freq{n}_label")));
        if given.is_some_and(|l| !l.eq_ignore_ascii_case(label)) {
            return None;
        }
        read_number(&dir.join(format!("freq{n}_input"))).map(|hz| hz / 1e6)
    };
    Health {
        temperature_c,
        power_w,
        fan_rpm,
        fan_percent,
        core_clock_mhz: clock(1, "sclk"),
        memory_clock_mhz: clock(2, "mclk"),
    }
}

/// The `hwmon*` directories under `dir`, by name.
fn hwmon_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("hwmon"))
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

/// The hwmon of the PCI device `bus_id` (`0000:03:00.0`, any case).
pub(super) fn for_pci(root: &Path, bus_id: &str) -> Option<PathBuf> {
    let device = root
        .join("bus/pci/devices")
        .join(bus_id.trim().to_lowercase());
    hwmon_dirs(&device.join("hwmon")).into_iter().next()
}

/// The hwmon of the CPU's temperature driver.
pub(super) fn for_cpu(root: &Path) -> Option<PathBuf> {
    hwmon_dirs(&root.join("class/hwmon"))
        .into_iter()
        .find(|d| read_text(&d.join("name")).is_some_and(|n| CPU_DRIVERS.contains(&n.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hashrig-hwmon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn reads_an_amdgpu_hwmon_as_the_driver_writes_it() {
        let dir = scratch("amdgpu");
        write(&dir, "name", "amdgpu\n");
        write(&dir, "temp1_input", "64000\n");
        write(&dir, "temp1_label", "edge\n");
        write(&dir, "temp2_input", "71000\n");
        write(&dir, "temp2_label", "junction\n");
        write(&dir, "power1_average", "187000000\n");
        write(&dir, "fan1_input", "1450\n");
        write(&dir, "pwm1", "102\n");
        write(&dir, "freq1_input", "2100000000\n");
        write(&dir, "freq1_label", "sclk\n");
        write(&dir, "freq2_input", "1000000000\n");
        write(&dir, "freq2_label", "mclk\n");
        let h = read_hwmon(&dir);
        assert_eq!(h.temperature_c, Some(64.0));
        assert_eq!(h.power_w, Some(187.0));
        assert_eq!(h.fan_rpm, Some(1450));
        assert_eq!(h.fan_percent, Some(40.0));
        assert_eq!(h.core_clock_mhz, Some(2100.0));
        assert_eq!(h.memory_clock_mhz, Some(1000.0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_and_malformed_values_are_absent_not_zero() {
        let dir = scratch("partial");
        write(&dir, "name", "i915\n");
        write(&dir, "temp3_input", "not a number\n");
        write(&dir, "power1_input", "\n");
        write(&dir, "pwm1", "999\n");
        let h = read_hwmon(&dir);
        assert!(h.is_empty(), "{h:?}");
        assert!(read_hwmon(&dir.join("gone")).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn finds_the_cpu_and_a_pci_device_under_a_root() {
        let root = scratch("root");
        write(&root.join("class/hwmon/hwmon0"), "name", "nvme\n");
        write(&root.join("class/hwmon/hwmon1"), "name", "k10temp\n");
        write(&root.join("class/hwmon/hwmon1"), "temp1_input", "55125\n");
        write(&root.join("class/hwmon/hwmon1"), "temp1_label", "Tctl\n");
        let gpu = root.join("bus/pci/devices/0000:03:00.0/hwmon/hwmon2");
        write(&gpu, "temp1_input", "48000\n");
        let cpu = for_cpu(&root).expect("k10temp");
        assert!(cpu.ends_with("hwmon1"));
        assert_eq!(read_hwmon(&cpu).temperature_c, Some(55.125));
        assert_eq!(for_pci(&root, "0000:03:00.0"), Some(gpu.clone()));
        assert_eq!(
            for_pci(&root, " 0000:03:00.0 ".to_uppercase().as_str()),
            Some(gpu)
        );
        assert_eq!(for_pci(&root, "0000:04:00.0"), None);
        let _ = std::fs::remove_dir_all(&root);
    }
}
