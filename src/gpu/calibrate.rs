//! Launch-setting calibration: for each GPU, the workgroup size and nonces
//! per invocation with the best measured throughput, with the batch size
//! that keeps a batch near the target duration. Results are cached per
//! device, driver and kernel version.

use crate::DeviceError;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{AdapterEntry, GpuDevice, KernelForm, LaunchConfig};
use crate::{CancelToken, Error, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};

/// Time each setting runs before it is timed.
const WARM: Duration = Duration::from_millis(40);

/// Further turns each kernel form is measured for, in turn with the others.
const FORM_TURNS: usize = 2;

/// Workgroup sizes tried.
pub const WORKGROUP_SIZES: [u32; 3] = [64, 128, 256];
/// Nonces per invocation tried.
pub const NONCES_PER_INVOCATION: [u32; 5] = [4, 8, 16, 32, 64];

/// One kernel form as calibration found it on a device.
#[derive(Clone, Debug, PartialEq)]
pub struct FormTrial {
    /// The form.
    pub form: KernelForm,
    /// Its rate at the default launch settings, in hashes per second, or
    /// why it was not used (it failed to build or failed the self-test).
    pub rate: Result<f64, String>,
}

/// What calibration chose for a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The settings to open the device with (`config.form` is the kernel
    /// form chosen).
    pub config: LaunchConfig,
    /// The rate measured with them, in hashes per second.
    pub rate: f64,
    /// Whether they came from the cache rather than a measurement.
    pub from_cache: bool,
    /// Every setting measured: (workgroup size, nonces per invocation, rate).
    pub measured: Vec<(u32, u32, f64)>,
    /// Every kernel form tried, in the order tried (the device's preferred
    /// form first; only the forced one when a form was forced).
    pub forms: Vec<FormTrial>,
    /// How long calibration took.
    pub took: Duration,
}

/// A version of the kernel and the host code driving it: a hash of every
/// form's shader source and the crate version. A cached calibration from
/// another version is measured again.
pub fn kernel_version() -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in KernelForm::ALL
        .iter()
        .flat_map(|f| f.source().bytes())
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

/// The settings calibration opens a device with to measure.
fn trial_config(form: KernelForm, batch_time: Duration, wg: u32, per: u32) -> LaunchConfig {
    LaunchConfig {
        workgroup_size: wg,
        nonces_per_invocation: per,
        batch_nonces: 1 << 18,
        batch_time,
        form: Some(form),
        ..Default::default()
    }
}

/// The forms to try on `entry`: `forced` alone, else every form with the
/// one its compiler is known to want first.
fn forms_to_try(entry: &AdapterEntry, forced: Option<KernelForm>) -> Vec<KernelForm> {
    if let Some(form) = forced {
        return vec![form];
    }
    let preferred = KernelForm::preferred_for(&entry.info);
    let mut forms = vec![preferred];
    forms.extend(KernelForm::ALL.into_iter().filter(|&f| f != preferred));
    forms
}

/// Calibrates one device. Each kernel form (only `forced`, when given) is
/// built, self-tested and measured at the default settings; a form that
/// fails to build or fails the self-test is never used. With the fastest
/// form, nonces per invocation are tried at the default workgroup size (a
/// uniform value, so one pipeline serves them all), then the other
/// workgroup sizes at the best of them; each setting is measured for
/// `span` after a short warm-up (the forms three times each, in turn).
/// Takes about (6 + 3 × forms) × (span + 40 ms) plus a pipeline build and
/// a self-test per form and two more builds.
pub fn calibrate(
    entry: &AdapterEntry,
    batch_time: Duration,
    span: Duration,
    forced: Option<KernelForm>,
) -> Result<Calibration, Error> {
    calibrate_among(batch_time, span, &forms_to_try(entry, forced), &|config| {
        GpuDevice::open(entry, config)
    })
}

/// [`calibrate`] with the given WGSL source standing in for each form
/// listed: what shows that a form whose kernel is wrong is never used.
#[cfg(feature = "internals")]
pub fn calibrate_sources(
    entry: &AdapterEntry,
    batch_time: Duration,
    span: Duration,
    sources: &[(KernelForm, &str)],
) -> Result<Calibration, Error> {
    let forms: Vec<KernelForm> = sources.iter().map(|(f, _)| *f).collect();
    calibrate_among(batch_time, span, &forms, &|config| {
        let form = config.form.expect("calibration names the form");
        let source = sources
            .iter()
            .find(|(f, _)| *f == form)
            .map_or(form.source(), |(_, s)| s);
        GpuDevice::open_with_source(entry, config, source)
    })
}

/// Opens a device with a calibration trial's settings.
type Opener<'a> = dyn Fn(LaunchConfig) -> Result<GpuDevice, Error> + 'a;

