//! The health watch: reads every device's sensors on a thread of its own,
//! keeps the latest readings for displays and the API, and holds a device
//! out of the work while it is at or over the temperature limit, until it
//! has cooled under the resume temperature.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{sensor_for, Health, Sensor};
use crate::engine::Engine;
use crate::Error;

/// Events kept for a reader that is behind; further ones are dropped.
const EVENT_BACKLOG: usize = 256;

/// How the watch reads and what it protects.
#[derive(Clone, Debug)]
pub struct HealthOptions {
    /// How often the sensors are read.
    pub interval: Duration,
    /// A device at or over this temperature (°C) is held out of the work.
    pub temp_limit: Option<f64>,
    /// A held device goes back to work under this temperature (°C); by
    /// default 5 °C under the limit.
    pub temp_resume: Option<f64>,
}

impl Default for HealthOptions {
    fn default() -> Self {
        HealthOptions {
            interval: Duration::from_secs(1),
            temp_limit: None,
            temp_resume: None,
        }
    }
}

impl HealthOptions {
    /// The limit and resume temperatures, checked: the resume temperature
    /// must be under the limit, and both plausible.
    pub fn limits(&self) -> Result<Option<(f64, f64)>, Error> {
        let plausible = |what: &'static str, t: f64| {
            if t.is_finite() && (0.0..=150.0).contains(&t) {
                Ok(t)
            } else {
                Err(Error::Options {
                    option: what,
                    reason: format!("{t} is not a temperature between 0 and 150 °C"),
                })
            }
        };
        match (self.temp_limit, self.temp_resume) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(Error::Options {
                option: "temp-resume",
                reason: "needs a temperature limit (temp-limit)".into(),
            }),
            (Some(limit), resume) => {
                let limit = plausible("temp-limit", limit)?;
                let resume = plausible("temp-resume", resume.unwrap_or(limit - 5.0).max(0.0))?;
                if resume >= limit {
                    return Err(Error::Options {
                        option: "temp-resume",
                        reason: format!("{resume} °C must be under the limit of {limit} °C"),
                    });
                }
                Ok(Some((limit, resume)))
            }
        }
    }
}

/// What the watch did.
#[derive(Clone, Debug, PartialEq)]
pub enum HealthEvent {
    /// A device reached the limit and is held out of the work.
    Hot {
        /// Its index in the engine's statistics.
        device: usize,
        /// Its name.
        name: String,
        /// The temperature read, °C.
        temperature: f64,
        /// The limit, °C.
        limit: f64,
    },
    /// A held device cooled under the resume temperature and works again.
    Cooled {
        /// Its index in the engine's statistics.
        device: usize,
        /// Its name.
        name: String,
        /// The temperature read, °C.
        temperature: f64,
        /// The resume temperature, °C.
        resume: f64,
    },
}

