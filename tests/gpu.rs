//! The WGSL kernel: validated with naga (no adapter needed; its CPU twins
//! are unit tests in src/gpu/shader.rs), and in every kernel form on every
//! driver's adapter (lavapipe, SwiftShader and llvmpipe's GL in CI)
//! against the CPU. With HASHRIG_REQUIRE_GPU=1 a missing adapter fails the
//! tests. CI runs them under the Khronos validation layer with
//! synchronization validation, which stops the process at the first error.
#![cfg(feature = "gpu")]

use crate::common;

use common::{mainnet_blocks, window_around, Rng};
use hashrig::gpu::shader;
use hashrig::gpu::{
    adapters, backend_name, select, AdapterEntry, GpuDevice, KernelForm, LaunchConfig,
};
use hashrig::{
    search, CpuKernel, GenericJob, Header, HeaderJob, Job, NonceEndian, NonceRange, SearchOptions,
    Target,
};

#[test]
fn shader_validates_with_naga() {
    assert_eq!(shader::SHADER_SOURCE, KernelForm::ConstantRotates.source());
    for form in KernelForm::ALL {
        let module = naga::front::wgsl::parse_str(form.source()).expect("WGSL parses");
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
        assert_eq!(entry_points, ["search_header", "search_generic"], "{form}");
    }
}

fn cpu_solutions(job: &Job, range: NonceRange) -> Vec<hashrig::Solution> {
    let options = SearchOptions {
        kernel: Some(CpuKernel::Soft),
        ..Default::default()
    };
    search(job, range, &options).unwrap().solutions
}

/// The GPUs under test, each opened in every kernel form: the first
/// adapter of each driver on each backend (in CI, Vulkan over lavapipe and
/// SwiftShader and OpenGL over llvmpipe through EGL), or the adapters
/// named by HASHRIG_DEVICE. HASHRIG_REQUIRE_BACKENDS (for example
/// `vulkan,gl`) fails the tests when a named backend has no adapter,
/// HASHRIG_REQUIRE_ADAPTERS (for example `llvmpipe,swiftshader`) when no
/// adapter's name holds a named part; HASHRIG_REQUIRE_GPU=1 fails them
/// when there is none at all. Otherwise an empty list, with a visible
/// message.
fn gpus(config: LaunchConfig) -> Vec<GpuDevice> {
    gpus_in(config, &KernelForm::ALL)
}

/// [`gpus`] in the `forms` given. A batch may take up to two minutes: the
/// software drivers share two cores with the other tests, and SwiftShader
/// compiles the kernel at its first dispatch.
fn gpus_in(config: LaunchConfig, forms: &[KernelForm]) -> Vec<GpuDevice> {
    let mut out = Vec::new();
    for e in entries() {
        for &form in forms {
            let config = LaunchConfig {
                form: Some(form),
                batch_timeout: std::time::Duration::from_secs(120),
                ..config
            };
            let gpu = GpuDevice::open(&e, config).expect("device opens");
            assert_eq!(gpu.form(), form);
            out.push(gpu);
        }
    }
    out
}

/// A GPU's name and kernel form, for messages.
fn label(gpu: &GpuDevice) -> String {
    let apart = if gpu.first_block_apart() {
        ", first block apart"
    } else {
        ""
    };
    format!("{} [{}{apart}]", gpu.name(), gpu.form())
}

fn entries() -> Vec<AdapterEntry> {
    let all = adapters();
    let mut chosen: Vec<AdapterEntry> = Vec::new();
    if std::env::var_os("HASHRIG_DEVICE").is_some() {
        chosen = select(&all, &[]).unwrap();
    } else {
        for e in &all {
            if !chosen
                .iter()
                .any(|c| c.info.backend == e.info.backend && c.info.driver == e.info.driver)
            {
                chosen.push(e.clone());
            }
        }
    }
    if let Ok(required) = std::env::var("HASHRIG_REQUIRE_ADAPTERS") {
        for part in required.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            assert!(
                chosen
                    .iter()
                    .any(|c| c.info.name.to_lowercase().contains(&part.to_lowercase())),
                "HASHRIG_REQUIRE_ADAPTERS names {part} but no adapter is called so (found: {:?})",
                all.iter().map(|a| a.label()).collect::<Vec<_>>()
            );
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
                label(&gpu)
            );
            assert_eq!(report.solutions[0].hash, *block.hash.digest());
        }
        assert_eq!(gpu.hardware_errors(), 0, "{}", label(&gpu));
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
                    label(&gpu)
                );
            }
            assert_eq!(gpu.hardware_errors(), 0, "{}", label(&gpu));
        }
    }
}

