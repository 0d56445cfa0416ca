//! The portable fast kernel: the lane-generic body of `lanes.rs` on plain
//! `u32`, one nonce at a time, with every shortcut the SIMD kernels take.
//! It serves CPUs with none of the vector or SHA extensions.

use super::{lanes, KernelFns};
use crate::job::HeaderWork;

fn scan_header(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    lanes::scan_header::<u32>(work, start, count, out)
}

fn compress_many(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
    lanes::compress_many::<u32>(states, blocks)
}

/// The scalar kernel; available everywhere.
pub(super) fn kernel() -> KernelFns {
    KernelFns {
        scan_header,
        compress_many,
    }
}
