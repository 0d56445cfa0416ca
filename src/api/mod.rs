//! Watching and running a rig from outside: an HTTP server with the
//! Prometheus exposition (`GET /metrics`), one JSON document with every
//! figure (`GET /summary`) and control (`POST /control/pause`, `resume`,
//! `stop`, with a bearer token), and the cgminer-compatible TCP API that rig
//! monitors speak (`version`, `summary`, `devs`, `pools`).
//!
//! Both servers run on threads of their own over `std::net`: a bounded
//! number of connections, each with read and write timeouts and a size
//! limit, so a hostile client never holds up the devices.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hashrig::api::{ApiServer, Rig};
//! use hashrig::engine::{Engine, EngineOptions};
//!
//! let engine = Arc::new(Engine::start(EngineOptions::default())?);
//! let rig = Arc::new(Rig::new(engine.clone()));
//! let api = ApiServer::start(rig, "127.0.0.1:9100".parse().unwrap(), None)?;
//! println!("metrics on http://{}/metrics", api.local_addr());
//! # Ok::<(), hashrig::Error>(())
//! ```

mod cgminer;
mod http;
mod metrics;
mod server;
mod summary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use cgminer::CgminerServer;
pub use http::ApiServer;
pub use server::Limits;
pub use summary::{
    DeviceSummary, HashrateSummary, PoolSummary, ShareSummary, Summary, TotalSummary,
};

use crate::engine::{DeviceStats, Engine, LatencyHistogram};
use crate::health::{Health, HealthWatch};

/// One pool's figures as the API shows them.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolFigures {
    /// The URL, without password.
    pub url: String,
    /// The worker name.
    pub user: String,
    /// The connection state (`idle`, `connecting`, `mining`, `failed`).
    pub state: String,
    /// Whether the devices mine for it now.
    pub up: bool,
    /// The share difficulty it set last.
    pub difficulty: Option<f64>,
    /// Shares accepted.
    pub accepted: u64,
    /// Shares rejected or never answered.
    pub rejected: u64,
    /// Shares not submitted because their job had been replaced.
    pub stale: u64,
    /// Shares that were blocks.
    pub blocks: u64,
    /// The sum of the accepted shares' difficulties.
    pub accepted_difficulty: f64,
    /// When the last share was found (Unix seconds).
    pub last_share: Option<u64>,
    /// The last submit's round trip.
    pub rtt: Option<Duration>,
}

/// Shares of one device, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeviceShares {
    /// Accepted.
    pub accepted: u64,
    /// Rejected.
    pub rejected: u64,
    /// Stale.
    pub stale: u64,
}

type PoolSource = Box<dyn Fn() -> (Vec<PoolFigures>, BTreeMap<String, DeviceShares>) + Send + Sync>;

/// What the API watches: an engine, and optionally its pools, its health
/// watch and what `stop` does.
pub struct Rig {
    engine: Arc<Engine>,
    pools: Option<PoolSource>,
    health: Option<Arc<HealthWatch>>,
    on_stop: Option<Box<dyn Fn() + Send + Sync>>,
    started: Instant,
}

/// Everything the API shows, read at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Since the rig was built.
    pub uptime: Duration,
    /// Whether the engine is paused.
    pub paused: bool,
    /// Every device, in the engine's order.
    pub devices: Vec<DeviceStats>,
    /// Each device's latest sensor readings (empty where unknown).
    pub health: Vec<Health>,
    /// Each device's shares (zero without pools).
    pub shares: Vec<DeviceShares>,
    /// Every pool, in the order given.
    pub pools: Vec<PoolFigures>,
    /// Job replacement latency.
    pub job_switches: LatencyHistogram,
}

impl Rig {
    /// A rig of `engine`'s devices alone.
    pub fn new(engine: Arc<Engine>) -> Self {
        Rig {
            engine,
            pools: None,
            health: None,
            on_stop: None,
            started: Instant::now(),
        }
    }

    /// With the pools `miner` mines on.
    #[cfg(feature = "stratum")]
    pub fn with_pools(mut self, miner: Arc<crate::stratum::PoolMiner>) -> Self {
        self.pools = Some(Box::new(move || {
            let pools = miner
                .stats()
                .into_iter()
                .map(|p| PoolFigures {
                    up: p.state == crate::stratum::PoolState::Mining,
                    state: p.state.as_str().to_string(),
                    url: p.url,
                    user: p.user,
                    difficulty: p.difficulty,
                    accepted: p.accepted,
                    rejected: p.rejected,
                    stale: p.stale,
                    blocks: p.blocks,
                    accepted_difficulty: p.accepted_difficulty,
                    last_share: p.last_share,
                    rtt: p.rtt,
                })
                .collect();
            let shares = miner
                .device_shares()
                .into_iter()
                .map(|(name, c)| {
                    let counts = DeviceShares {
                        accepted: c.accepted,
                        rejected: c.rejected,
                        stale: c.stale,
                    };
                    (name, counts)
                })
                .collect();
            (pools, shares)
        }));
        self
    }

    /// With the sensor readings of `watch`.
    pub fn with_health(mut self, watch: Arc<HealthWatch>) -> Self {
        self.health = Some(watch);
        self
    }

    /// What `POST /control/stop` does (by default it stops the engine).
    pub fn on_stop(mut self, stop: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_stop = Some(Box::new(stop));
        self
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Everything the API shows, now.
    pub fn snapshot(&self) -> Snapshot {
        let devices = self.engine.stats();
        let mut health = self.health.as_ref().map(|h| h.latest()).unwrap_or_default();
        health.resize(devices.len(), Health::default());
        let (pools, by_name) = self.pools.as_ref().map(|f| f()).unwrap_or_default();
        let shares = devices
            .iter()
            .map(|d| by_name.get(&d.name).copied().unwrap_or_default())
            .collect();
        Snapshot {
            uptime: self.started.elapsed(),
            paused: self.engine.is_paused(),
            devices,
            health,
            shares,
            pools,
            job_switches: self.engine.job_switches(),
        }
    }

    /// The figures as one serializable document.
    pub fn summary(&self) -> Summary {
        Summary::from_snapshot(&self.snapshot())
    }

    /// Pauses the engine (control).
    pub fn pause(&self) {
        self.engine.pause();
    }

    /// Resumes the engine (control).
    pub fn resume(&self) {
        self.engine.resume();
    }

    /// Stops mining (control): the `on_stop` action, or stops the engine.
    pub fn stop(&self) {
        match &self.on_stop {
            Some(f) => f(),
            None => self.engine.stop(),
        }
    }
}
