//! The engine with simulated devices behind the public `Device` trait:
//! devices of very different speeds share a job with exact coverage, and
//! devices that fail, hang, lie or drop results are taken out while the
//! others finish the job with nothing lost and nothing reported twice.

use crate::common;

use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{
    assert_exact_cover, genesis_job as job, reference, run_to_end, throttled_search, OtherJobs,
};
use hashrig::engine::{
    CpuUse, Device, DeviceKind, DeviceState, Engine, EngineOptions, Event, Found, RollTime, Work,
};
use hashrig::DeviceError;
use hashrig::{CancelToken, Error, Header, HeaderJob, Job, NonceRange, PreparedJob, Target};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// Returns an error on this call (counting from 1).
    FailOn(u32),
    /// Never returns from this call.
    HangOn(u32),
    /// Adds nonces that are not proofs to every answer.
    Corrupt,
    /// Reports no candidates at all.
    DropAll,
    /// Searches whole ranges even when cancelled.
    IgnoreCancel,
}

/// Hashes for real (one CPU thread, the portable kernel's verified search)
/// but no faster than `rate`, and records the ranges it searched.
struct Sim {
    name: String,
    rate: f64,
    fault: Fault,
    calls: u32,
    log: Arc<Mutex<Vec<NonceRange>>>,
}

impl Sim {
    fn boxed(
        name: &str,
        rate: f64,
        fault: Fault,
    ) -> (Box<dyn Device>, Arc<Mutex<Vec<NonceRange>>>) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sim = Sim {
            name: name.into(),
            rate,
            fault,
            calls: 0,
            log: log.clone(),
        };
        (Box::new(sim), log)
    }
}

impl Device for Sim {
    fn name(&self) -> String {
        self.name.clone()
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
        match self.fault {
            Fault::FailOn(n) if n == self.calls => {
                return Err(Error::Device(DeviceError::Failed(
                    "simulated failure".into(),
                )))
            }
            Fault::HangOn(n) if n == self.calls => loop {
                sleep(Duration::from_secs(3600));
            },
            _ => {}
        }
        let ignores_cancel = self.fault == Fault::IgnoreCancel;
        let mut found = throttled_search(job, range, self.rate, || {
            cancel.is_cancelled() && !ignores_cancel
        })?;
        match self.fault {
            Fault::Corrupt => found
                .candidates
                .extend((0..4).map(|i| range.start + i % range.count)),
            Fault::DropAll => found.candidates.clear(),
            _ => {}
        }
        self.log
            .lock()
            .unwrap()
            .push(NonceRange::new(range.start, found.searched));
        Ok(found)
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        watchdog: Duration::from_millis(300),
        ..Default::default()
    }
}

