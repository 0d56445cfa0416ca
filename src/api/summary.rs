//! `GET /summary`: every figure in one JSON document (rates in hashes per
//! second, durations in seconds), documented in the README.

use serde::Serialize;

use super::Snapshot;
use crate::health::Health;
use crate::pool::ShareCounts;

/// The whole document.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// hashrig's version.
    pub version: &'static str,
    /// Seconds since mining started.
    pub uptime_s: f64,
    /// Whether mining is paused.
    pub paused: bool,
    /// Every device together.
    pub total: TotalSummary,
    /// Each device.
    pub devices: Vec<DeviceSummary>,
    /// Each pool (empty when not mining on pools).
    pub pools: Vec<PoolSummary>,
    /// Job replacements: how many, and their mean latency in seconds.
    pub job_switches: u64,
    /// The mean job replacement latency, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_switch_mean_s: Option<f64>,
}

/// Rates in hashes per second.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct HashrateSummary {
    /// Over the last 5 seconds.
    #[serde(rename = "5s")]
    pub last_5s: f64,
    /// Over the last 60 seconds.
    #[serde(rename = "60s")]
    pub last_60s: f64,
    /// Since the device first hashed.
    pub average: f64,
    /// Implied by the verified proofs of work.
    pub effective: f64,
}

/// Every device together.
#[derive(Clone, Debug, Serialize)]
pub struct TotalSummary {
    /// Nonces searched.
    pub hashes: u64,
    /// Rates.
    pub hashrate: HashrateSummary,
    /// Verified proofs of work.
    pub proofs: u64,
    /// Verified solutions of current jobs.
    pub solutions: u64,
    /// Candidates that failed verification.
    pub hardware_errors: u64,
    /// Shares over every pool.
    pub shares: ShareCounts,
}

/// One device.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceSummary {
    /// Its position.
    pub index: usize,
    /// Its name.
    pub name: String,
    /// `cpu`, `gpu` or `other`.
    pub kind: &'static str,
    /// The PCI bus id (`0000:03:00.0`) where the backend reports one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<String>,
    /// `idle`, `hashing`, `paused`, `held` or `failed`.
    pub state: &'static str,
    /// Why it is held or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether it is in service (not failed, not held).
    pub up: bool,
    /// Nonces searched.
    pub hashes: u64,
    /// Rates.
    pub hashrate: HashrateSummary,
    /// Verified proofs of work.
    pub proofs: u64,
    /// Verified solutions of current jobs.
    pub solutions: u64,
    /// Verified solutions of replaced jobs.
    pub stale_solutions: u64,
    /// Candidates that failed verification.
    pub hardware_errors: u64,
    /// Times it was opened again after being taken out of service.
    pub recovery_attempts: u32,
    /// Times it came back to work that way.
    pub recoveries: u32,
    /// Its shares.
    pub shares: ShareCounts,
    /// °C, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
    /// Watts, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// Fan RPM, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fan_rpm: Option<u32>,
    /// Fan duty in percent, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fan_percent: Option<f64>,
    /// Core clock in MHz, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub core_clock_mhz: Option<f64>,
    /// Memory clock in MHz, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_clock_mhz: Option<f64>,
}

/// One pool.
#[derive(Clone, Debug, Serialize)]
pub struct PoolSummary {
    /// Its position in the order given.
    pub index: usize,
    /// The URL, without password.
    pub url: String,
    /// The worker name.
    pub user: String,
    /// `idle`, `connecting`, `mining` or `failed`.
    pub state: String,
    /// Whether the devices mine for it now.
    pub up: bool,
    /// The share difficulty it set last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<f64>,
    /// Its shares.
    pub shares: ShareCounts,
    /// Shares that were blocks.
    pub blocks: u64,
    /// The sum of the accepted shares' difficulties.
    pub accepted_difficulty: f64,
    /// When the last share was found (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_share: Option<u64>,
    /// The last submit's round trip, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtt_s: Option<f64>,
}

impl Summary {
    /// The document for `s`.
    pub fn from_snapshot(s: &Snapshot) -> Summary {
        let devices: Vec<DeviceSummary> = s
            .devices
            .iter()
            .enumerate()
            .map(|(index, d)| {
                let health = s.health.get(index).cloned().unwrap_or_else(Health::default);
                let reason = d.state.reason().map(str::to_string);
                DeviceSummary {
                    index,
                    name: d.name.clone(),
                    kind: d.kind.name(),
                    pci_bus_id: d.details.pci_bus_id.clone(),
                    state: d.state.name(),
                    up: reason.is_none(),
                    reason,
                    hashes: d.hashes,
                    hashrate: HashrateSummary {
                        last_5s: d.rate_5s,
                        last_60s: d.rate_60s,
                        average: d.rate_avg,
                        effective: d.effective_rate,
                    },
                    proofs: d.proofs,
                    solutions: d.solutions,
                    stale_solutions: d.stale,
                    hardware_errors: d.hardware_errors,
                    recovery_attempts: d.recovery_attempts,
                    recoveries: d.recoveries,
                    shares: s.shares.get(index).copied().unwrap_or_default(),
                    temperature_c: health.temperature_c,
                    power_w: health.power_w,
                    fan_rpm: health.fan_rpm,
                    fan_percent: health.fan_percent,
                    core_clock_mhz: health.core_clock_mhz,
                    memory_clock_mhz: health.memory_clock_mhz,
                }
            })
            .collect();
        let pools: Vec<PoolSummary> = s
            .pools
            .iter()
            .enumerate()
            .map(|(index, p)| PoolSummary {
                index,
                url: p.url.clone(),
                user: p.user.clone(),
                state: p.state.as_str().to_string(),
                up: p.up(),
                difficulty: p.difficulty,
                shares: p.shares(),
                blocks: p.blocks,
                accepted_difficulty: p.accepted_difficulty,
                last_share: p.last_share,
                rtt_s: p.rtt.map(|d| d.as_secs_f64()),
            })
            .collect();
        let sum =
            |f: fn(&HashrateSummary) -> f64| devices.iter().fold(0.0, |a, d| a + f(&d.hashrate));
        let total = TotalSummary {
            hashes: devices.iter().map(|d| d.hashes).sum(),
            hashrate: HashrateSummary {
                last_5s: sum(|h| h.last_5s),
                last_60s: sum(|h| h.last_60s),
                average: sum(|h| h.average),
                effective: sum(|h| h.effective),
            },
            proofs: devices.iter().map(|d| d.proofs).sum(),
            solutions: devices.iter().map(|d| d.solutions).sum(),
            hardware_errors: devices.iter().map(|d| d.hardware_errors).sum(),
            shares: pools.iter().map(|p| p.shares).sum(),
        };
        let switches = &s.job_switches;
        Summary {
            version: env!("CARGO_PKG_VERSION"),
            uptime_s: s.uptime.as_secs_f64(),
            paused: s.paused,
            total,
            devices,
            pools,
            job_switches: switches.count,
            job_switch_mean_s: (switches.count > 0).then(|| switches.sum / switches.count as f64),
        }
    }
}