#[test]
fn gpu_matches_cpu_on_random_generic_jobs() {
    let config = LaunchConfig {
        result_capacity: 64,
        ..small_batches()
    };
    // Every form as the adapter runs it, and the amounts form's nonce
    // block apart, which real GPUs run and CPU drivers do not by default.
    let apart = LaunchConfig {
        first_block_apart: Some(true),
        ..config
    };
    let devices = gpus(config)
        .into_iter()
        .chain(gpus_in(apart, &[KernelForm::RotationAmounts]));
    for gpu in devices {
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
            assert_eq!(got.solutions, want, "trial {trial} on {}", label(&gpu));
        }
        assert_eq!(gpu.hardware_errors(), 0, "{}", label(&gpu));
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
            assert_eq!(got.solutions, want, "{blocks} blocks on {}", label(gpu));
            assert_eq!(got.hashes, range.count);
            assert_eq!(gpu.hardware_errors(), 0, "{}", label(gpu));
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
    // The dispatch's shape is the same in every form: one is enough (the
    // others are searched by every other test).
    for gpu in gpus_in(config, &[KernelForm::ConstantRotates]) {
        let got = gpu.search(&job, range, &SearchOptions::default()).unwrap();
        assert_eq!(got.solutions, cpu.solutions, "{}", label(&gpu));
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
            let c =
                hashrig::gpu::calibrate(&entry, batch, std::time::Duration::from_millis(150), None)
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
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false, None).unwrap();
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
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false, None).unwrap();
    assert!(again.from_cache && warnings.is_empty(), "{warnings:?}");
    assert_eq!(again.config, first.config);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(&hashrig::gpu::kernel_version()));
    assert!(text.contains(&entry.info.driver));

    // Another batch duration is another entry.
    let other = std::time::Duration::from_millis(35);
    let (fresh, _) =
        cached_or_calibrate_in(Some(path.clone()), &entry, other, false, None).unwrap();
    assert!(!fresh.from_cache);
    let (forced, _) =
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, true, None).unwrap();
    assert!(!forced.from_cache);
    // A forced kernel form is served from the cache only where the cache
    // chose that form; otherwise it is measured, alone, and cached.
    let cached = forced.config.form.unwrap();
    let other = KernelForm::ALL.into_iter().find(|&f| f != cached).unwrap();
    let (same, _) =
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false, Some(cached)).unwrap();
    assert!(same.from_cache && same.config.form == Some(cached));
    let (made, _) =
        cached_or_calibrate_in(Some(path.clone()), &entry, batch, false, Some(other)).unwrap();
    assert!(!made.from_cache && made.config.form == Some(other) && made.forms.len() == 1);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(other.name()), "{text}");

    // A cache path that is a directory cannot be read: a warning, not an error.
    let (c, warnings) =
        cached_or_calibrate_in(Some(dir.clone()), &entry, batch, false, None).unwrap();
    assert!(!c.from_cache);
    assert!(!warnings.is_empty());
    // ... and leaves no half-written file beside it.
    let stray = dir.with_extension(format!("tmp{}", std::process::id()));
    assert!(!stray.exists(), "{} left behind", stray.display());
}

/// Calibration builds, self-tests and measures every kernel form on every
/// driver, starting from the form the driver's compiler wants, and keeps
/// the fastest; a forced form is the only one measured; a form whose
/// kernel gives wrong answers fails its self-test and is never used.
#[test]
fn calibration_chooses_among_the_kernel_forms() {
    use hashrig::gpu::{calibrate, calibrate_sources};
    let batch = std::time::Duration::from_millis(20);
    let span = std::time::Duration::from_millis(60);
    // Σ1 rotated by 11, 11 and 25 instead of 6, 11 and 25: wrong hashes.
    let broken = KernelForm::RotationAmounts
        .source()
        .replace("rotr(x, rot0.w)", "rotr(x, rot1.x)");
    assert_ne!(broken, KernelForm::RotationAmounts.source());
    for entry in entries() {
        let c = calibrate(&entry, batch, span, None).unwrap();
        assert_eq!(c.forms.len(), KernelForm::ALL.len(), "{}", entry.label());
        assert_eq!(c.forms[0].form, KernelForm::preferred_for(&entry.info));
        let fastest = c
            .forms
            .iter()
            .map(|t| (t.form, *t.rate.as_ref().expect("every form works here")))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert_eq!(
            c.config.form,
            Some(fastest.0),
            "{}: {:?}",
            entry.label(),
            c.forms
        );

        let forced = calibrate(&entry, batch, span, Some(KernelForm::RotationAmounts)).unwrap();
        assert_eq!(forced.forms.len(), 1);
        assert_eq!(forced.config.form, Some(KernelForm::RotationAmounts));
        let gpu = GpuDevice::open(&entry, forced.config).unwrap();
        assert_eq!(gpu.form(), KernelForm::RotationAmounts);

        let sources = [
            (KernelForm::RotationAmounts, broken.as_str()),
            (
                KernelForm::ConstantRotates,
                KernelForm::ConstantRotates.source(),
            ),
        ];
        let c = calibrate_sources(&entry, batch, span, &sources).unwrap();
        let err = c.forms[0].rate.as_ref().unwrap_err();
        assert!(err.contains("self-test"), "{}: {err}", entry.label());
        assert_eq!(c.config.form, Some(KernelForm::ConstantRotates));
        // With no working form at all, calibration fails.
        assert!(calibrate_sources(&entry, batch, span, &sources[..1]).is_err());
    }
}

