//! Compiling the kernel without running it: the pipeline of one form and
//! entry point, built on an adapter exactly as a device opening builds it
//! (the same module options, bind group layouts and workgroup size). On a
//! driver with no hardware behind it (RADV's null device, Mesa's no-op
//! kernel drivers) this is what makes the driver's compiler print its ISA.

use super::device::{build_pipeline, kernel_module, layouts};
use super::{AdapterEntry, KernelForm};
use crate::Error;

/// The kernel's entry points: Bitcoin headers and generic jobs.
pub const ENTRY_POINTS: [&str; 2] = ["search_header", "search_generic"];

/// Builds the pipeline of `entry_point` in `form` on `entry` and drops it.
/// Errors name what the driver or wgpu refused.
pub fn compile_pipeline(
    entry: &AdapterEntry,
    form: KernelForm,
    entry_point: &str,
    workgroup_size: u32,
) -> Result<(), Error> {
    let gpu_err = |reason: String| Error::Gpu {
        adapter: entry.label(),
        reason,
    };
    if !ENTRY_POINTS.contains(&entry_point) {
        return Err(gpu_err(format!("no entry point {entry_point:?}")));
    }
    let (device, _queue) = entry.request_device("hashrig kernel compile")?;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = kernel_module(&device, form.source(), true);
    let (header, generic) = layouts(&device);
    let layout = if entry_point == "search_header" {
        &header
    } else {
        &generic
    };
    // A generic job's nonce at the start of the message (the pipeline
    // constants' defaults).
    let _pipeline = build_pipeline(
        &device,
        &module,
        layout,
        entry_point,
        workgroup_size,
        (0, 0),
    );
    match pollster::block_on(scope.pop()) {
        Some(e) => Err(gpu_err(format!("pipeline creation failed: {e}"))),
        None => Ok(()),
    }
}
