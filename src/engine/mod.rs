//! The engine: every selected device on one job at once, for rigs and for
//! miner daemons.
//!
//! Each device runs on a thread of its own and takes ranges of the job's
//! nonce space from a shared pool, sized from its measured rate so that
//! fast and slow devices finish together; every nonce is handed out once.
//! A replaced job stops everywhere within about one batch, and solutions of
//! the old job that come in later are marked stale. A device that fails,
//! stops answering, reports candidates that do not verify, or finds far
//! fewer proofs of work than its claimed hashes imply is taken out of
//! service, and its unfinished ranges go to the others.
//!
//! ```no_run
//! use hashrig::engine::{Engine, EngineOptions, Event, Work};
//! use hashrig::{Header, HeaderJob, Job};
//! use std::time::Duration;
//!
//! let engine = Engine::start(EngineOptions::default())?;
//! let header = Header::from_hex("0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")?;
//! let job = engine.submit(Work::new(Job::from(HeaderJob::from_header(header)?)))?;
//! while let Some(event) = engine.recv_timeout(Duration::from_secs(600)) {
//!     if let Event::Solution(s) = event {
//!         println!("job {:?}: nonce {} (stale: {})", s.job, s.solution.nonce, s.stale);
//!         break;
//!     }
//! }
//! for d in engine.stats() {
//!     println!("{}: {:.1} MH/s", d.name, d.rate_5s / 1e6);
//! }
//! # Ok::<(), hashrig::Error>(())
//! ```

mod device;
mod stats;

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[cfg(feature = "gpu")]
pub use device::GpuWorker;
pub use device::{CpuDevice, Device, DeviceDetails, DeviceKind, Found};
pub use stats::{DeviceState, DeviceStats};

use crate::search::verify_candidate;
use crate::{CancelToken, CpuKernel, Error, Job, NonceRange, Solution, Target};
use stats::Meter;

/// Identifies a submitted job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// Supplies the next job when one's nonce space is used up, for example
/// the same block with the extranonce, the time or the version bits
/// rolled. Called on an engine thread with the engine's lock held: it must
/// not call back into the engine.
pub trait JobSource: Send {
    /// The job after `done`, or `None` to stop.
    fn next_job(&mut self, done: &Job) -> Option<Job>;
}

impl<F: FnMut(&Job) -> Option<Job> + Send> JobSource for F {
    fn next_job(&mut self, done: &Job) -> Option<Job> {
        self(done)
    }
}

/// A header job source that adds one second to the header's time field:
/// what `hashrig bench` and `hashrig mine` roll when 2^32 nonces run out.
/// It gives no next job for generic jobs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RollTime;

impl JobSource for RollTime {
    fn next_job(&mut self, done: &Job) -> Option<Job> {
        match done {
            Job::Header(j) => {
                let mut next = j.clone();
                next.header.time = next.header.time.wrapping_add(1);
                Some(Job::Header(next))
            }
            Job::Generic(_) => None,
        }
    }
}

/// What to mine: a job, the part of its nonce space to search (all of it
/// by default), and optionally where the next job comes from.
pub struct Work {
    job: Job,
    range: Option<NonceRange>,
    source: Option<Box<dyn JobSource>>,
}

impl Work {
    /// The whole nonce space of `job`, stopping when it is searched.
    pub fn new(job: Job) -> Self {
        Work {
            job,
            range: None,
            source: None,
        }
    }

    /// Only `range` of the first job.
    pub fn range(mut self, range: NonceRange) -> Self {
        self.range = Some(range);
        self
    }

    /// When a job's range is used up, asks `source` for the next job (whose
    /// whole nonce space is then searched) instead of stopping.
    pub fn then(mut self, source: impl JobSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// A verified solution as the engine reports it.
#[derive(Clone, Debug)]
pub struct FoundSolution {
    /// The submitted job it belongs to.
    pub job: JobId,
    /// The exact job solved: the submitted one or one its source rolled.
    pub work: Arc<Job>,
    /// The nonce and its reference hash.
    pub solution: Solution,
    /// The device that found it.
    pub device: String,
    /// True when the job had already been replaced: the solution is
    /// reported for the record and must not be used as current.
    pub stale: bool,
}

/// What the engine reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// A verified solution.
    Solution(FoundSolution),
    /// Every nonce of the job (and of its source's jobs) has been searched.
    Exhausted(JobId),
    /// A device was taken out of service.
    DeviceFailed {
        /// The device.
        device: String,
        /// Why.
        reason: String,
    },
}

/// Whether the CPU hashes beside the GPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CpuUse {
    /// Only when no GPU is usable.
    #[default]
    Auto,
    /// Always.
    On,
    /// Never (an engine with no GPU then has no device and fails to start).
    Off,
}

