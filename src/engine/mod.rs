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

mod delivery;
mod device;
mod ledger;
mod options;
mod stats;
mod work;
mod worker;

use crate::DeviceError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// The CPU backend as a device (it lives in [`crate::cpu`]).
pub use crate::cpu::CpuDevice;
/// A GPU as a device (it lives in [`crate::gpu`]).
#[cfg(feature = "gpu")]
pub use crate::gpu::GpuWorker;
/// What a device reports for one range (also at the crate root).
pub use crate::Found;
pub use delivery::EVENT_QUEUE;
pub use device::{Device, DeviceDetails, DeviceKind};
pub use options::{CpuUse, EngineOptions, BATCH_TIMES};
pub use stats::{DeviceState, DeviceStats, LatencyHistogram};
pub use work::{Event, FoundSolution, JobId, JobSource, Pauser, RollTime, Work};

use crate::{Error, PreparedJob};
use ledger::{Current, DeviceSlot, Shared, State};

/// Runs jobs on a set of devices. Thread-safe: share it behind an `Arc`.
/// Dropping it stops every device.
pub struct Engine {
    shared: Arc<Shared>,
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
        options.validate()?;
        let mut devices: Vec<Box<dyn Device>> = Vec::new();
        #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
        let mut warnings = Vec::new();
        #[cfg(feature = "gpu")]
        if options.gpus {
            let opened = crate::gpu::open_selected(
                &options.devices,
                options.batch_time,
                options.recalibrate,
                options.kernel_form,
            )?;
            warnings = opened.warnings;
            for d in opened.devices {
                devices.push(Box::new(d));
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
            return Err(Error::NoDevice(format!(
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
        options.validate()?;
        if devices.is_empty() {
            return Err(DeviceError::NoDevices.into());
        }
        let slots = devices.iter().map(|d| DeviceSlot::new(&**d)).collect();
        let shared = Arc::new(Shared::new(slots, options));
        let spawn = |what: String, name: String, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(f)
                .map_err(|source| Error::Spawn { what, source })
        };
        let mut threads = Vec::new();
        for (index, device) in devices.into_iter().enumerate() {
            let shared = shared.clone();
            let handle = spawn(
                format!("the thread of device {index}"),
                format!("hashrig-device-{index}"),
                Box::new(move || worker::worker(shared, index, device)),
            )?;
            threads.push((index, handle));
        }
        let watchdog = {
            let shared = shared.clone();
            spawn(
                "the watchdog".into(),
                "hashrig-watchdog".into(),
                Box::new(move || worker::watchdog(shared)),
            )?
        };
        Ok(Engine {
            shared,
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
        let work::Parts {
            job,
            bounds,
            source,
        } = work.into_parts()?;
        // Prepared once, before the lock, and shared by every device.
        let job = PreparedJob::new(job);
        let mut st = self.lock();
        let id = JobId(st.next_id);
        st.next_id += 1;
        st.cancel_running();
        for d in &mut st.devices {
            d.done.clear();
        }
        st.current = Some(Current::new(id, job, bounds, source));
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
            if self.is_stopped() {
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
        self.shared.delivery.recv_timeout(timeout)
    }

    /// The next event if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.shared.delivery.try_recv()
    }

    /// Whether [`stop`](Self::stop) was called: no event comes after those
    /// already waiting.
    pub fn is_stopped(&self) -> bool {
        self.shared.delivery.is_stopped()
    }

    /// Every device's statistics, in the order the devices were given.
    pub fn stats(&self) -> Vec<DeviceStats> {
        self.lock().stats()
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
            .ok_or(DeviceError::NoSuchDevice { index, count })?;
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
            .ok_or(DeviceError::NoSuchDevice { index, count })?
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
            self.shared.delivery.stop();
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
