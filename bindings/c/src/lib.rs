//! hashrig's C ABI (declared in hashrig.h beside this crate), built as the
//! shared library `libhashrig_c`: create an engine, submit
//! header jobs, poll verified solutions, read statistics, free. Errors are
//! status codes with a per-thread message; every entry point catches
//! panics so that none crosses into the caller.
//!
//! All raw-pointer handling of hashrig lives in this crate: the engine's
//! functions here, the pool miner's in `pool.rs`. It is a package of its
//! own so that a Rust program using the library never builds it.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use hashrig::engine::{CpuUse, DeviceState, Engine, EngineOptions, Event, RollTime, Work};
use hashrig::{Error, Header, HeaderJob, Job, NonceRange, Target};

/// Success.
pub const HASHRIG_OK: i32 = 0;
/// Nothing to report within the timeout.
pub const HASHRIG_NONE: i32 = 1;
/// Every nonce of a job has been searched (`hashrig_poll_solution` sets
/// only `out->job`).
pub const HASHRIG_EXHAUSTED: i32 = 2;
/// A null pointer or an out-of-range value.
pub const HASHRIG_ERR_ARGUMENT: i32 = -1;
/// A bad header, target or nonce range.
pub const HASHRIG_ERR_INPUT: i32 = -2;
/// No device could be started.
pub const HASHRIG_ERR_DEVICE: i32 = -3;
/// A bug in hashrig, caught at the boundary.
pub const HASHRIG_ERR_INTERNAL: i32 = -4;

/// The engine behind a `hashrig_engine *`.
pub struct HashrigEngine {
    engine: std::sync::Arc<Engine>,
}

/// A solution as C sees it (`hashrig_solution`).
#[repr(C)]
pub struct HashrigSolution {
    /// The job id.
    pub job: u64,
    /// The nonce.
    pub nonce: u64,
    /// The block hash in display order.
    pub hash: [u8; 32],
    /// The header solved, nonce filled in.
    pub header: [u8; 80],
    /// 1 when stale.
    pub stale: i32,
}

/// Device statistics as C sees them (`hashrig_device_stats`).
#[repr(C)]
pub struct HashrigDeviceStats {
    /// NUL-terminated name.
    pub name: [c_char; 128],
    /// `HASHRIG_STATE_*`.
    pub state: i32,
    /// Claimed MH/s over 5 s.
    pub mhs_5s: f64,
    /// Claimed MH/s over 60 s.
    pub mhs_60s: f64,
    /// MH/s implied by verified proofs.
    pub effective_mhs: f64,
    /// Hashes.
    pub hashes: u64,
    /// Solutions.
    pub solutions: u64,
    /// Stale solutions.
    pub stale: u64,
    /// Hardware errors.
    pub hardware_errors: u64,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(message: &str) {
    let clean = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = clean);
}

/// Runs `f`, turning errors and panics into status codes and messages.
fn guard(f: impl FnOnce() -> Result<i32, (i32, String)>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(code)) => code,
        Ok(Err((code, message))) => {
            set_error(&message);
            code
        }
        Err(_) => {
            set_error("internal error (a panic was caught at the C boundary)");
            HASHRIG_ERR_INTERNAL
        }
    }
}

fn input(e: Error) -> (i32, String) {
    (HASHRIG_ERR_INPUT, e.to_string())
}

fn null(what: &str) -> (i32, String) {
    (HASHRIG_ERR_ARGUMENT, format!("{what} is null"))
}

/// How an engine starts, as C sees it (`hashrig_options`).
#[repr(C)]
pub struct HashrigOptions {
    /// `size_of::<HashrigOptions>()`, set by `hashrig_options_init`.
    pub size: u32,
    /// `HASHRIG_CPU_*`.
    pub cpu: i32,
    /// Nonzero to use GPUs.
    pub gpus: i32,
    /// CPU hashing threads; 0 for the default.
    pub cpu_threads: u32,
    /// GPU batch time in milliseconds; 0 for the default.
    pub batch_ms: u32,
    /// Comma-separated GPU selectors, or null.
    pub devices: *const c_char,
    /// A CPU kernel name, or null.
    pub cpu_kernel: *const c_char,
}

