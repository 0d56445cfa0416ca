//! The config file itself: the commented example, the keys it may hold
//! (unknown ones are refused) and its parse, whose errors name the key and
//! the line.

use anyhow::Result;
use serde::Deserialize;

/// The commented example `hashrig config --example` prints.
pub(crate) const EXAMPLE: &str = r#"# hashrig configuration (TOML). Every key is optional; a flag given on the
# command line overrides the file. Run: hashrig mine --config hashrig.toml

# Which hardware hashes: "auto" (GPUs if usable, else the CPU), "cpu", "gpu".
backend = "auto"
# GPU selectors: an index, part of the adapter name, or a PCI bus id.
# devices = ["0", "0000:03:00.0"]
# Whether the CPU hashes beside the GPUs: "auto", "on", "off".
cpu = "auto"
# CPU hashing threads (default: every core, or every core but one with GPUs).
# threads = 8
# CPU kernel: soft, scalar, sha-ni, sha-ni-60, avx2, avx512, avx2-pipelined, avx512-pipelined, avx512vl, avx512vl-pipelined, neon, neon-pipelined, arm-sha2.
# cpu_kernel = "avx2"
# GPU batch duration to aim for, in milliseconds (bounds job-switch latency).
batch_ms = 20
# GPU kernel form: constant-rotates, rotation-amounts (default: the fastest
# calibration measures on each GPU).
# kernel_form = "rotation-amounts"

# Pools, first choice first; the others are failovers.
[[pool]]
url = "stratum+tcp://pool.example.com:3333"
user = "wallet.worker1"
pass = "x"

# [[pool]]
# url = "stratum+ssl://backup.example.com:443"
# user = "wallet.worker1"

# Stratum V2: the pool's authority key after host:port.
# [[pool]]
# url = "stratum2+tcp://v2.example.com:34254/9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72"
# user = "wallet.worker1"

# Solo mining on your own node ([[pool]] and [[node]] tables form one
# failover list, in the order they stand in this file):
# [[node]]
# url = "http://127.0.0.1:8332"
# [solo]
# address = "bc1q…"
# rpc_cookie = "/var/lib/bitcoind/.cookie"
# coinbase_tag = "my rig"

[stratum]
# A PEM file of certificates to trust for TLS pools, beside Mozilla's roots.
# ca = "/etc/hashrig/pool-ca.pem"
# Follow client.reconnect to another host.
allow_redirect = false
# Ask pools for version rolling (BIP 310).
version_rolling = true
# Allow Stratum V2 pools whose URL has no authority key (not authenticated).
allow_unauthenticated = false
# The Stratum V2 channel: auto, standard or extended.
sv2_channel = "auto"

[api]
# Prometheus /metrics, /summary and /control on this address.
listen = "127.0.0.1:9100"
# The bearer token POST /control/... needs (or set HASHRIG_API_TOKEN).
# token = "change-me"
# The cgminer-compatible API (rig monitors).
cgminer = "127.0.0.1:4028"
# Other rigs' APIs the dashboard (GET /) shows beside this one ...
# peers = ["http://10.0.0.12:9100"]
# ... and the dashboards that may read this rig's figures (CORS).
# allow_origins = ["http://10.0.0.11:9100"]
# Host names browsers reach this API by (IP addresses and localhost always
# work; any other name is refused, against DNS rebinding).
# hosts = ["rig1.lan"]

[temperature]
# Hold a device out of the work at or over this temperature (°C) ...
limit = 85
# ... until it has cooled under this one.
resume = 75
"#;

/// The file's contents.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Config {
    pub(super) backend: Option<String>,
    pub(super) devices: Option<Vec<String>>,
    pub(super) cpu: Option<String>,
    pub(super) threads: Option<u64>,
    pub(super) cpu_kernel: Option<String>,
    pub(super) batch_ms: Option<u64>,
    pub(super) kernel_form: Option<String>,
    #[serde(default)]
    pub(super) pool: Vec<toml::Spanned<PoolEntry>>,
    pub(super) stratum: Option<Stratum>,
    #[serde(default)]
    pub(super) node: Vec<toml::Spanned<NodeEntry>>,
    pub(super) solo: Option<Solo>,
    pub(super) api: Option<Api>,
    pub(super) temperature: Option<Temperature>,
}

/// A line of the file without its comment.
pub(super) fn code(raw: &str) -> &str {
    raw.split('#').next().unwrap_or("").trim()
}

/// The name of the array-of-tables header (`[[name]]`) that `line` is.
pub(super) fn array_table(line: &str) -> Option<&str> {
    Some(line.strip_prefix("[[")?.strip_suffix("]]")?.trim())
}

impl Config {
    /// The pools and nodes in the order they stand in the file (`true`
    /// for a node), by the TOML parser's positions of each entry (tables
    /// or inline arrays alike): one failover list.
    pub(super) fn failover_order(&self) -> Vec<bool> {
        let mut at: Vec<(usize, bool)> = self
            .pool
            .iter()
            .map(|p| (p.span().start, false))
            .chain(self.node.iter().map(|n| (n.span().start, true)))
            .collect();
        at.sort_by_key(|&(start, _)| start);
        at.into_iter().map(|(_, node)| node).collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PoolEntry {
    pub(super) url: String,
    /// The worker; may instead be in the URL (`stratum+tcp://user:pass@…`),
    /// as on the command line.
    pub(super) user: Option<String>,
    pub(super) pass: Option<String>,
}

impl PoolEntry {
    /// The worker and password: the entry's own, else those of the URL's
    /// `user:pass@` (the same `--user` and `--pass` the command line
    /// would take from it).
    pub(super) fn credentials(&self) -> (Option<String>, Option<String>) {
        let in_url = self.url.parse::<hashrig::stratum::PoolUrl>().ok();
        let (url_user, url_pass) = in_url.map_or((None, None), |u| (u.user, u.pass));
        match &self.user {
            Some(u) => (Some(u.clone()), self.pass.clone()),
            None => (url_user, self.pass.clone().or(url_pass)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeEntry {
    pub(super) url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Solo {
    pub(super) address: Option<String>,
    pub(super) rpc_cookie: Option<String>,
    pub(super) rpc_user: Option<String>,
    pub(super) rpc_pass: Option<String>,
    pub(super) coinbase_tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Stratum {
    pub(super) ca: Option<String>,
    pub(super) allow_redirect: Option<bool>,
    pub(super) version_rolling: Option<bool>,
    pub(super) allow_unauthenticated: Option<bool>,
    pub(super) sv2_channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Api {
    pub(super) listen: Option<String>,
    pub(super) token: Option<String>,
    pub(super) cgminer: Option<String>,
    #[serde(default)]
    pub(super) peers: Vec<String>,
    #[serde(default)]
    pub(super) allow_origins: Vec<String>,
    #[serde(default)]
    pub(super) hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Temperature {
    pub(super) limit: Option<f64>,
    pub(super) resume: Option<f64>,
}

/// Parses a file's text; an error names the key and the line.
pub(super) fn parse(text: &str) -> Result<Config> {
    toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        let Some(span) = e.span() else {
            return anyhow::anyhow!("{message}");
        };
        let start = span.start.min(text.len());
        let number = text[..start].matches('\n').count() + 1;
        let line: String = text
            .lines()
            .nth(number - 1)
            .unwrap_or("")
            .trim()
            .chars()
            .take(80)
            .collect();
        anyhow::anyhow!("line {number} ({line}): {message}")
    })
}
