//! The pool miner: pools in priority order, one connection at a time on a
//! thread of its own, feeding an [`Engine`]; the engine's verified
//! solutions checked once more against the pool job and submitted as
//! shares the moment they come; failover with backoff and a background
//! check that brings the miner back to its first pool.
//!
//! Two threads: the connection thread reads the pool (handshake, jobs,
//! replies) and the share thread turns engine solutions into
//! `mining.submit` lines, written straight to the socket. Neither ever
//! waits on a device, and no device waits on either.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use super::assembly::PoolJob;
use super::link::{self, LinkWriter};
use super::message::{self, request, Incoming, Notify, Reconnect, Submit};
use super::roller::{Origins, Roller};
use super::session::{self, Hello, HelloError, Session, FIRST_SUBMIT_ID};
use super::url::{Pool, PoolUrl};
use crate::engine::{Engine, Event, JobId, Pauser, Work};
use crate::{Error, Header, Job};

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

/// A pool's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolState {
    /// Not connected (a backup waiting its turn, or between retries).
    Idle,
    /// Connecting and running the handshake.
    Connecting,
    /// Subscribed and authorized: the pool the devices mine for.
    Mining,
    /// The last attempt failed; waiting before the next.
    Failed,
}

impl PoolState {
    /// The state as one lower-case word.
    pub fn as_str(&self) -> &'static str {
        match self {
            PoolState::Idle => "idle",
            PoolState::Connecting => "connecting",
            PoolState::Mining => "mining",
            PoolState::Failed => "failed",
        }
    }
}

/// One pool's figures.
#[derive(Clone, Debug)]
pub struct PoolStats {
    /// The URL, without password.
    pub url: String,
    /// The worker name.
    pub user: String,
    /// The connection state.
    pub state: PoolState,
    /// The last difficulty the pool set.
    pub difficulty: Option<f64>,
    /// Shares the pool accepted.
    pub accepted: u64,
    /// Shares the pool rejected (or never answered before the connection
    /// went).
    pub rejected: u64,
    /// Shares not submitted because their job had been replaced.
    pub stale: u64,
    /// Shares that also met the network target.
    pub blocks: u64,
    /// The sum of the difficulties of accepted shares.
    pub accepted_difficulty: f64,
    /// When the last share was found (Unix seconds).
    pub last_share: Option<u64>,
    /// The last submit's round trip.
    pub rtt: Option<Duration>,
    /// The version-rolling mask in force (0: none).
    pub version_mask: u32,
    /// Connections made.
    pub connections: u64,
    /// The last reason the connection ended or failed.
    pub last_error: Option<String>,
}

/// What a pool said of a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareResult {
    /// Accepted.
    Accepted,
    /// Rejected, with the pool's code and message.
    Rejected {
        /// The pool's error code, when it gave one.
        code: Option<i64>,
        /// The pool's message.
        message: String,
    },
    /// Not submitted: its job had been replaced (clean jobs, a new
    /// connection, or a narrower version mask).
    Stale,
}

impl ShareResult {
    /// `accepted`, `rejected` or `stale`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ShareResult::Accepted => "accepted",
            ShareResult::Rejected { .. } => "rejected",
            ShareResult::Stale => "stale",
        }
    }
}

/// A share and what became of it.
#[derive(Clone, Debug)]
pub struct ShareReport {
    /// The pool (index in [`PoolOptions::pools`]).
    pub pool: usize,
    /// The pool's job id.
    pub job_id: String,
    /// What was (or would have been) submitted.
    pub submit: Submit,
    /// The solved header.
    pub header: Header,
    /// The difficulty the header's hash meets.
    pub difficulty: f64,
    /// The share difficulty asked for.
    pub target_difficulty: f64,
    /// Whether it also meets the network target: a block.
    pub block: bool,
    /// The outcome.
    pub result: ShareResult,
    /// From the engine's verified solution to the submit line written.
    pub submit_delay: Option<Duration>,
    /// From the submit line written to the pool's answer.
    pub latency: Option<Duration>,
    /// The device that found it.
    pub device: String,
}

