//! A range searched batch by batch: two batches in flight, the next queued
//! shortly before the running one ends, each read back, its time fed to
//! the pacing, and a batch with more candidates than the results buffer
//! holds (or a job the kernels cannot take) searched on the CPU instead.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::batch::{Batch, InFlight};
use super::pacing::wait_until;
use super::{GpuDevice, LOOP_BUDGET};
use crate::job::{KernelWork, PreparedJob};
use crate::search::{Found, NonceRange, SearchOptions};
use crate::Error;

/// A range searched on the CPU instead, its verified solutions standing in
/// for candidates (for what the kernels cannot take, or cannot report).
fn found_on_cpu(
    job: &PreparedJob,
    range: NonceRange,
    options: &SearchOptions,
) -> Result<Found, Error> {
    let report = crate::cpu::search_prepared(job, range, options)?;
    Ok(Found {
        candidates: report.solutions.iter().map(|s| s.nonce).collect(),
        searched: report.hashes,
    })
}

impl GpuDevice {
    /// Nonces per invocation for `job`, or `None` where the kernels cannot
    /// take it: a generic job runs one loop iteration per nonce and one
    /// per block after it, within [`LOOP_BUDGET`].
    fn nonces_per_invocation_for(&self, job: &PreparedJob) -> Option<u32> {
        match job.work() {
            KernelWork::Header(_) => Some(self.nonces_per_invocation()),
            KernelWork::Generic(work) => {
                let fits = LOOP_BUDGET / u32::try_from(work.blocks.len() + 1).unwrap_or(u32::MAX);
                (fits > 0).then(|| self.nonces_per_invocation().min(fits))
            }
        }
    }

    /// [`scan`](Self::scan) of a prepared job over a range already checked.
    pub(crate) fn scan_checked_range(
        &self,
        job: &PreparedJob,
        range: NonceRange,
        options: &SearchOptions,
    ) -> Result<Found, Error> {
        self.check_fault()?;
        let Some(per) = self.nonces_per_invocation_for(job) else {
            return found_on_cpu(job, range, options);
        };
        let granule = per * self.config.workgroup_size;
        let cap = self.config.result_capacity;
        let generic_binds = self.generic_binds(job);
        let cancelled = || options.cancel.as_ref().is_some_and(|c| c.is_cancelled());
        let kernel = match job.work() {
            KernelWork::Header(_) => 0,
            KernelWork::Generic(_) => 1,
        };
        let mut candidates: Vec<u64> = Vec::new();
        let mut searched = 0u64;
        let mut next = 0u64; // offset of the next batch to submit
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        let mut slot_turn = 0usize;
        let mut stop = false;
        let mut last_done: Option<Instant> = None;
        loop {
            // The first batch goes at once; the next is queued behind the
            // running one `queue_lead` before that one is expected to end.
            while !stop && in_flight.len() < 2 && next < range.count && !cancelled() {
                if let Some(running) = in_flight.front() {
                    if let Some(end) = self.expected_end(running, last_done, kernel) {
                        if let Some(at) = end.checked_sub(self.config.queue_lead) {
                            wait_until(at, &cancelled);
                        }
                        if cancelled() {
                            break;
                        }
                    }
                }
                let size = self.batch_nonces().max(granule);
                let count = (range.count - next).min(size as u64) as u32;
                let batch = Batch {
                    slot: slot_turn % 2,
                    first: range.start + next,
                    count,
                    per,
                };
                slot_turn += 1;
                in_flight.push_back(self.queue_batch(job, &generic_binds, batch));
                next += count as u64;
            }
            let Some(done) = in_flight.pop_front() else {
                break;
            };
            let (first, count, began) = (done.first, done.count, done.began(last_done));
            let offsets = self.read_results(&self.slots[done.slot], done.index)?;
            let now = Instant::now();
            let took = now - began;
            let ns = self.time_per_nonce(kernel, took.as_nanos() as f64 / count.max(1) as f64);
            if last_done.is_some() {
                self.adapt_batch(count, ns, granule);
            }
            last_done = Some(now);
            searched += count as u64;
            if let Some(p) = &options.progress {
                p.fetch_add(count as u64, Ordering::Relaxed);
            }
            if offsets.len() as u64 > cap as u64 {
                // More candidates than slots: search this batch again on the
                // CPU, whole (the GPU already counted it as searched).
                let cpu = SearchOptions {
                    kernel: options.kernel,
                    threads: options.threads,
                    ..Default::default()
                };
                let batch = NonceRange::new(first, count as u64);
                candidates.extend(found_on_cpu(job, batch, &cpu)?.candidates);
            } else {
                candidates.extend(offsets.iter().map(|&o| first.wrapping_add(o as u64)));
            }
            if (options.stop_at_first && !candidates.is_empty()) || cancelled() {
                stop = true;
            }
        }
        Ok(Found {
            candidates,
            searched,
        })
    }
}
