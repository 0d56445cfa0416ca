//! `hashrig mine --pool …`: mining on Stratum v1 pools until interrupted.
//! Pool changes and shares are printed as they happen (JSON Lines of type
//! `pool` and `share` with `--json`); SIGINT or SIGTERM stops the devices,
//! waits briefly for the pool's answers to shares in flight, prints the
//! summary and exits 0.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use hashrig::pool::{PoolChange, PoolEvent, PoolStats, ShareCounts, ShareResult};
use hashrig::stratum::{Pool, PoolMiner, PoolUrl};
use hashrig::upstream::{PoolOptions, Sv2Channel, Upstream};
use serde::Serialize;

use crate::args::{self, DeviceArgs};
use crate::monitor::{self, MonitorArgs};
use crate::report::{Output, Report};
use crate::session::{Lines, Session};

/// How long shares in flight may wait for the pool's answer at exit.
const FLUSH: Duration = Duration::from_secs(2);

/// The pool options of `hashrig mine`.
#[derive(Args, Clone)]
pub(crate) struct PoolArgs {
    /// Mine on this pool: stratum+tcp://HOST:PORT, or stratum+ssl:// (or
    /// stratum+tls://) for TLS; user:pass@ may come before the host and
    /// #xnsub after the port. Stratum V2: stratum2+tcp://HOST:PORT/KEY with
    /// the pool's authority key. Repeat for failover, first choice first;
    /// v1 and V2 pools mix freely.
    #[arg(long = "pool", value_name = "URL", value_parser = parse_url)]
    pub pools: Vec<PoolUrl>,
    /// Worker name: once for every pool, or once per pool in order.
    #[arg(long = "user", value_name = "NAME")]
    pub users: Vec<String>,
    /// Password: once for every pool, or once per pool in order (default x).
    #[arg(long = "pass", value_name = "PASSWORD")]
    pub passes: Vec<String>,
    /// A PEM file of certificates to trust for TLS pools, beside Mozilla's roots.
    #[arg(long, value_name = "PEM")]
    pub pool_ca: Option<std::path::PathBuf>,
    /// Follow client.reconnect to another host (by default only the same host).
    #[arg(long)]
    pub allow_redirect: bool,
    /// Do not ask pools for version rolling (BIP 310, or Stratum V2's).
    #[arg(long)]
    pub no_version_rolling: bool,
    /// Allow Stratum V2 pools whose URL names no authority key: the
    /// connection is encrypted, but anyone on the path could stand in for
    /// the pool.
    #[arg(long)]
    pub allow_unauthenticated: bool,
    /// The Stratum V2 channel: auto (standard, or extended for a rig too
    /// fast for one), standard or extended.
    #[arg(long, value_name = "KIND", default_value = "auto", value_parser = parse_channel)]
    pub sv2_channel: Sv2Channel,
    #[command(flatten)]
    pub node: crate::node::NodeArgs,
    /// Whether each `--pool` and `--node` was a pool or a node, in the
    /// order they stood on the command line (and in the config file),
    /// from [`order_of`].
    #[arg(skip)]
    pub order: Vec<Given>,
}

/// One `--pool` or `--node` of the arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Given {
    Pool,
    Node,
}

/// Where each `--pool` and `--node` stood in the arguments, as one
/// failover list: `--node A --pool B` mines on the node with the pool as
/// its backup.
pub(crate) fn order_of(m: &clap::ArgMatches) -> Vec<Given> {
    let at = |id: &str| m.indices_of(id).into_iter().flatten();
    let mut order: Vec<(usize, Given)> = at("pools")
        .map(|at| (at, Given::Pool))
        .chain(at("nodes").map(|at| (at, Given::Node)))
        .collect();
    order.sort_by_key(|&(at, _)| at);
    order.into_iter().map(|(_, g)| g).collect()
}

fn parse_channel(text: &str) -> Result<Sv2Channel, String> {
    match text {
        "auto" => Ok(Sv2Channel::Auto),
        "standard" => Ok(Sv2Channel::Standard),
        "extended" => Ok(Sv2Channel::Extended),
        _ => Err(format!("{text:?} is not auto, standard or extended")),
    }
}

fn parse_url(text: &str) -> Result<PoolUrl, hashrig::Error> {
    text.parse()
}

/// The `index`th of values given once for all or once each.
fn per_pool<'a>(
    what: &str,
    values: &'a [String],
    n: usize,
    index: usize,
) -> Result<Option<&'a str>> {
    match values.len() {
        0 => Ok(None),
        1 => Ok(Some(&values[0])),
        k if k == n => Ok(Some(&values[index])),
        k => bail!("{what}: given {k} times for {n} pools (give it once, or once per pool)"),
    }
}

