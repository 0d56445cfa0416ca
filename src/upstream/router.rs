//! The router: [`PoolMiner::start`] puts Stratum v1 ([`crate::stratum`]),
//! Stratum V2 ([`crate::sv2`]) and solo nodes ([`crate::node`]) under the
//! pool layer ([`crate::pool`]), each upstream of the list spoken to in
//! the protocol its URL names. The one place that knows every protocol: a
//! fourth is a folder of its own beside those three, a variant of
//! [`super::Upstream`] and of [`super::UpstreamUrl`] for its scheme, and
//! one of the [`Route`] here.

use std::sync::{Arc, Mutex};

use super::options::{PoolOptions, Upstream};
use crate::engine::Engine;
use crate::node::client::Solo;
use crate::pool::protocol::{Draft, Link, Opened, Opening, Protocol, Redirect};
use crate::pool::roller::Origins;
use crate::pool::Pool;
use crate::pool::{PoolMiner, PoolStats, Version};
use crate::stratum::client::StratumV1;
use crate::stratum::session::FIRST_SUBMIT_ID;
use crate::sv2::client::StratumV2;
use crate::{Error, Header};

/// Where the failover list's upstream goes: a protocol, and the index in
/// that protocol's own list.
#[derive(Clone, Copy)]
enum Route {
    V1(usize),
    V2(usize),
    Node(usize),
}

/// Both Stratum versions and solo nodes over one list: each in its own.
struct Stratum {
    v1: StratumV1,
    v2: StratumV2,
    solo: Solo,
    /// The failover list: where the layer's pool `i` goes.
    route: Vec<Route>,
    /// Headers handed out by either, by merkle root.
    origins: Arc<Mutex<Origins>>,
}

impl Stratum {
    /// The protocol of the layer's pool `pool`, and its index in that
    /// protocol's own list (the list's pools, or its nodes, in its order).
    fn of(&self, pool: usize) -> (&dyn Protocol, usize) {
        match self.route[pool] {
            Route::Node(i) => (&self.solo, i),
            Route::V2(i) => (&self.v2, i),
            Route::V1(i) => (&self.v1, i),
        }
    }
}

impl Protocol for Stratum {
    fn open(&self, pool: usize, probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened> {
        let (protocol, own) = self.of(pool);
        protocol.open(own, probe, cx)
    }

    fn redirect(&self, pool: usize, to: &Redirect) -> String {
        let (protocol, own) = self.of(pool);
        protocol.redirect(own, to)
    }

    fn forget_redirect(&self, pool: usize) {
        let (protocol, own) = self.of(pool);
        protocol.forget_redirect(own)
    }

    fn draft(&self, header: &Header) -> Option<Draft> {
        crate::pool::roller::draft(&self.origins, header)
    }
}

impl PoolMiner {
    /// Starts mining on the failover list [`PoolOptions::upstreams`] with
    /// `engine`: Stratum v1 pools (`stratum+tcp://`, `stratum+ssl://`),
    /// Stratum V2 pools (`stratum2+tcp://HOST:PORT/KEY`) and nodes (solo,
    /// getblocktemplate), in its order. The engine is
    /// paused until a pool gives work; the miner takes the engine's events
    /// (read them through [`recv_timeout`](Self::recv_timeout) instead).
    pub fn start(engine: Arc<Engine>, options: PoolOptions) -> Result<PoolMiner, Error> {
        options.validate()?;
        // Each protocol numbers the pools (or nodes) it is given in the
        // list's order; both Stratum versions are given every pool and
        // open only their own.
        let (mut pools, mut nodes) = (0, 0);
        let mut route = Vec::with_capacity(options.upstreams.len());
        let mut stats = Vec::with_capacity(options.upstreams.len());
        for u in &options.upstreams {
            match u {
                Upstream::Pool(p) => {
                    route.push(if is_v2(p) {
                        Route::V2(pools)
                    } else {
                        Route::V1(pools)
                    });
                    pools += 1;
                    stats.push(PoolStats::new(p.url.to_string(), p.user.clone()));
                }
                Upstream::Node(n) => {
                    route.push(Route::Node(nodes));
                    nodes += 1;
                    stats.push(PoolStats::new(n.url.to_string(), n.address.clone()));
                }
            }
        }
        let v1 = StratumV1::new(options.v1_settings())?;
        let origins = v1.origins.clone();
        let solo = Solo::new(
            options.nodes().cloned().collect(),
            origins.clone(),
            options.version_rolling,
            options.node_poll,
            options.poll,
        );
        let settings = options.failover.clone();
        let v2 = StratumV2::new(options.sv2_settings(), origins.clone());
        let protocol = Arc::new(Stratum {
            v1,
            v2,
            solo,
            route,
            origins,
        });
        PoolMiner::start_with(engine, protocol, stats, settings, FIRST_SUBMIT_ID)
    }
}

/// Whether `pool` speaks Stratum V2.
fn is_v2(pool: &Pool) -> bool {
    matches!(pool.url.version, Version::V2 { .. })
}
