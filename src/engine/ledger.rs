//! The engine's bookkeeping of the nonce space: which ranges of the current
//! job are handed out (leases), which came back unfinished, and what each
//! device finished; carving a range for a device, booking its result
//! (candidates judged once, on the reference), judging a device by its
//! errors and proofs, and the watchdog that takes hung devices out.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::delivery::Delivery;
use super::device::{Device, DeviceDetails, DeviceKind};
use super::options::EngineOptions;
use super::stats::{DeviceState, DeviceStats, LatencyHistogram, Meter};
use super::work::{Event, FoundSolution, JobId, JobSource};
use crate::search::verify_candidates;
use crate::{CancelToken, Error, Found, NonceRange, PreparedJob, Target};

/// A range of one job in the job's sequence (the submitted job is 0, each
/// job its source rolls the next), as handed to a device or given back.
#[derive(Clone, Debug)]
pub(super) struct Lease {
    pub seq: u64,
    pub job: Arc<PreparedJob>,
    pub range: NonceRange,
}

impl Lease {
    /// The same job and sequence over another range.
    fn with_range(&self, range: NonceRange) -> Lease {
        Lease {
            seq: self.seq,
            job: self.job.clone(),
            range,
        }
    }
}

/// A lease handed to a device, with what it searches for.
pub(super) struct Task {
    id: JobId,
    lease: Lease,
    /// The lease's job at the device's proof target.
    proof: PreparedJob,
    chance: f64,
    cancel: CancelToken,
    started: Instant,
}

impl Task {
    /// Searches the task's range on `device`.
    pub fn run(&self, device: &mut dyn Device) -> Result<Found, Error> {
        device.search(&self.proof, self.lease.range, &self.cancel)
    }
}

/// The current job and what is left of it.
pub(super) struct Current {
    pub id: JobId,
    pub submitted: Instant,
    pub seq: u64,
    pub job: Arc<PreparedJob>,
    /// `[next, end)` is not yet handed out.
    pub next: u128,
    pub end: u128,
    /// Leases given back (by failed, paused or cancelled devices).
    pub returned: Vec<Lease>,
    pub source: Option<Box<dyn JobSource>>,
    pub outstanding: usize,
    pub exhausted_sent: bool,
    /// (seq, nonce) of every solution reported, so nothing is reported twice.
    pub reported: HashSet<(u64, u64)>,
}

impl Current {
    /// A job just submitted, to be searched over `[start, end)`.
    pub fn new(
        id: JobId,
        job: PreparedJob,
        (start, end): (u64, u128),
        source: Option<Box<dyn JobSource>>,
    ) -> Self {
        Current {
            id,
            submitted: Instant::now(),
            seq: 0,
            job: Arc::new(job),
            next: start as u128,
            end,
            returned: Vec::new(),
            source,
            outstanding: 0,
            exhausted_sent: false,
            reported: HashSet::new(),
        }
    }

    fn remaining(&self) -> u128 {
        self.end - self.next
            + self
                .returned
                .iter()
                .map(|l| l.range.count as u128)
                .sum::<u128>()
    }

    /// Cuts up to `size` nonces: from the ranges given back first, then
    /// from the part not yet handed out.
    fn cut(&mut self, size: u64) -> Option<Lease> {
        if let Some(back) = self.returned.pop() {
            let count = back.range.count.min(size);
            if let Some(rest) = back.range.after(count) {
                self.returned.push(back.with_range(rest));
            }
            return Some(back.with_range(back.range.prefix(count)));
        }
        if self.next >= self.end {
            return None;
        }
        let count = (size as u128).min(self.end - self.next) as u64;
        let range = NonceRange::new(self.next as u64, count);
        self.next += count as u128;
        Some(Lease {
            seq: self.seq,
            job: self.job.clone(),
            range,
        })
    }
}

/// The lease a device is searching, for the watchdog and for giving it
/// back if the device fails.
pub(super) struct Running {
    id: JobId,
    lease: Lease,
    started: Instant,
    expected: Duration,
    /// Stops this range alone (a held device) or with every other one.
    cancel: CancelToken,
}

impl Running {
    /// Asks the device to leave this range.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The time it was allowed, if it has run past it: twenty times its
    /// expected time and `grace` more.
    pub fn overdue(&self, now: Instant, grace: Duration) -> Option<Duration> {
        let limit = self.expected * 20 + grace;
        (now.duration_since(self.started) > limit).then_some(limit)
    }
}