/// The pools the arguments name.
fn pools(a: &PoolArgs) -> Result<Vec<Pool>> {
    let n = a.pools.len();
    a.pools
        .iter()
        .enumerate()
        .map(|(i, url)| {
            let user = per_pool("user", &a.users, n, i)?;
            let pass = per_pool("pass", &a.passes, n, i)?;
            Ok(Pool::new(url.clone(), user, pass)?)
        })
        .collect()
}

/// A `pool` line.
#[derive(Serialize)]
struct PoolLine {
    pool: usize,
    url: String,
    event: &'static str,
    #[serde(flatten)]
    detail: serde_json::Value,
}

impl Report for PoolLine {
    const TYPE: &'static str = "pool";
    fn text(&self) -> String {
        let detail = match &self.detail {
            serde_json::Value::Object(m) if !m.is_empty() => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k} {}", sentence_case(s)),
                        serde_json::Value::Number(n) => match n.as_f64() {
                            Some(f) if !n.is_i64() && !n.is_u64() => format!("{k} {}", short(f)),
                            _ => format!("{k} {n}"),
                        },
                        other => format!("{k} {other}"),
                    })
                    .collect();
                format!(": {}", parts.join(", "))
            }
            _ => String::new(),
        };
        format!("pool {} {} {}{detail}", self.pool, self.url, self.event)
    }
    fn text_on_stderr(&self) -> bool {
        true
    }
}

/// `f` with about four significant digits, no trailing zeros (for text:
/// `0.059231000000000006` reads `0.05923`).
fn short(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    let digits = (3 - f.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{f:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A message that starts a sentence of its own (`Connection refused`, as
/// the OS words it) as it reads after a label: lower case, unless it
/// starts with an acronym.
fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_lowercase() => a
            .to_lowercase()
            .chain(text[a.len_utf8()..].chars())
            .collect(),
        _ => text.to_string(),
    }
}

/// A `share` line.
#[derive(Serialize)]
struct ShareLine {
    pool: usize,
    job: String,
    nonce: String,
    extranonce2: String,
    ntime: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_bits: Option<String>,
    difficulty: f64,
    target_difficulty: f64,
    result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    submit_ms: Option<f64>,
    block: bool,
    hash: String,
    device: String,
}

impl Report for ShareLine {
    const TYPE: &'static str = "share";
    fn text(&self) -> String {
        let why = match (&self.code, &self.message) {
            (Some(c), Some(m)) => format!(" ({c} {m})"),
            (None, Some(m)) => format!(" ({m})"),
            _ => String::new(),
        };
        let block = if self.block { " BLOCK" } else { "" };
        let latency = self
            .latency_ms
            .map_or(String::new(), |l| format!(" in {l:.0} ms"));
        format!(
            "share {}{why}{block} pool {} job {} nonce {} diff {:.4} (target {}) on {}{latency}",
            self.result,
            self.pool,
            self.job,
            self.nonce,
            self.difficulty,
            self.target_difficulty,
            self.device
        )
    }
}

/// A `mining` line: the devices paused or resumed.
#[derive(Serialize)]
struct MiningLine {
    paused: bool,
    reason: String,
}

impl Report for MiningLine {
    const TYPE: &'static str = "mining";
    fn text(&self) -> String {
        let what = if self.paused { "paused" } else { "resumed" };
        format!("devices {what}: {}", self.reason)
    }
    fn text_on_stderr(&self) -> bool {
        true
    }
}

/// One pool in the summary.
#[derive(Serialize)]
struct PoolSummary {
    url: String,
    #[serde(flatten)]
    shares: ShareCounts,
    blocks: u64,
    connections: u64,
}

/// The final `summary`.
#[derive(Serialize)]
struct Summary {
    seconds: f64,
    hashes: u64,
    mhs: f64,
    #[serde(flatten)]
    shares: ShareCounts,
    blocks: u64,
    hardware_errors: u64,
    device: String,
    pools: Vec<PoolSummary>,
}

impl Report for Summary {
    const TYPE: &'static str = "summary";
    fn text(&self) -> String {
        format!(
            "{} accepted, {} rejected, {} stale shares ({} blocks); {} hashes in {:.1} s ({:.2} MH/s) on {}",
            self.shares.accepted, self.shares.rejected, self.shares.stale, self.blocks, self.hashes, self.seconds, self.mhs, self.device
        )
    }
    fn text_on_stderr(&self) -> bool {
        true
    }
}

/// A status line for a pool.
fn status_line(i: usize, s: &PoolStats) -> String {
    let diff = s.difficulty.map_or("-".into(), |d| format!("{d}"));
    let last = s.last_share.map_or("-".into(), |t| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("{}s ago", now.saturating_sub(t))
    });
    let rtt = s
        .rtt
        .map_or("-".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1e3));
    format!(
        "pool {i} {:<34} {:<10} diff {:<10} A:{} R:{} S:{}  last {}  rtt {}",
        s.url,
        s.state.as_str(),
        diff,
        s.accepted,
        s.rejected,
        s.stale,
        last,
        rtt
    )
}

