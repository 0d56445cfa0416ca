//! Launch-setting calibration: for each GPU, the workgroup size and nonces
//! per invocation with the best measured throughput, with the batch size
//! that keeps a batch near the target duration. Results are cached per
//! device, driver and kernel version.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shader::SHADER_SOURCE;
use super::{AdapterEntry, GpuDevice, LaunchConfig};
use crate::{CancelToken, Error, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};

/// Time each setting runs before it is timed.
const WARM: Duration = Duration::from_millis(40);

/// Workgroup sizes tried.
pub const WORKGROUP_SIZES: [u32; 3] = [64, 128, 256];
/// Nonces per invocation tried.
pub const NONCES_PER_INVOCATION: [u32; 5] = [4, 8, 16, 32, 64];

/// What calibration chose for a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The settings to open the device with.
    pub config: LaunchConfig,
    /// The rate measured with them, in hashes per second.
    pub rate: f64,
    /// Whether they came from the cache rather than a measurement.
    pub from_cache: bool,
    /// Every setting measured: (workgroup size, nonces per invocation, rate).
    pub measured: Vec<(u32, u32, f64)>,
    /// How long calibration took.
    pub took: Duration,
}

/// A version of the kernel and the host code driving it: a hash of the
/// shader source and the crate version. A cached calibration from another
/// version is measured again.
pub fn kernel_version() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in SHADER_SOURCE
        .bytes()
        .chain(env!("CARGO_PKG_VERSION").bytes())
    {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn bench_job() -> Job {
    // A fixed header at a target nothing meets: pure hashing work.
    let header = Header::from_bytes(&[0x5a; 80]).expect("80 bytes");
    Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(64).expect("64 <= 256"),
    ))
}

/// The rate of `device` as it is set now: one long scan runs while this
/// thread watches its progress counter, skipping `warm` (the batch size
/// adapts meanwhile) and then timing whole batches for about `span`, from
/// one batch completion to another.
pub fn measure(device: &GpuDevice, warm: Duration, span: Duration) -> Result<f64, Error> {
    let job = bench_job();
    let progress = Arc::new(AtomicU64::new(0));
    let cancel = CancelToken::new();
    let options = SearchOptions {
        cancel: Some(cancel.clone()),
        progress: Some(progress.clone()),
        ..Default::default()
    };
    std::thread::scope(|scope| {
        let scan = scope.spawn(|| device.scan(&job, NonceRange::new(0, 1 << 31), &options));
        let watch = || -> (Instant, u64) {
            // Waits for the next batch completion.
            let seen = progress.load(Ordering::Relaxed);
            loop {
                let now = progress.load(Ordering::Relaxed);
                if now != seen || scan.is_finished() {
                    return (Instant::now(), now);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        std::thread::sleep(warm);
        let (t0, p0) = watch();
        let (mut t1, mut p1) = (t0, p0);
        while t1.duration_since(t0) < span && !scan.is_finished() {
            (t1, p1) = watch();
        }
        cancel.cancel();
        scan.join().expect("scan thread")?;
        Ok((p1 - p0) as f64 / t1.duration_since(t0).as_secs_f64().max(1e-6))
    })
}

fn open(entry: &AdapterEntry, batch_time: Duration, wg: u32, per: u32) -> Result<GpuDevice, Error> {
    GpuDevice::open(
        entry,
        LaunchConfig {
            workgroup_size: wg,
            nonces_per_invocation: per,
            batch_nonces: 1 << 18,
            batch_time,
            ..Default::default()
        },
    )
}

/// Calibrates one device: nonces per invocation are tried at the default
/// workgroup size (a uniform value, so one pipeline serves them all), then
/// the other workgroup sizes at the best of them; each setting is measured
/// for `span` after a short warm-up. Takes about 7 × (span + 40 ms) plus
/// three pipeline builds.
pub fn calibrate(
    entry: &AdapterEntry,
    batch_time: Duration,
    span: Duration,
) -> Result<Calibration, Error> {
    let started = Instant::now();
    let mut measured = Vec::new();
    let default_wg = super::WORKGROUP_SIZE;
    let device = open(entry, batch_time, default_wg, 16)?;
    let mut best = (default_wg, 16, 0.0, 0u32);
    for per in NONCES_PER_INVOCATION {
        device.set_nonces_per_invocation(per);
        let rate = measure(&device, WARM, span)?;
        measured.push((default_wg, per, rate));
        if rate > best.2 {
            best = (default_wg, per, rate, device.batch_nonces());
        }
    }
    drop(device);
    let per = best.1;
    for wg in WORKGROUP_SIZES.into_iter().filter(|&w| w != default_wg) {
        let device = open(entry, batch_time, wg, per)?;
        let rate = measure(&device, WARM, span)?;
        measured.push((wg, per, rate));
        if rate > best.2 {
            best = (wg, per, rate, device.batch_nonces());
        }
    }
    // Whatever the batches' timing said, the batch chosen fits the batch
    // time at the measured rate (85% of it, as the batches aim for).
    let fits = (best.2 * batch_time.as_secs_f64() * 0.85) as u64;
    let granule = u64::from(best.0 * best.1);
    let batch_nonces = best
        .3
        .min(u32::try_from((fits / granule).max(1) * granule).unwrap_or(u32::MAX));
    Ok(Calibration {
        config: LaunchConfig {
            workgroup_size: best.0,
            nonces_per_invocation: best.1,
            batch_nonces,
            batch_time,
            ..Default::default()
        },
        rate: best.2,
        from_cache: false,
        measured,
        took: started.elapsed(),
    })
}

/// Every combination of [`WORKGROUP_SIZES`] and [`NONCES_PER_INVOCATION`],
/// each measured for `span`: the exhaustive reference that
/// [`calibrate`] is compared with.
#[cfg(feature = "internals")]
pub fn sweep(
    entry: &AdapterEntry,
    batch_time: Duration,
    span: Duration,
) -> Result<Vec<(u32, u32, f64)>, Error> {
    let mut out = Vec::new();
    for wg in WORKGROUP_SIZES {
        let device = open(entry, batch_time, wg, 1)?;
        for per in NONCES_PER_INVOCATION {
            device.set_nonces_per_invocation(per);
            out.push((wg, per, measure(&device, WARM, span)?));
        }
    }
    Ok(out)
}

/// The cache file: `$XDG_CACHE_HOME/hashrig/gpu-launch.tsv`, or the
/// platform's user cache directory.
pub fn cache_path() -> Option<PathBuf> {
    // Relative paths are ignored, as the XDG base directory spec says.
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = env("XDG_CACHE_HOME").or_else(|| {
        if cfg!(target_os = "windows") {
            env("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            env("HOME").map(|h| h.join("Library/Caches"))
        } else {
            env("HOME").map(|h| h.join(".cache"))
        }
    })?;
    Some(base.join("hashrig").join("gpu-launch.tsv"))
}

fn cache_key(entry: &AdapterEntry) -> String {
    let i = &entry.info;
    format!(
        "{}|{:04x}:{:04x}|{:?}|{}|{}|{}",
        i.name,
        i.vendor,
        i.device,
        i.backend,
        i.driver,
        i.driver_info,
        kernel_version()
    )
    .replace(['\t', '\n'], " ")
}

/// Cache lines: key, workgroup size, nonces per invocation, batch nonces,
/// batch milliseconds, rate. Lines that do not parse are reported.
fn read_cache(path: &PathBuf, warnings: &mut Vec<String>) -> Vec<(String, [u64; 4], f64)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            warnings.push(format!(
                "ignoring the calibration cache {}: {e}",
                path.display()
            ));
            return Vec::new();
        }
    };
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let nums: Option<Vec<u64>> = f
            .get(1..5)
            .and_then(|s| s.iter().map(|x| x.parse().ok()).collect());
        let rate = f.get(5).and_then(|r| r.parse::<f64>().ok());
        match (f.len(), nums, rate) {
            (6, Some(v), Some(rate)) if v[0] > 0 && v[1] > 0 && v[2] > 0 && v[0] <= 1024 => {
                rows.push((f[0].to_string(), [v[0], v[1], v[2], v[3]], rate))
            }
            _ => warnings.push(format!(
                "ignoring corrupt line {} of the calibration cache {}",
                n + 1,
                path.display()
            )),
        }
    }
    rows
}