pub(super) struct DeviceSlot {
    pub name: String,
    pub kind: DeviceKind,
    pub details: DeviceDetails,
    /// Measured (or at first nominal) hashes per second.
    rate: f64,
    measured: bool,
    pub failed: Option<String>,
    /// Why the device is held out of the work (heat, an operator), if it is.
    pub held: Option<String>,
    pub running: Option<Running>,
    pub meter: Meter,
    pub job: Option<JobId>,
    pub job_switch: Option<Duration>,
    /// Leases of the current job this device finished, given back if it
    /// turns out to drop solutions.
    pub done: Vec<Lease>,
    /// Whether the device can be opened again after a failure.
    pub recoverable: bool,
    /// Set while a failed device waits to be opened again.
    pub recovering: bool,
    /// Attempts to open it again so far, and how many brought it back.
    pub attempts: u32,
    pub recoveries: u32,
    /// The meter's error and proof counts when it last came back: it is
    /// judged on what it did since.
    pub baseline: Baseline,
}

/// A device's error and proof counts at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Baseline {
    hardware_errors: u64,
    expected: f64,
    proofs: u64,
}

impl Baseline {
    pub fn of(meter: &Meter) -> Baseline {
        Baseline {
            hardware_errors: meter.hardware_errors,
            expected: meter.expected,
            proofs: meter.proofs,
        }
    }
}

impl DeviceSlot {
    pub fn new(device: &dyn Device) -> Self {
        DeviceSlot {
            name: device.name(),
            kind: device.kind(),
            details: device.details(),
            rate: device.nominal_rate().max(1.0),
            measured: false,
            failed: None,
            held: None,
            running: None,
            meter: Meter::new(),
            job: None,
            job_switch: None,
            done: Vec::new(),
            recoverable: device.recoverable(),
            recovering: false,
            attempts: 0,
            recoveries: 0,
            baseline: Baseline::default(),
        }
    }
}

pub(super) struct State {
    pub current: Option<Current>,
    /// Who holds the engine paused: it hashes only while nobody does.
    pub paused_by: [bool; 2],
    pub stopping: bool,
    pub next_id: u64,
    pub devices: Vec<DeviceSlot>,
    /// How long devices took to start on each new job.
    pub job_switches: LatencyHistogram,
    /// Events made under the lock, delivered once it is released.
    pub outbox: Vec<Event>,
}

impl State {
    /// Whether anybody holds the engine paused.
    pub fn paused(&self) -> bool {
        self.paused_by.iter().any(|&p| p)
    }

    /// Every device's statistics and state, in the engine's order.
    pub fn stats(&self) -> Vec<DeviceStats> {
        self.devices
            .iter()
            .map(|d| {
                let state = if let (Some(reason), true) = (&d.failed, d.recovering) {
                    DeviceState::Recovering(reason.clone())
                } else if let Some(reason) = &d.failed {
                    DeviceState::Failed(reason.clone())
                } else if let Some(reason) = &d.held {
                    DeviceState::Held(reason.clone())
                } else if self.paused() {
                    DeviceState::Paused
                } else if d.running.is_some() {
                    DeviceState::Hashing
                } else {
                    DeviceState::Idle
                };
                let mut stats = d.meter.stats(
                    d.name.clone(),
                    d.kind,
                    d.details.clone(),
                    state,
                    d.job,
                    d.job_switch,
                );
                stats.recovery_attempts = d.attempts;
                stats.recoveries = d.recoveries;
                stats
            })
            .collect()
    }
}

impl State {
    /// Asks every device to leave the range it is searching; the unsearched
    /// rest comes back to the pool (or is dropped, for a replaced job).
    pub fn cancel_running(&self) {
        for d in &self.devices {
            if let Some(r) = &d.running {
                r.cancel.cancel();
            }
        }
    }
}

pub(super) struct Shared {
    pub state: Mutex<State>,
    pub wake: Condvar,
    pub delivery: Delivery,
    pub options: EngineOptions,
}

