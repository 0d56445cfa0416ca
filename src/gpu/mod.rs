//! The GPU backend: one long-lived context per device (pipelines and
//! buffers built once) and a batched nonce search that queues the next
//! batch shortly before the running one ends. `adapters` finds and selects
//! adapters on every backend, `calibrate` measures launch settings,
//! `shader` holds the WGSL source and its uniforms (and, in its tests,
//! their CPU twins), `cost` counts the kernel's operations per nonce.

mod adapters;
pub mod calibrate;
pub mod cost;
mod opening;
pub mod shader;
#[cfg(test)]
mod twin;
mod worker;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::job::{KernelWork, PreparedJob};
use crate::search::{verify_candidates, Found, NonceRange, SearchOptions, SearchReport};
use crate::{CpuKernel, Error, Job};
use shader::{GenericUniform, HeaderUniform, SHADER_SOURCE, WORKGROUP_SIZE};

pub use adapters::{adapters, backend_name, select, AdapterEntry};
pub use calibrate::{
    cache_path, cached_or_calibrate, calibrate, kernel_version, measure, sweep, Calibration,
    NONCES_PER_INVOCATION, WORKGROUP_SIZES,
};
pub use opening::{open_selected, Opened};
pub use worker::GpuWorker;

/// The most nonces one invocation tests.
pub const MAX_NONCES_PER_INVOCATION: u32 = 4096;

/// The most loop iterations one invocation runs, all loops together. Some
/// drivers cut an invocation short after a fixed number of them (llvmpipe
/// and lavapipe stop at 65,535, whatever the loops' conditions say), which
/// would hash shortened messages and miss solutions; this is half that.
/// The header kernel runs one iteration per nonce; the generic kernel one
/// per nonce and one per message block after the midstate, so a generic
/// job tests fewer nonces per invocation as its message grows, and one
/// with more blocks than this is searched on the CPU.
pub const LOOP_BUDGET: u32 = 1 << 15;

/// Launch settings of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    /// Invocations per workgroup (fixed when the pipelines are built).
    pub workgroup_size: u32,
    /// Nonces each invocation tests, from 1 to
    /// [`MAX_NONCES_PER_INVOCATION`] (a value outside is brought inside).
    pub nonces_per_invocation: u32,
    /// Nonces in the first dispatch; later ones adapt to `batch_time`.
    pub batch_nonces: u32,
    /// Candidate slots in the results buffer; a batch with more candidates
    /// is searched again on the CPU.
    pub result_capacity: u32,
    /// How long a batch may take before the device counts as hung.
    pub batch_timeout: Duration,
    /// The longest a batch should take: the batch size adapts after every
    /// batch so that a batch takes a little less (85%) than this. It bounds
    /// how soon a replaced job leaves the device and keeps clear of driver
    /// watchdogs.
    pub batch_time: Duration,
    /// How long before the running batch's expected end the next one is
    /// queued behind it: long enough to cover the host's turnaround, so
    /// that the device never waits, and short, so that a replaced job
    /// leaves the device soon after the running batch instead of after
    /// the whole batch queued behind it. A lead at least as long as a
    /// batch (`Duration::MAX`) queues at once: two batches always in flight.
    pub queue_lead: Duration,
}

impl Default for LaunchConfig {
    fn default() -> Self {
        LaunchConfig {
            workgroup_size: WORKGROUP_SIZE,
            nonces_per_invocation: 16,
            batch_nonces: 1 << 22,
            result_capacity: 1024,
            batch_timeout: Duration::from_secs(20),
            batch_time: Duration::from_millis(20),
            queue_lead: Duration::from_millis(4),
        }
    }
}

/// A batch on the device: its slot, its nonces, its submission and when
/// it was queued.
struct InFlight {
    slot: usize,
    first: u64,
    count: u32,
    index: wgpu::SubmissionIndex,
    queued: Instant,
}

