//! AVX2 kernel: the lane-generic body on 8 lanes of `__m256i`. AVX2 has no
//! vector rotate, so each rotation is two shifts and an OR.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::lanes::{self, Lanes};

/// Eight 32-bit lanes. Only created inside the `#[target_feature]` functions
/// below, which run only after [`kernel`] detected AVX2.
#[derive(Clone, Copy)]
pub(super) struct U32x8(pub(super) __m256i);

/// Rotates every lane right by `R` bits (`L` = 32 - `R`).
macro_rules! ror {
    ($x:expr, $r:literal, $l:literal) => {
        _mm256_or_si256(_mm256_srli_epi32::<$r>($x), _mm256_slli_epi32::<$l>($x))
    };
}

#[inline(always)]
fn xor3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
    // SAFETY: only inlined into the AVX2 functions below (see `U32x8`).
    unsafe { _mm256_xor_si256(_mm256_xor_si256(a, b), c) }
}

// SAFETY (every `unsafe` block in this impl): the intrinsics need AVX2;
// values of `U32x8` exist only inside functions compiled with AVX2, reached
// after `kernel()` checked it at run time, and these methods are always
// inlined into them.
impl Lanes for U32x8 {
    const LANES: usize = 8;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x8(unsafe { _mm256_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn counting_from(start: u32) -> Self {
        unsafe {
            let steps = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            U32x8(_mm256_add_epi32(_mm256_set1_epi32(start as i32), steps))
        }
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        U32x8(unsafe { _mm256_add_epi32(self.0, other.0) })
    }
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        unsafe {
            let order = _mm256_setr_epi8(
                3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 3, 2, 1, 0, 7, 6, 5, 4, 11,
                10, 9, 8, 15, 14, 13, 12,
            );
            U32x8(_mm256_shuffle_epi8(self.0, order))
        }
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        let x = self.0;
        U32x8(unsafe { xor3(ror!(x, 2, 30), ror!(x, 13, 19), ror!(x, 22, 10)) })
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        let x = self.0;
        U32x8(unsafe { xor3(ror!(x, 6, 26), ror!(x, 11, 21), ror!(x, 25, 7)) })
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        let x = self.0;
        U32x8(unsafe { xor3(ror!(x, 7, 25), ror!(x, 18, 14), _mm256_srli_epi32::<3>(x)) })
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        let x = self.0;
        U32x8(unsafe { xor3(ror!(x, 17, 15), ror!(x, 19, 13), _mm256_srli_epi32::<10>(x)) })
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        // g ^ (e & (f ^ g)): three operations, no NOT.
        U32x8(unsafe {
            _mm256_xor_si256(g.0, _mm256_and_si256(self.0, _mm256_xor_si256(f.0, g.0)))
        })
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        // (a & b) | (c & (a | b))
        unsafe {
            let ab = _mm256_and_si256(self.0, b.0);
            U32x8(_mm256_or_si256(
                ab,
                _mm256_and_si256(c.0, _mm256_or_si256(self.0, b.0)),
            ))
        }
    }
    #[inline(always)]
    fn eq_mask(self, other: Self) -> u32 {
        unsafe {
            _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(self.0, other.0))) as u32
        }
    }
    #[inline(always)]
    fn swapped_le_mask(self, limit: u32) -> u32 {
        // x <= limit (unsigned) exactly when max(x, limit) == limit.
        unsafe {
            let limit = _mm256_set1_epi32(limit as i32);
            let top = _mm256_max_epu32(self.swap_bytes().0, limit);
            _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(top, limit))) as u32
        }
    }
    #[inline(always)]
    fn load(values: &[u32]) -> Self {
        assert!(values.len() >= 8);
        // SAFETY: the assert above keeps the 32-byte unaligned read in bounds.
        U32x8(unsafe { _mm256_loadu_si256(values.as_ptr().cast()) })
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        assert!(out.len() >= 8);
        // SAFETY: the assert above keeps the 32-byte unaligned write in bounds.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), self.0) }
    }
    #[inline(always)]
    fn fence(a: &mut Self, e: &mut Self) {
        // SAFETY: see the impl's comment; `fence_regs` needs only avx.
        unsafe { fence_regs(&mut a.0, &mut e.0) }
    }
}

/// [`Lanes::fence`] on two registers (a function of its own, since the
/// register class needs the target feature; it inlines into the kernels).
#[target_feature(enable = "avx")]
#[inline]
fn fence_regs(a: &mut __m256i, e: &mut __m256i) {
    // SAFETY: the template is a comment: it reads and writes nothing and
    // hands both registers back unchanged.
    unsafe {
        core::arch::asm!(
            "/* fence {0} {1} */",
            inout(ymm_reg) * a,
            inout(ymm_reg) * e,
            options(nomem, nostack, preserves_flags)
        );
    }
}

lanes::simd_kernel!(U32x8, "avx2", is_x86_feature_detected!("avx2"));
