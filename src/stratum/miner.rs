//! Mining on Stratum v1 pools: the options, and [`PoolMiner::start`],
//! which puts the v1 protocol ([`super::client`]) under the pool layer
//! ([`crate::pool`]).

use std::sync::Arc;
use std::time::Duration;

use super::client::StratumV1;
use super::session::FIRST_SUBMIT_ID;
use super::url::Pool;
use crate::engine::Engine;
use crate::pool::{PoolMiner, PoolStats, Settings};
use crate::Error;

/// How a [`PoolMiner`] behaves. The defaults are what a rig wants; tests
/// shorten the times.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// The pools, first choice first.
    pub pools: Vec<Pool>,
    /// Extra trust anchors (PEM) for TLS pools, beside Mozilla's roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The user agent sent in `mining.subscribe`.
    pub agent: String,
    /// Whether to ask for BIP 310 version rolling.
    pub version_rolling: bool,
    /// Whether `client.reconnect` may send the miner to another host.
    pub allow_redirect: bool,
    /// The first wait before reconnecting; it doubles per failure.
    pub backoff_start: Duration,
    /// The longest wait before reconnecting.
    pub backoff_max: Duration,
    /// Failures in a row on one pool before switching to the next.
    pub failures_before_switch: u32,
    /// How often a backup pool checks whether a better pool works again.
    pub primary_check: Duration,
    /// How long without a new job before the connection counts as dead.
    pub job_timeout: Duration,
    /// Rejected shares in a row after which a pool counts as failing.
    pub reject_limit: u32,
    /// The read timeout of the connection thread (how quickly it notices
    /// a stop or a timer).
    pub poll: Duration,
}

impl PoolOptions {
    /// Defaults for `pools`.
    pub fn new(pools: Vec<Pool>) -> PoolOptions {
        PoolOptions {
            pools,
            extra_ca_pem: None,
            agent: format!("hashrig/{}", env!("CARGO_PKG_VERSION")),
            version_rolling: true,
            allow_redirect: false,
            backoff_start: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            failures_before_switch: 3,
            primary_check: Duration::from_secs(60),
            job_timeout: Duration::from_secs(300),
            reject_limit: 20,
            poll: Duration::from_millis(100),
        }
    }
}

impl PoolOptions {
    /// Checks every option: what [`PoolMiner::start`] calls first.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, reason: &str| {
            Err(Error::Options {
                option,
                reason: reason.to_string(),
            })
        };
        if self.pools.is_empty() {
            return Err(Error::Pool("no pool given".into()));
        }
        if self.backoff_start.is_zero() || self.backoff_max < self.backoff_start {
            return bad(
                "backoff",
                "the first wait must be longer than zero and at most the longest",
            );
        }
        if self.failures_before_switch == 0 {
            return bad("failures-before-switch", "must be at least 1");
        }
        if self.reject_limit == 0 {
            return bad("reject-limit", "must be at least 1");
        }
        if self.poll.is_zero() || self.job_timeout.is_zero() || self.primary_check.is_zero() {
            return bad(
                "timeouts",
                "the poll, the job timeout and the primary check must be longer than zero",
            );
        }
        Ok(())
    }
}

impl PoolMiner {
    /// Starts mining on `options.pools` with `engine`. The engine is paused
    /// until a pool gives work; the miner takes the engine's events (read
    /// them through [`recv_timeout`](Self::recv_timeout) instead).
    pub fn start(engine: Arc<Engine>, options: PoolOptions) -> Result<PoolMiner, Error> {
        options.validate()?;
        let stats = options
            .pools
            .iter()
            .map(|p| PoolStats::new(p.url.to_string(), p.user.clone()))
            .collect();
        let settings = Settings {
            backoff_start: options.backoff_start,
            backoff_max: options.backoff_max,
            failures_before_switch: options.failures_before_switch,
            primary_check: options.primary_check,
            job_timeout: options.job_timeout,
            reject_limit: options.reject_limit,
        };
        let protocol = Arc::new(StratumV1::new(options)?);
        PoolMiner::start_with(engine, protocol, stats, settings, FIRST_SUBMIT_ID)
    }
}
