//! The WGSL kernel: validated with naga (no adapter needed; its CPU twins
//! are unit tests in src/gpu/shader.rs), and on every backend's adapter
//! (lavapipe and llvmpipe's GL in CI) against the CPU. With HASHRIG_REQUIRE_GPU=1 a missing adapter fails the tests.
#![cfg(feature = "gpu")]

mod common;

use common::{mainnet_blocks, window_around, Rng};
use hashrig::gpu::shader;
use hashrig::gpu::{adapters, backend_name, select, AdapterEntry, GpuDevice, LaunchConfig};
use hashrig::{
    search, CpuKernel, GenericJob, Header, HeaderJob, Job, NonceEndian, NonceRange, SearchOptions,
    Target,
};

#[test]
fn shader_validates_with_naga() {
    let module = naga::front::wgsl::parse_str(shader::SHADER_SOURCE).expect("WGSL parses");
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    )
    .validate(&module)
    .expect("WGSL validates");
    let entry_points: Vec<&str> = module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(entry_points, ["search_header", "search_generic"]);
}

fn cpu_solutions(job: &Job, range: NonceRange) -> Vec<hashrig::Solution> {
    let options = SearchOptions {
        kernel: Some(CpuKernel::Soft),
        ..Default::default()
    };
    search(job, range, &options).unwrap().solutions
}

/// The GPUs under test: the first adapter on each backend (in CI, Vulkan
/// over lavapipe and OpenGL over llvmpipe through EGL), or the adapters
/// named by HASHRIG_DEVICE. HASHRIG_REQUIRE_BACKENDS (for example
/// `vulkan,gl`) fails the tests when a named backend has no adapter;
/// HASHRIG_REQUIRE_GPU=1 fails them when there is none at all. Otherwise
/// an empty list, with a visible message.
fn gpus(config: LaunchConfig) -> Vec<GpuDevice> {
    entries()
        .iter()
        .map(|e| GpuDevice::open(e, config).expect("device opens"))
        .collect()
}

fn entries() -> Vec<AdapterEntry> {
    let all = adapters();
    let mut chosen: Vec<AdapterEntry> = Vec::new();
    if std::env::var_os("HASHRIG_DEVICE").is_some() {
        chosen = select(&all, &[]).unwrap();
    } else {
        for e in &all {
            if !chosen.iter().any(|c| c.info.backend == e.info.backend) {
                chosen.push(e.clone());
            }
        }
    }
    if let Ok(required) = std::env::var("HASHRIG_REQUIRE_BACKENDS") {
        for b in required.split(',').map(str::trim).filter(|b| !b.is_empty()) {
            assert!(
                chosen.iter().any(|c| backend_name(c.info.backend) == b),
                "HASHRIG_REQUIRE_BACKENDS names {b} but no adapter is on it (found: {:?})",
                all.iter().map(|a| a.label()).collect::<Vec<_>>()
            );
        }
    }
    if chosen.is_empty() {
        if std::env::var("HASHRIG_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("HASHRIG_REQUIRE_GPU=1 but no GPU adapter was found");
        }
        eprintln!("SKIPPED: no GPU adapter (install mesa-vulkan-drivers for lavapipe)");
    }
    chosen
}

fn small_batches() -> LaunchConfig {
    LaunchConfig {
        batch_nonces: 1 << 16,
        nonces_per_invocation: 4,
        ..Default::default()
    }
}

#[test]
fn gpu_finds_mainnet_blocks_at_real_targets() {
    for gpu in gpus(LaunchConfig::default()) {
        for block in mainnet_blocks() {
            let job = Job::from(HeaderJob::from_header(block.header).unwrap());
            let (start, count) = window_around(block.header.nonce, 1 << 17);
            let report = gpu
                .search(
                    &job,
                    NonceRange::new(start, count),
                    &SearchOptions::default(),
                )
                .unwrap();
            assert_eq!(report.hashes, count);
            let nonces: Vec<u64> = report.solutions.iter().map(|s| s.nonce).collect();
            assert_eq!(
                nonces,
                [block.header.nonce as u64],
                "height {} on {}",
                block.height,
                gpu.name()
            );
            assert_eq!(report.solutions[0].hash, *block.hash.digest());
        }
        assert_eq!(gpu.hardware_errors(), 0, "{}", gpu.name());
    }
}

