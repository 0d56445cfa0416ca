//! `GET /metrics`: the Prometheus (OpenMetrics) text exposition, written
//! by `prometheus-client` from one [`Snapshot`] per scrape. Base units,
//! `_total` counters, and only `device`, `window`, `pool` and `result` as
//! labels, whose values are as few as the devices and pools.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::Snapshot;

type Labels = Vec<(&'static str, String)>;

/// The OpenMetrics exposition of `snapshot` (what Prometheus asks for).
pub fn exposition(snapshot: &Snapshot) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snapshot.clone())));
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

/// The same exposition in Prometheus's classic text format (0.0.4), for
/// clients that do not ask for OpenMetrics (`curl`, `promtool check
/// metrics`): no `# EOF`, counters and infos described by the names their
/// samples carry (`_total`, `_info`), infos typed as gauges.
pub fn classic(openmetrics: &str) -> String {
    let kinds: std::collections::HashMap<&str, &str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let described = ["# HELP ", "# TYPE "]
            .iter()
            .find_map(|p| Some((*p, line.strip_prefix(p)?)));
        let Some((prefix, rest)) = described else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let (name, tail) = match (kinds.get(name).copied(), prefix) {
            (Some("counter"), _) => (format!("{name}_total"), tail),
            (Some("info"), "# TYPE ") => (format!("{name}_info"), "gauge"),
            (Some("info"), _) => (format!("{name}_info"), tail),
            _ => (name.to_string(), tail),
        };
        out.push_str(&format!("{prefix}{name} {tail}\n"));
    }
    out
}

#[derive(Debug)]
struct SnapshotCollector(Snapshot);

/// Writes one metric family: its descriptor, then each labelled value.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    values: Vec<(Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in values {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn device(name: &str) -> Labels {
    vec![("device", name.to_string())]
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = &self.0;
        let e = &mut encoder;
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION").to_string())]);
        build.encode(e.encode_descriptor(
            "hashrig_build",
            "hashrig's version",
            None,
            build.metric_type(),
        )?)?;
        let uptime = ConstGauge::new(s.uptime.as_secs_f64());
        uptime.encode(e.encode_descriptor(
            "hashrig_uptime_seconds",
            "Seconds since mining started",
            None,
            MetricType::Gauge,
        )?)?;
        let counter = |f: fn(&crate::engine::DeviceStats) -> u64| -> Vec<(Labels, ConstCounter)> {
            s.devices
                .iter()
                .map(|d| (device(&d.name), ConstCounter::new(f(d))))
                .collect()
        };
        family(
            e,
            "hashrig_hashes",
            "Nonces searched, as each device reports them",
            MetricType::Counter,
            counter(|d| d.hashes),
        )?;
        let mut rates = Vec::new();
        for d in &s.devices {
            for (window, v) in [
                ("5s", d.rate_5s),
                ("60s", d.rate_60s),
                ("average", d.rate_avg),
                ("effective", d.effective_rate),
            ] {
                let labels = vec![("device", d.name.clone()), ("window", window.to_string())];
                rates.push((labels, ConstGauge::new(v)));
            }
        }
        family(
            e,
            "hashrig_hashrate_hashes_per_second",
            "Hashrate over a window; effective is implied by verified proofs of work",
            MetricType::Gauge,
            rates,
        )?;
        family(
            e,
            "hashrig_proofs",
            "Verified proofs of work (hashes meeting the engine's easier proof target)",
            MetricType::Counter,
            counter(|d| d.proofs),
        )?;
        family(
            e,
            "hashrig_solutions",
            "Verified solutions of current jobs",
            MetricType::Counter,
            counter(|d| d.solutions),
        )?;
        family(
            e,
            "hashrig_hardware_errors",
            "Candidates that failed verification on the CPU reference",
            MetricType::Counter,
            counter(|d| d.hardware_errors),
        )?;
        family(
            e,
            "hashrig_device_recoveries",
            "Times a device taken out of service came back to work, opened again",
            MetricType::Counter,
            counter(|d| u64::from(d.recoveries)),
        )?;
        family(
            e,
            "hashrig_device_recovery_attempts",
            "Times a device taken out of service was opened again",
            MetricType::Counter,
            counter(|d| u64::from(d.recovery_attempts)),
        )?;
        let up = s
            .devices
            .iter()
            .map(|d| {
                let up = d.state.reason().is_none();
                (device(&d.name), ConstGauge::new(up as i64))
            })
            .collect();
        family(
            e,
            "hashrig_device_up",
            "1 while the device is in service; 0 when taken out, recovering or held (too hot)",
            MetricType::Gauge,
            up,
        )?;
        let known =
            |f: fn(&crate::health::Health) -> Option<f64>| -> Vec<(Labels, ConstGauge<f64>)> {
                s.devices
                    .iter()
                    .zip(&s.health)
                    .filter_map(|(d, h)| Some((device(&d.name), ConstGauge::new(f(h)?))))
                    .collect()
            };
        for (name, help, values) in [
            (
                "hashrig_device_temperature_celsius",
                "Device temperature, where the platform tells it",
                known(|h| h.temperature_c),
            ),
            (
                "hashrig_device_power_watts",
                "Device power draw, where the platform tells it",
                known(|h| h.power_w),
            ),
            (
                "hashrig_device_fan_ratio",
                "Fan duty from 0 to 1, where the platform tells it",
                known(|h| h.fan_percent.map(|p| p / 100.0)),
            ),
            (
                "hashrig_device_core_clock_hertz",
                "Core clock, where the platform tells it",
                known(|h| h.core_clock_mhz.map(|m| m * 1e6)),
            ),
        ] {
            if !values.is_empty() {
                family(e, name, help, MetricType::Gauge, values)?;
            }
        }
        if !s.pools.is_empty() {
            let mut shares = Vec::new();
            for p in &s.pools {
                for (result, n) in [
                    ("accepted", p.accepted),
                    ("rejected", p.rejected),
                    ("stale", p.stale),
                ] {
                    let labels = vec![("pool", p.url.clone()), ("result", result.to_string())];
                    shares.push((labels, ConstCounter::new(n)));
                }
            }
            family(
                e,
                "hashrig_shares",
                "Shares by pool and outcome",
                MetricType::Counter,
                shares,
            )?;
            let pool = |p: &crate::pool::PoolStats| vec![("pool", p.url.clone())];
            family(
                e,
                "hashrig_pool_up",
                "1 while the devices mine for the pool",
                MetricType::Gauge,
                s.pools
                    .iter()
                    .map(|p| (pool(p), ConstGauge::new(p.up() as i64)))
                    .collect(),
            )?;
            family(
                e,
                "hashrig_pool_difficulty",
                "The share difficulty the pool set last",
                MetricType::Gauge,
                s.pools
                    .iter()
                    .filter_map(|p| Some((pool(p), ConstGauge::new(p.difficulty?))))
                    .collect(),
            )?;
        }
        let h = &s.job_switches;
        let mut metric = e.encode_descriptor(
            "hashrig_job_switch_seconds",
            "From a job's submission to a device starting on it",
            None,
            MetricType::Histogram,
        )?;
        // prometheus-client adds the buckets up itself: give each its own.
        let mut below = 0;
        let mut buckets: Vec<(f64, u64)> = Vec::new();
        for (bound, cumulative) in h.bounds.iter().zip(&h.cumulative) {
            buckets.push((*bound, cumulative - below));
            below = *cumulative;
        }
        buckets.push((f64::INFINITY, h.count - below));
        metric.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)?;
        Ok(())
    }
}
