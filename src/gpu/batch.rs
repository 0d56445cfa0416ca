//! One batch: its bind groups, its uniform written, one dispatch encoded
//! and queued on one of the device's two slots, the results copied to the
//! slot's staging buffer for reading back.

use std::time::Instant;

use super::shader::{self, GenericUniform, HeaderUniform};
use super::GpuDevice;
use crate::job::{KernelWork, PreparedJob};

/// A batch on the device: its slot, its nonces, its submission and when
/// it was queued.
pub(super) struct InFlight {
    pub slot: usize,
    pub first: u64,
    pub count: u32,
    pub index: wgpu::SubmissionIndex,
    queued: Instant,
}

impl InFlight {
    /// When the batch started on the device: when it was queued, or when
    /// the batch before it finished (`last_done`) if that was later.
    pub fn began(&self, last_done: Option<Instant>) -> Instant {
        last_done.map_or(self.queued, |done| done.max(self.queued))
    }
}

/// What one batch of a job is: where in the job, how many nonces, how
/// many each invocation tests, and on which slot.
pub(super) struct Batch {
    pub slot: usize,
    pub first: u64,
    pub count: u32,
    pub per: u32,
}

impl GpuDevice {
    /// What each batch of `job` binds beside its slot's own buffers: for
    /// a generic job, one bind group per slot over the job's blocks (made
    /// once per scan); nothing for a header job.
    pub(super) fn generic_binds(&self, job: &PreparedJob) -> Vec<wgpu::BindGroup> {
        let KernelWork::Generic(work) = job.work() else {
            return Vec::new();
        };
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

    /// Encodes and queues `batch` of `job` (`generic_binds` from
    /// [`generic_binds`](Self::generic_binds)).
    pub(super) fn queue_batch(
        &self,
        job: &PreparedJob,
        generic_binds: &[wgpu::BindGroup],
        batch: Batch,
    ) -> InFlight {
        let Batch {
            slot: slot_index,
            first,
            count,
            per,
        } = batch;
        let wg = self.config.workgroup_size;
        let cap = self.config.result_capacity;
        let slot = &self.slots[slot_index];
        let invocations = count.div_ceil(per);
        let groups = invocations.div_ceil(wg);
        // The fewest rows under the per-dimension limit, split evenly.
        let gy = groups.div_ceil(65_535);
        let gx = groups.div_ceil(gy);
        let mut encoder = self
            .device
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
                    let first = u32::try_from(first).expect("a checked header range lies in 2^32");
                    let u = HeaderUniform::new(work, first, count, per, cap);
                    self.queue
                        .write_buffer(&slot.header_uniform, 0, bytemuck::bytes_of(&u));
                    pass.set_pipeline(&self.header_pipeline);
                    pass.set_bind_group(0, &slot.header_bind, &[]);
                }
                KernelWork::Generic(work) => {
                    let u = GenericUniform::new(work, first, count, per, cap);
                    self.queue
                        .write_buffer(&slot.generic_uniform, 0, bytemuck::bytes_of(&u));
                    pass.set_pipeline(&self.generic_pipeline((u.layout[1], u.layout[2])));
                    pass.set_bind_group(0, &generic_binds[slot_index], &[]);
                }
            }
            pass.dispatch_workgroups(gx, gy, 1);
        }
        encoder.copy_buffer_to_buffer(&slot.results, 0, &slot.staging, 0, slot.results.size());
        let commands = encoder.finish();
        // Before the submit: some backends (wgpu's OpenGL) run the work
        // inside it, and a batch timed from its return looks nearly free,
        // which made the batch size grow far past the batch time.
        let queued = Instant::now();
        let index = self.queue.submit([commands]);
        InFlight {
            slot: slot_index,
            first,
            count,
            index,
            queued,
        }
    }
}