#[test]
fn gpu_matches_cpu_on_random_header_jobs_including_overflow() {
    // A tiny results buffer: batches overflow and are searched again.
    for config in [
        small_batches(),
        LaunchConfig {
            result_capacity: 8,
            ..small_batches()
        },
    ] {
        for gpu in gpus(config) {
            let mut rng = Rng(11);
            for trial in 0..3 {
                let header = Header::from_bytes(&rng.bytes(80)).unwrap();
                let job = Job::from(HeaderJob::new(
                    header,
                    Target::from_leading_zero_bits(7).unwrap(),
                ));
                let count = 150_000 + rng.below(999);
                let start = if trial == 0 {
                    (1u64 << 32) - count
                } else {
                    rng.below((1 << 32) - count)
                };
                let range = NonceRange::new(start, count);
                let want = cpu_solutions(&job, range);
                assert!(want.len() > 500);
                let got = gpu.search(&job, range, &SearchOptions::default()).unwrap();
                assert_eq!(
                    got.solutions,
                    want,
                    "trial {trial}, capacity {} on {}",
                    config.result_capacity,
                    gpu.name()
                );
            }
            assert_eq!(gpu.hardware_errors(), 0, "{}", gpu.name());
        }
    }
}

#[test]
fn gpu_matches_cpu_on_random_generic_jobs() {
    for gpu in gpus(LaunchConfig {
        result_capacity: 64,
        ..small_batches()
    }) {
        let mut rng = Rng(12);
        for trial in 0..6 {
            let (pl, sl) = (rng.below(150) as usize, rng.below(70) as usize);
            let job = Job::from(GenericJob {
                prefix: rng.bytes(pl),
                suffix: rng.bytes(sl),
                nonce_endian: if trial % 2 == 0 {
                    NonceEndian::Little
                } else {
                    NonceEndian::Big
                },
                double: trial % 3 != 1,
                target: Target::from_leading_zero_bits(6).unwrap(),
            });
            // Ranges that carry into the high nonce word, and one at the very top.
            let count = 20_000 + rng.below(100);
            let start = match trial {
                0 => u64::MAX - count + 1,
                1 => (1 << 32) - 5_000,
                _ => rng.next_u64() >> 1,
            };
            let range = NonceRange::new(start, count);
            let want = cpu_solutions(&job, range);
            assert!(want.len() > 100);
            let got = gpu.search(&job, range, &SearchOptions::default()).unwrap();
            assert_eq!(got.solutions, want, "trial {trial} on {}", gpu.name());
        }
        assert_eq!(gpu.hardware_errors(), 0, "{}", gpu.name());
    }
}

/// Long messages after the nonce. Some drivers (llvmpipe) end an
/// invocation's loops after 65,535 iterations in all, which would hash a
/// shortened message and miss solutions: a tail of 20,000 blocks at 4
/// nonces per invocation (80,000 iterations asked for) is searched at
/// fewer nonces per invocation, and one of 40,000 blocks on the CPU.
#[test]
fn gpu_matches_cpu_on_generic_jobs_with_long_messages() {
    let mut rng = Rng(13);
    let devices = gpus(LaunchConfig {
        nonces_per_invocation: 4,
        ..small_batches()
    });
    for blocks in [20_000, 40_000] {
        let job = Job::from(GenericJob {
            prefix: rng.bytes(40),
            suffix: rng.bytes(blocks * 64),
            nonce_endian: NonceEndian::Little,
            double: true,
            target: Target::from_leading_zero_bits(3).unwrap(),
        });
        let range = NonceRange::new(rng.next_u64() >> 1, 48);
        let want = cpu_solutions(&job, range);
        assert!(!want.is_empty());
        for gpu in &devices {
            let got = gpu.search(&job, range, &SearchOptions::default()).unwrap();
            assert_eq!(got.solutions, want, "{blocks} blocks on {}", gpu.name());
            assert_eq!(got.hashes, range.count);
            assert_eq!(gpu.hardware_errors(), 0, "{}", gpu.name());
        }
    }
}

