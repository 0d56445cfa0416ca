//! NEON kernel (AArch64 Advanced SIMD): the lane-generic body on 4 lanes of
//! `uint32x4_t`. A rotate is a shift left plus a shift-right-and-insert
//! (`vsri`), Ch is one bit select (`vbsl`) and Maj another on `b ^ c`.
//!
//! NEON is part of every AArch64 CPU; this kernel serves the ones without
//! the SHA2 extension (the Cortex-A72 of the Raspberry Pi 4, for one).

use core::arch::aarch64::*;

use super::lanes::{self, Lanes};

/// Four 32-bit lanes. Only created inside the `#[target_feature]` functions
/// below, which run only after [`kernel`] detected NEON.
#[derive(Clone, Copy)]
struct U32x4(uint32x4_t);

/// `x` rotated right by `R` bits; `L` must be `32 - R` (stable Rust cannot
/// compute one const argument from another).
#[inline(always)]
fn rotr<const R: i32, const L: i32>(x: uint32x4_t) -> uint32x4_t {
    debug_assert_eq!(R + L, 32);
    // SAFETY: NEON is enabled wherever this is inlined (see `Lanes` below).
    unsafe { vsriq_n_u32::<R>(vshlq_n_u32::<L>(x), x) }
}

// SAFETY (every `unsafe` block in this impl): the intrinsics need NEON;
// values of `U32x4` exist only inside functions compiled with it, reached
// after `kernel()` checked it at run time, and these methods are always
// inlined into them.
impl Lanes for U32x4 {
    const LANES: usize = 4;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x4(unsafe { vdupq_n_u32(x) })
    }
    #[inline(always)]
    fn counting_from(start: u32) -> Self {
        const STEPS: [u32; 4] = [0, 1, 2, 3];
        unsafe { U32x4(vaddq_u32(vdupq_n_u32(start), vld1q_u32(STEPS.as_ptr()))) }
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        U32x4(unsafe { vaddq_u32(self.0, other.0) })
    }
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        U32x4(unsafe { vreinterpretq_u32_u8(vrev32q_u8(vreinterpretq_u8_u32(self.0))) })
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        let x = self.0;
        U32x4(unsafe {
            veorq_u32(
                veorq_u32(rotr::<2, 30>(x), rotr::<13, 19>(x)),
                rotr::<22, 10>(x),
            )
        })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        let x = self.0;
        U32x4(unsafe {
            veorq_u32(
                veorq_u32(rotr::<6, 26>(x), rotr::<11, 21>(x)),
                rotr::<25, 7>(x),
            )
        })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        let x = self.0;
        U32x4(unsafe {
            veorq_u32(
                veorq_u32(rotr::<7, 25>(x), rotr::<18, 14>(x)),
                vshrq_n_u32::<3>(x),
            )
        })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        let x = self.0;
        U32x4(unsafe {
            veorq_u32(
                veorq_u32(rotr::<17, 15>(x), rotr::<19, 13>(x)),
                vshrq_n_u32::<10>(x),
            )
        })
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // Where e has a 1 take f, else g.
        U32x4(unsafe { vbslq_u32(self.0, f.0, g.0) })
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // Where b and c differ, a decides; where they agree, b.
        U32x4(unsafe { vbslq_u32(veorq_u32(b.0, c.0), self.0, b.0) })
    }
    #[inline(always)]
    fn eq_mask(self, other: Self) -> u32 {
        const BITS: [u32; 4] = [1, 2, 4, 8];
        unsafe {
            vaddvq_u32(vandq_u32(
                vceqq_u32(self.0, other.0),
                vld1q_u32(BITS.as_ptr()),
            ))
        }
    }
    #[inline(always)]
    fn swapped_le_mask(self, limit: u32) -> u32 {
        const BITS: [u32; 4] = [1, 2, 4, 8];
        unsafe {
            let le = vcleq_u32(self.swap_bytes().0, vdupq_n_u32(limit));
            vaddvq_u32(vandq_u32(le, vld1q_u32(BITS.as_ptr())))
        }
    }
    #[inline(always)]
    fn load(values: &[u32]) -> Self {
        assert!(values.len() >= 4);
        // SAFETY: the assert above keeps the 16-byte read in bounds.
        U32x4(unsafe { vld1q_u32(values.as_ptr()) })
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        assert!(out.len() >= 4);
        // SAFETY: the assert above keeps the 16-byte write in bounds.
        unsafe { vst1q_u32(out.as_mut_ptr(), self.0) }
    }
    #[inline(always)]
    fn fence(a: &mut Self, e: &mut Self) {
        // SAFETY: the template is a comment: it reads and writes nothing and
        // hands both registers back unchanged; NEON registers exist on every
        // AArch64 CPU.
        unsafe {
            core::arch::asm!(
                "/* fence {0:v} {1:v} */",
                inout(vreg) a.0,
                inout(vreg) e.0,
                options(nomem, nostack, preserves_flags)
            );
        }
    }
}

lanes::simd_kernel!(
    U32x4,
    "neon",
    std::arch::is_aarch64_feature_detected!("neon")
);
