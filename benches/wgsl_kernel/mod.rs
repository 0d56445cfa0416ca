//! A reference WGSL compute kernel of the benches' own on the adapter that
//! hashrig selected: entry point `main`, a uniform at binding 0 and a
//! storage buffer at binding 1 of group 0.

use std::time::{Duration, Instant};

use hashrig::gpu::AdapterEntry;

pub struct Kernel {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    bind: wgpu::BindGroup,
    params: wgpu::Buffer,
    out: wgpu::Buffer,
}

impl Kernel {
    /// Compiles `wgsl` on its own device, with a uniform of `params` bytes
    /// and a storage buffer of `out` bytes.
    pub fn new(entry: &AdapterEntry, label: &str, wgsl: &str, params: u64, out: u64) -> Kernel {
        let (device, queue) = entry.request_device(label).expect("device opens");
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(wgsl.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: params,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let out = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        Kernel {
            device,
            queue,
            pipeline,
            bind,
            params,
            out,
        }
    }

    /// Writes the uniform (little-endian words) for the dispatches after it.
    pub fn set_params(&self, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.queue.write_buffer(&self.params, 0, &bytes);
    }

    /// One dispatch of `workgroups` workgroups, after zeroing the storage
    /// buffer when `clear_out`, waited for; the time from submission to
    /// its end.
    pub fn dispatch(&self, workgroups: u32, clear_out: bool) -> Duration {
        let mut encoder = self.device.create_command_encoder(&Default::default());
        if clear_out {
            encoder.clear_buffer(&self.out, 0, None);
        }
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind, &[]);
            pass.dispatch_workgroups(workgroups, 1, 1);
        }
        let began = Instant::now();
        let index = self.queue.submit([encoder.finish()]);
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .expect("dispatch finishes");
        began.elapsed()
    }
}