impl InFlight {
    /// When the batch started on the device: when it was queued, or when
    /// the batch before it finished (`last_done`) if that was later.
    fn began(&self, last_done: Option<Instant>) -> Instant {
        last_done.map_or(self.queued, |done| done.max(self.queued))
    }
}

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

/// Sleeps until `at`, waking every millisecond to see whether `cancelled`.
fn wait_until(at: Instant, cancelled: &impl Fn() -> bool) {
    loop {
        let now = Instant::now();
        if now >= at || cancelled() {
            return;
        }
        std::thread::sleep((at - now).min(Duration::from_millis(1)));
    }
}

/// One batch's GPU buffers: two of these let the next batch be queued
/// while one runs.
struct Slot {
    header_uniform: wgpu::Buffer,
    generic_uniform: wgpu::Buffer,
    results: wgpu::Buffer,
    staging: wgpu::Buffer,
    header_bind: wgpu::BindGroup,
}

/// A GPU ready to search: device, queue, pipelines and buffers, built once.
pub struct GpuDevice {
    name: String,
    /// The adapter's PCI bus id where the backend reports one.
    pci_bus_id: Option<String>,
    config: LaunchConfig,
    device: wgpu::Device,
    queue: wgpu::Queue,
    header_pipeline: wgpu::ComputePipeline,
    module: wgpu::ShaderModule,
    /// Built on the first generic job: most devices only ever mine headers,
    /// and building a pipeline is the slow part of opening a device.
    generic_pipeline: std::sync::OnceLock<wgpu::ComputePipeline>,
    generic_layout: wgpu::BindGroupLayout,
    slots: [Slot; 2],
    /// The first uncaptured error or device loss, reported at the next batch.
    fault: Arc<Mutex<Option<String>>>,
    hardware_errors: AtomicU64,
    /// Nonces in the next batch.
    batch: AtomicU32,
    /// Nonces per invocation.
    per: AtomicU32,
    /// The last measured time per nonce, in nanoseconds as f64 bits, of
    /// the header and the generic kernel (0: none yet).
    per_nonce_ns: [AtomicU64; 2],
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A compute pipeline for `entry_point` with the workgroup size set.
fn build_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    entry_point: &str,
    workgroup_size: u32,
) -> wgpu::ComputePipeline {
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry_point),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry_point),
        layout: Some(&pipeline_layout),
        module,
        entry_point: Some(entry_point),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &[("WORKGROUP_SIZE", workgroup_size as f64)],
            ..Default::default()
        },
        cache: None,
    })
}

impl GpuDevice {
    /// Opens the adapter and builds everything a search needs.
    ///
    /// The built-in kernel is compiled without wgpu's runtime checks (bounds
    /// checks on buffer indexing, forced loop bounds): its loops are bounded
    /// by their own conditions and every index it computes stays inside the
    /// buffers this module sizes for it. `HASHRIG_GPU_RUNTIME_CHECKS=1`
    /// turns the checks back on, to tell a driver fault from a kernel one.
    pub fn open(entry: &AdapterEntry, config: LaunchConfig) -> Result<Self, Error> {
        let checked = std::env::var("HASHRIG_GPU_RUNTIME_CHECKS").as_deref() == Ok("1");
        Self::open_inner(entry, config, SHADER_SOURCE, !checked)
    }

    /// [`open`](Self::open) with another WGSL source that has the same
    /// entry points and bindings: for measuring variants of the kernel (the
    /// benches compare ways of writing rotate and Ch this way). Such a
    /// source keeps every runtime check.
    pub fn open_with_source(
        entry: &AdapterEntry,
        config: LaunchConfig,
        source: &str,
    ) -> Result<Self, Error> {
        Self::open_inner(entry, config, source, false)
    }