impl HashrigOptions {
    /// The defaults, with `cpu` and `gpus` as given.
    fn with(cpu: i32, gpus: i32) -> Self {
        HashrigOptions {
            size: std::mem::size_of::<HashrigOptions>() as u32,
            cpu,
            gpus,
            cpu_threads: 0,
            batch_ms: 0,
            devices: std::ptr::null(),
            cpu_kernel: std::ptr::null(),
        }
    }
}

/// `HASHRIG_CPU_*` as the engine's setting.
fn cpu_use(code: i32) -> Result<CpuUse, (i32, String)> {
    match code {
        0 => Ok(CpuUse::Auto),
        1 => Ok(CpuUse::On),
        2 => Ok(CpuUse::Off),
        n => Err((HASHRIG_ERR_ARGUMENT, format!("cpu: {n} is not 0, 1 or 2"))),
    }
}

/// A C string argument, checked.
///
/// # Safety
/// `text` must be null or a NUL-terminated string.
unsafe fn text<'a>(text: *const c_char, what: &str) -> Result<&'a str, (i32, String)> {
    if text.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-null and NUL-terminated (caller's contract).
    unsafe { CStr::from_ptr(text) }
        .to_str()
        .map_err(|_| (HASHRIG_ERR_ARGUMENT, format!("{what} is not UTF-8")))
}

/// The engine options that `options` describe, every field checked.
///
/// # Safety
/// `options` must be null or point to a readable `hashrig_options` whose
/// strings are null or NUL-terminated.
unsafe fn engine_options(options: *const HashrigOptions) -> Result<EngineOptions, (i32, String)> {
    if options.is_null() {
        return Err(null("options"));
    }
    // SAFETY: non-null, and every version of the struct starts with its
    // `size` (caller's contract): only that field is read until it says
    // the whole struct is there.
    let size = unsafe { std::ptr::addr_of!((*options).size).read() };
    if size as usize != std::mem::size_of::<HashrigOptions>() {
        return Err((
            HASHRIG_ERR_ARGUMENT,
            format!(
                "options.size is {size}, not {} (call hashrig_options_init first)",
                std::mem::size_of::<HashrigOptions>()
            ),
        ));
    }
    // SAFETY: non-null, and `size` says the caller's struct is this one.
    let o = unsafe { &*options };
    let mut out = EngineOptions {
        cpu: cpu_use(o.cpu)?,
        gpus: o.gpus != 0,
        ..Default::default()
    };
    if o.cpu_threads != 0 {
        out.cpu_threads = Some(o.cpu_threads as usize);
    }
    if o.batch_ms != 0 {
        out.batch_time = Duration::from_millis(o.batch_ms as u64);
    }
    if !o.devices.is_null() {
        // SAFETY: non-null and NUL-terminated (caller's contract).
        let devices = unsafe { text(o.devices, "devices")? };
        if devices.split(',').all(|d| d.trim().is_empty()) {
            return Err((
                HASHRIG_ERR_ARGUMENT,
                format!("devices: no selector in {devices:?}"),
            ));
        }
        // Split by the adapter selection itself, which keeps a whole
        // adapter name with a comma in it as one selector.
        out.devices = vec![devices.to_string()];
    }
    if !o.cpu_kernel.is_null() {
        // SAFETY: non-null and NUL-terminated (caller's contract).
        let name = unsafe { text(o.cpu_kernel, "cpu_kernel")? };
        let kernel: hashrig::CpuKernel = name
            .parse()
            .map_err(|e: Error| (HASHRIG_ERR_ARGUMENT, format!("cpu_kernel: {e}")))?;
        out.cpu_kernel = Some(kernel);
    }
    // The same checks as every other front door.
    out.validate()
        .map_err(|e| (HASHRIG_ERR_ARGUMENT, e.to_string()))?;
    Ok(out)
}

/// Points `XDG_RUNTIME_DIR` at a private directory where it is missing, so
/// that Mesa's drivers print no `error:` lines; see hashrig.h.
///
/// # Safety
/// It changes the process environment: call it before any other thread of
/// the process runs.
#[no_mangle]
pub unsafe extern "C" fn hashrig_set_runtime_dir() -> i32 {
    // SAFETY: the caller's contract (hashrig.h): no other thread runs yet.
    let set = unsafe { hashrig::gpu::set_runtime_dir() }.is_some();
    i32::from(set)
}

/// Sets every option to its default; see hashrig.h.
///
/// # Safety
/// `options` must be null or valid for writing one `hashrig_options`.
#[no_mangle]
pub unsafe extern "C" fn hashrig_options_init(options: *mut HashrigOptions) {
    if options.is_null() {
        return;
    }
    // SAFETY: non-null and writable (caller's contract).
    unsafe { options.write(HashrigOptions::with(0, 1)) };
}

/// Starts an engine from options; see hashrig.h.
///
/// # Safety
/// `options` as for `engine_options`; `out` null or valid for writing one
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn hashrig_engine_new_with(
    options: *const HashrigOptions,
    out: *mut *mut HashrigEngine,
) -> i32 {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: the caller's contract, as documented above.
        let options = unsafe { engine_options(options)? };
        let engine = Engine::start(options).map_err(|e| (HASHRIG_ERR_DEVICE, e.to_string()))?;
        let boxed = Box::into_raw(Box::new(HashrigEngine {
            engine: std::sync::Arc::new(engine),
        }));
        // SAFETY: `out` is non-null and, by the caller's contract, writable.
        unsafe { *out = boxed };
        Ok(HASHRIG_OK)
    })
}

