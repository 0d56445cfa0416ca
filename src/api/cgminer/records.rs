//! The cgminer API's records, built from one [`Snapshot`]: cgminer's
//! field names and order, rates in MH/s and GH/s (cgminer gives `MHS`,
//! the ASIC firmwares built on it and the fleet tools that read them
//! `GHS`), and fields hashrig does not know left out rather than sent as 0.

use serde_json::{json, Value};

use super::{Record, API_VERSION};
use crate::api::{Snapshot, Summary};
use crate::engine::{DeviceKind, DeviceState};
use crate::pool::PoolState;

pub(super) fn version() -> Record {
    vec![
        ("CGMiner", json!(env!("CARGO_PKG_VERSION"))),
        ("API", json!(API_VERSION)),
        (
            "Miner",
            json!(format!("hashrig {}", env!("CARGO_PKG_VERSION"))),
        ),
    ]
}

fn mhs(hashes_per_second: f64) -> Value {
    json!((hashes_per_second / 1e6 * 1000.0).round() / 1000.0)
}

fn ghs(hashes_per_second: f64) -> Value {
    json!((hashes_per_second / 1e9 * 1e6).round() / 1e6)
}

fn percent(part: u64, whole: u64) -> Value {
    json!(if whole == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / whole as f64).round() / 100.0
    })
}

pub(super) fn summary(s: &Snapshot) -> Record {
    // The totals are /summary's, so that both APIs add up the same way.
    let doc = Summary::from_snapshot(s);
    let t = &doc.total;
    let (hashes, errors, proofs) = (t.hashes, t.hardware_errors, t.proofs);
    let (accepted, rejected, stale) = (t.shares.accepted, t.shares.rejected, t.shares.stale);
    let minutes = (s.uptime.as_secs_f64() / 60.0).max(1e-9);
    let blocks: u64 = doc.pools.iter().map(|p| p.blocks).sum();
    vec![
        ("Elapsed", json!(s.uptime.as_secs())),
        ("MHS av", mhs(t.hashrate.average)),
        ("MHS 5s", mhs(t.hashrate.last_5s)),
        ("MHS 1m", mhs(t.hashrate.last_60s)),
        ("GHS av", ghs(t.hashrate.average)),
        ("GHS 5s", ghs(t.hashrate.last_5s)),
        (
            "Found Blocks",
            json!(if s.pools.is_empty() {
                t.solutions
            } else {
                blocks
            }),
        ),
        ("Accepted", json!(accepted)),
        ("Rejected", json!(rejected)),
        ("Hardware Errors", json!(errors)),
        ("Utility", json!(accepted as f64 / minutes)),
        ("Stale", json!(stale)),
        ("Local Work", json!(proofs)),
        ("Total MH", json!(hashes as f64 / 1e6)),
        (
            "Difficulty Accepted",
            json!(doc.pools.iter().fold(0.0, |a, p| a + p.accepted_difficulty)),
        ),
        ("Device Hardware%", percent(errors, proofs + errors)),
        ("Device Rejected%", percent(rejected, accepted + rejected)),
        ("Pool Rejected%", percent(rejected, accepted + rejected)),
        ("Pool Stale%", percent(stale, accepted + rejected + stale)),
    ]
}

pub(super) fn devs(s: &Snapshot) -> Vec<Record> {
    s.devices
        .iter()
        .zip(ids(s))
        .enumerate()
        .map(|(i, (d, (kind, n)))| {
            let mut r: Record = vec![(kind, json!(n))];
            let shares = s.shares.get(i).copied().unwrap_or_default();
            let (enabled, alive) = match d.state {
                DeviceState::Failed(_) => ("Y", "Dead"),
                // cgminer's word for a device it restarts after a failure.
                DeviceState::Recovering(_) => ("Y", "Sick"),
                DeviceState::Held(_) => ("N", "Alive"),
                _ => ("Y", "Alive"),
            };
            r.push(("Name", json!(d.name)));
            r.push(("Enabled", json!(enabled)));
            r.push(("Status", json!(alive)));
            let health = s.health.get(i).cloned().unwrap_or_default();
            if let Some(t) = health.temperature_c {
                r.push(("Temperature", json!(t)));
            }
            if let Some(rpm) = health.fan_rpm {
                r.push(("Fan Speed", json!(rpm)));
            }
            if let Some(p) = health.fan_percent {
                r.push(("Fan Percent", json!(p.round())));
            }
            if let Some(c) = health.core_clock_mhz {
                r.push(("GPU Clock", json!(c.round())));
            }
            if let Some(c) = health.memory_clock_mhz {
                r.push(("Memory Clock", json!(c.round())));
            }
            let elapsed = if d.rate_avg > 0.0 {
                (d.hashes as f64 / d.rate_avg).round() as u64
            } else {
                0
            };
            let minutes = (elapsed as f64 / 60.0).max(1e-9);
            r.extend([
                ("MHS av", mhs(d.rate_avg)),
                ("MHS 5s", mhs(d.rate_5s)),
                ("MHS 1m", mhs(d.rate_60s)),
                ("GHS av", ghs(d.rate_avg)),
                ("GHS 5s", ghs(d.rate_5s)),
                ("Accepted", json!(shares.accepted)),
                ("Rejected", json!(shares.rejected)),
                ("Hardware Errors", json!(d.hardware_errors)),
                ("Utility", json!(shares.accepted as f64 / minutes)),
                ("Total MH", json!(d.hashes as f64 / 1e6)),
                (
                    "Device Hardware%",
                    percent(d.hardware_errors, d.proofs + d.hardware_errors),
                ),
                (
                    "Device Rejected%",
                    percent(shares.rejected, shares.accepted + shares.rejected),
                ),
                ("Device Elapsed", json!(elapsed)),
            ]);
            r
        })
        .collect()
}

