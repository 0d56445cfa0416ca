//! AVX-512 kernel: the lane-generic body on 16 lanes of `__m512i`, with
//! native rotates (`vprord`) and three-input logic (`vpternlogd`) for Σ, σ,
//! Ch and Maj.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::lanes::{self, Lanes};

/// Sixteen 32-bit lanes. Only created inside the `#[target_feature]`
/// functions below, which run only after [`kernel`] detected AVX-512F and BW.
#[derive(Clone, Copy)]
struct U32x16(__m512i);

/// Three-way XOR as a `vpternlogd` truth table.
pub(super) const XOR3: i32 = 0x96;
/// Ch(e, f, g) = e ? f : g.
pub(super) const CH: i32 = 0xca;
/// Maj(a, b, c): at least two of three.
pub(super) const MAJ: i32 = 0xe8;

// SAFETY (every `unsafe` block in this impl): the intrinsics need AVX-512F
// (and BW for the byte shuffle); values of `U32x16` exist only inside
// functions compiled with those features, reached after `kernel()` checked
// them at run time, and these methods are always inlined into them.
impl Lanes for U32x16 {
    const LANES: usize = 16;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x16(unsafe { _mm512_set1_epi32(x as i32) })
    }
    #[inline(always)]
    fn counting_from(start: u32) -> Self {
        unsafe {
            let steps = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            U32x16(_mm512_add_epi32(_mm512_set1_epi32(start as i32), steps))
        }
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        U32x16(unsafe { _mm512_add_epi32(self.0, other.0) })
    }
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        unsafe {
            let order = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
            U32x16(_mm512_shuffle_epi8(self.0, order))
        }
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        let x = self.0;
        unsafe {
            U32x16(_mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<2>(x),
                _mm512_ror_epi32::<13>(x),
                _mm512_ror_epi32::<22>(x),
            ))
        }
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        let x = self.0;
        unsafe {
            U32x16(_mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<6>(x),
                _mm512_ror_epi32::<11>(x),
                _mm512_ror_epi32::<25>(x),
            ))
        }
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        let x = self.0;
        unsafe {
            U32x16(_mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<7>(x),
                _mm512_ror_epi32::<18>(x),
                _mm512_srli_epi32::<3>(x),
            ))
        }
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        let x = self.0;
        unsafe {
            U32x16(_mm512_ternarylogic_epi32::<XOR3>(
                _mm512_ror_epi32::<17>(x),
                _mm512_ror_epi32::<19>(x),
                _mm512_srli_epi32::<10>(x),
            ))
        }
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        U32x16(unsafe { _mm512_ternarylogic_epi32::<CH>(self.0, f.0, g.0) })
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        U32x16(unsafe { _mm512_ternarylogic_epi32::<MAJ>(self.0, b.0, c.0) })
    }
    #[inline(always)]
    fn eq_mask(self, other: Self) -> u32 {
        unsafe { _mm512_cmpeq_epi32_mask(self.0, other.0) as u32 }
    }
    #[inline(always)]
    fn swapped_le_mask(self, limit: u32) -> u32 {
        unsafe {
            _mm512_cmple_epu32_mask(self.swap_bytes().0, _mm512_set1_epi32(limit as i32)) as u32
        }
    }
    #[inline(always)]
    fn load(values: &[u32]) -> Self {
        assert!(values.len() >= 16);
        // SAFETY: the assert above keeps the 64-byte unaligned read in bounds.
        U32x16(unsafe { _mm512_loadu_si512(values.as_ptr().cast()) })
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        assert!(out.len() >= 16);
        // SAFETY: the assert above keeps the 64-byte unaligned write in bounds.
        unsafe { _mm512_storeu_si512(out.as_mut_ptr().cast(), self.0) }
    }
    #[inline(always)]
    fn fence(a: &mut Self, e: &mut Self) {
        // SAFETY: see the impl's comment; `fence_regs` needs only avx512f.
        unsafe { fence_regs(&mut a.0, &mut e.0) }
    }
}

/// [`Lanes::fence`] on two registers (a function of its own, since the
/// register class needs the target feature; it inlines into the kernels).
#[target_feature(enable = "avx512f")]
#[inline]
fn fence_regs(a: &mut __m512i, e: &mut __m512i) {
    // SAFETY: the template is a comment: it reads and writes nothing and
    // hands both registers back unchanged.
    unsafe {
        core::arch::asm!(
            "/* fence {0} {1} */",
            inout(zmm_reg) * a,
            inout(zmm_reg) * e,
            options(nomem, nostack, preserves_flags)
        );
    }
}

lanes::simd_kernel!(
    U32x16,
    "avx512f,avx512bw",
    is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw")
);