/// The validation layer the GPU tests run under catches misuse: a child
/// process (this test again) creates a zero-sized buffer through raw
/// Vulkan with the layer set up as CI sets it up, and the layer logs the
/// error and stops it. HASHRIG_REQUIRE_VALIDATION=1 fails the test when
/// the layer is not installed.
#[test]
fn the_validation_layer_stops_a_process_that_misuses_vulkan() {
    if std::env::var_os("HASHRIG_MISUSE_VULKAN").is_some() {
        misuse_vulkan();
        return;
    }
    let manifest = "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json";
    if !std::path::Path::new(manifest).exists() {
        if std::env::var("HASHRIG_REQUIRE_VALIDATION").as_deref() == Ok("1") {
            panic!(
                "HASHRIG_REQUIRE_VALIDATION=1 but {manifest} is missing (vulkan-validationlayers)"
            );
        }
        eprintln!("SKIPPED: no Vulkan validation layer (install vulkan-validationlayers)");
        return;
    }
    let scratch = common::ScratchDir::new("validation");
    let log = scratch.0.join("validation.log");
    std::fs::write(
        scratch.0.join("vk_layer_settings.txt"),
        format!(
            "khronos_validation.report_flags = error\n\
             khronos_validation.debug_action = VK_DBG_LAYER_ACTION_LOG_MSG,VK_DBG_LAYER_ACTION_BREAK\n\
             khronos_validation.log_filename = {}\n\
             khronos_validation.enables = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT\n",
            log.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            // This test's name in the test binary: its module path past
            // the crate's name.
            &format!(
                "{}::the_validation_layer_stops_a_process_that_misuses_vulkan",
                module_path!().split_once("::").map_or("", |(_, m)| m)
            ),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("HASHRIG_MISUSE_VULKAN", "1")
        .env("VK_INSTANCE_LAYERS", "VK_LAYER_KHRONOS_validation")
        .env("VK_LAYER_SETTINGS_PATH", &scratch.0)
        .output()
        .unwrap();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("VUID-VkBufferCreateInfo-size-00912"),
        "the layer logged no error for a zero-sized buffer: {logged}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the misusing process was not stopped"
    );
}

/// Creates a zero-sized buffer on the first Vulkan device: invalid usage
/// (VUID-VkBufferCreateInfo-size-00912) that only a validation layer sees.
fn misuse_vulkan() {
    use ash::vk;
    // SAFETY: every create info lives across its call, and the objects are
    // destroyed in reverse order before the instance goes; the invalid
    // buffer size is the point of the call (drivers accept or reject it
    // without touching memory; the layer stops the process first).
    unsafe {
        let entry = ash::Entry::load().expect("a Vulkan loader");
        let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_1);
        let instance = entry
            .create_instance(
                &vk::InstanceCreateInfo::default().application_info(&app),
                None,
            )
            .expect("an instance");
        let pd = instance.enumerate_physical_devices().expect("devices")[0];
        let priorities = [1.0];
        let queues = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(0)
            .queue_priorities(&priorities)];
        let device = instance
            .create_device(
                pd,
                &vk::DeviceCreateInfo::default().queue_create_infos(&queues),
                None,
            )
            .expect("a device");
        let info = vk::BufferCreateInfo::default()
            .size(0)
            .usage(vk::BufferUsageFlags::STORAGE_BUFFER);
        if let Ok(buffer) = device.create_buffer(&info, None) {
            device.destroy_buffer(buffer, None);
        }
        device.destroy_device(None);
        instance.destroy_instance(None);
    }
}
