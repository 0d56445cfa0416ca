//! The engine's threads: one per device, taking ranges, searching them
//! and booking the results, and opening a failed device again after a
//! backoff; and the watchdog that takes out a device whose range has run
//! far past its expected time.

use crate::DeviceError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::device::Device;
use super::ledger::{fail_device, finish, take_task, Baseline, Shared};
use super::work::Event;
use crate::Error;

/// One device's thread.
pub(super) fn worker(shared: Arc<Shared>, index: usize, mut device: Box<dyn Device>) {
    loop {
        while let Some(task) = take_task(&shared, index) {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run(&mut *device)))
                    .unwrap_or_else(|_| Err(Error::Device(DeviceError::Panicked)));
            finish(&shared, index, task, result);
        }
        // Stopping, or out of service: back to work only if it recovers.
        if !recover(&shared, index, &mut *device) {
            return;
        }
    }
}

/// Opens a failed device again after a backoff (doubling each time), until
/// it passes or the attempts run out; whether it is back at work.
fn recover(shared: &Shared, index: usize, device: &mut dyn Device) -> bool {
    loop {
        let mut st = shared.lock();
        let slot = &st.devices[index];
        if st.stopping || !slot.recovering {
            return false;
        }
        let wait = shared
            .options
            .recovery_backoff
            .saturating_mul(1 << slot.attempts.min(16));
        let until = Instant::now() + wait;
        while !st.stopping && Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            st = shared.wake.wait_timeout(st, left).expect("not poisoned").0;
        }
        if st.stopping {
            return false;
        }
        drop(st);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| device.recover()))
            .unwrap_or_else(|_| Err(Error::Device(DeviceError::Panicked)));
        let mut st = shared.lock();
        let limit = shared.options.recovery_attempts;
        let slot = &mut st.devices[index];
        slot.attempts += 1;
        let attempt = slot.attempts;
        let name = slot.name.clone();
        match result {
            Ok(()) => {
                slot.failed = None;
                slot.recovering = false;
                slot.recoveries += 1;
                slot.baseline = Baseline::of(&slot.meter);
                st.outbox.push(Event::DeviceRecovered {
                    device: name,
                    attempt,
                });
                shared.wake.notify_all();
                shared.release(st);
                return true;
            }
            Err(e) if attempt >= limit => {
                slot.recovering = false;
                let reason = format!("opened again {attempt} times, and failed each time: {e}");
                slot.failed = Some(reason.clone());
                st.outbox.push(Event::DeviceFailed {
                    device: name,
                    reason,
                });
                shared.release(st);
                return false;
            }
            Err(_) => {}
        }
    }
}

/// Takes out of service any device whose range runs far past its expected
/// time (twenty times it, plus the `watchdog` allowance).
pub(super) fn watchdog(shared: Arc<Shared>) {
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
                let limit = d.running.as_ref()?.overdue(now, shared.options.watchdog)?;
                Some((i, limit))
            })
            .collect();
        for (index, limit) in hung {
            let reason = format!(
                "stopped answering: a range took over {:.1} s",
                limit.as_secs_f64()
            );
            fail_device(&shared, &mut st, index, reason);
        }
        if !st.outbox.is_empty() {
            shared.release(st);
            st = shared.lock();
        }
        st = shared.wake.wait_timeout(st, tick).expect("not poisoned").0;
    }
}