/// A change in a pool's connection.
#[derive(Clone, Debug)]
pub enum PoolChange {
    /// Connected (TCP, and TLS when asked).
    Connected,
    /// Subscribed and authorized.
    Authorized {
        /// The pool's extranonce1, hex.
        extranonce1: String,
        /// The extranonce2 size in bytes.
        extranonce2_size: usize,
        /// The version-rolling mask granted (0: none).
        version_mask: u32,
    },
    /// A new difficulty (for the next job).
    Difficulty(f64),
    /// A new job, handed to the engine.
    Job {
        /// The pool's job id.
        job_id: String,
        /// Whether it voided earlier jobs.
        clean: bool,
        /// The engine's id for it.
        engine_job: JobId,
        /// When it was handed to the engine.
        submitted: Instant,
        /// From its line being read to its handing to the engine.
        queued: Duration,
    },
    /// The connection ended or could not be made.
    Disconnected(String),
    /// The miner moved to another pool.
    Failover {
        /// The pool left.
        from: usize,
    },
    /// `client.show_message`, or a note about something the pool sent
    /// that was ignored.
    Message(String),
}

/// What a [`PoolMiner`] reports.
#[derive(Clone, Debug)]
pub enum PoolEvent {
    /// A pool's connection changed.
    Pool {
        /// The pool's index.
        pool: usize,
        /// Its URL (no password).
        url: String,
        /// What happened.
        change: PoolChange,
    },
    /// A share was found and judged.
    Share(Box<ShareReport>),
    /// The devices stopped or went back to hashing.
    Mining {
        /// True when paused.
        paused: bool,
        /// Why.
        reason: String,
    },
    /// A device was taken out of service.
    DeviceFailed {
        /// The device.
        device: String,
        /// Why.
        reason: String,
    },
}

/// A submit waiting for its answer.
struct Pending {
    report: ShareReport,
    written: Instant,
}

/// The connection shares are written to.
struct Live {
    session: u64,
    writer: LinkWriter,
    version_mask: u32,
}

struct State {
    live: Option<Live>,
    stats: Vec<PoolStats>,
    pending: HashMap<u64, Pending>,
    /// The clean-job epoch (shares of older epochs are stale).
    epoch: u64,
    /// Shares submitted in this epoch, so none goes twice.
    submitted: HashSet<Submit>,
    paused: bool,
    rejects_in_a_row: u32,
    /// Shares by the device that found them, over every pool.
    by_device: BTreeMap<String, ShareCounts>,
}

/// Shares of one device (over every pool), by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShareCounts {
    /// Accepted by the pool.
    pub accepted: u64,
    /// Rejected (or never answered).
    pub rejected: u64,
    /// Not submitted: their job had been replaced.
    pub stale: u64,
}

impl State {
    /// Counts a share's outcome for the device that found it.
    fn tally(&mut self, device: &str, result: &ShareResult) {
        let counts = self.by_device.entry(device.to_string()).or_default();
        match result {
            ShareResult::Accepted => counts.accepted += 1,
            ShareResult::Rejected { .. } => counts.rejected += 1,
            ShareResult::Stale => counts.stale += 1,
        }
    }
}

struct Shared {
    engine: Arc<Engine>,
    options: PoolOptions,
    tls: Arc<rustls::ClientConfig>,
    state: Mutex<State>,
    origins: Arc<Mutex<Origins>>,
    events: SyncSender<PoolEvent>,
    dropped: AtomicU64,
    next_submit: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// Sends an event without ever blocking: when the reader is behind,
    /// the event is counted as dropped (the statistics still have it).
    fn send(&self, event: PoolEvent) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn pool_event(&self, pool: usize, change: PoolChange) {
        let url = self.options.pools[pool].url.to_string();
        self.send(PoolEvent::Pool { pool, url, change });
    }

    fn pause(&self, reason: &str) {
        let mut st = self.lock();
        if !st.paused {
            st.paused = true;
            drop(st);
            self.engine.pause_by(Pauser::Source);
            self.send(PoolEvent::Mining {
                paused: true,
                reason: reason.to_string(),
            });
        }
    }

    fn resume(&self) {
        let mut st = self.lock();
        if st.paused {
            st.paused = false;
            drop(st);
            self.engine.resume_by(Pauser::Source);
            self.send(PoolEvent::Mining {
                paused: false,
                reason: "a pool gave work".into(),
            });
        }
    }
}

/// Mines on pools with an engine's devices. Stops (and closes its
/// connection) when dropped.
pub struct PoolMiner {
    shared: Arc<Shared>,
    events: Mutex<Receiver<PoolEvent>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    started: Instant,
}

/// Events kept for a reader that is behind.
const EVENT_QUEUE: usize = 4096;