/// Starts an engine; see hashrig.h.
///
/// # Safety
/// `out` must be null or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn hashrig_engine_new(
    cpu: i32,
    gpus: i32,
    out: *mut *mut HashrigEngine,
) -> i32 {
    let options = HashrigOptions::with(cpu, gpus);
    // SAFETY: `options` is a valid local with null strings; `out` is
    // passed on under the caller's contract.
    unsafe { hashrig_engine_new_with(&options, out) }
}

/// Replaces the current job; see hashrig.h.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`; `header80` must point to
/// 80 readable bytes, `target_be` to 32 or be null, `job_out` be null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_submit_header(
    engine: *mut HashrigEngine,
    header80: *const u8,
    target_be: *const u8,
    start: u64,
    count: u64,
    job_out: *mut u64,
) -> i32 {
    guard(|| {
        // SAFETY: a pointer from hashrig_engine_new, not yet freed (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        if header80.is_null() {
            return Err(null("header"));
        }
        // SAFETY: non-null and, by contract, 80 readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(header80, 80) };
        let header = Header::from_bytes(bytes).map_err(input)?;
        let target = if target_be.is_null() {
            Target::from_compact(header.bits).map_err(|e| input(Error::from(e)))?
        } else {
            // SAFETY: non-null and, by contract, 32 readable bytes.
            let t: [u8; 32] = unsafe { std::slice::from_raw_parts(target_be, 32) }
                .try_into()
                .expect("32 bytes");
            let t = Target::from_be_bytes(t);
            if t.is_zero() {
                return Err(input(Error::ZeroTarget));
            }
            t
        };
        let job = Job::from(HeaderJob::new(header, target));
        let work = if count == 0 {
            Work::new(job).from_nonce(start).then(RollTime)
        } else {
            Work::new(job).range(NonceRange::new(start, count))
        };
        let id = engine.engine.submit(work).map_err(input)?;
        // SAFETY: null is allowed; otherwise writable by contract.
        if let Some(out) = unsafe { job_out.as_mut() } {
            *out = id.0;
        }
        Ok(HASHRIG_OK)
    })
}

/// Waits for a solution; see hashrig.h.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_poll_solution(
    engine: *mut HashrigEngine,
    timeout_ms: u32,
    out: *mut HashrigSolution,
) -> i32 {
    guard(|| {
        // SAFETY: a live engine pointer (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        // SAFETY: writable when non-null (caller's contract).
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        let deadline = std::time::Instant::now() + Duration::from_millis(timeout_ms as u64);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match engine.engine.recv_timeout(left) {
                Some(Event::Solution(s)) => {
                    let Some(solved) = s.work.solved_header(s.solution.nonce) else {
                        continue;
                    };
                    out.job = s.job.0;
                    out.nonce = s.solution.nonce;
                    out.hash = solved.block_hash().to_be_bytes();
                    out.header = solved.to_bytes();
                    out.stale = s.stale as i32;
                    return Ok(HASHRIG_OK);
                }
                Some(Event::Exhausted(job)) => {
                    *out = HashrigSolution {
                        job: job.0,
                        nonce: 0,
                        hash: [0; 32],
                        header: [0; 80],
                        stale: 0,
                    };
                    return Ok(HASHRIG_EXHAUSTED);
                }
                // Device failures and recoveries show in the device statistics.
                Some(Event::DeviceFailed { .. } | Event::DeviceRecovered { .. }) => continue,
                None => return Ok(HASHRIG_NONE),
            }
        }
    })
}