/// How an engine is built.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Whether the CPU hashes.
    pub cpu: CpuUse,
    /// CPU hashing threads; by default every core, or every core but one
    /// when GPUs run too (that core verifies results and feeds the GPUs).
    pub cpu_threads: Option<usize>,
    /// The CPU kernel; the fastest by default.
    pub cpu_kernel: Option<CpuKernel>,
    /// Whether GPUs are used at all.
    pub gpus: bool,
    /// GPU selectors (index, part of the name, PCI bus id); empty for the
    /// automatic choice.
    pub devices: Vec<String>,
    /// The batch duration aimed at on GPUs.
    pub batch_time: Duration,
    /// Ignore cached GPU calibrations and measure again.
    pub recalibrate: bool,
    /// Proofs of work each device should find per second (they set each
    /// device's internal proof target).
    pub proofs_per_second: f64,
    /// Candidates failing verification after which a device is taken out.
    pub hardware_error_limit: u64,
    /// How long a range may take beyond twenty times its expected time
    /// before its device counts as hung.
    pub watchdog: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            cpu: CpuUse::Auto,
            cpu_threads: None,
            cpu_kernel: None,
            gpus: true,
            devices: Vec::new(),
            batch_time: Duration::from_millis(20),
            recalibrate: false,
            proofs_per_second: 256.0,
            hardware_error_limit: 16,
            watchdog: Duration::from_secs(10),
        }
    }
}

/// A range handed to a device.
struct Task {
    id: JobId,
    seq: u64,
    job: Arc<Job>,
    proof: Job,
    chance: f64,
    range: NonceRange,
    cancel: CancelToken,
    started: Instant,
}

/// The current job and what is left of it.
struct Current {
    id: JobId,
    submitted: Instant,
    seq: u64,
    job: Arc<Job>,
    /// `[next, end)` is not yet handed out.
    next: u64,
    end: u128,
    /// Ranges given back (by failed, paused or cancelled devices).
    returned: Vec<(u64, Arc<Job>, NonceRange)>,
    source: Option<Box<dyn JobSource>>,
    outstanding: usize,
    exhausted_sent: bool,
    /// (seq, nonce) of every solution reported, so nothing is reported twice.
    reported: HashSet<(u64, u64)>,
}

impl Current {
    fn remaining(&self) -> u128 {
        self.end - self.next as u128
            + self
                .returned
                .iter()
                .map(|r| r.2.count as u128)
                .sum::<u128>()
    }
}

/// The range a device is searching, for the watchdog and for giving it
/// back if the device fails.
struct Running {
    id: JobId,
    seq: u64,
    job: Arc<Job>,
    range: NonceRange,
    started: Instant,
    expected: Duration,
}

struct DeviceSlot {
    name: String,
    kind: DeviceKind,
    details: DeviceDetails,
    /// Measured (or at first nominal) hashes per second.
    rate: f64,
    measured: bool,
    failed: Option<String>,
    running: Option<Running>,
    meter: Meter,
    job: Option<JobId>,
    job_switch: Option<Duration>,
    /// Ranges of the current job this device finished, given back if it
    /// turns out to drop solutions.
    done: Vec<(u64, Arc<Job>, NonceRange)>,
}

struct State {
    current: Option<Current>,
    paused: bool,
    stopping: bool,
    cancel: CancelToken,
    next_id: u64,
    devices: Vec<DeviceSlot>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    events: mpsc::Sender<Event>,
    options: EngineOptions,
}

/// Runs jobs on a set of devices. Thread-safe: share it behind an `Arc`.
/// Dropping it stops every device.
pub struct Engine {
    shared: Arc<Shared>,
    events: Mutex<mpsc::Receiver<Event>>,
    threads: Mutex<Vec<(usize, JoinHandle<()>)>>,
    watchdog: Mutex<Option<JoinHandle<()>>>,
    warnings: Vec<String>,
}

