//! The connection thread: the pools in priority order, one connection at
//! a time; a lost connection retried with backoff, a failing pool left for
//! the next one, and a background probe that brings the miner back to a
//! better pool once it works again. The devices pause while no pool is
//! usable.

use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::events::{PoolChange, PoolEvent};
use super::feed::LinkFeed;
use super::figures::PoolState;
use super::protocol::{End, Link, Opened, Opening};
use super::shared::{Live, Shared};

/// A background check for a better pool, and when it last started.
struct Probe {
    found: Option<Receiver<(usize, Box<dyn Link>)>>,
    last: Instant,
}

/// The connection thread's state.
struct Failover {
    shared: Arc<Shared>,
    /// The pool in use.
    active: usize,
    /// Serial number of the current connection.
    serial: u64,
    backoff: Backoff,
}

/// Runs the connection thread until the miner stops.
pub(crate) fn run(shared: Arc<Shared>) {
    let backoff = Backoff::new(shared.settings.backoff_start, shared.settings.backoff_max);
    let mut f = Failover {
        shared,
        active: 0,
        serial: 0,
        backoff,
    };
    f.run();
}

impl Failover {
    fn stopping(&self) -> bool {
        self.shared.stopping()
    }

    fn set_state(&self, pool: usize, state: PoolState, error: Option<String>) {
        let mut st = self.shared.lock();
        let s = &mut st.book.stats[pool];
        s.state = state;
        if error.is_some() {
            s.last_error = error;
        }
    }

    fn open(&self, pool: usize) -> Result<Box<dyn Link>, Opened> {
        let shared = &self.shared;
        let note = |text: String| shared.pool_event(pool, PoolChange::Message(text));
        let cx = Opening {
            stop: &shared.stop,
            note: &note,
            hashrate: shared.hashrate(),
        };
        shared.protocol.open(pool, false, &cx)
    }

    /// A connection ended: the devices pause until a pool gives work.
    fn lost(&self, pool: usize, why: &str) {
        self.shared.pause("no pool is usable; devices paused");
        self.set_state(pool, PoolState::Failed, Some(why.to_string()));
        self.shared
            .pool_event(pool, PoolChange::Disconnected(why.to_string()));
    }

    /// The miner stops: say so, once, for the pool it was on.
    fn stopped(&self, pool: usize) {
        let was_live = self.shared.lock().book.stats[pool].state != PoolState::Idle;
        self.set_state(pool, PoolState::Idle, None);
        if was_live {
            self.shared
                .pool_event(pool, PoolChange::Disconnected("hashrig is stopping".into()));
        }
    }

    fn run(&mut self) {
        let settings = self.shared.settings.clone();
        let mut failures = 0u32;
        let mut ready: Option<Box<dyn Link>> = None;
        while !self.stopping() {
            let pool = self.active;
            let link = match ready.take() {
                Some(l) => Ok(l),
                None => {
                    self.set_state(pool, PoolState::Connecting, None);
                    self.open(pool)
                }
            };
            let end = match link {
                Ok(l) => {
                    // Only a connection that gave work counts as working: a
                    // pool that accepts the handshake and then drops every
                    // connection (or sends nothing usable) is failed over
                    // like one that refuses it.
                    let (end, worked) = self.mine(pool, l);
                    if worked {
                        failures = 0;
                    }
                    end
                }
                Err(Opened::Stopped) => End::Stop,
                Err(Opened::Failed(e)) => End::Lost(e),
            };
            // A connection that ends because the miner stops is not lost.
            let end = if self.stopping() { End::Stop } else { end };
            match end {
                End::Stop => {
                    self.stopped(pool);
                    break;
                }
                End::Switch(to, l) => {
                    self.set_state(pool, PoolState::Idle, None);
                    self.shared.pool_event(
                        pool,
                        PoolChange::Disconnected("a better pool is back".into()),
                    );
                    self.shared
                        .pool_event(to, PoolChange::Failover { from: pool });
                    self.active = to;
                    ready = Some(l);
                    continue;
                }
                End::Redirect(r) => {
                    let why = self.shared.protocol.redirect(pool, &r);
                    self.lost(pool, &why);
                    self.sleep(Duration::from_secs(r.wait));
                    continue;
                }
                End::Lost(e) => {
                    self.lost(pool, &e.to_string());
                    failures += 1;
                }
                End::Failing(why) => {
                    self.lost(pool, &why);
                    failures = failures.max(settings.failures_before_switch);
                }
            }
            let n = self.shared.pools();
            if n > 1 && failures >= settings.failures_before_switch {
                self.shared.protocol.forget_redirect(pool);
                self.set_state(pool, PoolState::Idle, None);
                self.active = (pool + 1) % n;
                self.shared
                    .pool_event(self.active, PoolChange::Failover { from: pool });
                failures = 0;
                continue;
            }
            let wait = self.backoff.after(failures);
            self.sleep(wait);
        }
        self.shared.lock().live = None;
    }