fn pool_line(pool: usize, url: String, change: PoolChange) -> PoolLine {
    use serde_json::json;
    let (event, detail) = match change {
        PoolChange::Connected => ("connected", json!({})),
        PoolChange::Authorized {
            extranonce1,
            extranonce2_size,
            version_mask,
        } => (
            "authorized",
            json!({"extranonce1": extranonce1, "extranonce2_size": extranonce2_size,
                   "version_mask": format!("{version_mask:08x}")}),
        ),
        PoolChange::Difficulty(d) => ("difficulty", json!({"difficulty": d})),
        PoolChange::Job {
            job_id,
            clean,
            queued,
            ..
        } => (
            "job",
            json!({"job": job_id, "clean": clean, "queued_ms": queued.as_secs_f64() * 1e3}),
        ),
        PoolChange::Disconnected(why) => ("disconnected", json!({"reason": why})),
        PoolChange::Failover { from } => ("failover", json!({"from": from})),
        PoolChange::Message(m) => ("message", json!({"message": m})),
    };
    PoolLine {
        pool,
        url,
        event,
        detail,
    }
}

/// The pool options the arguments stand for, checked (by `config
/// --check` too): at least one pool, each URL and credential, the CA file.
pub(crate) fn pool_options(a: &PoolArgs) -> Result<PoolOptions> {
    let mut pools = pools(a)?.into_iter();
    let mut nodes = crate::node::nodes(&a.node)?.into_iter();
    // One failover list, in the order the arguments gave; what that order
    // does not place (arguments not read by `parse_argv`): pools, then nodes.
    let mut upstreams: Vec<Upstream> = a
        .order
        .iter()
        .filter_map(|given| match given {
            Given::Pool => pools.next().map(Upstream::from),
            Given::Node => nodes.next().map(Upstream::from),
        })
        .collect();
    upstreams.extend(pools.map(Upstream::from));
    upstreams.extend(nodes.map(Upstream::from));
    if upstreams.is_empty() {
        bail!("pool: give --pool URL (or [[pool]] in the config file), --node URL --address ADDR to mine solo, or --header to search one header");
    }
    let mut options = PoolOptions::new(upstreams);
    options.allow_redirect = a.allow_redirect;
    options.version_rolling = !a.no_version_rolling;
    options.allow_unauthenticated = a.allow_unauthenticated;
    options.sv2_channel = a.sv2_channel;
    if let Some(path) = &a.pool_ca {
        options.extra_ca_pem =
            Some(std::fs::read(path).with_context(|| format!("pool-ca: {}", path.display()))?);
    }
    // What the pool miner checks when it starts, checked here too, so that
    // `config --check` refuses what `mine` would.
    options.validate()?;
    Ok(options)
}