/// The chance that one hash meets `target`: (target + 1) / 2^256.
fn chance_of(target: &Target) -> f64 {
    let bytes = target.to_be_bytes();
    let mut x = 0.0f64;
    for b in bytes {
        x = x * 256.0 + b as f64;
    }
    ((x + 1.0) / 2f64.powi(256)).min(1.0)
}

/// The proof target for a device hashing at `rate`: about
/// `per_second` proofs a second, never harder than the job's target, and
/// at most 32 zero bits so that every kernel's 32-bit early exit is exact.
fn proof_target(job: &Job, rate: f64, per_second: f64) -> Target {
    let bits = (rate / per_second.max(1e-3)).max(2.0).log2().floor() as u32;
    let internal = Target::from_leading_zero_bits(bits.clamp(1, 32)).expect("at most 32 bits");
    internal.max(*job.target())
}

impl Engine {
    /// Finds and opens the devices `options` asks for: the GPUs (with
    /// launch settings from the calibration cache, or calibrated now and
    /// cached; each self-tested first, and one that fails is left out with
    /// a warning) and the CPU. Fails when no device is left.
    pub fn start(options: EngineOptions) -> Result<Engine, Error> {
        let mut devices: Vec<Box<dyn Device>> = Vec::new();
        #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
        let mut warnings = Vec::new();
        #[cfg(feature = "gpu")]
        if options.gpus {
            let all = crate::gpu::adapters();
            for entry in crate::gpu::select(&all, &options.devices)? {
                let opened = crate::gpu::cached_or_calibrate(
                    &entry,
                    options.batch_time,
                    options.recalibrate,
                )
                .and_then(|(calibration, cache_warnings)| {
                    warnings.extend(cache_warnings);
                    let d = crate::gpu::GpuDevice::open(&entry, calibration.config)?;
                    d.self_test()?;
                    Ok(d)
                });
                match opened {
                    Ok(d) => devices.push(Box::new(GpuWorker::new(d))),
                    Err(e) => warnings.push(format!("leaving out {}: {e}", entry.label())),
                }
            }
        }
        let gpus = devices.len();
        let cpu = match options.cpu {
            CpuUse::On => true,
            CpuUse::Off => false,
            CpuUse::Auto => gpus == 0,
        };
        if cpu {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let threads = options.cpu_threads.unwrap_or(if gpus > 0 {
                cores.saturating_sub(1).max(1)
            } else {
                cores
            });
            devices.push(Box::new(CpuDevice::new(Some(threads), options.cpu_kernel)?));
        }
        if devices.is_empty() {
            return Err(Error::Device(
                "no device to hash on (no usable GPU and the CPU is off)".into(),
            ));
        }
        let mut engine = Engine::with_devices(devices, options)?;
        engine.warnings = warnings;
        Ok(engine)
    }

