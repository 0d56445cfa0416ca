//! Mining on pools: the options, and [`PoolMiner::start`], which puts
//! Stratum v1 ([`super::client`]) and Stratum V2 ([`crate::sv2`]) under the
//! pool layer ([`crate::pool`]), each pool of the list spoken to in the
//! protocol its URL names.

use std::sync::{Arc, Mutex};

use super::client::StratumV1;
use super::options::PoolOptions;
use super::roller::Origins;
use super::session::FIRST_SUBMIT_ID;
use super::url::Version;
use crate::engine::Engine;
use crate::node::client::Solo;
use crate::pool::protocol::{Draft, Link, Opened, Opening, Protocol, Redirect};
use crate::pool::{PoolMiner, PoolStats};
use crate::sv2::client::StratumV2;
use crate::{Error, Header};

/// Both Stratum versions and solo nodes over one list: each in its own.
struct Stratum {
    v1: StratumV1,
    v2: StratumV2,
    solo: Solo,
    /// Whether pool `i` speaks Stratum V2 (the nodes come after the pools).
    is_v2: Vec<bool>,
    /// Headers handed out by either, by merkle root.
    origins: Arc<Mutex<Origins>>,
}

impl Stratum {
    fn of(&self, pool: usize) -> &dyn Protocol {
        match self.is_v2.get(pool) {
            None => &self.solo,
            Some(true) => &self.v2,
            Some(false) => &self.v1,
        }
    }
}

impl Protocol for Stratum {
    fn open(&self, pool: usize, probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened> {
        self.of(pool).open(pool, probe, cx)
    }

    fn redirect(&self, pool: usize, to: &Redirect) -> String {
        self.of(pool).redirect(pool, to)
    }

    fn forget_redirect(&self, pool: usize) {
        self.of(pool).forget_redirect(pool)
    }

    fn draft(&self, header: &Header) -> Option<Draft> {
        super::roller::draft(&self.origins, header)
    }
}

impl PoolMiner {
    /// Starts mining on `options.pools` with `engine`: Stratum v1 pools
    /// (`stratum+tcp://`, `stratum+ssl://`), Stratum V2 pools
    /// (`stratum2+tcp://HOST:PORT/KEY`) and then `options.nodes` (solo,
    /// getblocktemplate) in one failover list. The engine is
    /// paused until a pool gives work; the miner takes the engine's events
    /// (read them through [`recv_timeout`](Self::recv_timeout) instead).
    pub fn start(engine: Arc<Engine>, options: PoolOptions) -> Result<PoolMiner, Error> {
        options.validate()?;
        let stats = options
            .pools
            .iter()
            .map(|p| PoolStats::new(p.url.to_string(), p.user.clone()))
            .chain(
                options
                    .nodes
                    .iter()
                    .map(|n| PoolStats::new(n.url.to_string(), n.address.clone())),
            )
            .collect();
        let is_v2 = options
            .pools
            .iter()
            .map(|p| matches!(p.url.version, Version::V2 { .. }))
            .collect();
        let v1 = StratumV1::new(options.clone())?;
        let origins = v1.origins.clone();
        let solo = Solo::new(
            options.nodes.clone(),
            options.pools.len(),
            origins.clone(),
            options.version_rolling,
            options.node_poll,
            options.poll,
        );
        let settings = options.failover.clone();
        let v2 = StratumV2::new(options, origins.clone());
        let protocol = Arc::new(Stratum {
            v1,
            v2,
            solo,
            is_v2,
            origins,
        });
        PoolMiner::start_with(engine, protocol, stats, settings, FIRST_SUBMIT_ID)
    }
}
