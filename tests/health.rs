//! Device health on a real engine: the hwmon parser on a fake sysfs tree,
//! a hot device held out of the work while the other device takes all of
//! it, and released once it has cooled under the resume temperature.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hashrig::engine::{CpuDevice, Device, DeviceState, Engine, EngineOptions, Event, Work};
use hashrig::health::{HealthEvent, HealthOptions, HealthWatch, Sensor};
use hashrig::{Header, HeaderJob, Job, NonceRange, Target};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn hwmon(name: &str, celsius: f64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hashrig-health-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("name"), "amdgpu\n").unwrap();
    std::fs::write(dir.join("temp1_label"), "edge\n").unwrap();
    std::fs::write(dir.join("power1_average"), "150000000\n").unwrap();
    set(&dir, celsius);
    dir
}

fn set(dir: &Path, celsius: f64) {
    let tmp = dir.join("temp1_input.new");
    std::fs::write(&tmp, format!("{}\n", (celsius * 1000.0) as i64)).unwrap();
    std::fs::rename(tmp, dir.join("temp1_input")).unwrap();
}

fn two_cpus() -> Arc<Engine> {
    let devices: Vec<Box<dyn Device>> = vec![
        Box::new(CpuDevice::new(Some(1), None).unwrap()),
        Box::new(CpuDevice::new(Some(1), None).unwrap()),
    ];
    Arc::new(Engine::with_devices(devices, EngineOptions::default()).unwrap())
}

#[test]
fn a_hot_device_is_held_and_the_other_takes_its_work() {
    let engine = two_cpus();
    let dir = hwmon("hot", 50.0);
    let watch = HealthWatch::with_sensors(
        &engine,
        vec![Some(Sensor::Hwmon(dir.clone())), None],
        HealthOptions {
            interval: Duration::from_millis(50),
            temp_limit: Some(80.0),
            temp_resume: Some(70.0),
        },
    )
    .unwrap();
    let latest = watch.latest();
    assert_eq!(latest[0].temperature_c, Some(50.0));
    assert_eq!(latest[0].power_w, Some(150.0));
    assert!(latest[1].is_empty(), "no sensor: nothing known");

    // Hot before the job: device 0 must not search any of it.
    set(&dir, 91.5);
    assert!(common::until(Duration::from_secs(10), || matches!(
        engine.stats()[0].state,
        DeviceState::Held(_)
    )));
    assert_eq!(
        watch.try_recv(),
        Some(HealthEvent::Hot {
            device: 0,
            name: engine.stats()[0].name.clone(),
            temperature: 91.5,
            limit: 80.0
        })
    );
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(64).unwrap(),
    ));
    let count = 1u64 << 24;
    let before = engine.stats()[0].hashes;
    let id = engine
        .submit(Work::new(job).range(NonceRange::new(0, count)))
        .unwrap();
    let mut exhausted = false;
    while let Some(event) = engine.recv_timeout(Duration::from_secs(60)) {
        if let Event::Exhausted(done) = event {
            exhausted = done == id;
            break;
        }
    }
    assert!(
        exhausted,
        "the range was not finished while device 0 was held"
    );
    let stats = engine.stats();
    assert_eq!(stats[0].hashes, before, "a held device searched");
    assert_eq!(stats[1].hashes, count, "the other device searched it all");

    // Between the limits it stays held; under the resume temperature it
    // goes back to work.
    set(&dir, 75.0);
    std::thread::sleep(Duration::from_millis(300));
    assert!(matches!(engine.stats()[0].state, DeviceState::Held(_)));
    set(&dir, 60.0);
    assert!(common::until(Duration::from_secs(10), || !matches!(
        engine.stats()[0].state,
        DeviceState::Held(_)
    )));
    assert!(matches!(
        watch.try_recv(),
        Some(HealthEvent::Cooled { device: 0, .. })
    ));
    let job = Job::from(HeaderJob::new(
        header.with_nonce(1),
        Target::from_leading_zero_bits(64).unwrap(),
    ));
    engine.submit(Work::new(job)).unwrap();
    assert!(
        common::until(Duration::from_secs(20), || engine.stats()[0].hashes
            > before),
        "device 0 never worked again"
    );
    watch.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_device_held_mid_range_gives_its_range_back() {
    let engine = two_cpus();
    let header = Header::from_hex(GENESIS).unwrap();
    // The genesis nonce lies in this range: it must be found whichever
    // device ends up searching it.
    let job = Job::from(HeaderJob::from_header(header).unwrap());
    let range = NonceRange::new(2_083_236_893 - (1 << 24), 1 << 25);
    engine.submit(Work::new(job).range(range)).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    engine.hold(0, "operator").unwrap();
    let mut nonces = Vec::new();
    while let Some(event) = engine.recv_timeout(Duration::from_secs(60)) {
        match event {
            Event::Solution(s) => nonces.push(s.solution.nonce),
            Event::Exhausted(_) => break,
            Event::DeviceFailed { device, reason } => panic!("{device}: {reason}"),
            Event::DeviceRecovered { .. } => {}
        }
    }
    assert_eq!(nonces, vec![2_083_236_893]);
    let stats = engine.stats();
    assert_eq!(stats[0].state, DeviceState::Held("operator".into()));
    assert_eq!(stats[0].hashes + stats[1].hashes, range.count);
    assert!(engine.hold(2, "no such device").is_err());
    engine.release(0).unwrap();
    assert_ne!(
        engine.stats()[0].state,
        DeviceState::Held("operator".into())
    );
}

#[test]
fn limits_are_checked() {
    let engine = two_cpus();
    for (limit, resume) in [
        (Some(80.0), Some(80.0)),
        (Some(80.0), Some(90.0)),
        (None, Some(70.0)),
        (Some(f64::NAN), None),
        (Some(400.0), None),
    ] {
        let options = HealthOptions {
            temp_limit: limit,
            temp_resume: resume,
            ..Default::default()
        };
        assert!(
            HealthWatch::with_sensors(&engine, vec![None, None], options).is_err(),
            "{limit:?} {resume:?}"
        );
    }
    assert!(HealthWatch::with_sensors(&engine, vec![None], HealthOptions::default()).is_err());
}