pub(super) fn pools(s: &Snapshot) -> Vec<Record> {
    s.pools
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // As cgminer: a pool is Dead until it has worked (a backup
            // never connected is not known to be alive), and while its
            // last attempt has failed.
            let status = match p.state {
                PoolState::Failed => "Dead",
                PoolState::Mining => "Alive",
                PoolState::Idle | PoolState::Connecting if p.connections == 0 => "Dead",
                PoolState::Idle | PoolState::Connecting => "Alive",
            };
            let mut r: Record = vec![
                ("POOL", json!(i)),
                ("URL", json!(p.url)),
                ("Status", json!(status)),
                ("Priority", json!(i)),
                ("Quota", json!(1)),
                ("Long Poll", json!("N")),
                ("Accepted", json!(p.accepted)),
                ("Rejected", json!(p.rejected)),
                ("Stale", json!(p.stale)),
                ("User", json!(p.user)),
                ("Last Share Time", json!(p.last_share.unwrap_or(0))),
                ("Difficulty Accepted", json!(p.accepted_difficulty)),
                ("Has Stratum", json!(true)),
                ("Stratum Active", json!(p.up())),
                ("Stratum URL", json!(p.url)),
                ("Has GBT", json!(false)),
                (
                    "Pool Rejected%",
                    percent(p.rejected, p.accepted + p.rejected),
                ),
                (
                    "Pool Stale%",
                    percent(p.stale, p.accepted + p.rejected + p.stale),
                ),
            ];
            if let Some(d) = p.difficulty {
                r.insert(12, ("Stratum Difficulty", json!(d)));
                r.insert(12, ("Work Difficulty", json!(d)));
            }
            r
        })
        .collect()
}

/// A device's cgminer id: `GPU0`, `GPU1`, …, `CPU0`.
fn ids(s: &Snapshot) -> Vec<(&'static str, usize)> {
    let (mut gpu, mut cpu) = (0, 0);
    s.devices
        .iter()
        .map(|d| match d.kind {
            DeviceKind::Gpu => {
                gpu += 1;
                ("GPU", gpu - 1)
            }
            _ => {
                cpu += 1;
                ("CPU", cpu - 1)
            }
        })
        .collect()
}

/// `stats`: the miner's record first (as bmminer and the ASIC firmwares
/// give it: what it is and since when), then one per device with its
/// uptime, rates and the sensors that are known.
pub(super) fn stats(s: &Snapshot) -> Vec<Record> {
    let mut out = vec![vec![
        ("STATS", json!(0)),
        ("ID", json!("hashrig")),
        ("Elapsed", json!(s.uptime.as_secs())),
        ("CGMiner", json!(env!("CARGO_PKG_VERSION"))),
        (
            "Miner",
            json!(format!("hashrig {}", env!("CARGO_PKG_VERSION"))),
        ),
        ("Type", json!("hashrig")),
    ]];
    for (i, (d, (kind, n))) in s.devices.iter().zip(ids(s)).enumerate() {
        let mut r: Record = vec![
            ("STATS", json!(i + 1)),
            ("ID", json!(format!("{kind}{n}"))),
            ("Elapsed", json!(s.uptime.as_secs())),
            ("Name", json!(d.name)),
            ("GHS 5s", ghs(d.rate_5s)),
            ("GHS av", ghs(d.rate_avg)),
            ("MHS 5s", mhs(d.rate_5s)),
            ("MHS av", mhs(d.rate_avg)),
        ];
        let health = s.health.get(i).cloned().unwrap_or_default();
        if let Some(t) = health.temperature_c {
            r.push(("temp1", json!(t)));
        }
        if let Some(rpm) = health.fan_rpm {
            r.push(("fan1", json!(rpm)));
        }
        if let Some(w) = health.power_w {
            r.push(("Power", json!(w)));
        }
        out.push(r);
    }
    out
}

/// `devdetails`: what each device is.
pub(super) fn devdetails(s: &Snapshot) -> Vec<Record> {
    s.devices
        .iter()
        .zip(ids(s))
        .enumerate()
        .map(|(i, (d, (kind, n)))| {
            let mut r: Record = vec![
                ("DEVDETAILS", json!(i)),
                ("Name", json!(kind)),
                ("ID", json!(n)),
                ("Driver", json!("hashrig")),
                ("Model", json!(d.name)),
            ];
            if let Some(k) = d.details.cpu_kernel {
                r.push(("Kernel", json!(k.name())));
            }
            if let Some(bus) = &d.details.pci_bus_id {
                r.push(("Device Path", json!(bus)));
            }
            r
        })
        .collect()
}

/// `config`: device and pool counts and how pools are used.
pub(super) fn config(s: &Snapshot) -> Record {
    let gpus = s
        .devices
        .iter()
        .filter(|d| d.kind == DeviceKind::Gpu)
        .count();
    let kinds = match (gpus, s.devices.len() - gpus) {
        (0, _) => "CPU",
        (_, 0) => "GPU",
        _ => "GPU CPU",
    };
    vec![
        ("GPU Count", json!(gpus)),
        ("CPU Count", json!(s.devices.len() - gpus)),
        ("Pool Count", json!(s.pools.len())),
        ("Strategy", json!("Failover")),
        ("Log Interval", json!(5)),
        ("Device Code", json!(kinds)),
        ("OS", json!(std::env::consts::OS)),
        ("Hotplug", json!("None")),
    ]
}

/// `coin`: the hash method (what a block's time, hash and difficulty are
/// is a pool's business, and left out).
pub(super) fn coin() -> Record {
    vec![("Hash Method", json!("sha256")), ("LP", json!(false))]
}