/// The proof target for a device hashing at `rate`: about
/// `per_second` proofs a second, never harder than the job's target, and
/// at most 32 zero bits so that every kernel's 32-bit early exit is exact.
fn proof_target(job: &PreparedJob, rate: f64, per_second: f64) -> Target {
    let bits = (rate / per_second.max(1e-3)).max(2.0).log2().floor() as u32;
    let internal = Target::from_leading_zero_bits(bits.clamp(1, 32)).expect("at most 32 bits");
    internal.max(*job.target())
}

impl Shared {
    /// The shared state of an engine over devices with these slots, idle.
    pub fn new(devices: Vec<DeviceSlot>, options: EngineOptions) -> Shared {
        Shared {
            state: Mutex::new(State {
                current: None,
                paused_by: [false; 2],
                stopping: false,
                next_id: 1,
                devices,
                job_switches: LatencyHistogram::job_switches(),
                outbox: Vec::new(),
            }),
            wake: Condvar::new(),
            delivery: Delivery::new(),
            options,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }

    /// Releases the lock, then delivers the events made under it: the
    /// outbox is empty whenever the lock is free.
    pub fn release(&self, mut st: MutexGuard<'_, State>) {
        if st.outbox.is_empty() {
            return;
        }
        self.delivery.queue(std::mem::take(&mut st.outbox));
        drop(st);
        self.delivery.deliver();
    }
}

/// Takes device `index` out of service and gives its running range back.
pub(super) fn fail_device(shared: &Shared, st: &mut State, index: usize, reason: String) {
    let slot = &mut st.devices[index];
    if slot.failed.is_some() {
        return;
    }
    slot.failed = Some(reason.clone());
    slot.recovering = slot.recoverable && slot.attempts < shared.options.recovery_attempts;
    let running = slot.running.take();
    if let Some(r) = &running {
        // Its range goes to the others: should the device answer after all
        // (a hang that ends), it leaves the range instead of searching it.
        r.cancel();
    }
    let name = slot.name.clone();
    if let (Some(r), Some(cur)) = (running, st.current.as_mut()) {
        if cur.id == r.id {
            cur.returned.push(r.lease);
            cur.outstanding = cur.outstanding.saturating_sub(1);
        }
    }
    st.outbox.push(Event::DeviceFailed {
        device: name,
        reason,
    });
    shared.wake.notify_all();
}

/// The next range for device `index`, waiting while there is none; `None`
/// when the engine stops or the device is out of service.
pub(super) fn take_task(shared: &Shared, index: usize) -> Option<Task> {
    let mut st = shared.lock();
    loop {
        if st.stopping || st.devices[index].failed.is_some() {
            shared.release(st);
            return None;
        }
        if !st.paused() && st.devices[index].held.is_none() {
            if let Some(task) = carve(shared, &mut st, index) {
                shared.release(st);
                return Some(task);
            }
        }
        if !st.outbox.is_empty() {
            shared.release(st);
            st = shared.lock();
            continue;
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
        .filter(|d| d.failed.is_none() && d.held.is_none())
        .map(|d| d.rate)
        .sum();
    let batch_time = shared.options.batch_time.as_secs_f64();
    let dev = &st.devices[index];
    let (header_rate, measured) = (dev.rate, dev.measured);
    let cancel = CancelToken::new();
    let cur = st.current.as_mut()?;
    if cur.remaining() == 0 {
        if let Some(source) = cur.source.as_mut() {
            if let Some(next) = source.next_job(cur.job.job()) {
                let next = PreparedJob::new(next);
                cur.seq += 1;
                cur.next = 0;
                cur.end = next.nonce_space();
                cur.job = Arc::new(next);
            }
        }
    }
    // The device's rate on this job: rates are kept in header nonces.
    let rate = header_rate / cur.job.relative_cost();
    // Four batches once measured; one at first.
    let want = rate * if measured { 4.0 } else { 1.0 } * batch_time;
    // The share that lets every device finish together.
    let share = (cur.remaining() as f64 * header_rate / total_rate.max(1.0)).ceil();
    let size = want.min(share).max(1024.0) as u64;
    let Some(lease) = cur.cut(size) else {
        if cur.outstanding == 0 && !cur.exhausted_sent {
            cur.exhausted_sent = true;
            st.outbox.push(Event::Exhausted(cur.id));
        }
        return None;
    };
    cur.outstanding += 1;
    let id = cur.id;
    let submitted = cur.submitted;
    let target = proof_target(&lease.job, rate, shared.options.proofs_per_second);
    let now = Instant::now();
    let dev = &mut st.devices[index];
    if dev.job != Some(id) {
        let switch = now.duration_since(submitted);
        dev.job = Some(id);
        dev.job_switch = Some(switch);
        st.job_switches.observe(switch);
    }
    let dev = &mut st.devices[index];
    dev.running = Some(Running {
        id,
        lease: lease.clone(),
        started: now,
        expected: Duration::from_secs_f64(lease.range.count as f64 / rate),
        cancel: cancel.clone(),
    });
    dev.meter.started(now);
    Some(Task {
        id,
        proof: lease.job.with_target(target),
        chance: target.chance_per_hash(),
        lease,
        cancel,
        started: now,
    })
}

/// Books a finished range: statistics, verification of every candidate,
/// solutions, and the unsearched rest back to the pool.
pub(super) fn finish(shared: &Shared, index: usize, task: Task, result: Result<Found, Error>) {
    let lease = &task.lease;
    let elapsed = task.started.elapsed();
    // Judged before taking the lock: on an easy target there can be many
    // candidates, and nothing slow may hold up the other devices or the API.
    let judged = result.map(|found| {
        let searched = found.searched.min(lease.range.count);
        let done = lease.range.prefix(searched);
        (
            done,
            verify_candidates(&task.proof, done, &found.candidates),
        )
    });
    let mut st = shared.lock();
    if st.devices[index].failed.is_some() {
        // The watchdog already gave this range away.
        return;
    }
    let (done, verified) = match judged {
        Ok(judged) => judged,
        Err(e) => {
            // Gives the running range back to the pool.
            fail_device(shared, &mut st, index, e.to_string());
            shared.release(st);
            return;
        }
    };
    st.devices[index].running = None;
    let is_current = st.current.as_ref().is_some_and(|c| c.id == task.id);
    if is_current {
        let cur = st.current.as_mut().expect("current");
        cur.outstanding = cur.outstanding.saturating_sub(1);
    }
    let searched = done.count;
    if let (true, false, Some(rest)) = (is_current, st.stopping, lease.range.after(searched)) {
        let cur = st.current.as_mut().expect("current");
        cur.returned.push(lease.with_range(rest));
    }
    let name = st.devices[index].name.clone();
    let dev = &mut st.devices[index];
    dev.meter.searched(searched, task.chance);
    if searched >= 4096 && elapsed > Duration::from_micros(200) {
        let measured = searched as f64 * task.proof.relative_cost() / elapsed.as_secs_f64();
        dev.rate = if dev.measured {
            0.5 * dev.rate + 0.5 * measured
        } else {
            measured
        };
        dev.measured = true;
    }
    if is_current && searched > 0 {
        dev.done.push(lease.with_range(done));
    }
    dev.meter.hardware_errors += verified.wrong.len() as u64;
    for _ in &verified.solutions {
        dev.meter.proof(task.chance);
    }
    let solutions = verified
        .solutions
        .into_iter()
        .filter(|proof| lease.job.is_met_by(&proof.hash));
    for solution in solutions {
        let stale = !is_current;
        if let Some(cur) = st.current.as_mut().filter(|c| c.id == task.id) {
            if !cur.reported.insert((lease.seq, solution.nonce)) {
                continue;
            }
        }
        let dev = &mut st.devices[index];
        if stale {
            dev.meter.stale += 1;
        } else {
            dev.meter.solutions += 1;
        }
        st.outbox.push(Event::Solution(FoundSolution {
            job: task.id,
            work: lease.job.shared_job().clone(),
            solution,
            device: name.clone(),
            stale,
            found: Instant::now(),
        }));
    }
    judge(shared, &mut st, index);
    shared.wake.notify_all();
    shared.release(st);
}

/// Takes a device out of service when its hardware errors pass the limit,
/// or when it finds far fewer proofs than its claimed hashes imply (five
/// standard deviations below the expected count); the second case also
/// gives back every range of the current job it claimed to search.
fn judge(shared: &Shared, st: &mut State, index: usize) {
    let dev = &st.devices[index];
    let errors = dev.meter.hardware_errors - dev.baseline.hardware_errors;
    let expected = dev.meter.expected - dev.baseline.expected;
    let proofs = (dev.meter.proofs - dev.baseline.proofs) as f64;
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
