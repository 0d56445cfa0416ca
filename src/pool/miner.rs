//! The pool miner: pools in priority order, one connection at a time on a
//! thread of its own, feeding an [`Engine`]; the engine's verified
//! solutions checked once more against their pool job and submitted as
//! shares the moment they come. The same for every protocol: the
//! protocol only connects and speaks ([`super::protocol`]).
//!
//! Two threads: the connection thread ([`super::failover`]) reads the pool
//! and the share thread (here) turns engine solutions into shares, written
//! straight to the connection. Neither ever waits on a device, and no
//! device waits on either.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::book::Book;
use super::events::{PoolChange, PoolEvent, ShareReport};
use super::figures::{PoolStats, ShareCounts, ShareResult};
use super::protocol::Protocol;
use super::settings::FailoverOptions;
use super::shared::{Shared, State};
use super::PoolWatch;
use crate::engine::{Engine, Event, Pauser};
use crate::{Error, Header, Job, PoolError};

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
    /// Starts mining with `engine` on the pools `protocol` connects to,
    /// whose figures start as `stats`. The engine is paused until a pool
    /// gives work; the miner takes the engine's events.
    pub(crate) fn start_with(
        engine: Arc<Engine>,
        protocol: Arc<dyn Protocol>,
        stats: Vec<PoolStats>,
        settings: FailoverOptions,
        first_submit: u64,
    ) -> Result<PoolMiner, Error> {
        if stats.is_empty() {
            return Err(PoolError::Empty.into());
        }
        let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
        // No work until a pool sends a job.
        engine.pause_by(Pauser::Source);
        let shared = Arc::new(Shared {
            engine,
            protocol,
            settings,
            urls: stats.iter().map(|s| s.url.clone()).collect(),
            state: Mutex::new(State {
                book: Book::new(stats),
                live: None,
                paused: true,
            }),
            events: tx,
            dropped: AtomicU64::new(0),
            next_submit: AtomicU64::new(first_submit),
            stop: AtomicBool::new(false),
        });
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|source| Error::Spawn {
                    what: "a pool thread".into(),
                    source,
                })
        };
        let a = shared.clone();
        let b = shared.clone();
        let threads = vec![
            spawn("hashrig-pool", Box::new(move || super::failover::run(a)))?,
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
        self.shared.lock().book.stats.clone()
    }

    /// Shares by the device that found them (over every pool), by the
    /// device names of the engine's statistics.
    pub fn device_shares(&self) -> BTreeMap<String, ShareCounts> {
        self.shared.lock().book.by_device()
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
        self.stop_unless(flush, || false);
    }

    /// [`stop`](Self::stop), giving up the wait for answers as soon as
    /// `give_up` says so (a second Ctrl-C).
    pub fn stop_unless(&self, flush: Duration, give_up: impl Fn() -> bool) {
        self.shared.engine.pause();
        let deadline = Instant::now() + flush;
        while Instant::now() < deadline && !give_up() {
            let st = self.shared.lock();
            if !st.book.waiting() || st.live.is_none() {
                break;
            }
            drop(st);
            std::thread::sleep(Duration::from_millis(10));
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(live) = &self.shared.lock().live {
            live.writer.shutdown();
        }
        // A thread blocked on a silent upstream (a handshake, a node's RPC
        // call) sees the stop only when its read times out, seconds later:
        // it is waited for a moment, then left to end by itself, so that a
        // stop never waits on the network.
        let until = Instant::now() + STOP_WAIT;
        for t in std::mem::take(&mut *self.threads.lock().expect("not poisoned")) {
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

/// How long a stop waits for the miner's threads once it has told them.
const STOP_WAIT: Duration = Duration::from_millis(300);

impl PoolWatch for PoolMiner {
    fn stats(&self) -> Vec<PoolStats> {
        PoolMiner::stats(self)
    }

    fn device_shares(&self) -> BTreeMap<String, ShareCounts> {
        PoolMiner::device_shares(self)
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

/// The share thread: engine solutions to shares.
fn shares(shared: Arc<Shared>) {
    while !shared.stopping() {
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
            Some(Event::DeviceRecovered { device, attempt }) => {
                shared.send(PoolEvent::DeviceRecovered { device, attempt });
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
    let Some(draft) = shared.protocol.draft(&header) else {
        // Its job was forgotten long ago: older than anything a pool takes.
        return;
    };
    let hash = draft.rebuilt.block_hash();
    if draft.rebuilt != header || !draft.share_target.is_met_by(&hash) {
        shared.pool_event(
            draft.pool,
            PoolChange::Message(format!(
                "a solution from {device} does not meet job {}'s share target on the reference; not submitted",
                draft.job_id
            )),
        );
        return;
    }
    let mut st = shared.lock();
    let live = st.live.as_ref().filter(|l| l.session == draft.session);
    let version_bits = live.and_then(|l| (l.version_mask != 0).then_some(draft.rolled));
    let stale = match live {
        None => true,
        Some(l) => {
            draft.epoch != st.book.epoch
                || draft.rolled & !l.version_mask != 0
                || l.writer.stale(&draft)
        }
    };
    let writer = live.map(|l| l.writer.clone());
    let mut report = ShareReport {
        pool: draft.pool,
        job_id: draft.job_id.clone(),
        extranonce2: draft.extranonce2.clone(),
        version_bits,
        header,
        difficulty: hash.difficulty(),
        target_difficulty: draft.target_difficulty,
        block: draft.network_target.is_met_by(&hash),
        result: ShareResult::Stale,
        submit_delay: None,
        latency: None,
        device,
    };
    st.book.stats[draft.pool].last_share = Some(unix_now());
    let writer = match writer {
        Some(w) if !stale => w,
        _ => {
            let report = st.book.judged(report, ShareResult::Stale);
            drop(st);
            shared.send(PoolEvent::Share(Box::new(report)));
            return;
        }
    };
    if st.book.already_sent(&header) {
        return;
    }
    let id = shared.next_submit.fetch_add(1, Ordering::Relaxed);
    // Written under the lock so that the answer never finds no pending
    // entry; a write is a few microseconds and never waits on a device.
    let written = writer.submit(id, &draft, version_bits);
    let now = Instant::now();
    report.submit_delay = Some(now.saturating_duration_since(found));
    match written {
        Ok(()) => st.book.sent(id, report, now),
        Err(e) => {
            let result = ShareResult::Rejected {
                code: None,
                message: format!("not sent: {e}"),
            };
            let report = st.book.judged(report, result);
            drop(st);
            shared.send(PoolEvent::Share(Box::new(report)));
        }
    }
}