/// The running watch. Stops when dropped.
pub struct HealthWatch {
    sensors: Vec<Option<Sensor>>,
    latest: Arc<Mutex<Vec<Health>>>,
    events: Mutex<mpsc::Receiver<HealthEvent>>,
    done: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl HealthWatch {
    /// Finds each of the engine's devices' sensor ([`sensor_for`]) and
    /// starts watching.
    pub fn start(engine: &Arc<Engine>, options: HealthOptions) -> Result<HealthWatch, Error> {
        let sensors = engine
            .stats()
            .iter()
            .map(|d| sensor_for(d.kind, &d.details))
            .collect();
        Self::with_sensors(engine, sensors, options)
    }

    /// Watches with the given sensors, one per device in the engine's
    /// statistics order (`None`: nothing known about that device).
    pub fn with_sensors(
        engine: &Arc<Engine>,
        sensors: Vec<Option<Sensor>>,
        options: HealthOptions,
    ) -> Result<HealthWatch, Error> {
        let limits = options.limits()?;
        let names: Vec<String> = engine.stats().into_iter().map(|d| d.name).collect();
        if sensors.len() != names.len() {
            return Err(Error::Options {
                option: "sensors",
                reason: format!("{} sensors for {} devices", sensors.len(), names.len()),
            });
        }
        let first: Vec<Health> = sensors
            .iter()
            .map(|s| s.as_ref().map(Sensor::read).unwrap_or_default())
            .collect();
        let latest = Arc::new(Mutex::new(first));
        let (tx, rx) = mpsc::sync_channel(EVENT_BACKLOG);
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let mut run = Run {
                engine: Arc::downgrade(engine),
                sensors: sensors.clone(),
                names,
                held: vec![false; sensors.len()],
                limits,
                latest: latest.clone(),
                events: tx,
            };
            let done = done.clone();
            let interval = options.interval.max(Duration::from_millis(10));
            std::thread::Builder::new()
                .name("hashrig-health".into())
                .spawn(move || {
                    while !done.load(Ordering::Relaxed) && run.tick() {
                        sleep_unless(&done, interval);
                    }
                })
                .map_err(|source| Error::Spawn {
                    what: "the health watch".into(),
                    source,
                })?
        };
        Ok(HealthWatch {
            sensors,
            latest,
            events: Mutex::new(rx),
            done,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The latest readings, one per device in the engine's order.
    pub fn latest(&self) -> Vec<Health> {
        self.latest.lock().expect("not poisoned").clone()
    }

    /// Each device's sensor, one per device in the engine's order.
    pub fn sensors(&self) -> &[Option<Sensor>] {
        &self.sensors
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<HealthEvent> {
        self.events.lock().expect("not poisoned").try_recv().ok()
    }

    /// Stops the watch and waits for its thread.
    pub fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.lock().expect("not poisoned").take() {
            let _ = t.join();
        }
    }
}

impl Drop for HealthWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleeps `total`, waking early when `done` is set.
fn sleep_unless(done: &AtomicBool, total: Duration) {
    let step = Duration::from_millis(20);
    let mut left = total;
    while !left.is_zero() && !done.load(Ordering::Relaxed) {
        let nap = left.min(step);
        std::thread::sleep(nap);
        left -= nap;
    }
}

/// The watch thread's state.
struct Run {
    engine: Weak<Engine>,
    sensors: Vec<Option<Sensor>>,
    names: Vec<String>,
    held: Vec<bool>,
    limits: Option<(f64, f64)>,
    latest: Arc<Mutex<Vec<Health>>>,
    events: mpsc::SyncSender<HealthEvent>,
}

impl Run {
    /// One round of readings; `false` once the engine is gone.
    fn tick(&mut self) -> bool {
        let Some(engine) = self.engine.upgrade() else {
            return false;
        };
        let readings: Vec<Health> = self
            .sensors
            .iter()
            .map(|s| s.as_ref().map(Sensor::read).unwrap_or_default())
            .collect();
        if let Some((limit, resume)) = self.limits {
            for (device, reading) in readings.iter().enumerate() {
                // A held device whose sensor stops answering stays held.
                let Some(t) = reading.temperature_c else {
                    continue;
                };
                let name = self.names[device].clone();
                if !self.held[device] && t >= limit {
                    let reason = format!("too hot: {t:.0} °C, limit {limit:.0} °C");
                    if engine.hold(device, reason).is_ok() {
                        self.held[device] = true;
                        let _ = self.events.try_send(HealthEvent::Hot {
                            device,
                            name,
                            temperature: t,
                            limit,
                        });
                    }
                } else if self.held[device] && t < resume && engine.release(device).is_ok() {
                    self.held[device] = false;
                    let _ = self.events.try_send(HealthEvent::Cooled {
                        device,
                        name,
                        temperature: t,
                        resume,
                    });
                }
            }
        }
        *self.latest.lock().expect("not poisoned") = readings;
        true
    }
}
