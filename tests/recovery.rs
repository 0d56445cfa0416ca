//! Devices that come back: a device taken out of service (an error, or a
//! hang the watchdog noticed) is opened again after a backoff and put back
//! to work, up to a limit, with its state (`recovering`, attempts) in the
//! statistics; one that fails every time it is opened stays out. The job
//! is finished either way, every solution once.

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{assert_exact_cover, genesis_job as job, reference, throttled_search, OtherJobs};
use hashrig::engine::{Device, DeviceKind, DeviceState, Engine, EngineOptions, Event, Found, Work};
use hashrig::DeviceError;
use hashrig::{CancelToken, Error, NonceRange, PreparedJob};

/// What goes wrong with a [`Flaky`] device.
#[derive(Clone, Copy)]
enum Trouble {
    /// Nothing.
    None,
    /// An error on this search call (counting from 1).
    FailOn(u32),
    /// This call takes this long before it answers (the watchdog calls it
    /// hung first).
    StallOn(u32, Duration),
}

/// A device hashing for real on one CPU thread at most at `rate`, which
/// can be opened again: `reopen_fails` of the first attempts fail.
struct Flaky {
    name: &'static str,
    rate: f64,
    trouble: Trouble,
    calls: u32,
    reopen_fails: u32,
    reopened: Arc<AtomicU32>,
    log: Arc<Mutex<Vec<NonceRange>>>,
}

type Log = Arc<Mutex<Vec<NonceRange>>>;

fn flaky(
    name: &'static str,
    trouble: Trouble,
    reopen_fails: u32,
) -> (Box<dyn Device>, Log, Arc<AtomicU32>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let reopened = Arc::new(AtomicU32::new(0));
    let device = Flaky {
        name,
        rate: 2e6,
        trouble,
        calls: 0,
        reopen_fails,
        reopened: reopened.clone(),
        log: log.clone(),
    };
    (Box::new(device), log, reopened)
}

