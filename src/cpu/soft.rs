//! The portable reference kernel: each nonce hashed with the plain FIPS 180-4
//! compression function, no shortcuts beyond the midstate. Every other
//! kernel is tested against this one.

use super::KernelFns;
use crate::job::HeaderWork;

fn scan_header(work: &HeaderWork, start: u32, count: u32, out: &mut Vec<u32>) {
    for i in 0..count {
        let nonce = start.wrapping_add(i);
        if work.passes_early_exit(work.reference_h7(nonce)) {
            out.push(nonce);
        }
    }
}

fn compress_many(states: &mut [[u32; 8]], blocks: &[[u32; 16]]) {
    for (state, block) in states.iter_mut().zip(blocks) {
        crate::sha256::compress(state, block);
    }
}

/// The reference kernel; available everywhere.
pub(super) fn kernel() -> KernelFns {
    KernelFns {
        scan_header,
        compress_many,
    }
}
