//! What the dashboard shows of the past: the rig's rates and temperatures
//! sampled every few seconds over the last hour, and the last events (the
//! shares, solutions, blocks, disconnects, failovers and held devices the
//! command reports), both in fixed-size rings.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::Snapshot;

/// How many events are kept.
pub const EVENTS_KEPT: usize = 100;

/// One device at one moment.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DevicePoint {
    /// The claimed rate over the last 5 s (H/s).
    pub rate: f64,
    /// The rate the shares found stand for (H/s).
    pub effective: f64,
    /// The temperature (°C), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature_c: Option<f64>,
}

/// The rig at one moment.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Point {
    /// Unix time, milliseconds.
    pub t: u64,
    /// The devices' claimed rates summed (H/s).
    pub total: f64,
    /// The devices' effective rates summed (H/s).
    pub effective: f64,
    /// Each device, in the engine's order.
    pub devices: Vec<DevicePoint>,
}

/// Something the rig reported.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RigEvent {
    /// Unix time, milliseconds.
    pub t: u64,
    /// What kind (`share`, `block`, `solution`, `pool`, `mining`, `health`, …).
    pub kind: String,
    /// The line a person reads.
    pub text: String,
}

/// The rings.
#[derive(Debug)]
pub struct History {
    /// How often a point is taken.
    pub interval: Duration,
    /// How many points are kept.
    pub kept: usize,
    points: VecDeque<Point>,
    events: VecDeque<RigEvent>,
}

/// What `GET /history` serves.
#[derive(Serialize)]
pub struct HistoryDocument<'a> {
    /// Seconds between points.
    pub interval_s: f64,
    /// Oldest first.
    pub points: &'a VecDeque<Point>,
    /// Newest first.
    pub events: Vec<&'a RigEvent>,
}

pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl History {
    /// A point every `interval`, an hour of them kept.
    pub fn new(interval: Duration) -> History {
        let kept = (3600.0 / interval.as_secs_f64().max(0.001)).ceil() as usize;
        History {
            interval,
            kept: kept.clamp(1, 36_000),
            points: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Takes a point from `snapshot`.
    pub fn sample(&mut self, snapshot: &Snapshot) {
        let devices: Vec<DevicePoint> = snapshot
            .devices
            .iter()
            .enumerate()
            .map(|(i, d)| DevicePoint {
                rate: d.rate_5s,
                effective: d.effective_rate,
                temperature_c: snapshot.health.get(i).and_then(|h| h.temperature_c),
            })
            .collect();
        let point = Point {
            t: unix_ms(),
            total: devices.iter().map(|d| d.rate).sum(),
            effective: devices.iter().map(|d| d.effective).sum(),
            devices,
        };
        self.points.push_back(point);
        while self.points.len() > self.kept {
            self.points.pop_front();
        }
    }

    /// Keeps an event.
    pub fn record(&mut self, kind: &str, text: &str) {
        let cut: String = text.chars().take(300).collect();
        self.events.push_back(RigEvent {
            t: unix_ms(),
            kind: kind.chars().take(20).collect(),
            text: cut,
        });
        while self.events.len() > EVENTS_KEPT {
            self.events.pop_front();
        }
    }

    /// The document `GET /history` serves.
    pub fn document(&self) -> HistoryDocument<'_> {
        HistoryDocument {
            interval_s: self.interval.as_secs_f64(),
            points: &self.points,
            events: self.events.iter().rev().collect(),
        }
    }

    /// How many points are held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point is held yet.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rings_stay_bounded() {
        let mut h = History::new(Duration::from_secs(5));
        assert_eq!(h.kept, 720);
        let snapshot = Snapshot {
            uptime: Duration::ZERO,
            paused: false,
            devices: Vec::new(),
            health: Vec::new(),
            shares: Vec::new(),
            pools: Vec::new(),
            job_switches: crate::engine::LatencyHistogram::new(&[]),
        };
        for _ in 0..2000 {
            h.sample(&snapshot);
        }
        assert_eq!(h.len(), 720);
        for i in 0..500 {
            h.record("share", &format!("share {i} {}", "x".repeat(1000)));
        }
        let doc = h.document();
        assert_eq!(doc.events.len(), EVENTS_KEPT);
        assert!(doc.events[0].text.starts_with("share 499"));
        assert!(doc.events[0].text.chars().count() <= 300);
    }
}
