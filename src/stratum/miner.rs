//! Mining on Stratum v1 pools: the options, and [`PoolMiner::start`],
//! which puts the v1 protocol ([`super::client`]) under the pool layer
//! ([`crate::pool`]).

use std::sync::Arc;

use super::client::StratumV1;
use super::options::PoolOptions;
use super::session::FIRST_SUBMIT_ID;
use crate::engine::Engine;
use crate::pool::{PoolMiner, PoolStats, Settings};
use crate::Error;

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