    fn open_inner(
        entry: &AdapterEntry,
        config: LaunchConfig,
        source: &str,
        trusted: bool,
    ) -> Result<Self, Error> {
        let name = entry.label();
        let gpu_err = |reason: String| Error::Gpu {
            adapter: name.clone(),
            reason,
        };
        let (device, queue) = entry.request_device("hashrig")?;
        let fault: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
        {
            let fault = fault.clone();
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                fault
                    .lock()
                    .expect("not poisoned")
                    .get_or_insert(e.to_string());
            }));
        }
        {
            let fault = fault.clone();
            device.set_device_lost_callback(move |reason, message| {
                fault
                    .lock()
                    .expect("not poisoned")
                    .get_or_insert(format!("device lost ({reason:?}): {message}"));
            });
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some("sha256d.wgsl"),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        };
        let module = if trusted {
            // SAFETY: `trusted` is set only for SHADER_SOURCE. Its loops end
            // by their own bounds (`offset < last`, `i < per`, `j < blocks`),
            // it divides nothing, and its buffer indices stay in bounds:
            // candidate slots are written only below the capacity that
            // sizes `results` (capacity + 1 words, made below), and block
            // words are read below blocks × 16, the length of the blocks
            // buffer that scan_checked_range makes for the same job.
            unsafe {
                device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
            }
        } else {
            device.create_shader_module(desc)
        };
        let header_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("header job"),
            entries: &[uniform_entry(0), storage_entry(1, false)],
        });
        let generic_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("generic job"),
            entries: &[
                uniform_entry(2),
                storage_entry(3, false),
                storage_entry(4, true),
            ],
        });
        let header_pipeline = build_pipeline(
            &device,
            &module,
            &header_layout,
            "search_header",
            config.workgroup_size,
        );
        let results_size = 4 * (1 + config.result_capacity as u64);
        let make_slot = |i: usize| {
            let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("{label} {i}")),
                    size,
                    usage,
                    mapped_at_creation: false,
                })
            };
            let header_uniform = buffer(
                "header uniform",
                std::mem::size_of::<HeaderUniform>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let generic_uniform = buffer(
                "generic uniform",
                std::mem::size_of::<GenericUniform>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let results = buffer(
                "results",
                results_size,
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            );
            let staging = buffer(
                "staging",
                results_size,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let header_bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("header job"),
                layout: &header_layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: header_uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: results.as_entire_binding(),
                    },
                ],
            });
            Slot {
                header_uniform,
                generic_uniform,
                results,
                staging,
                header_bind,
            }
        };
        let slots = [make_slot(0), make_slot(1)];
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_err(format!("pipeline creation failed: {e}")));
        }
        Ok(GpuDevice {
            name,
            pci_bus_id: Some(entry.info.device_pci_bus_id.clone()).filter(|id| !id.is_empty()),
            config,
            device,
            queue,
            header_pipeline,
            module,
            generic_pipeline: std::sync::OnceLock::new(),
            generic_layout,
            slots,
            fault,
            hardware_errors: AtomicU64::new(0),
            batch: AtomicU32::new(config.batch_nonces.max(1)),
            per: AtomicU32::new(
                config
                    .nonces_per_invocation
                    .clamp(1, MAX_NONCES_PER_INVOCATION),
            ),
            per_nonce_ns: [AtomicU64::new(0), AtomicU64::new(0)],
        })
    }

    /// Known answer: see [`crate::selftest::gpu`].
    pub fn self_test(&self) -> Result<(), Error> {
        crate::selftest::gpu(self)
    }

    /// The adapter's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The adapter's PCI bus id (`0000:03:00.0`) where the backend reports
    /// one: what device health matches sensors by.
    pub fn pci_bus_id(&self) -> Option<&str> {
        self.pci_bus_id.as_deref()
    }

    /// The launch settings.
    pub fn config(&self) -> LaunchConfig {
        self.config
    }

    /// Candidates that failed CPU verification since the device was opened.
    pub fn hardware_errors(&self) -> u64 {
        self.hardware_errors.load(Ordering::Relaxed)
    }

    fn error(&self, reason: impl Into<String>) -> Error {
        Error::Gpu {
            adapter: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn check_fault(&self) -> Result<(), Error> {
        match self.fault.lock().expect("not poisoned").clone() {
            Some(f) => Err(self.error(f)),
            None => Ok(()),
        }
    }

    /// Searches `range` of `job` and returns every verified solution (the
    /// lowest only with `stop_at_first`). Honours `cancel` and `progress`
    /// from `options`; `kernel` and `threads` there choose the CPU kernel
    /// used if a batch overflows the results buffer. Candidates that fail
    /// verification are counted in [`hardware_errors`](Self::hardware_errors)
    /// and never returned.
    pub fn search(
        &self,
        job: &Job,
        range: NonceRange,
        options: &SearchOptions,
    ) -> Result<SearchReport, Error> {
        let started = Instant::now();
        range.check(job)?;
        let job = PreparedJob::new(job.clone());
        let found = self.scan_checked_range(&job, range, options)?;
        let verified = verify_candidates(&job, range.prefix(found.searched), &found.candidates);
        self.hardware_errors
            .fetch_add(verified.wrong.len() as u64, Ordering::Relaxed);
        let mut solutions = verified.solutions;
        solutions.sort();
        solutions.dedup();
        if options.stop_at_first {
            solutions.truncate(1);
        }
        let cancelled = options.cancel.as_ref().is_some_and(|c| c.is_cancelled());
        Ok(SearchReport {
            solutions,
            hashes: found.searched,
            elapsed: started.elapsed(),
            cancelled,
            device: self.name.clone(),
            kernel: options.kernel.unwrap_or_else(CpuKernel::fastest),
            threads: 0,
        })
    }

    /// Nonces each invocation tests now.
    pub fn nonces_per_invocation(&self) -> u32 {
        self.per.load(Ordering::Relaxed).max(1)
    }

    /// Changes the nonces each invocation tests (a uniform value: no
    /// pipeline is rebuilt), from the next batch on.
    pub fn set_nonces_per_invocation(&self, per: u32) {
        self.per
            .store(per.clamp(1, MAX_NONCES_PER_INVOCATION), Ordering::Relaxed);
    }

    /// The nonces per batch now: the configured size at first, then
    /// adjusted after every batch towards `batch_time`.
    pub fn batch_nonces(&self) -> u32 {
        self.batch.load(Ordering::Relaxed)
    }

    /// The kernel's raw answer for `range`: every nonce it reports as
    /// passing the job's early exit (unverified and unchecked: a faulty
    /// device may even report nonces outside the range), in batch order, and how
    /// many nonces from `range.start` were searched (all of them unless
    /// cancelled; a batch is searched whole or not at all). A batch with
    /// more candidates than the results buffer holds is searched again on
    /// the CPU, whose verified solutions stand in for its candidates.
    pub fn scan(
        &self,
        job: &Job,
        range: NonceRange,
        options: &SearchOptions,
    ) -> Result<Found, Error> {
        range.check(job)?;
        self.scan_checked_range(&PreparedJob::new(job.clone()), range, options)
    }

    /// [`scan`](Self::scan) of a prepared job over a range already checked.
    pub(crate) fn scan_checked_range(
        &self,
        job: &PreparedJob,
        range: NonceRange,
        options: &SearchOptions,
    ) -> Result<Found, Error> {
        self.check_fault()?;
        let per = match job.work() {
            KernelWork::Header(_) => self.nonces_per_invocation(),
            KernelWork::Generic(work) => {
                // One loop iteration per nonce, and one per block after it.
                let fits = LOOP_BUDGET / u32::try_from(work.blocks.len() + 1).unwrap_or(u32::MAX);
                if fits == 0 {
                    return found_on_cpu(job, range, options);
                }
                self.nonces_per_invocation().min(fits)
            }
        };
        let wg = self.config.workgroup_size;
        let granule = per * wg;
        let cap = self.config.result_capacity;
        // What each batch binds: the header pipeline with the slot's own
        // bind group, or the generic one with bind groups over this job's
        // blocks, made once per scan.
        let generic_binds = match job.work() {
            KernelWork::Header(_) => Vec::new(),
            KernelWork::Generic(work) => {
                let words = shader::generic_blocks(work);
                let blocks = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("generic blocks"),
                    size: (words.len() * 4) as u64,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                self.queue
                    .write_buffer(&blocks, 0, bytemuck::cast_slice(&words));
                self.slots
                    .iter()
                    .map(|slot| {
                        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some("generic job"),
                            layout: &self.generic_layout,
                            entries: &[
                                wgpu::BindGroupEntry {
                                    binding: 2,
                                    resource: slot.generic_uniform.as_entire_binding(),
                                },
                                wgpu::BindGroupEntry {
                                    binding: 3,
                                    resource: slot.results.as_entire_binding(),
                                },
                                wgpu::BindGroupEntry {
                                    binding: 4,
                                    resource: blocks.as_entire_binding(),
                                },
                            ],
                        })
                    })
                    .collect()
            }
        };

        let cancelled = || options.cancel.as_ref().is_some_and(|c| c.is_cancelled());
        let kernel = match job.work() {
            KernelWork::Header(_) => 0,
            KernelWork::Generic(_) => 1,
        };
        let mut candidates: Vec<u64> = Vec::new();
        let mut searched = 0u64;
        let mut next = 0u64; // offset of the next batch to submit
        let mut in_flight: std::collections::VecDeque<InFlight> = Default::default();
        let mut slot_turn = 0usize;
        let mut stop = false;
        let mut last_done: Option<Instant> = None;
        loop {
            // The first batch goes at once; the next is queued behind the
            // running one `queue_lead` before that one is expected to end.
            while !stop && in_flight.len() < 2 && next < range.count && !cancelled() {
                if let Some(running) = in_flight.front() {
                    if let Some(end) = self.expected_end(running, last_done, kernel) {
                        let queue_at = end.checked_sub(self.config.queue_lead);
                        if let Some(at) = queue_at {
                            wait_until(at, &cancelled);
                        }
                        if cancelled() {
                            break;
                        }
                    }
                }
                let batch = self.batch_nonces().max(granule);
                let count = (range.count - next).min(batch as u64) as u32;
                let first = range.start + next;
                let slot_index = slot_turn % 2;
                slot_turn += 1;
                let slot = &self.slots[slot_index];
                let invocations = count.div_ceil(per);
                let groups = invocations.div_ceil(wg);
                // The fewest rows under the per-dimension limit, split evenly.
                let gy = groups.div_ceil(65_535);
                let gx = groups.div_ceil(gy);
                let mut encoder =
                    self.device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("batch"),
                        });
                encoder.clear_buffer(&slot.results, 0, Some(4));
                {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("search"),
                        timestamp_writes: None,
                    });
                    match job.work() {
                        KernelWork::Header(work) => {
                            let first =
                                u32::try_from(first).expect("a checked header range lies in 2^32");
                            let u = HeaderUniform::new(work, first, count, per, cap);
                            self.queue.write_buffer(
                                &slot.header_uniform,
                                0,
                                bytemuck::bytes_of(&u),
                            );
                            pass.set_pipeline(&self.header_pipeline);
                            pass.set_bind_group(0, &slot.header_bind, &[]);
                        }
                        KernelWork::Generic(work) => {
                            let u = GenericUniform::new(work, first, count, per, cap);
                            self.queue.write_buffer(
                                &slot.generic_uniform,
                                0,
                                bytemuck::bytes_of(&u),
                            );
                            pass.set_pipeline(self.generic_pipeline.get_or_init(|| {
                                build_pipeline(
                                    &self.device,
                                    &self.module,
                                    &self.generic_layout,
                                    "search_generic",
                                    self.config.workgroup_size,
                                )
                            }));
                            pass.set_bind_group(0, &generic_binds[slot_index], &[]);
                        }
                    }
                    pass.dispatch_workgroups(gx, gy, 1);
                }
                encoder.copy_buffer_to_buffer(
                    &slot.results,
                    0,
                    &slot.staging,
                    0,
                    slot.results.size(),
                );
                let index = self.queue.submit([encoder.finish()]);
                in_flight.push_back(InFlight {
                    slot: slot_index,
                    first,
                    count,
                    index,
                    queued: Instant::now(),
                });
                next += count as u64;
            }
            let Some(done) = in_flight.pop_front() else {
                break;
            };
            let (first, count, began) = (done.first, done.count, done.began(last_done));
            let offsets = self.read_results(&self.slots[done.slot], done.index)?;
            let now = Instant::now();
            let took = now - began;
            self.per_nonce_ns[kernel].store(
                (took.as_nanos() as f64 / count.max(1) as f64).to_bits(),
                Ordering::Relaxed,
            );
            if last_done.is_some() {
                self.adapt_batch(count, took, granule);
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
            if options.stop_at_first && !candidates.is_empty() {
                stop = true;
            }
            if cancelled() {
                stop = true;
            }
        }
        Ok(Found {
            candidates,
            searched,
        })
    }

    /// When the running batch is expected to end, from the last measured
    /// time per nonce (None before any was measured).
    fn expected_end(
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

    /// Moves the batch size towards 85% of `batch_time` after a batch of
    /// `count` nonces took `took`, by at most a factor of four a step. The
    /// headroom keeps batches under `batch_time` through clock and load
    /// changes, so that the two batches in flight when a job is replaced
    /// finish within two batch times.
    fn adapt_batch(&self, count: u32, took: Duration, granule: u32) {
        let target = 0.85 * self.config.batch_time.as_secs_f64();
        let ratio = (target / took.as_secs_f64().max(1e-6)).clamp(0.25, 4.0);
        let want = (count as f64 * ratio) as u64;
        let max = (u32::MAX / 2) as u64;
        let rounded = (want / granule as u64).max(1) * granule as u64;
        self.batch.store(rounded.min(max) as u32, Ordering::Relaxed);
    }

    /// Waits for a batch and reads its candidate count and offsets. The
    /// returned vector is longer than the capacity when the buffer overflowed
    /// (its extra entries are zero).
    fn read_results(&self, slot: &Slot, index: wgpu::SubmissionIndex) -> Result<Vec<u32>, Error> {
        let staging = slot.staging.slice(..);
        let mapped: Arc<Mutex<Option<Result<(), wgpu::BufferAsyncError>>>> =
            Arc::new(Mutex::new(None));
        {
            let mapped = mapped.clone();
            staging.map_async(wgpu::MapMode::Read, move |r| {
                *mapped.lock().expect("not poisoned") = Some(r)
            });
        }
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(self.config.batch_timeout),
        });
        self.check_fault()?;
        if let Err(e) = polled {
            return Err(self.error(format!("batch did not finish: {e}")));
        }
        match mapped.lock().expect("not poisoned").take() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(self.error(format!("reading results failed: {e}"))),
            None => return Err(self.error("results were not mapped after the batch finished")),
        }
        let words: Vec<u32> = {
            let view = staging
                .get_mapped_range()
                .map_err(|e| self.error(format!("reading results failed: {e}")))?;
            bytemuck::cast_slice(&view).to_vec()
        };
        slot.staging.unmap();
        let count = words[0] as usize;
        let cap = self.config.result_capacity as usize;
        let mut offsets: Vec<u32> = words[1..1 + count.min(cap)].to_vec();
        offsets.resize(count.max(offsets.len()), 0);
        Ok(offsets)
    }
}
