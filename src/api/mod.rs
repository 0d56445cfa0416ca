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
mod dashboard;
mod history;
mod http;
mod metrics;
mod mmpos;
mod server;
mod summary;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use cgminer::CgminerServer;
pub use history::{DevicePoint, History, Point, RigEvent, EVENTS_KEPT};
pub use http::ApiServer;
pub use server::Limits;
pub use summary::{DeviceSummary, HashrateSummary, PoolSummary, Summary, TotalSummary};

use crate::engine::{DeviceStats, Engine, LatencyHistogram};
use crate::health::{Health, HealthWatch};
use crate::pool::{PoolStats, PoolWatch, ShareCounts};

/// Where the API reads pool figures from: a pool miner of any protocol.
type PoolSource = Arc<dyn PoolWatch>;

/// What the API watches: an engine, and optionally its pools, its health
/// watch and what `stop` does.
pub struct Rig {
    engine: Arc<Engine>,
    pools: Option<PoolSource>,
    health: Option<Arc<HealthWatch>>,
    on_stop: Option<Box<dyn Fn() + Send + Sync>>,
    started: Instant,
    history: Mutex<History>,
    /// Other rigs' APIs the dashboard shows beside this one.
    peers: Vec<String>,
    /// Origins whose pages may read `/summary` and `/history` (CORS).
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
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
    pub shares: Vec<ShareCounts>,
    /// Every pool, in the order given.
    pub pools: Vec<PoolStats>,
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
            history: Mutex::new(History::new(Duration::from_secs(5))),
            peers: Vec::new(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
        }
    }

    /// A history point every `interval` (5 s by default; an hour kept).
    pub fn with_history_interval(self, interval: Duration) -> Self {
        *self.history.lock().expect("not poisoned") = History::new(interval);
        self
    }

    /// Other rigs' API addresses (`http://host:port`) the dashboard shows
    /// beside this one; each must allow this rig's origin.
    pub fn with_peers(mut self, peers: Vec<String>) -> Self {
        self.peers = peers;
        self
    }

    /// Origins (`http://host:port`) whose dashboards may read this rig's
    /// `/summary` and `/history`.
    pub fn with_allowed_origins(mut self, origins: Vec<String>) -> Self {
        self.allowed_origins = origins;
        self
    }

    /// Host names (beside IP literals and `localhost`, always answered)
    /// under which the HTTP API answers: the names a browser uses to reach
    /// it. A request for any other `Host` gets 421, so that a page whose
    /// name is rebound to this rig's address (DNS rebinding) cannot read
    /// it.
    pub fn with_allowed_hosts(mut self, hosts: Vec<String>) -> Self {
        self.allowed_hosts = hosts;
        self
    }

    /// Whether the HTTP API answers a request whose `Host` header is `host`
    /// (with or without a port).
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim();
        // "[v6]:port", "[v6]", "name:port", "v4:port", "name".
        let name = if let Some(rest) = host.strip_prefix('[') {
            match rest.split_once(']') {
                Some((v6, tail)) if tail.is_empty() || tail.starts_with(':') => {
                    return v6.parse::<std::net::Ipv6Addr>().is_ok();
                }
                _ => return false,
            }
        } else {
            match host.rsplit_once(':') {
                Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
                Some(_) => return false,
                None => host,
            }
        };
        let name = name.trim_end_matches('.');
        name.parse::<std::net::Ipv4Addr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || self
                .allowed_hosts
                .iter()
                .any(|h| h.trim_end_matches('.').eq_ignore_ascii_case(name))
    }

    /// The other rigs the dashboard shows.
    pub fn peers(&self) -> &[String] {
        &self.peers
    }

    /// Whether a page from `origin` may read the figures.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == origin)
    }

    /// Keeps an event for the dashboard (bounded: the last
    /// [`EVENTS_KEPT`]).
    pub fn record(&self, kind: &str, text: &str) {
        self.history
            .lock()
            .expect("not poisoned")
            .record(kind, text);
    }

    /// Takes a history point now.
    pub fn sample(&self) {
        let snapshot = self.snapshot();
        self.history.lock().expect("not poisoned").sample(&snapshot);
    }

    /// How often a history point is taken.
    pub fn history_interval(&self) -> Duration {
        self.history.lock().expect("not poisoned").interval
    }

    /// The history as `GET /history` serves it (JSON).
    pub fn history_json(&self) -> String {
        let h = self.history.lock().expect("not poisoned");
        serde_json::to_string(&h.document()).unwrap_or_default()
    }

    /// With the pools `miner` mines on (a pool miner of any protocol).
    pub fn with_pools(mut self, miner: Arc<dyn PoolWatch>) -> Self {
        self.pools = Some(miner);
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
        let (pools, by_name) = self
            .pools
            .as_ref()
            .map(|p| (p.stats(), p.device_shares()))
            .unwrap_or_default();
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