    /// An engine over the given devices (for example custom or simulated
    /// ones implementing [`Device`]).
    pub fn with_devices(
        devices: Vec<Box<dyn Device>>,
        options: EngineOptions,
    ) -> Result<Engine, Error> {
        if devices.is_empty() {
            return Err(Error::Device("an engine needs at least one device".into()));
        }
        let (tx, rx) = mpsc::channel();
        let slots = devices
            .iter()
            .map(|d| DeviceSlot {
                name: d.name(),
                kind: d.kind(),
                details: d.details(),
                rate: d.nominal_rate().max(1.0),
                measured: false,
                failed: None,
                running: None,
                meter: Meter::new(),
                job: None,
                job_switch: None,
                done: Vec::new(),
            })
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: None,
                paused: false,
                stopping: false,
                cancel: CancelToken::new(),
                next_id: 1,
                devices: slots,
            }),
            wake: Condvar::new(),
            events: tx,
            options,
        });
        let mut threads = Vec::new();
        for (index, device) in devices.into_iter().enumerate() {
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("hashrig-device-{index}"))
                .spawn(move || worker(shared, index, device))
                .map_err(|e| Error::Invalid(format!("cannot start a device thread: {e}")))?;
            threads.push((index, handle));
        }
        let watchdog = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("hashrig-watchdog".into())
                .spawn(move || watchdog(shared))
                .map_err(|e| Error::Invalid(format!("cannot start the watchdog: {e}")))?
        };
        Ok(Engine {
            shared,
            events: Mutex::new(rx),
            threads: Mutex::new(threads),
            watchdog: Mutex::new(Some(watchdog)),
            warnings: Vec::new(),
        })
    }

    /// Devices left out when the engine started, one line each.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Starts `work`, replacing the current job at once: every device
    /// leaves the old job within about one batch, and solutions of the old
    /// job found after this call are reported as stale.
    pub fn submit(&self, work: Work) -> Result<JobId, Error> {
        let range = match work.range {
            Some(r) => {
                r.check(&work.job)?;
                r
            }
            None => NonceRange::new(0, 0),
        };
        let end = if range.count == 0 {
            work.job.nonce_space()
        } else {
            range.start as u128 + range.count as u128
        };
        let mut st = self.lock();
        let id = JobId(st.next_id);
        st.next_id += 1;
        st.cancel.cancel();
        st.cancel = CancelToken::new();
        for d in &mut st.devices {
            d.done.clear();
        }
        st.current = Some(Current {
            id,
            submitted: Instant::now(),
            seq: 0,
            job: Arc::new(work.job),
            next: range.start,
            end,
            returned: Vec::new(),
            source: work.source,
            outstanding: 0,
            exhausted_sent: false,
            reported: HashSet::new(),
        });
        drop(st);
        self.shared.wake.notify_all();
        Ok(id)
    }

    /// Waits for the next event; `None` once the engine has stopped and
    /// every event is read.
    pub fn recv(&self) -> Option<Event> {
        let events = self.events.lock().expect("not poisoned");
        loop {
            match events.recv_timeout(Duration::from_millis(50)) {
                Ok(event) => return Some(event),
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.lock().stopping {
                        return None;
                    }
                }
            }
        }
    }

    /// Waits up to `timeout` for the next event.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events
            .lock()
            .expect("not poisoned")
            .recv_timeout(timeout)
            .ok()
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.lock().expect("not poisoned").try_recv().ok()
    }

    /// Every device's statistics, in the order the devices were given.
    pub fn stats(&self) -> Vec<DeviceStats> {
        let st = self.lock();
        st.devices
            .iter()
            .map(|d| {
                let state = if let Some(reason) = &d.failed {
                    DeviceState::Failed(reason.clone())
                } else if st.paused {
                    DeviceState::Paused
                } else if d.running.is_some() {
                    DeviceState::Hashing
                } else {
                    DeviceState::Idle
                };
                d.meter.stats(
                    d.name.clone(),
                    d.kind,
                    d.details.clone(),
                    state,
                    d.job,
                    d.job_switch,
                )
            })
            .collect()
    }

    /// Stops handing out work; devices leave their ranges within about one
    /// batch and the unfinished parts wait in the pool.
    pub fn pause(&self) {
        let mut st = self.lock();
        st.paused = true;
        st.cancel.cancel();
        st.cancel = CancelToken::new();
    }

    /// Continues after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.lock().paused = false;
        self.shared.wake.notify_all();
    }

    /// Stops every device and waits for them (a device that stopped
    /// answering is left behind). Called by `Drop`.
    pub fn stop(&self) {
        {
            let mut st = self.lock();
            st.stopping = true;
            st.cancel.cancel();
        }
        self.shared.wake.notify_all();
        let threads: Vec<(usize, JoinHandle<()>)> =
            std::mem::take(&mut *self.threads.lock().expect("not poisoned"));
        for (index, handle) in threads {
            let hung = self.lock().devices[index].failed.is_some() && !handle.is_finished();
            if !hung {
                let _ = handle.join();
            }
        }
        if let Some(w) = self.watchdog.lock().expect("not poisoned").take() {
            let _ = w.join();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().expect("not poisoned")
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    fn send(&self, event: Event) {
        // A dropped receiver only means nobody listens any more.
        let _ = self.events.send(event);
    }
}

/// Takes device `index` out of service and gives its running range back.
fn fail_device(shared: &Shared, st: &mut State, index: usize, reason: String) {
    let slot = &mut st.devices[index];
    if slot.failed.is_some() {
        return;
    }
    slot.failed = Some(reason.clone());
    let running = slot.running.take();
    let name = slot.name.clone();
    if let (Some(r), Some(cur)) = (running, st.current.as_mut()) {
        if cur.id == r.id {
            cur.returned.push((r.seq, r.job, r.range));
            cur.outstanding = cur.outstanding.saturating_sub(1);
        }
    }
    shared.send(Event::DeviceFailed {
        device: name,
        reason,
    });
    shared.wake.notify_all();
}

/// The next range for device `index`, waiting while there is none; `None`
/// when the engine stops or the device is out of service.
fn take_task(shared: &Shared, index: usize) -> Option<Task> {
    let mut st = shared.lock();
    loop {
        if st.stopping || st.devices[index].failed.is_some() {
            return None;
        }
        if !st.paused {
            if let Some(task) = carve(shared, &mut st, index) {
                return Some(task);
            }
        }
        st = shared.wake.wait(st).expect("not poisoned");
    }
}

/// Cuts a range for device `index` out of the current job, rolling to the
/// source's next job when the current one is used up.
fn carve(shared: &Shared, st: &mut State, index: usize) -> Option<Task> {
    let total_rate: f64 = st
        .devices
        .iter()
        .filter(|d| d.failed.is_none())
        .map(|d| d.rate)
        .sum();
    let batch_time = shared.options.batch_time.as_secs_f64();
    let dev = &st.devices[index];
    let rate = dev.rate;
    // Four batches once measured; one at first.
    let want = rate * if dev.measured { 4.0 } else { 1.0 } * batch_time;
    let cancel = st.cancel.clone();
    let cur = st.current.as_mut()?;
    if cur.remaining() == 0 {
        if let Some(source) = cur.source.as_mut() {
            if let Some(next) = source.next_job(&cur.job) {
                cur.seq += 1;
                cur.job = Arc::new(next);
                cur.next = 0;
                cur.end = cur.job.nonce_space();
            }
        }
    }
    // The share that lets every device finish together.
    let share = (cur.remaining() as f64 * rate / total_rate.max(1.0)).ceil();
    let size = want.min(share).max(1024.0) as u64;
    let (seq, job, range) = if let Some((seq, job, r)) = cur.returned.pop() {
        let count = r.count.min(size);
        if count < r.count {
            cur.returned.push((
                seq,
                job.clone(),
                NonceRange::new(r.start + count, r.count - count),
            ));
        }
        (seq, job, NonceRange::new(r.start, count))
    } else if (cur.next as u128) < cur.end {
        let count = (size as u128).min(cur.end - cur.next as u128) as u64;
        let r = NonceRange::new(cur.next, count);
        cur.next = cur.next.wrapping_add(count);
        if cur.next == 0 {
            // The 64-bit space ends exactly here.
            cur.end = 0;
        }
        (cur.seq, cur.job.clone(), r)
    } else {
        if cur.outstanding == 0 && !cur.exhausted_sent {
            cur.exhausted_sent = true;
            shared.send(Event::Exhausted(cur.id));
        }
        return None;
    };
    cur.outstanding += 1;
    let id = cur.id;
    let submitted = cur.submitted;
    let target = proof_target(&job, rate, shared.options.proofs_per_second);
    let now = Instant::now();
    let dev = &mut st.devices[index];
    if dev.job != Some(id) {
        dev.job = Some(id);
        dev.job_switch = Some(now.duration_since(submitted));
    }
    dev.running = Some(Running {
        id,
        seq,
        job: job.clone(),
        range,
        started: now,
        expected: Duration::from_secs_f64(range.count as f64 / rate),
    });
    dev.meter.started(now);
    Some(Task {
        id,
        seq,
        proof: job.with_target(target),
        chance: chance_of(&target),
        job,
        range,
        cancel,
        started: now,
    })
}

/// Books a finished range: statistics, verification of every candidate,
/// solutions, and the unsearched rest back to the pool.
fn finish(shared: &Shared, index: usize, task: Task, result: Result<Found, Error>) {
    let mut st = shared.lock();
    if st.devices[index].failed.is_some() {
        // The watchdog already gave this range away.
        return;
    }
    let found = match result {
        Ok(found) => found,
        Err(e) => {
            // Gives the running range back to the pool.
            fail_device(shared, &mut st, index, e.to_string());
            return;
        }
    };
    st.devices[index].running = None;
    let is_current = st.current.as_ref().is_some_and(|c| c.id == task.id);
    if is_current {
        let cur = st.current.as_mut().expect("current");
        cur.outstanding = cur.outstanding.saturating_sub(1);
    }
    let searched = found.searched.min(task.range.count);
    let elapsed = task.started.elapsed();
    if is_current && searched < task.range.count && !st.stopping {
        let rest = NonceRange::new(task.range.start + searched, task.range.count - searched);
        let cur = st.current.as_mut().expect("current");
        cur.returned.push((task.seq, task.job.clone(), rest));
    }
    let name = st.devices[index].name.clone();
    let dev = &mut st.devices[index];
    dev.meter.searched(searched, task.chance);
    if searched >= 4096 && elapsed > Duration::from_micros(200) {
        let measured = searched as f64 / elapsed.as_secs_f64();
        dev.rate = if dev.measured {
            0.5 * dev.rate + 0.5 * measured
        } else {
            measured
        };
        dev.measured = true;
    }
    if is_current && searched > 0 {
        dev.done.push((
            task.seq,
            task.job.clone(),
            NonceRange::new(task.range.start, searched),
        ));
    }
    let end = task.range.start as u128 + searched as u128;
    let mut solutions = Vec::new();
    for nonce in found.candidates {
        let dev = &mut st.devices[index];
        if !(task.range.start as u128..end).contains(&(nonce as u128)) {
            dev.meter.hardware_errors += 1;
            continue;
        }
        match verify_candidate(&task.proof, &name, nonce) {
            Ok(Some(proof)) => {
                dev.meter.proof(task.chance);
                if task.job.is_met_by(&proof.hash) {
                    solutions.push(proof);
                }
            }
            Ok(None) => {}
            Err(_) => dev.meter.hardware_errors += 1,
        }
    }
    for solution in solutions {
        let stale = !is_current;
        if let Some(cur) = st.current.as_mut().filter(|c| c.id == task.id) {
            if !cur.reported.insert((task.seq, solution.nonce)) {
                continue;
            }
        }
        let dev = &mut st.devices[index];
        if stale {
            dev.meter.stale += 1;
        } else {
            dev.meter.solutions += 1;
        }
        shared.send(Event::Solution(FoundSolution {
            job: task.id,
            work: task.job.clone(),
            solution,
            device: name.clone(),
            stale,
        }));
    }
    judge(shared, &mut st, index);
    shared.wake.notify_all();
}

/// Takes a device out of service when its hardware errors pass the limit,
/// or when it finds far fewer proofs than its claimed hashes imply (five
/// standard deviations below the expected count); the second case also
/// gives back every range of the current job it claimed to search.
fn judge(shared: &Shared, st: &mut State, index: usize) {
    let dev = &st.devices[index];
    let errors = dev.meter.hardware_errors;
    let expected = dev.meter.expected;
    let proofs = dev.meter.proofs as f64;
    if errors >= shared.options.hardware_error_limit {
        let reason = format!("{errors} candidates failed verification on the CPU");
        fail_device(shared, st, index, reason);
    } else if expected >= 50.0 && proofs < expected - 5.0 * expected.sqrt() {
        let reason = format!(
            "found {proofs} proofs of work where its hashes imply {expected:.0}: it misses results"
        );
        let done = std::mem::take(&mut st.devices[index].done);
        if let Some(cur) = st.current.as_mut() {
            cur.returned.extend(done);
        }
        fail_device(shared, st, index, reason);
    }
}

/// One device's thread.
fn worker(shared: Arc<Shared>, index: usize, mut device: Box<dyn Device>) {
    while let Some(task) = take_task(&shared, index) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            device.search(&task.proof, task.range, &task.cancel)
        }))
        .unwrap_or_else(|_| Err(Error::Device("the device panicked".into())));
        finish(&shared, index, task, result);
    }
}

/// Takes out of service any device whose range runs far past its expected
/// time (twenty times it, plus the `watchdog` allowance).
fn watchdog(shared: Arc<Shared>) {
    let tick =
        (shared.options.watchdog / 10).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let mut st = shared.lock();
    while !st.stopping {
        let now = Instant::now();
        let hung: Vec<(usize, Duration)> = st
            .devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.failed.is_none())
            .filter_map(|(i, d)| {
                let r = d.running.as_ref()?;
                let limit = r.expected * 20 + shared.options.watchdog;
                (now.duration_since(r.started) > limit).then_some((i, limit))
            })
            .collect();
        for (index, limit) in hung {
            let reason = format!(
                "stopped answering: a range took over {:.1} s",
                limit.as_secs_f64()
            );
            fail_device(&shared, &mut st, index, reason);
        }
        st = shared.wake.wait_timeout(st, tick).expect("not poisoned").0;
    }
}