impl Device for Flaky {
    fn name(&self) -> String {
        self.name.into()
    }
    fn kind(&self) -> DeviceKind {
        DeviceKind::Other
    }
    fn nominal_rate(&self) -> f64 {
        self.rate
    }
    fn search(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error> {
        self.calls += 1;
        match self.trouble {
            Trouble::FailOn(n) if n == self.calls => {
                return Err(Error::Device(DeviceError::Failed(
                    "simulated driver error".into(),
                )))
            }
            Trouble::StallOn(n, d) if n == self.calls => sleep(d),
            _ => {}
        }
        let found = throttled_search(job, range, self.rate, || cancel.is_cancelled())?;
        self.log
            .lock()
            .unwrap()
            .push(NonceRange::new(range.start, found.searched));
        Ok(found)
    }
    fn recoverable(&self) -> bool {
        true
    }
    fn recover(&mut self) -> Result<(), Error> {
        let n = self.reopened.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= self.reopen_fails {
            return Err(Error::Device(DeviceError::Failed(format!(
                "simulated: reopening failed ({n})"
            ))));
        }
        Ok(())
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        watchdog: Duration::from_millis(300),
        recovery_attempts: 3,
        recovery_backoff: Duration::from_millis(100),
        ..Default::default()
    }
}

/// What a run reported: the nonces found, and the device events in order
/// (`failed` or `recovered`, with the device), and whether the flaky device
/// was seen recovering in between.
struct Run {
    nonces: std::collections::BTreeSet<u64>,
    events: Vec<(&'static str, String)>,
    seen_recovering: bool,
}

fn run(engine: &Engine, id: hashrig::engine::JobId) -> Run {
    let mut out = Run {
        nonces: Default::default(),
        events: Vec::new(),
        seen_recovering: false,
    };
    loop {
        let event = engine.recv_timeout(Duration::from_millis(20));
        if engine
            .stats()
            .iter()
            .any(|d| matches!(d.state, DeviceState::Recovering(_)))
        {
            out.seen_recovering = true;
        }
        match event {
            Some(Event::Solution(s)) if s.job == id => {
                assert!(!s.stale);
                assert!(out.nonces.insert(s.solution.nonce), "reported twice");
            }
            Some(Event::DeviceFailed { device, .. }) => out.events.push(("failed", device)),
            Some(Event::DeviceRecovered { device, .. }) => out.events.push(("recovered", device)),
            Some(Event::Exhausted(done)) if done == id => return out,
            Some(_) | None => {}
        }
    }
}

/// A job over `range` on a good device and a flaky one: the engine, what
/// the run reported (nothing lost, every nonce searched once, checked here)
/// and how often the flaky one was opened again.
fn good_and_flaky(
    range: NonceRange,
    trouble: Trouble,
    reopen_fails: u32,
) -> (Engine, Run, Arc<AtomicU32>) {
    let job = job(14);
    let (good, good_log, _) = flaky("good", Trouble::None, 0);
    let (bad, bad_log, reopened) = flaky("bad", trouble, reopen_fails);
    let engine = Engine::with_devices(vec![good, bad], options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let r = run(&engine, id);
    assert_eq!(r.nonces, reference(&job, range), "nothing lost");
    assert_exact_cover(&[good_log, bad_log], range, OtherJobs::Forbidden);
    (engine, r, reopened)
}

#[test]
fn a_device_that_fails_once_comes_back_to_work() {
    let job = job(14);
    let range = NonceRange::new(0, 6_000_000);
    let (good, good_log, _) = flaky("good", Trouble::None, 0);
    let (bad, bad_log, reopened) = flaky("bad", Trouble::FailOn(2), 0);
    let engine = Engine::with_devices(vec![good, bad], options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let r = run(&engine, id);
    assert_eq!(r.nonces, reference(&job, range), "nothing lost");
    assert_exact_cover(&[good_log, bad_log.clone()], range, OtherJobs::Forbidden);
    assert_eq!(
        r.events,
        [
            ("failed", "bad".to_string()),
            ("recovered", "bad".to_string())
        ]
    );
    assert!(r.seen_recovering, "the recovering state was never shown");
    assert_eq!(reopened.load(Ordering::Relaxed), 1);
    let stats = engine.stats();
    assert_eq!((stats[1].recovery_attempts, stats[1].recoveries), (1, 1));
    assert!(stats[1].state.reason().is_none(), "{:?}", stats[1].state);
    // It searched again after it came back: ranges after its first.
    assert!(bad_log.lock().unwrap().len() >= 2);
}

#[test]
fn a_device_that_fails_each_time_it_is_opened_stays_out() {
    let range = NonceRange::new(0, 3_000_000);
    let (engine, r, reopened) = good_and_flaky(range, Trouble::FailOn(1), u32::MAX);
    // Taken out, then given up after every attempt failed; the job may
    // end before the last attempt.
    assert_eq!(r.events[0], ("failed", "bad".to_string()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(engine.stats()[1].state, DeviceState::Failed(_)) {
        assert!(Instant::now() < deadline, "{:?}", engine.stats()[1].state);
        sleep(Duration::from_millis(20));
    }
    let stats = engine.stats();
    assert_eq!(reopened.load(Ordering::Relaxed), 3);
    assert_eq!((stats[1].recovery_attempts, stats[1].recoveries), (3, 0));
    assert!(
        matches!(&stats[1].state, DeviceState::Failed(r) if r.contains("opened again 3 times")),
        "{:?}",
        stats[1].state
    );
}

#[test]
fn a_device_that_hangs_is_opened_again_once_it_answers() {
    let stall = Trouble::StallOn(2, Duration::from_secs(3));
    let (engine, r, reopened) = good_and_flaky(NonceRange::new(0, 6_000_000), stall, 0);
    assert_eq!(r.events[0], ("failed", "bad".to_string()));
    // The other device may finish the job while this one still stalls: it
    // comes back once its search answers.
    let back = r.events.get(1) == Some(&("recovered", "bad".to_string()))
        || std::iter::from_fn(|| engine.recv_timeout(Duration::from_secs(15)))
            .any(|e| matches!(e, Event::DeviceRecovered { device, attempt: 1 } if device == "bad"));
    assert!(back, "{:?}", engine.stats()[1].state);
    assert_eq!(reopened.load(Ordering::Relaxed), 1);
    assert_eq!(engine.stats()[1].recoveries, 1);
}

#[test]
fn recovery_can_be_turned_off() {
    let (good, _, _) = flaky("good", Trouble::None, 0);
    let (bad, _, reopened) = flaky("bad", Trouble::FailOn(1), 0);
    let options = EngineOptions {
        recovery_attempts: 0,
        ..options()
    };
    let engine = Engine::with_devices(vec![good, bad], options).unwrap();
    let range = NonceRange::new(0, 1_000_000);
    let id = engine.submit(Work::new(job(14)).range(range)).unwrap();
    let r = run(&engine, id);
    assert_eq!(r.events, [("failed", "bad".to_string())]);
    sleep(Duration::from_millis(300));
    assert_eq!(reopened.load(Ordering::Relaxed), 0);
    assert!(matches!(engine.stats()[1].state, DeviceState::Failed(_)));
}