fn calibrate_among(
    batch_time: Duration,
    span: Duration,
    to_try: &[KernelForm],
    open: &Opener<'_>,
) -> Result<Calibration, Error> {
    let started = Instant::now();
    let mut measured = Vec::new();
    let default_wg = super::WORKGROUP_SIZE;
    let mut forms = Vec::new();
    let mut usable: Vec<(KernelForm, f64, GpuDevice)> = Vec::new();
    let mut last_error = None;
    for &form in to_try {
        let tried = open(trial_config(form, batch_time, default_wg, 16)).and_then(|device| {
            device.self_test()?;
            let rate = measure(&device, WARM, span)?;
            Ok((rate, device))
        });
        match tried {
            Ok((rate, device)) => usable.push((form, rate, device)),
            Err(e) => {
                forms.push(FormTrial {
                    form,
                    rate: Err(e.to_string()),
                });
                last_error = Some(e);
            }
        }
    }
    // Two more turns each, in turn, each form keeping its best: a
    // stretch the machine spends elsewhere does not decide the form.
    if usable.len() > 1 {
        for _ in 0..FORM_TURNS {
            for (_, rate, device) in &mut usable {
                *rate = rate.max(measure(device, WARM, span)?);
            }
        }
    }
    forms.extend(usable.iter().map(|(form, rate, _)| FormTrial {
        form: *form,
        rate: Ok(*rate),
    }));
    forms.sort_by_key(|t| to_try.iter().position(|f| *f == t.form));
    let Some((form, form_rate, device)) = usable.into_iter().max_by(|a, b| a.1.total_cmp(&b.1))
    else {
        return Err(last_error.unwrap_or(Error::Device(DeviceError::NoKernelForm)));
    };
    measured.push((default_wg, 16, form_rate));
    // A setting whose granule (one workgroup's wg × per nonces) outlasts
    // the batch time at its own rate cannot keep to it: such a setting
    // loses to any that fits, and among those that do not fit the smallest
    // granule wins.
    let budget = batch_time.as_secs_f64() * 0.85;
    let fits = |wg: u32, per: u32, rate: f64| f64::from(wg * per) <= rate * budget;
    let better = |wg: u32, per: u32, rate: f64, best: &(u32, u32, f64, u32)| match (
        fits(wg, per, rate),
        fits(best.0, best.1, best.2),
    ) {
        (true, true) => rate > best.2,
        (fits_new, fits_best) if fits_new != fits_best => fits_new,
        _ => wg * per < best.0 * best.1,
    };
    let mut best = (default_wg, 16, form_rate, device.batch_nonces());
    for per in NONCES_PER_INVOCATION.into_iter().filter(|&p| p != 16) {
        device.set_nonces_per_invocation(per);
        let rate = measure(&device, WARM, span)?;
        measured.push((default_wg, per, rate));
        if better(default_wg, per, rate, &best) {
            best = (default_wg, per, rate, device.batch_nonces());
        }
    }
    drop(device);
    let per = best.1;
    for wg in WORKGROUP_SIZES.into_iter().filter(|&w| w != default_wg) {
        let device = open(trial_config(form, batch_time, wg, per))?;
        let rate = measure(&device, WARM, span)?;
        measured.push((wg, per, rate));
        if better(wg, per, rate, &best) {
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
            form: Some(form),
            ..Default::default()
        },
        rate: best.2,
        from_cache: false,
        measured,
        forms,
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
    let form = KernelForm::preferred_for(&entry.info);
    for wg in WORKGROUP_SIZES {
        let device = GpuDevice::open(entry, trial_config(form, batch_time, wg, 1))?;
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

/// One cache line.
#[derive(Clone, Debug)]
struct CacheRow {
    /// Device, driver and kernel version ([`cache_key`]).
    key: String,
    /// Workgroup size, nonces per invocation, batch nonces, batch milliseconds.
    settings: [u64; 4],
    /// The rate measured with them.
    rate: f64,
    /// The kernel form they are for.
    form: KernelForm,
    /// Chosen among every form (`best`), or measured alone because it was
    /// forced (`forced`): only a best line answers when no form is forced.
    best: bool,
    /// Each form's rate at the default settings as calibration found it
    /// (none where the form was unusable).
    forms: Vec<(KernelForm, Option<f64>)>,
}

impl CacheRow {
    fn line(&self) -> String {
        let v = self.settings;
        let forms: Vec<String> = self
            .forms
            .iter()
            .map(|(f, r)| match r {
                Some(r) => format!("{f}:{r}"),
                None => format!("{f}:-"),
            })
            .collect();
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.key,
            v[0],
            v[1],
            v[2],
            v[3],
            self.rate,
            self.form,
            if self.best { "best" } else { "forced" },
            forms.join(",")
        )
    }

    fn parse(line: &str) -> Option<CacheRow> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 9 {
            return None;
        }
        let v: Vec<u64> = f[1..5]
            .iter()
            .map(|x| x.parse().ok())
            .collect::<Option<_>>()?;
        if !(v[0] > 0 && v[1] > 0 && v[2] > 0 && v[0] <= 1024) {
            return None;
        }
        let forms = f[8]
            .split(',')
            .filter(|x| !x.is_empty())
            .map(|x| {
                let (name, rate) = x.split_once(':')?;
                let rate = if rate == "-" {
                    None
                } else {
                    Some(rate.parse::<f64>().ok()?)
                };
                Some((name.parse::<KernelForm>().ok()?, rate))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CacheRow {
            key: f[0].to_string(),
            settings: [v[0], v[1], v[2], v[3]],
            rate: f[5].parse().ok()?,
            form: f[6].parse().ok()?,
            best: match f[7] {
                "best" => true,
                "forced" => false,
                _ => return None,
            },
            forms,
        })
    }

    fn calibration(&self, batch_time: Duration) -> Calibration {
        let v = self.settings;
        Calibration {
            config: LaunchConfig {
                workgroup_size: v[0] as u32,
                nonces_per_invocation: v[1] as u32,
                batch_nonces: v[2].min(u32::MAX as u64 / 2) as u32,
                batch_time,
                form: Some(self.form),
                ..Default::default()
            },
            rate: self.rate,
            from_cache: true,
            measured: Vec::new(),
            forms: self
                .forms
                .iter()
                .map(|(form, rate)| FormTrial {
                    form: *form,
                    rate: rate.ok_or_else(|| "unusable when calibrated".to_string()),
                })
                .collect(),
            took: Duration::ZERO,
        }
    }
}

/// Cache lines: key, workgroup size, nonces per invocation, batch nonces,
/// batch milliseconds, rate, kernel form, `best` or `forced`, each form's
/// rate. Lines that do not parse are reported; lines of the six columns
/// written before there were forms are dropped quietly (their kernel
/// version is gone anyway).
fn read_cache(path: &PathBuf, warnings: &mut Vec<String>) -> Vec<CacheRow> {
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
        match CacheRow::parse(line) {
            Some(row) => rows.push(row),
            None if line.split('\t').count() == 6 => {}
            None => warnings.push(format!(
                "ignoring corrupt line {} of the calibration cache {}",
                n + 1,
                path.display()
            )),
        }
    }
    rows
}

fn write_cache(path: &PathBuf, rows: &[CacheRow]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text: String = rows.iter().map(CacheRow::line).collect();
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

/// The cached calibration of `entry` for `batch_time` (chosen among every
/// form), if there is one: what `hashrig devices` shows without measuring.
pub fn cached(entry: &AdapterEntry, batch_time: Duration) -> Option<Calibration> {
    let mut warnings = Vec::new();
    let key = cache_key(entry);
    let ms = batch_time.as_millis() as u64;
    read_cache(&cache_path()?, &mut warnings)
        .into_iter()
        .find(|r| r.key == key && r.settings[3] == ms && r.best)
        .map(|r| r.calibration(batch_time))
}

/// The device's cached settings for this driver, kernel version and batch
/// time, or a fresh calibration (always with `recalibrate`, and when the
/// cached form is not the `form` forced) written to the cache. Cache
/// problems become warnings, never errors.
pub fn cached_or_calibrate(
    entry: &AdapterEntry,
    batch_time: Duration,
    recalibrate: bool,
    form: Option<KernelForm>,
) -> Result<(Calibration, Vec<String>), Error> {
    cached_or_calibrate_in(cache_path(), entry, batch_time, recalibrate, form)
}

/// [`cached_or_calibrate`] with the cache file at `path` (none: no cache).
pub fn cached_or_calibrate_in(
    path: Option<PathBuf>,
    entry: &AdapterEntry,
    batch_time: Duration,
    recalibrate: bool,
    form: Option<KernelForm>,
) -> Result<(Calibration, Vec<String>), Error> {
    let mut warnings = Vec::new();
    let key = cache_key(entry);
    let ms = batch_time.as_millis() as u64;
    let mut rows = match &path {
        Some(p) => read_cache(p, &mut warnings),
        None => Vec::new(),
    };
    if !recalibrate {
        // Without a forced form only a line chosen among every form
        // answers; a forced form takes its own line, chosen or forced.
        let hit = rows.iter().find(|r| {
            r.key == key
                && r.settings[3] == ms
                && match form {
                    None => r.best,
                    Some(forced) => r.form == forced,
                }
        });
        if let Some(row) = hit {
            return Ok((row.calibration(batch_time), warnings));
        }
    }
    let calibration = calibrate(entry, batch_time, Duration::from_millis(90), form)?;
    if let Some(p) = &path {
        let c = &calibration.config;
        let chosen = c.form.expect("calibration chooses a form");
        // A choice among every form replaces every line of this device
        // and batch time; a forced form's line replaces that form's.
        rows.retain(|r| {
            !(r.key == key && r.settings[3] == ms && (form.is_none() || r.form == chosen))
        });
        rows.push(CacheRow {
            key,
            settings: [
                c.workgroup_size as u64,
                c.nonces_per_invocation as u64,
                c.batch_nonces as u64,
                ms,
            ],
            rate: calibration.rate,
            form: chosen,
            best: form.is_none(),
            forms: calibration
                .forms
                .iter()
                .map(|t| (t.form, t.rate.as_ref().ok().copied()))
                .collect(),
        });
        if let Err(e) = write_cache(p, &rows) {
            warnings.push(format!(
                "cannot write the calibration cache {}: {e}",
                p.display()
            ));
        }
    }
    Ok((calibration, warnings))
}
