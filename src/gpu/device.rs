//! One GPU's long-lived context: device, queue, pipelines and the two
//! batch slots' buffers, built once when it is opened; its known-answer
//! test; a whole-range search (verified) and the raw scan.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::shader::{GenericUniform, HeaderUniform};
use super::{AdapterEntry, KernelForm, LaunchConfig, MAX_NONCES_PER_INVOCATION};
use crate::job::PreparedJob;
use crate::search::{verify_candidates, Found, NonceRange, SearchOptions, SearchReport};
use crate::{CpuKernel, Error, Header, HeaderJob, Job, Target};

/// Mainnet block 100,000's header, the GPU's known answer.
const BLOCK_100000_HEX: &str = "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b5710";

/// One batch's GPU buffers: two of these let the next batch be queued
/// while one runs.
pub(super) struct Slot {
    pub header_uniform: wgpu::Buffer,
    pub generic_uniform: wgpu::Buffer,
    pub results: wgpu::Buffer,
    pub staging: wgpu::Buffer,
    pub header_bind: wgpu::BindGroup,
}

/// A GPU ready to search: device, queue, pipelines and buffers, built once.
pub struct GpuDevice {
    name: String,
    /// The adapter's PCI bus id where the backend reports one.
    pci_bus_id: Option<String>,
    pub(super) config: LaunchConfig,
    /// The kernel form its pipelines were built from.
    form: KernelForm,
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) header_pipeline: wgpu::ComputePipeline,
    pub(super) module: wgpu::ShaderModule,
    /// Generic pipelines by the nonce's place in the message (word, byte:
    /// pipeline constants), each built on the first generic job with that
    /// layout: most devices only ever mine headers, and building a
    /// pipeline is the slow part of opening a device.
    pub(super) generic_pipelines: Mutex<Vec<((u32, u32), wgpu::ComputePipeline)>>,
    pub(super) generic_layout: wgpu::BindGroupLayout,
    pub(super) slots: [Slot; 2],
    /// The first uncaptured error or device loss, reported at the next batch.
    fault: Arc<Mutex<Option<String>>>,
    hardware_errors: AtomicU64,
    /// Nonces in the next batch.
    pub(super) batch: AtomicU32,
    /// Nonces per invocation.
    per: AtomicU32,
    /// The last measured time per nonce, in nanoseconds as f64 bits, of
    /// the header and the generic kernel (0: none yet).
    pub(super) per_nonce_ns: [AtomicU64; 2],
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

/// The generic pipelines a device keeps at most (a job stream with more
/// nonce layouts than this rebuilds the oldest).
const GENERIC_PIPELINES: usize = 8;

/// A compute pipeline for `entry_point` with the workgroup size set and,
/// for `search_generic`, the nonce's word and byte offset, and whether the
/// nonce's block is compressed apart.
pub(super) fn build_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::BindGroupLayout,
    entry_point: &str,
    workgroup_size: u32,
    nonce_place: (u32, u32),
    first_block_apart: bool,
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
            constants: &[
                ("WORKGROUP_SIZE", workgroup_size as f64),
                ("NONCE_WORD", nonce_place.0 as f64),
                ("NONCE_BYTE", nonce_place.1 as f64),
                ("FIRST_BLOCK_APART", f64::from(u8::from(first_block_apart))),
            ],
            ..Default::default()
        },
        cache: None,
    })
}

/// The kernel's shader module. `trusted` drops wgpu's runtime checks.
fn kernel_module(device: &wgpu::Device, source: &str, trusted: bool) -> wgpu::ShaderModule {
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some("sha256d.wgsl"),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    };
    if trusted {
        // SAFETY: `trusted` is set only for the built-in kernel forms,
        // which differ only in how they write Σ, σ and Ch. Their loops end
        // by their own bounds (`offset < last`, `i < per`, `j < blocks`),
        // it divides nothing, and its buffer indices stay in bounds:
        // candidate slots are written only below the capacity that
        // sizes `results` (capacity + 1 words, made when the device
        // opens), and block
        // words are read below blocks × 16, the length of the blocks
        // buffer that scan_checked_range makes for the same job.
        unsafe { device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked()) }
    } else {
        device.create_shader_module(desc)
    }
}

/// The bind group layouts of the header and the generic entry point.
fn layouts(device: &wgpu::Device) -> (wgpu::BindGroupLayout, wgpu::BindGroupLayout) {
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
    (header_layout, generic_layout)
}

impl GpuDevice {
    /// Opens the adapter and builds everything a search needs, from the
    /// kernel form `config.form` names (none: the form the adapter's
    /// compiler is known to want, [`KernelForm::preferred`]).
    ///
    /// The built-in kernel is compiled without wgpu's runtime checks (bounds
    /// checks on buffer indexing, forced loop bounds): its loops are bounded
    /// by their own conditions and every index it computes stays inside the
    /// buffers this module sizes for it. `HASHRIG_GPU_RUNTIME_CHECKS=1`
    /// turns the checks back on, to tell a driver fault from a kernel one.
    pub fn open(entry: &AdapterEntry, config: LaunchConfig) -> Result<Self, Error> {
        let checked = std::env::var("HASHRIG_GPU_RUNTIME_CHECKS").as_deref() == Ok("1");
        let form = config
            .form
            .unwrap_or_else(|| KernelForm::preferred_for(&entry.info));
        Self::open_inner(entry, config, form, form.source(), !checked)
    }

