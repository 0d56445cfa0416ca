//! `GET /mmpos`: the figures mmpOS's agent reads from a miner (agent
//! 4.0.18 and later call it directly; the custom-miner package's
//! `mmp-stats.sh` prints it). Devices in mmpOS's order, the CPU first (its
//! bus id is `"cpu"`) and then the GPUs by their PCI bus number; rates in
//! MH/s; `air` the accepted, invalid and rejected shares, as strings.

use serde_json::{json, Value};

use super::summary::{DeviceSummary, Summary};

/// The PCI bus number of `0000:0a:00.0` (or `0a:00.0`): 10.
fn bus_number(id: &str) -> Option<u32> {
    let parts: Vec<&str> = id.split(':').collect();
    let bus = parts.get(parts.len().checked_sub(2)?)?;
    u32::from_str_radix(bus, 16).ok()
}

/// mmpOS's document for `summary`.
pub fn document(summary: &Summary) -> Value {
    // The CPU first, then the GPUs in bus order (a device without a bus
    // id keeps its place after them, by its index).
    let mut devices: Vec<&DeviceSummary> = summary.devices.iter().collect();
    devices.sort_by_key(|d| {
        let bus = d.pci_bus_id.as_deref().and_then(bus_number);
        (d.kind != "cpu", bus.is_none(), bus, d.index)
    });
    let busid: Vec<Value> = devices
        .iter()
        .map(
            |d| match (d.kind, d.pci_bus_id.as_deref().and_then(bus_number)) {
                ("cpu", _) => json!("cpu"),
                (_, Some(bus)) => json!(bus),
                (_, None) => json!(d.index),
            },
        )
        .collect();
    let per =
        |f: &dyn Fn(&DeviceSummary) -> Value| devices.iter().map(|d| f(d)).collect::<Vec<_>>();
    let shares = summary.total.shares;
    json!({
        "busid": busid,
        "hash": per(&|d| json!(d.hashrate.last_60s / 1e6)),
        "units": "mhs",
        "temp": per(&|d| json!(d.temperature_c.unwrap_or(0.0))),
        "fan": per(&|d| json!(d.fan_percent.unwrap_or(0.0))),
        "watt": per(&|d| json!(d.power_w.unwrap_or(0.0))),
        "shares": {
            "accepted": per(&|d| json!(d.shares.accepted)),
            "rejected": per(&|d| json!(d.shares.rejected)),
            "invalid": per(&|d| json!(d.hardware_errors)),
        },
        "air": [
            shares.accepted.to_string(),
            summary.total.hardware_errors.to_string(),
            shares.rejected.to_string(),
        ],
        "miner_name": "hashrig",
        "miner_version": summary.version,
    })
}

#[cfg(test)]
mod tests {
    use super::bus_number;

    #[test]
    fn bus_numbers_from_pci_ids() {
        assert_eq!(bus_number("0000:0a:00.0"), Some(10));
        assert_eq!(bus_number("03:00.0"), Some(3));
        assert_eq!(bus_number("0000:c1:00.0"), Some(193));
        assert_eq!(bus_number(""), None);
        assert_eq!(bus_number("gpu"), None);
    }
}
