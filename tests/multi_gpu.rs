//! The engine on two real GPU devices at once: Vulkan over lavapipe and
//! OpenGL over llvmpipe in CI (or the first adapter opened twice where
//! only one backend is present). The split covers a range exactly once,
//! a replaced job moves both devices, and a device that fails or lies is
//! taken out while the other real device finishes with nothing lost.
//! With HASHRIG_REQUIRE_GPU=1 a missing adapter fails the tests.
#![cfg(feature = "gpu")]

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hashrig::engine::{
    Device, DeviceDetails, DeviceKind, DeviceState, Engine, EngineOptions, Found, GpuWorker, Work,
};
use hashrig::gpu::{adapters, AdapterEntry, GpuDevice, LaunchConfig};
use hashrig::DeviceError;
use hashrig::{CancelToken, Error, NonceRange, PreparedJob, Target};

/// What a wrapped real device does wrong.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// Returns an error on this call (counting from 1), after searching.
    FailOn(u32),
    /// Adds this many nonces that are not proofs to every answer.
    Corrupt(u64),
}

/// A real GPU device that records the ranges it searched and, when told
/// to, fails or lies about what it found.
struct Logged {
    inner: GpuWorker,
    label: String,
    fault: Fault,
    calls: u32,
    log: Arc<Mutex<Vec<NonceRange>>>,
}

impl Device for Logged {
    fn name(&self) -> String {
        self.label.clone()
    }
    fn kind(&self) -> DeviceKind {
        DeviceKind::Gpu
    }
    fn details(&self) -> DeviceDetails {
        self.inner.details()
    }
    fn nominal_rate(&self) -> f64 {
        self.inner.nominal_rate()
    }
    fn search(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        cancel: &CancelToken,
    ) -> Result<Found, Error> {
        self.calls += 1;
        let mut found = self.inner.search(job, range, cancel)?;
        match self.fault {
            Fault::FailOn(n) if n == self.calls => {
                return Err(Error::Device(DeviceError::Failed(
                    "injected failure".into(),
                )))
            }
            Fault::Corrupt(n) => found
                .candidates
                .extend((0..n).map(|i| range.start + i % range.count)),
            _ => {}
        }
        self.log
            .lock()
            .unwrap()
            .push(NonceRange::new(range.start, found.searched));
        Ok(found)
    }
}

use common::{assert_exact_cover, genesis_job, reference, run_to_end, OtherJobs, RangeLog as Log};
/// Devices for the engine, with the log of each.
type DevicesAndLogs = (Vec<Box<dyn Device>>, Vec<Log>);

/// Two adapters to open: one per backend where there are two, else the
/// first one twice. None (with a message) when there is none.
fn two_adapters() -> Option<[AdapterEntry; 2]> {
    let all = adapters();
    let Some(first) = all.first().cloned() else {
        if std::env::var("HASHRIG_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("HASHRIG_REQUIRE_GPU=1 but no GPU adapter was found");
        }
        eprintln!("SKIPPED: no GPU adapter (install mesa-vulkan-drivers for lavapipe)");
        return None;
    };
    let second = all
        .iter()
        .find(|a| a.info.backend != first.info.backend)
        .cloned()
        .unwrap_or_else(|| first.clone());
    Some([first, second])
}

/// Small batches, so that each device answers often.
fn config() -> LaunchConfig {
    LaunchConfig {
        batch_nonces: 1 << 17,
        batch_time: Duration::from_millis(25),
        ..Default::default()
    }
}

fn devices(faults: [Fault; 2]) -> Option<DevicesAndLogs> {
    let entries = two_adapters()?;
    let mut devices: Vec<Box<dyn Device>> = Vec::new();
    let mut logs = Vec::new();
    for (i, (entry, fault)) in entries.iter().zip(faults).enumerate() {
        let gpu = GpuDevice::open(entry, config()).expect("device opens");
        let log: Log = Arc::default();
        devices.push(Box::new(Logged {
            inner: GpuWorker::new(gpu),
            label: format!("{i}: {}", entry.label()),
            fault,
            calls: 0,
            log: log.clone(),
        }));
        logs.push(log);
    }
    Some((devices, logs))
}

