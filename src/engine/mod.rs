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
mod ledger;
mod stats;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// The CPU backend as a device (it lives in [`crate::cpu`]).
pub use crate::cpu::CpuDevice;
/// A GPU as a device (it lives in [`crate::gpu`]).
#[cfg(feature = "gpu")]
pub use crate::gpu::GpuWorker;
/// What a device reports for one range (also at the crate root).
pub use crate::Found;
pub use device::{Device, DeviceDetails, DeviceKind};
pub use stats::{DeviceState, DeviceStats, LatencyHistogram};

/// Who pauses an engine. Each holds its own pause; the devices hash only
/// while nobody does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pauser {
    /// Whoever runs the engine: [`Engine::pause`] and [`Engine::resume`]
    /// (the command line, the API's control, the C ABI).
    Operator = 0,
    /// A source of work that has none to give, such as a pool miner
    /// between jobs or without a usable pool.
    Source = 1,
}

use crate::{CpuKernel, Error, Job, NonceRange, PreparedJob, Solution};
use ledger::{Current, DeviceSlot, Shared, State};

/// Events the engine keeps for its reader; beyond them the devices wait.
pub const EVENT_QUEUE: usize = 4096;

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
    span: Span,
    source: Option<Box<dyn JobSource>>,
}

/// The part of the first job's nonce space that a [`Work`] searches.
#[derive(Clone, Copy, Debug)]
enum Span {
    /// Exactly these nonces.
    Range(NonceRange),
    /// From this nonce to the end of the nonce space.
    From(u64),
}

impl Work {
    /// The whole nonce space of `job`, stopping when it is searched.
    pub fn new(job: Job) -> Self {
        Work {
            job,
            span: Span::From(0),
            source: None,
        }
    }

    /// Only `range` of the first job.
    pub fn range(mut self, range: NonceRange) -> Self {
        self.span = Span::Range(range);
        self
    }

    /// The first job from nonce `start` to the end of its nonce space: what
    /// a search "with no count" means (usually followed by
    /// [`then(RollTime)`](Self::then) for a header).
    pub fn from_nonce(mut self, start: u64) -> Self {
        self.span = Span::From(start);
        self
    }

    /// Whether the span lies in the first job's nonce space: what
    /// [`Engine::submit`] checks first, for callers that want to know
    /// before they start an engine.
    pub fn check(&self) -> Result<(), Error> {
        self.bounds().map(|_| ())
    }