impl PoolMiner {
    /// Starts mining on `options.pools` with `engine`. The engine is paused
    /// until a pool gives work; the miner takes the engine's events (read
    /// them through [`recv_timeout`](Self::recv_timeout) instead).
    pub fn start(engine: Arc<Engine>, options: PoolOptions) -> Result<PoolMiner, Error> {
        if options.pools.is_empty() {
            return Err(Error::Pool("no pool given".into()));
        }
        let tls = link::tls_config(options.extra_ca_pem.as_deref())?;
        let stats = options
            .pools
            .iter()
            .map(|p| PoolStats {
                url: p.url.to_string(),
                user: p.user.clone(),
                state: PoolState::Idle,
                difficulty: None,
                accepted: 0,
                rejected: 0,
                stale: 0,
                blocks: 0,
                accepted_difficulty: 0.0,
                last_share: None,
                rtt: None,
                version_mask: 0,
                connections: 0,
                last_error: None,
            })
            .collect();
        let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
        // No work until a pool sends a job.
        engine.pause_by(Pauser::Source);
        let shared = Arc::new(Shared {
            engine,
            options,
            tls,
            state: Mutex::new(State {
                live: None,
                stats,
                pending: HashMap::new(),
                epoch: 0,
                submitted: HashSet::new(),
                paused: true,
                rejects_in_a_row: 0,
                by_device: BTreeMap::new(),
            }),
            origins: Arc::new(Mutex::new(Origins::default())),
            events: tx,
            dropped: AtomicU64::new(0),
            next_submit: AtomicU64::new(FIRST_SUBMIT_ID),
            stop: AtomicBool::new(false),
        });
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| Error::Pool(format!("cannot start a thread: {e}")))
        };
        let a = shared.clone();
        let b = shared.clone();
        let threads = vec![
            spawn("hashrig-pool", Box::new(move || Connection::new(a).run()))?,
            spawn("hashrig-shares", Box::new(move || shares(b)))?,
        ];
        Ok(PoolMiner {
            shared,
            events: Mutex::new(rx),
            threads: Mutex::new(threads),
            started: Instant::now(),
        })
    }

    /// The engine the miner feeds.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.shared.engine
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<PoolEvent> {
        self.events
            .lock()
            .expect("not poisoned")
            .recv_timeout(timeout)
            .ok()
    }

    /// Every pool's figures, in the order given.
    pub fn stats(&self) -> Vec<PoolStats> {
        self.shared.lock().stats.clone()
    }

    /// Shares by the device that found them (over every pool), by the
    /// device names of the engine's statistics.
    pub fn device_shares(&self) -> BTreeMap<String, ShareCounts> {
        self.shared.lock().by_device.clone()
    }

    /// Events dropped because nobody read them in time.
    pub fn dropped_events(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// How long the miner has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Pauses the devices, waits up to `flush` for the pool to answer the
    /// shares already submitted, then closes the connection and stops the
    /// threads. The engine is left paused, for its final statistics.
    pub fn stop(&self, flush: Duration) {
        self.shared.engine.pause();
        let deadline = Instant::now() + flush;
        while Instant::now() < deadline {
            let st = self.shared.lock();
            if st.pending.is_empty() || st.live.is_none() {
                break;
            }
            drop(st);
            std::thread::sleep(Duration::from_millis(10));
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(live) = &self.shared.lock().live {
            live.writer.shutdown();
        }
        for t in std::mem::take(&mut *self.threads.lock().expect("not poisoned")) {
            let _ = t.join();
        }
    }
}

impl Drop for PoolMiner {
    fn drop(&mut self) {
        self.stop(Duration::ZERO);
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The share thread: engine solutions to `mining.submit`.
fn shares(shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::Relaxed) {
        match shared.engine.recv_timeout(Duration::from_millis(50)) {
            Some(Event::Solution(s)) => {
                if let Job::Header(h) = &*s.work {
                    let header = h.header.with_nonce(s.solution.nonce as u32);
                    submit_share(&shared, header, s.device, s.found);
                }
            }
            Some(Event::DeviceFailed { device, reason }) => {
                shared.send(PoolEvent::DeviceFailed { device, reason });
            }
            Some(Event::Exhausted(_)) => {
                shared.pause("every header of the pool's job is searched; waiting for a new job");
            }
            None => {}
        }
    }
}

/// Checks a solved header against its pool job once more on the CPU
/// reference, then submits it (or counts it stale).
fn submit_share(shared: &Shared, header: Header, device: String, found: Instant) {
    let Some(origin) = shared
        .origins
        .lock()
        .expect("not poisoned")
        .get(&header.merkle_root)
        .cloned()
    else {
        // Its job was forgotten long ago: older than anything a pool takes.
        return;
    };
    let job = &origin.job;
    let rebuilt = job
        .header(&origin.extranonce2, header.time, header.version as u32)
        .with_nonce(header.nonce);
    let hash = rebuilt.block_hash();
    let (Ok(share_target), Ok(network)) = (job.share_target(), job.network_target()) else {
        return;
    };
    if rebuilt != header || !share_target.is_met_by(&hash) {
        shared.pool_event(
            origin.pool,
            PoolChange::Message(format!(
                "a solution from {device} does not meet job {}'s share target on the reference; not submitted",
                job.notify.job_id
            )),
        );
        return;
    }
    let mut st = shared.lock();
    let worker = shared.options.pools[origin.pool].user.clone();
    let rolled = header.version as u32 ^ job.notify.version;
    let live = st.live.as_ref().filter(|l| l.session == origin.session);
    let version_bits = live.and_then(|l| (l.version_mask != 0).then_some(rolled));
    let submit = Submit {
        worker,
        job_id: job.notify.job_id.clone(),
        extranonce2: origin.extranonce2.clone(),
        ntime: header.time,
        nonce: header.nonce,
        version_bits,
    };
    let mut report = ShareReport {
        pool: origin.pool,
        job_id: job.notify.job_id.clone(),
        submit: submit.clone(),
        header,
        difficulty: difficulty_of(&hash),
        target_difficulty: job.difficulty,
        block: network.is_met_by(&hash),
        result: ShareResult::Stale,
        submit_delay: None,
        latency: None,
        device,
    };
    let stale = match live {
        None => true,
        Some(l) => origin.epoch != st.epoch || rolled & !l.version_mask != 0,
    };
    st.stats[origin.pool].last_share = Some(unix_now());
    if stale {
        st.stats[origin.pool].stale += 1;
        st.tally(&report.device, &report.result);
        drop(st);
        shared.send(PoolEvent::Share(Box::new(report)));
        return;
    }
    if !st.submitted.insert(submit.clone()) {
        return;
    }
    let live = st.live.as_ref().expect("checked above");
    let writer = live.writer.clone();
    let id = shared.next_submit.fetch_add(1, Ordering::Relaxed);
    let line = request(id, "mining.submit", submit.params());
    // Written under the lock so that the answer never finds no pending
    // entry; a write is a few microseconds and never waits on a device.
    let written = writer.write_line(&line);
    let now = Instant::now();
    report.submit_delay = Some(now.saturating_duration_since(found));
    match written {
        Ok(()) => {
            st.pending.insert(
                id,
                Pending {
                    report,
                    written: now,
                },
            );
        }
        Err(e) => {
            st.stats[origin.pool].rejected += 1;
            report.result = ShareResult::Rejected {
                code: None,
                message: format!("not sent: {e}"),
            };
            st.tally(&report.device, &report.result);
            drop(st);
            shared.send(PoolEvent::Share(Box::new(report)));
        }
    }
}

/// The difficulty a block hash meets: difficulty-1 target / hash.
fn difficulty_of(hash: &crate::BlockHash) -> f64 {
    let value = hash
        .to_be_bytes()
        .iter()
        .fold(0.0f64, |acc, &b| acc * 256.0 + b as f64);
    65535.0 * 2f64.powi(208) / value.max(1.0)
}

/// How one connection ended.
enum End {
    /// It failed or closed; try again (after a backoff).
    Lost(String),
    /// The pool misbehaves (rejects everything, no jobs): move on.
    Failing(String),
    /// A better pool works again: this is its ready connection.
    Switch(usize, Box<Session>),
    /// The pool asked us to reconnect (maybe elsewhere) after a wait.
    Reconnect(Reconnect),
    /// The miner is stopping.
    Stop,
}

/// The connection thread's state.
struct Connection {
    shared: Arc<Shared>,
    /// The pool in use.
    active: usize,
    /// Serial number of the current connection.
    serial: u64,
    /// Pools that closed the connection on `mining.configure`.
    no_configure: Vec<bool>,
    /// Session ids to resume, per pool.
    resume: Vec<Option<String>>,
    /// Where `client.reconnect` sent each pool.
    redirect: Vec<Option<PoolUrl>>,
    /// A small random state for backoff jitter.
    jitter: u64,
}

/// Per-connection job state.
struct JobState {
    difficulty: f64,
    pending_difficulty: Option<f64>,
    extranonce1: Vec<u8>,
    extranonce2_size: usize,
    pending_extranonce: Option<(Vec<u8>, usize)>,
    version_mask: u32,
    current: Option<Arc<PoolJob>>,
    last_job: Instant,
}

impl Connection {
    fn new(shared: Arc<Shared>) -> Connection {
        let n = shared.options.pools.len();
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Connection {
            shared,
            active: 0,
            serial: 0,
            no_configure: vec![false; n],
            resume: vec![None; n],
            redirect: vec![None; n],
            jitter: seed,
        }
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::Relaxed)
    }

    fn set_state(&self, pool: usize, state: PoolState, error: Option<String>) {
        let mut st = self.shared.lock();
        st.stats[pool].state = state;
        if error.is_some() {
            st.stats[pool].last_error = error;
        }
    }

    /// Connects to `pool` and runs the handshake.
    fn hello(&mut self, pool: usize) -> Result<Session, HelloError> {
        let p = &self.shared.options.pools[pool];
        let url = self.redirect[pool].clone().unwrap_or_else(|| p.url.clone());
        let configure = self.shared.options.version_rolling && !self.no_configure[pool];
        let hello = Hello {
            pool: p,
            url: &url,
            tls: &self.shared.tls,
            configure,
            resume: self.resume[pool].as_deref(),
            agent: &self.shared.options.agent,
            poll: self.shared.options.poll,
            stop: &self.shared.stop,
        };
        match session::open(&hello) {
            Err(HelloError::ClosedOnConfigure) => {
                self.no_configure[pool] = true;
                self.shared.pool_event(
                    pool,
                    PoolChange::Message(
                        "the pool closed the connection on mining.configure; trying without version rolling".into(),
                    ),
                );
                self.hello(pool)
            }
            other => other,
        }
    }

    fn run(mut self) {
        let mut failures = 0u32;
        let mut ready: Option<Session> = None;
        while !self.stopping() {
            let pool = self.active;
            let session = match ready.take() {
                Some(s) => Ok(s),
                None => {
                    self.set_state(pool, PoolState::Connecting, None);
                    self.hello(pool)
                }
            };
            let end = match session {
                Ok(s) => {
                    failures = 0;
                    self.mine(pool, s)
                }
                Err(HelloError::Stopped) => End::Stop,
                Err(e) => End::Lost(e.to_string()),
            };
            let lost = |this: &Self, why: &str| {
                this.shared.pause("no pool is usable; devices paused");
                this.set_state(pool, PoolState::Failed, Some(why.to_string()));
                this.shared
                    .pool_event(pool, PoolChange::Disconnected(why.to_string()));
            };
            match end {
                End::Stop => break,
                End::Switch(to, s) => {
                    self.set_state(pool, PoolState::Idle, None);
                    self.shared.pool_event(
                        pool,
                        PoolChange::Disconnected("a better pool is back".into()),
                    );
                    self.shared
                        .pool_event(to, PoolChange::Failover { from: pool });
                    self.active = to;
                    ready = Some(*s);
                    continue;
                }
                End::Reconnect(r) => {
                    let p = &self.shared.options.pools[pool].url;
                    let same_host = r.host.as_ref().is_none_or(|h| *h == p.host);
                    if same_host || self.shared.options.allow_redirect {
                        let mut url = self.redirect[pool].clone().unwrap_or_else(|| p.clone());
                        if let Some(h) = r.host {
                            url.host = h;
                        }
                        if let Some(port) = r.port.filter(|&p| p != 0) {
                            url.port = port;
                        }
                        self.redirect[pool] = Some(url.clone());
                        lost(&self, &format!("the pool asked to reconnect to {url}"));
                    } else {
                        lost(&self, "the pool asked to reconnect to another host (not followed without --allow-redirect); reconnecting here");
                    }
                    self.sleep(Duration::from_secs(r.wait));
                    continue;
                }
                End::Lost(why) => {
                    lost(&self, &why);
                    failures += 1;
                }
                End::Failing(why) => {
                    lost(&self, &why);
                    failures = failures.max(self.shared.options.failures_before_switch);
                }
            }
            let n = self.shared.options.pools.len();
            if n > 1 && failures >= self.shared.options.failures_before_switch {
                self.redirect[pool] = None;
                self.set_state(pool, PoolState::Idle, None);
                self.active = (pool + 1) % n;
                self.shared
                    .pool_event(self.active, PoolChange::Failover { from: pool });
                failures = 0;
                continue;
            }
            let wait = self.backoff(failures);
            self.sleep(wait);
        }
        self.shared.lock().live = None;
    }

    /// About `start * 2^(failures-1)`, at most the maximum, ±20% jitter.
    fn backoff(&mut self, failures: u32) -> Duration {
        let o = &self.shared.options;
        let base = o
            .backoff_start
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(o.backoff_max);
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let factor = 0.8 + 0.4 * (self.jitter % 1000) as f64 / 1000.0;
        base.mul_f64(factor)
    }

    /// Sleeps, waking early to stop.
    fn sleep(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while !self.stopping() && Instant::now() < until {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
    }

    /// Mines on a ready connection until it ends.
    fn mine(&mut self, pool: usize, mut session: Session) -> End {
        self.serial += 1;
        let serial = self.serial;
        let shared = self.shared.clone();
        self.resume[pool] = session.subscription.session_id.clone();
        {
            let mut st = shared.lock();
            st.live = Some(Live {
                session: serial,
                writer: session.writer.clone(),
                version_mask: session.version_mask,
            });
            st.rejects_in_a_row = 0;
            let s = &mut st.stats[pool];
            s.state = PoolState::Mining;
            s.connections += 1;
            s.version_mask = session.version_mask;
            s.rtt = Some(session.rtt);
        }
        shared.pool_event(pool, PoolChange::Connected);
        shared.pool_event(
            pool,
            PoolChange::Authorized {
                extranonce1: crate::hex::encode(&session.subscription.extranonce1),
                extranonce2_size: session.subscription.extranonce2_size,
                version_mask: session.version_mask,
            },
        );
        let mut jobs = JobState {
            difficulty: 1.0,
            pending_difficulty: None,
            extranonce1: session.subscription.extranonce1.clone(),
            extranonce2_size: session.subscription.extranonce2_size,
            pending_extranonce: None,
            version_mask: session.version_mask,
            current: None,
            last_job: Instant::now(),
        };
        let mut probe: Option<Receiver<(usize, Session)>> = None;
        let mut last_probe = Instant::now();
        let end = loop {
            if self.stopping() {
                break End::Stop;
            }
            let (item, read_at) = match session.backlog.pop_front() {
                Some(item) => (item, Instant::now()),
                None => match session.reader.read_line() {
                    Ok(Some(line)) if line.trim().is_empty() => continue,
                    Ok(Some(line)) => (Incoming::parse(&line), Instant::now()),
                    Ok(None) => {
                        if let Some(end) = self.timers(pool, &jobs, &mut probe, &mut last_probe) {
                            break end;
                        }
                        continue;
                    }
                    Err(e) => break End::Lost(e.to_string()),
                },
            };
            match item {
                Ok(Incoming::Response { id, result, error }) => {
                    if let Some(end) = self.answer(id, result, error) {
                        break end;
                    }
                }
                Ok(Incoming::Call { id, method, params }) => {
                    match self.call(
                        pool, serial, &session, &mut jobs, id, &method, &params, read_at,
                    ) {
                        Ok(Some(end)) => break end,
                        Ok(None) => {}
                        Err(e) => break End::Lost(format!("writing to the pool: {e}")),
                    }
                }
                Err(e) => shared.pool_event(pool, PoolChange::Message(format!("ignored: {e}"))),
            }
        };
        session.writer.shutdown();
        let mut st = shared.lock();
        st.live = None;
        // Shares the pool never answered count as rejected.
        let mut lost: Vec<Pending> = st.pending.drain().map(|(_, p)| p).collect();
        st.stats[pool].rejected += lost.len() as u64;
        for p in &mut lost {
            p.report.result = ShareResult::Rejected {
                code: None,
                message: "no answer before the connection ended".into(),
            };
            st.tally(&p.report.device, &p.report.result);
        }
        drop(st);
        for p in lost {
            shared.send(PoolEvent::Share(Box::new(p.report)));
        }
        end
    }

    /// Time-driven checks while the pool is quiet: the job timeout, and
    /// whether a better pool works again.
    fn timers(
        &mut self,
        pool: usize,
        jobs: &JobState,
        probe: &mut Option<Receiver<(usize, Session)>>,
        last_probe: &mut Instant,
    ) -> Option<End> {
        let options = &self.shared.options;
        if jobs.last_job.elapsed() > options.job_timeout {
            return Some(End::Failing(format!(
                "no new job for {} s",
                options.job_timeout.as_secs()
            )));
        }
        if let Some(rx) = probe {
            match rx.try_recv() {
                Ok((better, s)) => return Some(End::Switch(better, Box::new(s))),
                Err(mpsc::TryRecvError::Empty) => return None,
                Err(mpsc::TryRecvError::Disconnected) => *probe = None,
            }
        }
        if pool > 0 && last_probe.elapsed() >= options.primary_check {
            *last_probe = Instant::now();
            let (tx, rx) = mpsc::channel();
            *probe = Some(rx);
            let shared = self.shared.clone();
            let no_configure = self.no_configure.clone();
            let _ = std::thread::Builder::new()
                .name("hashrig-pool-probe".into())
                .spawn(move || {
                    for (better, p) in shared.options.pools[..pool].iter().enumerate() {
                        let hello = Hello {
                            pool: p,
                            url: &p.url,
                            tls: &shared.tls,
                            configure: shared.options.version_rolling && !no_configure[better],
                            resume: None,
                            agent: &shared.options.agent,
                            poll: shared.options.poll,
                            stop: &shared.stop,
                        };
                        if let Ok(s) = session::open(&hello) {
                            let _ = tx.send((better, s));
                            return;
                        }
                    }
                });
        }
        None
    }

    /// A reply to one of our requests: a share's fate.
    fn answer(&mut self, id: u64, result: Value, error: Option<message::RpcError>) -> Option<End> {
        let shared = &self.shared;
        let mut st = shared.lock();
        let pending = st.pending.remove(&id)?;
        let mut report = pending.report;
        report.latency = Some(pending.written.elapsed());
        let accepted = error.is_none() && result == Value::Bool(true);
        let s = &mut st.stats[report.pool];
        s.rtt = report.latency;
        if accepted {
            s.accepted += 1;
            s.accepted_difficulty += report.target_difficulty;
            if report.block {
                s.blocks += 1;
            }
            report.result = ShareResult::Accepted;
            st.rejects_in_a_row = 0;
        } else {
            s.rejected += 1;
            let (code, message) = match error {
                Some(e) => (e.code, e.message),
                None => (None, message::clip(&result.to_string(), 200)),
            };
            report.result = ShareResult::Rejected { code, message };
            st.rejects_in_a_row += 1;
        }
        st.tally(&report.device, &report.result);
        let failing = st.rejects_in_a_row >= shared.options.reject_limit;
        drop(st);
        shared.send(PoolEvent::Share(Box::new(report)));
        failing.then(|| {
            End::Failing(format!(
                "the pool rejected {} shares in a row",
                shared.options.reject_limit
            ))
        })
    }

    /// A notification or request from the pool.
    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        pool: usize,
        serial: u64,
        session: &Session,
        jobs: &mut JobState,
        id: Option<Value>,
        method: &str,
        params: &Value,
        read_at: Instant,
    ) -> std::io::Result<Option<End>> {
        let shared = self.shared.clone();
        let note = |text: String| shared.pool_event(pool, PoolChange::Message(text));
        match method {
            "mining.notify" => match Notify::from_params(params) {
                Ok(n) => self.new_job(pool, serial, jobs, n, read_at),
                Err(e) => note(format!("ignored: {e}")),
            },
            "mining.set_difficulty" => match message::difficulty_from_params(params) {
                Ok(d) => {
                    jobs.pending_difficulty = Some(d);
                    shared.lock().stats[pool].difficulty = Some(d);
                    shared.pool_event(pool, PoolChange::Difficulty(d));
                }
                Err(e) => note(format!("ignored: {e}")),
            },
            "mining.set_extranonce" => match message::extranonce_from_params(params) {
                Ok(x) => jobs.pending_extranonce = Some(x),
                Err(e) => note(format!("ignored: {e}")),
            },
            "mining.set_version_mask" => match message::version_mask_from_params(params) {
                Ok(mask) if session.version_mask != 0 => {
                    let mask = mask & message::BIP320_MASK;
                    jobs.version_mask = mask;
                    {
                        let mut st = shared.lock();
                        if let Some(l) = st.live.as_mut() {
                            l.version_mask = mask;
                        }
                        st.stats[pool].version_mask = mask;
                    }
                    // At once: the current job goes on under the new mask.
                    if let Some(job) = jobs.current.clone() {
                        let mut job = (*job).clone();
                        job.version_mask = mask;
                        job.notify.clean_jobs = false;
                        self.hand_out(pool, serial, jobs, job, read_at);
                    }
                }
                Ok(_) => note(
                    "ignored mining.set_version_mask: version rolling was not negotiated".into(),
                ),
                Err(e) => note(format!("ignored: {e}")),
            },
            "client.reconnect" => match Reconnect::from_params(params) {
                Ok(r) => return Ok(Some(End::Reconnect(r))),
                Err(e) => note(format!("ignored: {e}")),
            },
            "client.show_message" => {
                let text = params
                    .as_array()
                    .and_then(|p| p.first())
                    .map(|v| message::clip(v.as_str().unwrap_or(&v.to_string()), 500))
                    .unwrap_or_default();
                shared.pool_event(pool, PoolChange::Message(format!("pool says: {text}")));
            }
            "client.get_version" => {
                if let Some(id) = &id {
                    session.writer.write_line(&message::reply(
                        id,
                        json!(shared.options.agent),
                        None,
                    ))?;
                }
            }
            "mining.ping" => {
                if let Some(id) = &id {
                    session
                        .writer
                        .write_line(&message::reply(id, json!("pong"), None))?;
                }
            }
            other => match &id {
                Some(id) => {
                    session.writer.write_line(&message::reply(
                        id,
                        Value::Null,
                        Some((20, "unsupported method")),
                    ))?;
                    note(format!("answered unknown request {other:?} with an error"));
                }
                None => note(format!("ignored unknown notification {other:?}")),
            },
        }
        Ok(None)
    }

    /// A `mining.notify`: the difficulty and extranonce announced since the
    /// last job take effect, and the job goes to the engine.
    fn new_job(
        &mut self,
        pool: usize,
        serial: u64,
        jobs: &mut JobState,
        n: Notify,
        read_at: Instant,
    ) {
        if let Some(d) = jobs.pending_difficulty.take() {
            jobs.difficulty = d;
        }
        if let Some((en1, size)) = jobs.pending_extranonce.take() {
            jobs.extranonce1 = en1;
            jobs.extranonce2_size = size;
        }
        jobs.last_job = Instant::now();
        let job = PoolJob {
            notify: n,
            extranonce1: jobs.extranonce1.clone(),
            extranonce2_size: jobs.extranonce2_size,
            difficulty: jobs.difficulty,
            version_mask: jobs.version_mask,
        };
        self.hand_out(pool, serial, jobs, job, read_at);
    }

    /// Gives a pool job to the engine, replacing what it mines.
    fn hand_out(
        &mut self,
        pool: usize,
        serial: u64,
        jobs: &mut JobState,
        job: PoolJob,
        read_at: Instant,
    ) {
        let shared = self.shared.clone();
        let Ok(target) = job.share_target() else {
            return;
        };
        // The first job of a connection voids whatever came before it.
        let clean = job.notify.clean_jobs || jobs.current.is_none();
        let epoch = {
            let mut st = shared.lock();
            if clean {
                st.epoch += 1;
                st.submitted.clear();
            }
            st.epoch
        };
        if clean {
            shared
                .origins
                .lock()
                .expect("not poisoned")
                .retain_epoch(epoch);
        }
        let job = Arc::new(job);
        jobs.current = Some(job.clone());
        let job_id = job.notify.job_id.clone();
        let mut roller = Roller::new(job, target, shared.origins.clone(), (serial, pool, epoch));
        let Some(first) = roller.next_header() else {
            return;
        };
        match shared.engine.submit(Work::new(first).then(roller)) {
            Ok(engine_job) => {
                let submitted = Instant::now();
                shared.resume();
                shared.pool_event(
                    pool,
                    PoolChange::Job {
                        job_id,
                        clean,
                        engine_job,
                        submitted,
                        queued: submitted - read_at,
                    },
                );
            }
            Err(e) => shared.pool_event(
                pool,
                PoolChange::Message(format!("job {job_id} not mined: {e}")),
            ),
        }
    }
}