    /// Sleeps, waking early to stop.
    fn sleep(&self, wait: Duration) {
        let until = Instant::now() + wait;
        while !self.stopping() && Instant::now() < until {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
    }

    /// Mines on a ready connection until it ends; whether it gave a job.
    fn mine(&mut self, pool: usize, mut link: Box<dyn Link>) -> (End, bool) {
        self.serial += 1;
        let shared = self.shared.clone();
        let hello = link.handshake();
        let writer = link.writer();
        {
            let mut st = shared.lock();
            st.live = Some(Live {
                session: self.serial,
                writer: writer.clone(),
                version_mask: hello.version_mask,
            });
            st.book.connected();
            let s = &mut st.book.stats[pool];
            s.state = PoolState::Mining;
            s.connections += 1;
            s.version_mask = hello.version_mask;
            s.rtt = Some(hello.rtt);
        }
        shared.pool_event(pool, PoolChange::Connected);
        shared.pool_event(pool, hello.authorized);
        let mut feed = LinkFeed {
            shared: &shared,
            pool,
            session: self.serial,
            last_job: Instant::now(),
            jobs: 0,
        };
        let mut probe = Probe {
            found: None,
            last: Instant::now(),
        };
        let end = loop {
            if self.stopping() {
                break End::Stop;
            }
            match link.step(&mut feed) {
                Ok(true) => {}
                Ok(false) => {
                    if let Some(end) = self.timers(pool, feed.last_job, &mut probe) {
                        break end;
                    }
                }
                Err(end) => break end,
            }
        };
        writer.shutdown();
        let lost = {
            let mut st = shared.lock();
            st.live = None;
            st.book.unanswered()
        };
        for report in lost {
            shared.send(PoolEvent::Share(Box::new(report)));
        }
        (end, feed.jobs > 0)
    }

    /// Time-driven checks while the pool is quiet: the job timeout, and
    /// whether a better pool works again.
    fn timers(&mut self, pool: usize, last_job: Instant, probe: &mut Probe) -> Option<End> {
        let settings = &self.shared.settings;
        if last_job.elapsed() > settings.job_timeout {
            return Some(End::Failing(format!(
                "no new job for {} s",
                settings.job_timeout.as_secs()
            )));
        }
        if let Some(rx) = &probe.found {
            match rx.try_recv() {
                Ok((better, l)) => return Some(End::Switch(better, l)),
                Err(mpsc::TryRecvError::Empty) => return None,
                Err(mpsc::TryRecvError::Disconnected) => probe.found = None,
            }
        }
        if pool > 0 && probe.last.elapsed() >= settings.primary_check {
            probe.last = Instant::now();
            let (tx, rx) = mpsc::channel();
            probe.found = Some(rx);
            let shared = self.shared.clone();
            let _ = std::thread::Builder::new()
                .name("hashrig-pool-probe".into())
                .spawn(move || {
                    let quiet = |_: String| {};
                    let cx = Opening {
                        stop: &shared.stop,
                        note: &quiet,
                        hashrate: shared.hashrate(),
                    };
                    for better in 0..pool {
                        if let Ok(l) = shared.protocol.open(better, true, &cx) {
                            let _ = tx.send((better, l));
                            return;
                        }
                    }
                });
        }
        None
    }
}

/// Waits between attempts: about `start * 2^(failures-1)`, at most `max`,
/// ±20% jitter so that rigs do not come back in step.
struct Backoff {
    start: Duration,
    max: Duration,
    jitter: u64,
}

impl Backoff {
    fn new(start: Duration, max: Duration) -> Backoff {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        Backoff {
            start,
            max,
            jitter: seed,
        }
    }

    fn after(&mut self, failures: u32) -> Duration {
        let base = self
            .start
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(self.max);
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let factor = 0.8 + 0.4 * (self.jitter % 1000) as f64 / 1000.0;
        base.mul_f64(factor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_up_to_the_maximum() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for (failures, base) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let wait = b.after(failures).as_secs_f64() * 1e3;
            let base = base as f64;
            assert!(
                wait >= base * 0.8 - 1e-6 && wait <= base * 1.2 + 1e-6,
                "{failures}: {wait}"
            );
        }
    }
}