    /// `[start, end)` of the first job's nonce space, checked.
    fn bounds(&self) -> Result<(u64, u128), Error> {
        match self.span {
            Span::Range(r) => {
                r.check(&self.job)?;
                Ok((r.start, r.end()))
            }
            Span::From(start) if (start as u128) < self.job.nonce_space() => {
                Ok((start, self.job.nonce_space()))
            }
            Span::From(start) => Err(Error::Range(format!(
                "start {start} is past the end of the nonce space ({})",
                self.job.nonce_space()
            ))),
        }
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
    /// When the engine verified it and reported it.
    pub found: std::time::Instant,
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
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
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

/// Runs jobs on a set of devices. Thread-safe: share it behind an `Arc`.
/// Dropping it stops every device.
pub struct Engine {
    shared: Arc<Shared>,
    events: Mutex<mpsc::Receiver<Event>>,
    threads: Mutex<Vec<(usize, JoinHandle<()>)>>,
    watchdog: Mutex<Option<JoinHandle<()>>>,
    warnings: Vec<String>,
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
            let cores = crate::cpu::default_threads();
            let threads = options.cpu_threads.unwrap_or(if gpus > 0 {
                cores.saturating_sub(1).max(1)
            } else {
                cores
            });
            devices.push(Box::new(CpuDevice::new(Some(threads), options.cpu_kernel)?));
        }
        if devices.is_empty() {
            let why = if warnings.is_empty() {
                "no usable GPU adapter".to_string()
            } else {
                warnings.join("; ")
            };
            return Err(Error::NoGpu(format!(
                "{why} (software adapters such as llvmpipe are used only when named, \
                 as in --device llvmpipe or llvmpipe@gl)"
            )));
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
        let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
        let slots = devices.iter().map(|d| DeviceSlot::new(&**d)).collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                current: None,
                paused_by: [false; 2],
                stopping: false,
                next_id: 1,
                devices: slots,
                job_switches: LatencyHistogram::job_switches(),
                outbox: Vec::new(),
            }),
            wake: Condvar::new(),
            events: tx,
            overflow: Mutex::new(VecDeque::new()),
            queue: Mutex::new(VecDeque::new()),
            delivering: Mutex::new(()),
            stopping: AtomicBool::new(false),
            options,
        });
        let mut threads = Vec::new();
        for (index, device) in devices.into_iter().enumerate() {
            let shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("hashrig-device-{index}"))
                .spawn(move || ledger::worker(shared, index, device))
                .map_err(|e| Error::Invalid(format!("cannot start a device thread: {e}")))?;
            threads.push((index, handle));
        }
        let watchdog = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("hashrig-watchdog".into())
                .spawn(move || ledger::watchdog(shared))
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
        let bounds = work.bounds()?;
        // Prepared once, before the lock, and shared by every device.
        let job = PreparedJob::new(work.job);
        let mut st = self.lock();
        let id = JobId(st.next_id);
        st.next_id += 1;
        st.cancel_running();
        for d in &mut st.devices {
            d.done.clear();
        }
        st.current = Some(Current::new(id, job, bounds, work.source));
        drop(st);
        self.shared.wake.notify_all();
        Ok(id)
    }

    /// Waits for the next event; `None` once the engine has stopped and
    /// every event is read.
    pub fn recv(&self) -> Option<Event> {
        loop {
            if let Some(event) = self.recv_timeout(Duration::from_millis(50)) {
                return Some(event);
            }
            if self.shared.stopping.load(Ordering::Relaxed) {
                // What came in meanwhile, then nothing more.
                return self.try_recv();
            }
        }
    }

    /// Waits up to `timeout` for the next event; `None` when none came
    /// (see [`is_stopped`](Self::is_stopped) to tell a stopped engine).
    ///
    /// Events wait in a bounded queue: a reader slower than the devices
    /// makes the devices wait (no solution is dropped), so memory stays
    /// flat however easy the target.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        let events = self.events.lock().expect("not poisoned");
        match events.try_recv() {
            Ok(event) => return Some(event),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if let Some(event) = self.overflow() {
            return Some(event);
        }
        events
            .recv_timeout(timeout)
            .ok()
            .or_else(|| self.overflow())
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        let events = self.events.lock().expect("not poisoned");
        events.try_recv().ok().or_else(|| self.overflow())
    }

    /// Whether [`stop`](Self::stop) was called: no event comes after those
    /// already waiting.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopping.load(Ordering::Relaxed)
    }

    /// An event that found the queue full while the engine stopped.
    fn overflow(&self) -> Option<Event> {
        self.shared
            .overflow
            .lock()
            .expect("not poisoned")
            .pop_front()
    }

    /// Every device's statistics, in the order the devices were given.
    pub fn stats(&self) -> Vec<DeviceStats> {
        let st = self.lock();
        st.devices
            .iter()
            .map(|d| {
                let state = if let Some(reason) = &d.failed {
                    DeviceState::Failed(reason.clone())
                } else if let Some(reason) = &d.held {
                    DeviceState::Held(reason.clone())
                } else if st.paused() {
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
    /// batch and the unfinished parts wait for [`resume`](Self::resume).
    /// The operator's pause ([`Pauser::Operator`]).
    pub fn pause(&self) {
        self.pause_by(Pauser::Operator);
    }

    /// Continues after [`pause`](Self::pause), unless a work source still
    /// holds the engine paused.
    pub fn resume(&self) {
        self.resume_by(Pauser::Operator);
    }

    /// Pauses on behalf of `who`. The engine hashes only while nobody
    /// holds it paused, so a work source that resumes (a pool with a new
    /// job) does not undo the operator's pause, nor the other way round.
    pub fn pause_by(&self, who: Pauser) {
        let mut st = self.lock();
        st.paused_by[who as usize] = true;
        st.cancel_running();
    }

    /// Lifts `who`'s pause; hashing goes on once nobody holds one.
    pub fn resume_by(&self, who: Pauser) {
        let mut st = self.lock();
        st.paused_by[who as usize] = false;
        let go = !st.paused();
        drop(st);
        if go {
            self.shared.wake.notify_all();
        }
    }

    /// Whether anybody holds the engine paused.
    pub fn is_paused(&self) -> bool {
        self.lock().paused()
    }

    /// Whether `who` holds the engine paused.
    pub fn is_paused_by(&self, who: Pauser) -> bool {
        self.lock().paused_by[who as usize]
    }

    /// Holds device `index` (in [`stats`](Self::stats)' order) out of the
    /// work, for example while it is too hot: it leaves its range within
    /// about one batch, the other devices take the rest, and its state
    /// reads [`DeviceState::Held`] with `reason`. Holding a held device
    /// only updates the reason.
    pub fn hold(&self, index: usize, reason: impl Into<String>) -> Result<(), Error> {
        let mut st = self.lock();
        let count = st.devices.len();
        let dev = st
            .devices
            .get_mut(index)
            .ok_or_else(|| Error::Device(format!("no device {index} (there are {count})")))?;
        dev.held = Some(reason.into());
        if let Some(r) = &dev.running {
            r.cancel();
        }
        drop(st);
        self.shared.wake.notify_all();
        Ok(())
    }

    /// Puts a device held by [`hold`](Self::hold) back to work.
    pub fn release(&self, index: usize) -> Result<(), Error> {
        let mut st = self.lock();
        let count = st.devices.len();
        st.devices
            .get_mut(index)
            .ok_or_else(|| Error::Device(format!("no device {index} (there are {count})")))?
            .held = None;
        drop(st);
        self.shared.wake.notify_all();
        Ok(())
    }

    /// How long devices took to start on each new job after it was
    /// submitted, one observation per device and job.
    pub fn job_switches(&self) -> LatencyHistogram {
        self.lock().job_switches.clone()
    }

    /// Stops every device and waits for them (a device that stopped
    /// answering is left behind). Called by `Drop`.
    pub fn stop(&self) {
        {
            let mut st = self.lock();
            st.stopping = true;
            self.shared.stopping.store(true, Ordering::Relaxed);
            st.cancel_running();
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
        self.shared.lock()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}