fn write_cache(path: &PathBuf, rows: &[(String, [u64; 4], f64)]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text: String = rows
        .iter()
        .map(|(k, v, r)| format!("{k}\t{}\t{}\t{}\t{}\t{r}\n", v[0], v[1], v[2], v[3]))
        .collect();
    // Written beside and renamed, so a reader never sees half a file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // Nothing half-made is left behind (a cache path that is a
        // directory, a full disk).
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The device's cached settings for this driver, kernel version and batch
/// time, or a fresh calibration (always with `recalibrate`) written to the
/// cache. Cache problems become warnings, never errors.
pub fn cached_or_calibrate(
    entry: &AdapterEntry,
    batch_time: Duration,
    recalibrate: bool,
) -> Result<(Calibration, Vec<String>), Error> {
    cached_or_calibrate_in(cache_path(), entry, batch_time, recalibrate)
}

/// [`cached_or_calibrate`] with the cache file at `path` (none: no cache).
pub fn cached_or_calibrate_in(
    path: Option<PathBuf>,
    entry: &AdapterEntry,
    batch_time: Duration,
    recalibrate: bool,
) -> Result<(Calibration, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let key = cache_key(entry);
    let ms = batch_time.as_millis() as u64;
    let mut rows = match &path {
        Some(p) => read_cache(p, &mut warnings),
        None => Vec::new(),
    };
    if !recalibrate {
        if let Some((_, v, rate)) = rows.iter().find(|(k, v, _)| *k == key && v[3] == ms) {
            let config = LaunchConfig {
                workgroup_size: v[0] as u32,
                nonces_per_invocation: v[1] as u32,
                batch_nonces: v[2].min(u32::MAX as u64 / 2) as u32,
                batch_time,
                ..Default::default()
            };
            let calibration = Calibration {
                config,
                rate: *rate,
                from_cache: true,
                measured: Vec::new(),
                took: Duration::ZERO,
            };
            return Ok((calibration, warnings));
        }
    }
    let calibration = calibrate(entry, batch_time, Duration::from_millis(90))?;
    if let Some(p) = &path {
        rows.retain(|(k, v, _)| !(*k == key && v[3] == ms));
        let c = &calibration.config;
        rows.push((
            key,
            [
                c.workgroup_size as u64,
                c.nonces_per_invocation as u64,
                c.batch_nonces as u64,
                ms,
            ],
            calibration.rate,
        ));
        if let Err(e) = write_cache(p, &rows) {
            warnings.push(format!(
                "cannot write the calibration cache {}: {e}",
                p.display()
            ));
        }
    }
    Ok((calibration, warnings))
}
