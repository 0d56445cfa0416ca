//! Per-device statistics: claimed hashrate over sliding windows, and the
//! effective hashrate that the verified proofs of work imply.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{DeviceDetails, DeviceKind, JobId};

/// What a device is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// Waiting for work (no job, or the job's nonces are all handed out).
    Idle,
    /// Searching.
    Hashing,
    /// The engine is paused.
    Paused,
    /// Held out of the work (for example too hot), with the reason.
    Held(String),
    /// Out of service, with the reason.
    Failed(String),
    /// Out of service for now, with the reason: it is opened again after a
    /// backoff ([`DeviceStats::recovery_attempts`] says how often so far).
    Recovering(String),
}

impl DeviceState {
    /// `"idle"`, `"hashing"`, `"paused"`, `"held"`, `"failed"` or
    /// `"recovering"`.
    pub fn name(&self) -> &'static str {
        match self {
            DeviceState::Idle => "idle",
            DeviceState::Hashing => "hashing",
            DeviceState::Paused => "paused",
            DeviceState::Held(_) => "held",
            DeviceState::Failed(_) => "failed",
            DeviceState::Recovering(_) => "recovering",
        }
    }

    /// Why the device does not hash, where it is held or out of service.
    pub fn reason(&self) -> Option<&str> {
        match self {
            DeviceState::Held(r) | DeviceState::Failed(r) | DeviceState::Recovering(r) => Some(r),
            _ => None,
        }
    }
}

/// One device's statistics. Rates are in hashes per second.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceStats {
    /// The device's name.
    pub name: String,
    /// Its kind.
    pub kind: DeviceKind,
    /// Fixed facts about it (kernel, threads, launch settings).
    pub details: DeviceDetails,
    /// What it is doing.
    pub state: DeviceState,
    /// Nonces searched, as the device reports them.
    pub hashes: u64,
    /// Claimed rate over the last 5 seconds.
    pub rate_5s: f64,
    /// Claimed rate over the last 60 seconds.
    pub rate_60s: f64,
    /// Claimed rate since the device first hashed.
    pub rate_avg: f64,
    /// The rate the verified proofs imply since the device first hashed:
    /// proofs found divided by the chance that one hash is a proof. It
    /// does not depend on what the device claims, so a device that hashes
    /// wrongly or drops results shows a lower effective than claimed rate.
    pub effective_rate: f64,
    /// The hashes the verified proofs imply (the numerator of `effective_rate`).
    pub effective_hashes: f64,
    /// Verified proofs (hashes meeting the engine's easier proof target).
    pub proofs: u64,
    /// The proofs expected for the hashes claimed.
    pub expected_proofs: f64,
    /// Verified solutions of current jobs.
    pub solutions: u64,
    /// Verified solutions of jobs already replaced when they came in.
    pub stale: u64,
    /// Candidates that failed verification (or lay outside the range).
    pub hardware_errors: u64,
    /// The job the device last started on.
    pub job: Option<JobId>,
    /// How long after that job was submitted the device started on it.
    pub job_switch: Option<Duration>,
    /// How often the device was opened again after being taken out of
    /// service (successful or not).
    pub recovery_attempts: u32,
    /// How often it came back to work that way.
    pub recoveries: u32,
}

/// The running totals behind [`DeviceStats`].
#[derive(Debug)]
pub(crate) struct Meter {
    first: Option<Instant>,
    samples: VecDeque<(Instant, u64)>,
    pub hashes: u64,
    pub proofs: u64,
    pub expected: f64,
    /// Sum over proofs of 1 / (chance of a proof per hash).
    pub effective_hashes: f64,
    pub solutions: u64,
    pub stale: u64,
    pub hardware_errors: u64,
}

impl Meter {
    pub fn new() -> Self {
        Meter {
            first: None,
            samples: VecDeque::new(),
            hashes: 0,
            proofs: 0,
            expected: 0.0,
            effective_hashes: 0.0,
            solutions: 0,
            stale: 0,
            hardware_errors: 0,
        }
    }

    /// Marks the start of the device's first search.
    pub fn started(&mut self, at: Instant) {
        self.first.get_or_insert(at);
    }

    /// Records `hashes` searched at `chance` of a proof per hash.
    pub fn searched(&mut self, hashes: u64, chance: f64) {
        let now = Instant::now();
        self.hashes += hashes;
        self.expected += hashes as f64 * chance;
        self.samples.push_back((now, hashes));
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.samples.pop_front();
        }
    }

    /// Records a verified proof found at `chance` of a proof per hash.
    pub fn proof(&mut self, chance: f64) {
        self.proofs += 1;
        self.effective_hashes += 1.0 / chance;
    }

    fn window(&self, now: Instant, span: Duration) -> f64 {
        let Some(first) = self.first else {
            return 0.0;
        };
        let hashes: u64 = self
            .samples
            .iter()
            .filter(|(t, _)| now.duration_since(*t) <= span)
            .map(|s| s.1)
            .sum();
        hashes as f64 / now.duration_since(first).min(span).as_secs_f64().max(1e-3)
    }

    pub fn stats(
        &self,
        name: String,
        kind: DeviceKind,
        details: DeviceDetails,
        state: DeviceState,
        job: Option<JobId>,
        job_switch: Option<Duration>,
    ) -> DeviceStats {
        let now = Instant::now();
        let elapsed = self
            .first
            .map_or(0.0, |f| now.duration_since(f).as_secs_f64().max(1e-3));
        let per_second = |x: f64| if elapsed > 0.0 { x / elapsed } else { 0.0 };
        DeviceStats {
            name,
            kind,
            details,
            state,
            hashes: self.hashes,
            rate_5s: self.window(now, Duration::from_secs(5)),
            rate_60s: self.window(now, Duration::from_secs(60)),
            rate_avg: per_second(self.hashes as f64),
            effective_rate: per_second(self.effective_hashes),
            effective_hashes: self.effective_hashes,
            proofs: self.proofs,
            expected_proofs: self.expected,
            solutions: self.solutions,
            stale: self.stale,
            hardware_errors: self.hardware_errors,
            job,
            job_switch,
            recovery_attempts: 0,
            recoveries: 0,
        }
    }
}

/// A histogram of durations with fixed bucket bounds, in seconds: what
/// [`Engine::job_switches`](super::Engine::job_switches) returns, in the
/// shape Prometheus histograms take.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyHistogram {
    /// Upper bounds of the buckets, in seconds, increasing.
    pub bounds: Vec<f64>,
    /// Observations at or under each bound, cumulative (as Prometheus
    /// counts them); observations over the last bound count only in
    /// `count`.
    pub cumulative: Vec<u64>,
    /// The sum of every observation, in seconds.
    pub sum: f64,
    /// Observations in all.
    pub count: u64,
}

impl LatencyHistogram {
    /// An empty histogram over `bounds` (seconds, increasing).
    pub fn new(bounds: &[f64]) -> Self {
        LatencyHistogram {
            bounds: bounds.to_vec(),
            cumulative: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    /// Buckets for job replacement: 1 ms to 10 s.
    pub(crate) fn job_switches() -> Self {
        Self::new(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])
    }

    /// Records one duration.
    pub fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        self.sum += s;
        self.count += 1;
        for (bound, n) in self.bounds.iter().zip(&mut self.cumulative) {
            if s <= *bound {
                *n += 1;
            }
        }
    }
}
