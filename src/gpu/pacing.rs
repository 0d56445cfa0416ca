//! When the next batch goes and how big it is: the next batch is queued
//! `queue_lead` before the running one is expected to end (from the last
//! measured time per nonce), and the batch size moves towards 85% of the
//! batch time after every batch.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::batch::InFlight;
use super::GpuDevice;

/// Sleeps until `at`, waking every millisecond to see whether `cancelled`.
pub(super) fn wait_until(at: Instant, cancelled: &impl Fn() -> bool) {
    loop {
        let now = Instant::now();
        if now >= at || cancelled() {
            return;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(1)));
    }
}

impl GpuDevice {
    /// When the running batch is expected to end, from the last measured
    /// time per nonce (None before any was measured).
    pub(super) fn expected_end(
        &self,
        running: &InFlight,
        last_done: Option<Instant>,
        kernel: usize,
    ) -> Option<Instant> {
        let ns = f64::from_bits(self.per_nonce_ns[kernel].load(Ordering::Relaxed));
        if ns <= 0.0 || !ns.is_finite() {
            return None;
        }
        let expected = Duration::from_secs_f64((ns * running.count as f64 / 1e9).min(3600.0));
        Some(running.began(last_done) + expected)
    }

    /// Folds one batch's time per nonce (ns) into the running estimate and
    /// returns it. One batch alone can mislead: where two batches finish in
    /// one wait (or a backend runs the work inside its submit), one looks
    /// twice as long and the next free; the estimate follows their mean.
    pub(super) fn time_per_nonce(&self, kernel: usize, sample: f64) -> f64 {
        let old = f64::from_bits(self.per_nonce_ns[kernel].load(Ordering::Relaxed));
        let new = if old > 0.0 && old.is_finite() {
            0.7 * old + 0.3 * sample
        } else {
            sample
        };
        self.per_nonce_ns[kernel].store(new.to_bits(), Ordering::Relaxed);
        new
    }

    /// Moves the batch size towards 85% of `batch_time` at `ns_per_nonce`,
    /// by at most a factor of four from a batch of `count` nonces. The
    /// headroom keeps batches under `batch_time` through clock and load
    /// changes, so that the two batches in flight when a job is replaced
    /// finish within two batch times.
    pub(super) fn adapt_batch(&self, count: u32, ns_per_nonce: f64, granule: u32) {
        let target = 0.85 * self.config.batch_time.as_secs_f64() * 1e9;
        let count = f64::from(count.max(1));
        let want = (target / ns_per_nonce.max(1e-3)).clamp(count / 4.0, count * 4.0) as u64;
        let max = (u32::MAX / 2) as u64;
        let rounded = (want / granule as u64).max(1) * granule as u64;
        self.batch.store(rounded.min(max) as u32, Ordering::Relaxed);
    }
}