/// Mines on the pools until SIGINT or SIGTERM; exit 0.
pub(crate) fn mine_pool(
    a: &PoolArgs,
    device: &DeviceArgs,
    watch: &MonitorArgs,
    json: bool,
) -> Result<u8> {
    let options = pool_options(a)?;
    crate::node::preflight(options.nodes())?;
    // The node at each place of the failover list, for its `block` lines.
    let nodes: Vec<Option<String>> = options
        .upstreams
        .iter()
        .map(|u| match u {
            Upstream::Node(n) => Some(n.url.to_string()),
            Upstream::Pool(_) => None,
        })
        .collect();
    let engine = Arc::new(args::engine(device)?);
    let miner = Arc::new(PoolMiner::start(engine.clone(), options)?);
    let lines = {
        let m = miner.clone();
        Lines::Pools(Box::new(move || {
            m.stats()
                .iter()
                .enumerate()
                .map(|(i, s)| status_line(i, s))
                .collect()
        }))
    };
    let mut run = Session::start(engine.clone(), watch, Some(miner.clone()), lines, json)?;
    while !run.tick()? {
        let Some(event) = miner.recv_timeout(Duration::from_millis(100)) else {
            continue;
        };
        emit(&mut run.out, event, &nodes)?;
    }
    // A forced stop (a second signal) does not wait for the pool's answers.
    miner.stop_unless(FLUSH, monitor::stop_forced);
    while let Some(event) = miner.recv_timeout(Duration::ZERO) {
        emit(&mut run.out, event, &nodes)?;
    }
    let (names, started) = (run.names.clone(), run.started);
    let mut out = run.finish()?;
    let seconds = started.elapsed().as_secs_f64();
    let devices = engine.stats();
    let hashes: u64 = devices.iter().map(|d| d.hashes).sum();
    let stats = miner.stats();

    out.emit(&Summary {
        seconds,
        hashes,
        mhs: hashes as f64 / seconds.max(1e-9) / 1e6,
        shares: stats.iter().map(PoolStats::shares).sum(),
        blocks: stats.iter().map(|s| s.blocks).sum(),
        hardware_errors: devices.iter().map(|d| d.hardware_errors).sum(),
        device: names.join(" + "),
        pools: stats
            .iter()
            .map(|s| PoolSummary {
                url: s.url.clone(),
                shares: s.shares(),
                blocks: s.blocks,
                connections: s.connections,
            })
            .collect(),
    })?;
    Ok(0)
}

/// Writes one event; the pools of the list that are nodes (their URL in
/// `nodes`) get a `block` line for each block too.
fn emit(out: &mut Output, event: PoolEvent, nodes: &[Option<String>]) -> Result<()> {
    match event {
        PoolEvent::Pool { pool, url, change } => out.emit(&pool_line(pool, url, change)),
        PoolEvent::Share(s)
            if s.result != ShareResult::Stale && nodes.get(s.pool).is_some_and(Option::is_some) =>
        {
            let block = crate::node::BlockLine {
                pool: s.pool,
                url: nodes[s.pool].clone().unwrap_or_default(),
                hash: s.header.block_hash().to_string(),
                height: crate::node::height_of(&s.job_id),
                result: if s.result == ShareResult::Accepted {
                    "accepted"
                } else {
                    "rejected"
                },
                reason: match &s.result {
                    ShareResult::Rejected { message, .. } => Some(message.clone()),
                    _ => None,
                },
            };
            emit(out, PoolEvent::Share(s), &[])?;
            out.emit(&block)
        }
        PoolEvent::Share(s) => {
            let (code, message) = match &s.result {
                ShareResult::Rejected { code, message } => (*code, Some(message.clone())),
                _ => (None, None),
            };
            out.emit(&ShareLine {
                pool: s.pool,
                job: s.job_id.clone(),
                nonce: format!("{:08x}", s.header.nonce),
                extranonce2: hashrig::hex::encode(&s.extranonce2),
                ntime: format!("{:08x}", s.header.time),
                version_bits: s.version_bits.map(|b| format!("{b:08x}")),
                difficulty: s.difficulty,
                target_difficulty: s.target_difficulty,
                result: s.result.as_str(),
                code,
                message,
                latency_ms: s.latency.map(|d| d.as_secs_f64() * 1e3),
                submit_ms: s.submit_delay.map(|d| d.as_secs_f64() * 1e3),
                block: s.block,
                hash: s.header.block_hash().to_string(),
                device: s.device,
            })
        }
        PoolEvent::Mining { paused, reason } => out.emit(&MiningLine { paused, reason }),
        PoolEvent::DeviceFailed { device, reason } => {
            crate::status::above(|| eprintln!("hashrig: {device} taken out of service: {reason}"));
            Ok(())
        }
        PoolEvent::DeviceRecovered { device, attempt } => {
            crate::status::above(|| {
                eprintln!("hashrig: {device} is back at work (opened again, attempt {attempt})")
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_numbers_are_short_and_messages_read_after_a_label() {
        assert_eq!(short(0.059231000000000006), "0.05923");
        assert_eq!(short(0.017000000000000008), "0.017");
        assert_eq!(short(1234.5678), "1235");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(
            sentence_case("Connection refused (os error 111)"),
            "connection refused (os error 111)"
        );
        assert_eq!(
            sentence_case("TLS handshake failed"),
            "TLS handshake failed"
        );
        assert_eq!(sentence_case("no answer"), "no answer");
    }
}