fn options() -> EngineOptions {
    EngineOptions {
        watchdog: Duration::from_secs(5),
        ..Default::default()
    }
}

fn searched(log: &Log) -> u64 {
    log.lock().unwrap().iter().map(|r| r.count).sum()
}

#[test]
fn two_real_gpus_split_a_range_exactly_once() {
    let Some((devices, logs)) = devices([Fault::None, Fault::None]) else {
        return;
    };
    let job = genesis_job(12);
    let range = NonceRange::new(2_000_000_011, 6_000_017);
    let engine = Engine::with_devices(devices, options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let (found, failed) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(found, reference(&job, range));
    assert_exact_cover(&logs, range, OtherJobs::Forbidden);
    for (i, log) in logs.iter().enumerate() {
        assert!(
            searched(log) > range.count / 20,
            "device {i} searched only {}",
            searched(log)
        );
    }
    let stats = engine.stats();
    assert_eq!(stats.iter().map(|s| s.hashes).sum::<u64>(), range.count);
    assert!(stats.iter().all(|s| s.hardware_errors == 0));
    assert!(stats.iter().all(|s| s.proofs > 0), "proofs from both");
}

#[test]
fn replacing_a_job_moves_both_real_gpus() {
    let Some((devices, logs)) = devices([Fault::None, Fault::None]) else {
        return;
    };
    let engine = Engine::with_devices(devices, options()).unwrap();
    let first = engine.submit(Work::new(genesis_job(10))).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let busy: Vec<u64> = logs.iter().map(searched).collect();
    assert!(
        busy.iter().all(|&n| n > 0),
        "both devices on the first job: {busy:?}"
    );
    let second_job = genesis_job(12).with_target(Target::from_leading_zero_bits(12).unwrap());
    let range = NonceRange::new(1_000_000_000, 4_000_000);
    let replaced = Instant::now();
    let second = engine
        .submit(Work::new(second_job.clone()).range(range))
        .unwrap();
    assert_ne!(first, second);
    let (found, failed) = run_to_end(&engine, second, OtherJobs::Skipped);
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(found, reference(&second_job, range));
    assert_exact_cover(&logs, range, OtherJobs::Skipped);
    let switches = engine.job_switches();
    assert!(switches.count >= 1);
    // Every device was on the new job well before it ended.
    assert!(switches.sum / switches.count as f64 <= replaced.elapsed().as_secs_f64());
    assert!(engine.stats().iter().all(|s| s.job == Some(second)));
}

fn faulty_run(fault: Fault) -> Vec<hashrig::engine::DeviceStats> {
    let Some((devices, logs)) = devices([Fault::None, fault]) else {
        return Vec::new();
    };
    let job = genesis_job(12);
    let range = NonceRange::new(0, 6_000_000);
    let engine = Engine::with_devices(devices, options()).unwrap();
    let id = engine.submit(Work::new(job.clone()).range(range)).unwrap();
    let (found, failed) = run_to_end(&engine, id, OtherJobs::Forbidden);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with("1: "), "{failed:?}");
    assert_eq!(found, reference(&job, range), "nothing lost");
    if matches!(fault, Fault::FailOn(_)) {
        // The failed call's range was not logged: it was redone.
        assert_exact_cover(&logs, range, OtherJobs::Forbidden);
    }
    engine.stats()
}

// The faults strike on a device's first answer: how many ranges each
// device gets depends on the machine's speed, and the first one it always
// gets.
#[test]
fn a_real_gpu_that_fails_is_taken_out_and_the_other_finishes() {
    let stats = faulty_run(Fault::FailOn(1));
    if let Some(bad) = stats.get(1) {
        assert!(matches!(&bad.state, DeviceState::Failed(r) if r.contains("injected")));
        assert!(!matches!(stats[0].state, DeviceState::Failed(_)));
    }
}

#[test]
fn a_real_gpu_that_reports_false_candidates_is_taken_out() {
    let limit = EngineOptions::default().hardware_error_limit;
    let stats = faulty_run(Fault::Corrupt(limit));
    if let Some(bad) = stats.get(1) {
        assert!(bad.hardware_errors >= limit);
        assert_eq!(stats[0].hardware_errors, 0);
    }
}