#[test]
fn gpu_dispatch_beyond_65535_workgroups() {
    // One nonce per invocation, 2^23 nonces per batch: 131,072 workgroups.
    let config = LaunchConfig {
        nonces_per_invocation: 1,
        batch_nonces: 1 << 23,
        ..Default::default()
    };
    let header = Header::from_bytes(&[0x11; 80]).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(14).unwrap(),
    ));
    let range = NonceRange::new((1 << 32) - (1 << 23), 1 << 23);
    let cpu = search(&job, range, &SearchOptions::default()).unwrap();
    assert!(cpu.solutions.len() > 200);
    for gpu in gpus(config) {
        let got = gpu.search(&job, range, &SearchOptions::default()).unwrap();
        assert_eq!(got.solutions, cpu.solutions, "{}", gpu.name());
    }
}

/// Every backend's view of an adapter is listed; automatic selection skips
/// software adapters and second views of one GPU; a name picks one view
/// of each GPU, and `@backend` picks the backend.
#[test]
fn every_backend_is_listed_and_selected_by_name_or_backend() {
    let all = adapters();
    let vulkan = all
        .iter()
        .find(|a| backend_name(a.info.backend) == "vulkan");
    let gl = all.iter().find(|a| backend_name(a.info.backend) == "gl");
    let (Some(vulkan), Some(gl)) = (vulkan, gl) else {
        // entries() fails here when HASHRIG_REQUIRE_BACKENDS asks for both.
        let _ = entries();
        eprintln!("SKIPPED: needs adapters on both Vulkan and GL");
        return;
    };
    let software: Vec<&AdapterEntry> = all.iter().filter(|a| a.software).collect();
    assert!(software.iter().all(|a| !a.auto()), "{software:?}");
    if vulkan.info.name == gl.info.name && vulkan.software {
        // lavapipe and llvmpipe's GL are one CPU seen twice.
        assert_eq!(gl.same_gpu_as, Some(vulkan.index));
        let by_name = select(&all, std::slice::from_ref(&vulkan.info.name)).unwrap();
        assert_eq!(
            by_name.iter().map(|a| a.index).collect::<Vec<_>>(),
            [vulkan.index]
        );
    }
    let on_gl = select(&all, &["@gl".to_string()]).unwrap();
    assert!(on_gl.iter().all(|a| backend_name(a.info.backend) == "gl"));
    assert!(on_gl.iter().any(|a| a.index == gl.index));
    let named = select(&all, &[format!("{}@GL", gl.info.name)]).unwrap();
    assert_eq!(
        named.iter().map(|a| a.index).collect::<Vec<_>>(),
        [gl.index]
    );
    // A list still splits at commas.
    let both = select(&all, &[format!("{},{}", vulkan.index, gl.index)]).unwrap();
    assert_eq!(both.len(), 2);
    let err = select(&all, &["llvmpipe@dx99".to_string()]).unwrap_err();
    assert!(err.to_string().contains("unknown backend"), "{err}");
}