    /// [`open`](Self::open) with another WGSL source that has the same
    /// entry points and bindings: for measuring variants of the kernel (the
    /// benches compare ways of writing rotate and Ch this way). Such a
    /// source keeps every runtime check; `config.form` only labels it.
    #[cfg(feature = "internals")]
    pub fn open_with_source(
        entry: &AdapterEntry,
        config: LaunchConfig,
        source: &str,
    ) -> Result<Self, Error> {
        let form = config.form.unwrap_or(KernelForm::ConstantRotates);
        Self::open_inner(entry, config, form, source, false)
    }

    fn open_inner(
        entry: &AdapterEntry,
        mut config: LaunchConfig,
        form: KernelForm,
        source: &str,
        trusted: bool,
    ) -> Result<Self, Error> {
        if entry.info.backend == wgpu::Backend::Gl {
            // wgpu's OpenGL runs a batch's work inside its submit: waiting
            // for the running batch's expected end before queueing the next
            // would only idle the device for a whole batch. The next batch
            // goes at once (a replaced job still leaves within two batches).
            config.queue_lead = std::time::Duration::MAX;
        }
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
        let module = kernel_module(&device, source, trusted);
        let (header_layout, generic_layout) = layouts(&device);
        let header_pipeline = build_pipeline(
            &device,
            &module,
            &header_layout,
            "search_header",
            config.workgroup_size,
            (0, 0),
            true,
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
        // llvmpipe runs the generic kernel about 9% slower with the
        // nonce's block apart (docs/BENCHMARKS.md): a CPU has no scalar
        // unit to take the job's words.
        let first_block_apart = config
            .first_block_apart
            .unwrap_or_else(|| !super::adapters::is_software(&entry.info));
        Ok(GpuDevice {
            name,
            pci_bus_id: Some(entry.info.device_pci_bus_id.clone()).filter(|id| !id.is_empty()),
            config: LaunchConfig {
                form: Some(form),
                first_block_apart: Some(first_block_apart),
                ..config
            },
            form,
            device,
            queue,
            header_pipeline,
            module,
            generic_pipelines: Mutex::new(Vec::new()),
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

    /// Known answer: a real mainnet block (100,000) at an easy target (10
    /// zero bits), searched over 200,000 nonces around its real nonce,
    /// must give exactly the CPU's solution set with no hardware error.
    pub fn self_test(&self) -> Result<(), Error> {
        let header = Header::from_hex(BLOCK_100000_HEX)?;
        let job = Job::from(HeaderJob::new(header, Target::from_leading_zero_bits(10)?));
        let range = NonceRange::new(u64::from(header.nonce) - 100_000, 200_000);
        let want = crate::search(&job, range, &SearchOptions::default())?;
        let errors_before = self.hardware_errors();
        let got = self.search(&job, range, &SearchOptions::default())?;
        let errors = self.hardware_errors() - errors_before;
        if got.solutions != want.solutions || errors != 0 {
            return Err(Error::SelfTest {
                device: self.name.clone(),
                reason: format!(
                    "found {} solutions ({errors} hardware errors), the CPU {}",
                    got.solutions.len(),
                    want.solutions.len()
                ),
            });
        }
        Ok(())
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

    /// The launch settings (with the form it was opened with).
    pub fn config(&self) -> LaunchConfig {
        self.config
    }

    /// The kernel form its pipelines were built from.
    pub fn form(&self) -> KernelForm {
        self.form
    }

    /// Whether its generic pipelines compress the nonce's own block apart
    /// ([`LaunchConfig::first_block_apart`], decided when it was opened).
    pub fn first_block_apart(&self) -> bool {
        self.config.first_block_apart != Some(false)
    }

    /// The generic pipeline for a nonce at `place` (word, byte offset),
    /// built now if this layout has not been seen.
    pub(super) fn generic_pipeline(&self, place: (u32, u32)) -> wgpu::ComputePipeline {
        let mut built = self.generic_pipelines.lock().expect("not poisoned");
        if let Some((_, p)) = built.iter().find(|(k, _)| *k == place) {
            return p.clone();
        }
        let pipeline = build_pipeline(
            &self.device,
            &self.module,
            &self.generic_layout,
            "search_generic",
            self.config.workgroup_size,
            place,
            self.first_block_apart(),
        );
        if built.len() >= GENERIC_PIPELINES {
            built.remove(0);
        }
        built.push((place, pipeline.clone()));
        pipeline
    }

    /// Candidates that failed CPU verification since the device was opened.
    pub fn hardware_errors(&self) -> u64 {
        self.hardware_errors.load(Ordering::Relaxed)
    }

    pub(super) fn error(&self, reason: impl Into<String>) -> Error {
        Error::Gpu {
            adapter: self.name.clone(),
            reason: reason.into(),
        }
    }

    pub(super) fn check_fault(&self) -> Result<(), Error> {
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

    /// Waits for a batch and reads its candidate count and offsets. The
    /// returned vector is longer than the capacity when the buffer overflowed
    /// (its extra entries are zero).
    pub(super) fn read_results(
        &self,
        slot: &Slot,
        index: wgpu::SubmissionIndex,
    ) -> Result<Vec<u32>, Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_100000_is_a_real_block() {
        let header = Header::from_hex(BLOCK_100000_HEX).unwrap();
        assert_eq!(
            header.block_hash().to_string(),
            "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506"
        );
    }
}