#[test]
fn devices_of_very_different_speeds_cover_the_range_exactly_once() {
    let job = job(14);
    let range = NonceRange::new(1_000_003, 3_000_017);
    let (fast, fast_log) = Sim::boxed("fast", 4e6, Fault::None);
    let (slow, slow_log) = Sim::boxed("slow", 2e5, Fault::None);
    let (mid, mid_log) = Sim::boxed("mid", 1e6, Fault::None);
    let engine = Engine::with_devices(vec![fast, slow, mid], options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let (found, failed) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert!(failed.is_empty());
    assert_eq!(found, reference(&job, range));
    assert_exact_cover(
        &[fast_log.clone(), slow_log.clone(), mid_log],
        range,
        OtherJobs::Forbidden,
    );
    // Each device's share follows its speed (4, 1 and 0.2 MH/s: about 77%,
    // 19% and 4%), not an equal split.
    let share = |log: &Arc<Mutex<Vec<NonceRange>>>| -> u64 {
        log.lock().unwrap().iter().map(|r| r.count).sum()
    };
    let (fast_share, slow_share) = (share(&fast_log), share(&slow_log));
    assert!(
        slow_share < range.count / 8,
        "slow device searched {slow_share}"
    );
    assert!(
        fast_share > range.count * 6 / 10,
        "fast device searched {fast_share}"
    );
    let stats = engine.stats();
    let hashes: u64 = stats.iter().map(|s| s.hashes).sum();
    assert_eq!(hashes, range.count);
    assert!(stats.iter().all(|s| s.hardware_errors == 0));
}

fn faulty_run(fault: Fault) -> (Vec<String>, Vec<hashrig::engine::DeviceStats>) {
    let job = job(14);
    let range = NonceRange::new(0, 2_000_000);
    let (good, good_log) = Sim::boxed("good", 3e6, Fault::None);
    let (bad, bad_log) = Sim::boxed("bad", 3e6, fault);
    let engine = Engine::with_devices(vec![good, bad], options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let (found, failed) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert_eq!(found, reference(&job, range), "nothing lost");
    if fault != Fault::DropAll {
        assert_exact_cover(&[good_log, bad_log], range, OtherJobs::Forbidden);
    }
    (failed, engine.stats())
}

#[test]
fn a_device_that_fails_is_taken_out_and_its_range_redone() {
    let (failed, stats) = faulty_run(Fault::FailOn(3));
    assert_eq!(failed, ["bad"]);
    assert!(matches!(&stats[1].state, DeviceState::Failed(r) if r.contains("simulated")));
}

#[test]
fn a_device_that_hangs_is_noticed_by_the_watchdog() {
    let (failed, stats) = faulty_run(Fault::HangOn(2));
    assert_eq!(failed, ["bad"]);
    assert!(matches!(&stats[1].state, DeviceState::Failed(r) if r.contains("stopped answering")));
}

#[test]
fn a_device_returning_corrupt_candidates_is_taken_out() {
    let (failed, stats) = faulty_run(Fault::Corrupt);
    assert_eq!(failed, ["bad"]);
    assert!(stats[1].hardware_errors >= EngineOptions::default().hardware_error_limit);
    assert_eq!(stats[0].hardware_errors, 0);
}

#[test]
fn a_device_that_drops_solutions_is_caught_by_its_proofs() {
    let (failed, stats) = faulty_run(Fault::DropAll);
    assert_eq!(failed, ["bad"]);
    assert!(matches!(&stats[1].state, DeviceState::Failed(r) if r.contains("misses results")));
    assert_eq!(stats[1].proofs, 0);
    assert!(stats[1].expected_proofs >= 50.0);
}

#[test]
fn healthy_devices_show_effective_rate_close_to_claimed() {
    let (a, _) = Sim::boxed("a", 3e6, Fault::None);
    let engine = Engine::with_devices(vec![a], options()).unwrap();
    engine
        .submit(Work::new(job(32)).range(NonceRange::new(0, 6_000_000)))
        .unwrap();
    sleep(Duration::from_millis(1800));
    let s = &engine.stats()[0];
    assert!(s.proofs > 200, "{} proofs", s.proofs);
    let ratio = s.effective_rate / s.rate_avg;
    assert!((0.75..1.25).contains(&ratio), "effective/claimed {ratio}");
}

#[test]
fn replacing_a_job_moves_every_device_and_marks_late_solutions_stale() {
    let (a, _) = Sim::boxed("a", 2e6, Fault::None);
    let (b, _) = Sim::boxed("b", 2e6, Fault::IgnoreCancel);
    let engine = Engine::with_devices(vec![a, b], options()).unwrap();
    let first = engine.submit(Work::new(job(8))).unwrap();
    sleep(Duration::from_millis(300));
    let second_job = job(8).with_target(Target::from_leading_zero_bits(9).unwrap());
    let second = engine.submit(Work::new(second_job)).unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    let (mut stale, mut fresh) = (0, 0);
    while Instant::now() < until && (stale == 0 || fresh == 0) {
        if let Some(Event::Solution(s)) = engine.recv_timeout(Duration::from_millis(100)) {
            if s.job == second {
                assert!(!s.stale);
                fresh += 1;
            } else if s.stale {
                assert_eq!(s.job, first);
                stale += 1;
            }
        }
    }
    assert!(stale > 0 && fresh > 0, "stale {stale}, fresh {fresh}");
    let stats = engine.stats();
    assert!(stats.iter().all(|s| s.job == Some(second)));
    assert!(stats.iter().map(|s| s.stale).sum::<u64>() > 0);
}

#[test]
fn pause_stops_hashing_and_resume_finishes_the_job() {
    let job = job(14);
    let range = NonceRange::new(0, 3_000_000);
    let (a, log) = Sim::boxed("a", 2e6, Fault::None);
    let engine = Engine::with_devices(vec![a], options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    sleep(Duration::from_millis(200));
    engine.pause();
    sleep(Duration::from_millis(100));
    let before = engine.stats()[0].hashes;
    sleep(Duration::from_millis(300));
    assert_eq!(engine.stats()[0].hashes, before, "hashing while paused");
    assert_eq!(engine.stats()[0].state, DeviceState::Paused);
    assert!(before < range.count);
    engine.resume();
    let (found, _) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert_eq!(found, reference(&job, range));
    assert_exact_cover(&[log], range, OtherJobs::Forbidden);
}

#[test]
fn a_job_source_supplies_the_next_header_when_nonces_run_out() {
    let (a, _) = Sim::boxed("a", 4e6, Fault::None);
    let engine = Engine::with_devices(vec![a], options()).unwrap();
    let first = job(10);
    let time = match &first {
        Job::Header(j) => j.header.time,
        Job::Generic(_) => unreachable!(),
    };
    let near_end = NonceRange::new((1 << 32) - 50_000, 50_000);
    engine
        .submit(Work::new(first).range(near_end).then(RollTime))
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if let Some(Event::Solution(s)) = engine.recv_timeout(Duration::from_millis(100)) {
            if let Job::Header(j) = &*s.work {
                if j.header.time == time + 1 {
                    return;
                }
            }
        }
    }
    panic!("no solution of the rolled header");
}

#[test]
fn the_cpu_engine_mines_the_genesis_block() {
    let engine = Engine::start(EngineOptions {
        cpu: CpuUse::On,
        gpus: false,
        ..Default::default()
    })
    .unwrap();
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::from_header(header).unwrap());
    let range = NonceRange::new(header.nonce as u64 - 300_000, 400_000);
    let id = engine.submit(Work::new(job).range(range)).unwrap();
    let (found, _) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert_eq!(found.into_iter().collect::<Vec<_>>(), [header.nonce as u64]);
    assert_eq!(engine.stats()[0].kind, DeviceKind::Cpu);
}

#[test]
fn the_engine_is_shareable_and_recv_ends_after_stop() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
    let (a, _) = Sim::boxed("a", 1e6, Fault::None);
    let engine = Arc::new(Engine::with_devices(vec![a], options()).unwrap());
    let waiter = {
        let engine = engine.clone();
        std::thread::spawn(move || while engine.recv().is_some() {})
    };
    engine.submit(Work::new(job(32))).unwrap();
    sleep(Duration::from_millis(100));
    engine.stop();
    waiter.join().unwrap();
    assert!(engine.stats()[0].hashes > 0);
}
