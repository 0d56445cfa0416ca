//! A reader slower than the devices: with a target so easy that one hash in
//! sixteen solves, the devices wait for the reader instead of piling events
//! up in memory, and no solution is lost. (One test in its own binary, so
//! that the process's memory is this test's.)

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hashrig::engine::{CpuDevice, Device, Engine, EngineOptions, Event, EVENT_QUEUE};
use hashrig::{search, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// This process's resident memory, in bytes (Linux).
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[test]
fn a_slow_reader_makes_the_devices_wait_and_loses_nothing() {
    let devices: Vec<Box<dyn Device>> = vec![Box::new(CpuDevice::new(Some(1), None).unwrap())];
    let engine = Engine::with_devices(devices, EngineOptions::default()).unwrap();
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(4).unwrap(),
    ));
    let range = NonceRange::new(0, 1 << 24);
    engine
        .submit(hashrig::engine::Work::new(job.clone()).range(range))
        .unwrap();

    // Read one event every 2 ms for 3 s: about 1,500 of the million.
    let start_memory = resident();
    let mut peak = 0;
    let mut nonces = BTreeSet::new();
    let slow_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < slow_until {
        if let Some(Event::Solution(s)) = engine.recv_timeout(Duration::from_millis(10)) {
            nonces.insert(s.solution.nonce);
        }
        peak = peak.max(resident().unwrap_or(0));
        std::thread::sleep(Duration::from_millis(2));
    }
    let hashed = engine.stats()[0].hashes;
    // The devices waited: at most the queue, what was read and one range's
    // solutions ahead of the reader, far from the 3 s of hashing (~9 M
    // solutions on one core) that an unbounded queue would hold.
    let ahead = hashed / 16;
    assert!(
        ahead < (nonces.len() + EVENT_QUEUE) as u64 + 600_000,
        "{hashed} hashed while {} events were read",
        nonces.len()
    );
    if let (Some(start), true) = (start_memory, peak > 0) {
        let growth = peak.saturating_sub(start);
        assert!(growth < 150 << 20, "memory grew by {} MB", growth >> 20);
    }

    // Then read at full speed: every solution arrives, exactly once.
    let mut exhausted = false;
    while let Some(event) = engine.recv_timeout(Duration::from_secs(60)) {
        match event {
            Event::Solution(s) => assert!(
                nonces.insert(s.solution.nonce),
                "twice: {}",
                s.solution.nonce
            ),
            Event::Exhausted(_) => {
                exhausted = true;
                break;
            }
            Event::DeviceFailed { device, reason } => panic!("{device}: {reason}"),
            Event::DeviceRecovered { .. } => {}
        }
    }
    assert!(exhausted);
    let options = SearchOptions {
        threads: Some(1),
        ..Default::default()
    };
    let reference: BTreeSet<u64> = search(&job, range, &options)
        .unwrap()
        .solutions
        .iter()
        .map(|s| s.nonce)
        .collect();
    assert_eq!(nonces.len(), reference.len());
    assert!(nonces == reference, "the solution sets differ");
}

#[test]
fn a_jobs_end_comes_after_every_solution_of_it() {
    // Two devices finish ranges at once: whichever reports the job's end,
    // every solution of the job is read before it.
    let devices: Vec<Box<dyn Device>> = vec![
        Box::new(CpuDevice::new(Some(1), None).unwrap()),
        Box::new(CpuDevice::new(Some(1), None).unwrap()),
    ];
    let engine = Engine::with_devices(devices, EngineOptions::default()).unwrap();
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(10).unwrap(),
    ));
    for round in 0..5u64 {
        let range = NonceRange::new(round << 23, 1 << 23);
        let id = engine
            .submit(hashrig::engine::Work::new(job.clone()).range(range))
            .unwrap();
        let mut nonces = BTreeSet::new();
        loop {
            match engine.recv_timeout(Duration::from_secs(60)) {
                Some(Event::Solution(s)) if s.job == id => {
                    nonces.insert(s.solution.nonce);
                }
                Some(Event::Exhausted(done)) if done == id => break,
                Some(Event::DeviceFailed { device, reason }) => panic!("{device}: {reason}"),
                Some(_) => {}
                None => panic!("no end of job {id:?}"),
            }
        }
        let reference: BTreeSet<u64> = search(&job, range, &SearchOptions::default())
            .unwrap()
            .solutions
            .iter()
            .map(|s| s.nonce)
            .collect();
        assert_eq!(nonces, reference, "round {round}");
    }
}
