//! What the pool layer's threads share: the settings, the share book and
//! the live connection under one lock, the event channel, and pausing the
//! devices while no pool gives work.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

use super::book::Book;
use super::events::{PoolChange, PoolEvent};
use super::protocol::{Protocol, ShareWriter};
use super::settings::FailoverOptions;
use crate::engine::{Engine, Pauser};

/// The connection shares are written to.
pub(crate) struct Live {
    pub session: u64,
    pub writer: Arc<dyn ShareWriter>,
    pub version_mask: u32,
}

pub(crate) struct State {
    pub book: Book,
    pub live: Option<Live>,
    pub paused: bool,
}

pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub protocol: Arc<dyn Protocol>,
    pub settings: FailoverOptions,
    /// Each pool's URL (without password), for events.
    pub urls: Vec<String>,
    pub state: Mutex<State>,
    pub events: SyncSender<PoolEvent>,
    pub dropped: AtomicU64,
    pub next_submit: AtomicU64,
    pub stop: AtomicBool,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    pub fn pools(&self) -> usize {
        self.urls.len()
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Sends an event without ever blocking: when the reader is behind,
    /// the event is counted as dropped (the statistics still have it).
    pub fn send(&self, event: PoolEvent) {
        if let Err(TrySendError::Full(_)) = self.events.try_send(event) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The devices' measured hash rate (H/s): the last minute's, or the
    /// average where no minute has passed yet; 0 before any hashing.
    pub fn hashrate(&self) -> f64 {
        self.engine
            .stats()
            .iter()
            .map(|d| {
                if d.rate_60s > 0.0 {
                    d.rate_60s
                } else {
                    d.rate_avg
                }
            })
            .sum()
    }

    pub fn pool_event(&self, pool: usize, change: PoolChange) {
        let url = self.urls[pool].clone();
        self.send(PoolEvent::Pool { pool, url, change });
    }

    pub fn pause(&self, reason: &str) {
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

    pub fn resume(&self) {
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