/// Number of devices; see hashrig.h.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_device_count(
    engine: *const HashrigEngine,
    out: *mut usize,
) -> i32 {
    guard(|| {
        // SAFETY: a live engine pointer (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        // SAFETY: writable when non-null (caller's contract).
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        *out = engine.engine.stats().len();
        Ok(HASHRIG_OK)
    })
}

/// One device's statistics; see hashrig.h.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`; `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn hashrig_device_stats_get(
    engine: *const HashrigEngine,
    index: usize,
    out: *mut HashrigDeviceStats,
) -> i32 {
    guard(|| {
        // SAFETY: a live engine pointer (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        // SAFETY: writable when non-null (caller's contract).
        let out = unsafe { out.as_mut() }.ok_or_else(|| null("out"))?;
        let stats = engine.engine.stats();
        let d = stats.get(index).ok_or_else(|| {
            (
                HASHRIG_ERR_ARGUMENT,
                format!("device {index}: there are {} devices", stats.len()),
            )
        })?;
        out.name = [0; 128];
        for (slot, byte) in out.name.iter_mut().zip(d.name.bytes().take(127)) {
            *slot = byte as c_char;
        }
        out.state = match d.state {
            DeviceState::Idle => 0,
            DeviceState::Hashing => 1,
            DeviceState::Paused => 2,
            DeviceState::Failed(_) => 3,
            DeviceState::Held(_) => 4,
            DeviceState::Recovering(_) => 5,
        };
        out.mhs_5s = d.rate_5s / 1e6;
        out.mhs_60s = d.rate_60s / 1e6;
        out.effective_mhs = d.effective_rate / 1e6;
        out.hashes = d.hashes;
        out.solutions = d.solutions;
        out.stale = d.stale;
        out.hardware_errors = d.hardware_errors;
        Ok(HASHRIG_OK)
    })
}

/// Pauses hashing.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`.
#[no_mangle]
pub unsafe extern "C" fn hashrig_pause(engine: *mut HashrigEngine) -> i32 {
    guard(|| {
        // SAFETY: a live engine pointer (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        engine.engine.pause();
        Ok(HASHRIG_OK)
    })
}

/// Resumes hashing.
///
/// # Safety
/// `engine` must come from `hashrig_engine_new`.
#[no_mangle]
pub unsafe extern "C" fn hashrig_resume(engine: *mut HashrigEngine) -> i32 {
    guard(|| {
        // SAFETY: a live engine pointer (caller's contract).
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| null("engine"))?;
        engine.engine.resume();
        Ok(HASHRIG_OK)
    })
}

/// Stops and frees an engine.
///
/// # Safety
/// `engine` must be null or come from `hashrig_engine_new`, and not be
/// used again.
#[no_mangle]
pub unsafe extern "C" fn hashrig_engine_free(engine: *mut HashrigEngine) {
    if engine.is_null() {
        return;
    }
    // SAFETY: from Box::into_raw in hashrig_engine_new, freed once (caller's contract).
    let boxed = unsafe { Box::from_raw(engine) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(boxed)));
}

/// The calling thread's last error message.
#[no_mangle]
pub extern "C" fn hashrig_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Copies the calling thread's last error message; see hashrig.h.
///
/// # Safety
/// `buf` must be valid for writing `len` bytes (it may be null when `len`
/// is 0).
#[no_mangle]
pub unsafe extern "C" fn hashrig_error_copy(buf: *mut c_char, len: usize) -> usize {
    LAST_ERROR.with(|e| {
        let message = e.borrow();
        let bytes = message.as_bytes();
        if !buf.is_null() && len > 0 {
            let n = bytes.len().min(len - 1);
            // SAFETY: `buf` holds `len` writable bytes (caller's contract)
            // and n + 1 <= len; the source is the message's own bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, n);
                *buf.add(n) = 0;
            }
        }
        bytes.len()
    })
}

mod pool;

pub use pool::*;