/// Calibration keeps to the batch time it is given on every backend: the
/// batch it picks takes about that long at the rate it measured (OpenGL
/// runs work inside its submit, which once made batches look free).
#[test]
fn calibration_respects_the_batch_time_on_every_backend() {
    for entry in entries() {
        for ms in [20u64, 50] {
            let batch = std::time::Duration::from_millis(ms);
            let c = hashrig::gpu::calibrate(&entry, batch, std::time::Duration::from_millis(150))
                .unwrap();
            let seconds = f64::from(c.config.batch_nonces) / c.rate;
            assert!(
                seconds <= batch.as_secs_f64() * 1.05,
                "{}: {} nonces take {:.1} ms at {:.0} H/s, over the {ms} ms batch time",
                entry.label(),
                c.config.batch_nonces,
                seconds * 1e3,
                c.rate
            );
            // And a device opened with it keeps its batches near there
            // while it mines. The other tests of this binary share the
            // cores and can slow one stretch down, so the best of three
            // stretches is judged, against a bound the old growth (batches
            // four times longer each step, past a second) is far beyond.
            let d = GpuDevice::open(&entry, c.config).unwrap();
            let settled = (0..3)
                .map(|_| {
                    let rate = hashrig::gpu::measure(
                        &d,
                        std::time::Duration::from_millis(100),
                        std::time::Duration::from_millis(300),
                    )
                    .unwrap();
                    f64::from(d.batch_nonces()) / rate
                })
                .fold(f64::INFINITY, f64::min);
            assert!(
                settled <= batch.as_secs_f64() * 2.5,
                "{}: batches of {:.1} ms after mining, {ms} ms asked",
                entry.label(),
                settled * 1e3
            );
        }
    }
}

/// Calibration results are cached per device, driver and kernel version;
/// a corrupt or unreadable cache is ignored with a warning; recalibration
/// measures again.
#[test]
fn calibration_cache_is_reused_and_survives_corruption() {
    use hashrig::gpu::calibrate::cached_or_calibrate_in;
    let all = adapters();
    let chosen = select(&all, &[]).unwrap();
    let Some(entry) = chosen.first().or(all.first()).cloned() else {
        if std::env::var("HASHRIG_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("HASHRIG_REQUIRE_GPU=1 but no GPU adapter was found");
        }
        eprintln!("skipped: no GPU adapter");
        return;
    };
    let scratch = common::ScratchDir::new("cal");
    let dir = scratch.0.clone();
    let path = dir.join("gpu-launch.tsv");
    std::fs::write(&path, "not\ta cache line\n\u{0}\u{1}garbage\n").unwrap();
    let batch = std::time::Duration::from_millis(20);

    let (first, warnings) =
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false).unwrap();
    assert!(!first.from_cache);
    assert!(
        warnings.iter().any(|w| w.contains("corrupt line 1")),
        "{warnings:?}"
    );
    // How long it took is measured in benches/gpu_calibration.rs, not
    // asserted here (a loaded machine makes any bound flaky).
    assert!(first.took > std::time::Duration::ZERO);
    assert!(first.measured.len() >= 7);

    let (again, warnings) =
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false).unwrap();
    assert!(again.from_cache && warnings.is_empty(), "{warnings:?}");
    assert_eq!(again.config, first.config);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&hashrig::gpu::kernel_version()));
    assert!(text.contains(&entry.info.driver));

    // Another batch duration is another entry.
    let other = std::time::Duration::from_millis(35);
    let (fresh, _) = cached_or_calibrate_in(Some(path.clone()), &entry, other, false).unwrap();
    assert!(!fresh.from_cache);
    let (forced, _) = cached_or_calibrate_in(Some(path.clone()), &entry, batch, true).unwrap();
    assert!(!forced.from_cache);

    // A cache path that is a directory cannot be read: a warning, not an error.
    let (c, warnings) = cached_or_calibrate_in(Some(dir.clone()), &entry, batch, false).unwrap();
    assert!(!c.from_cache);
    assert!(!warnings.is_empty());
    // ... and leaves no half-written file beside it.
    let stray = dir.with_extension(format!("tmp{}", std::process::id()));
    assert!(!stray.exists(), "{} left behind", stray.display());
}
