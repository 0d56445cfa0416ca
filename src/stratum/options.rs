//! How a Stratum v1 pool miner behaves ([`PoolOptions`]), checked in one
//! place.

use std::time::Duration;

use super::url::Pool;
use crate::Error;

/// How a [`PoolMiner`](crate::pool::PoolMiner) behaves. The defaults are what a rig wants; tests
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
    /// Checks every option: what [`PoolMiner::start`](crate::pool::PoolMiner::start) calls first.
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
