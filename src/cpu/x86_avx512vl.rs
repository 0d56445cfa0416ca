//! AVX-512VL kernel: the lane-generic body on 8 lanes of `__m256i` with
//! AVX-512's rotates (`vprold`) and three-input logic (`vpternlogd`) on
//! 256-bit registers, of which AVX-512VL gives 32. On cores that split
//! 512-bit operations in two (AMD Zen 4), 8 lanes at 4 a cycle do the work
//! of 16 at 2; on the others the calibration keeps whichever is faster.

#[cfg(target_arch = "x86")]
use core::arch::x86::*;
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::lanes::{self, Lanes};
use super::x86_avx2::U32x8;
use super::x86_avx512::{CH, MAJ, XOR3};

/// Eight 32-bit lanes, computed with AVX-512VL. Only created inside the
/// `#[target_feature]` functions below, which run only after [`kernel`]
/// detected AVX2, AVX-512F and AVX-512VL.
#[derive(Clone, Copy)]
struct U32x8Vl(U32x8);

/// `vpternlogd` of the three rotations of `x` by `A`, `B` and `C` bits.
macro_rules! xor3_of_rotations {
    ($x:expr, $a:literal, $b:literal, $c:literal) => {
        _mm256_ternarylogic_epi32::<XOR3>(
            _mm256_ror_epi32::<$a>($x),
            _mm256_ror_epi32::<$b>($x),
            _mm256_ror_epi32::<$c>($x),
        )
    };
}

// SAFETY (every `unsafe` block in this impl): the intrinsics need AVX-512F
// and AVX-512VL; values of `U32x8Vl` exist only inside functions compiled
// with those features, reached after `kernel()` checked them at run time,
// and these methods are always inlined into them. The rest is AVX2's.
impl Lanes for U32x8Vl {
    const LANES: usize = 8;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        U32x8Vl(U32x8::splat(x))
    }
    #[inline(always)]
    fn counting_from(start: u32) -> Self {
        U32x8Vl(U32x8::counting_from(start))
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        U32x8Vl(self.0.add(other.0))
    }
    #[inline(always)]
    fn swap_bytes(self) -> Self {
        U32x8Vl(self.0.swap_bytes())
    }
    #[inline(always)]
    fn big_sigma0(self) -> Self {
        U32x8Vl(U32x8(unsafe { xor3_of_rotations!(self.0 .0, 2, 13, 22) }))
    }
    #[inline(always)]
    fn big_sigma1(self) -> Self {
        U32x8Vl(U32x8(unsafe { xor3_of_rotations!(self.0 .0, 6, 11, 25) }))
    }
    #[inline(always)]
    fn small_sigma0(self) -> Self {
        let x = self.0 .0;
        U32x8Vl(U32x8(unsafe {
            _mm256_ternarylogic_epi32::<XOR3>(
                _mm256_ror_epi32::<7>(x),
                _mm256_ror_epi32::<18>(x),
                _mm256_srli_epi32::<3>(x),
            )
        }))
    }
    #[inline(always)]
    fn small_sigma1(self) -> Self {
        let x = self.0 .0;
        U32x8Vl(U32x8(unsafe {
            _mm256_ternarylogic_epi32::<XOR3>(
                _mm256_ror_epi32::<17>(x),
                _mm256_ror_epi32::<19>(x),
                _mm256_srli_epi32::<10>(x),
            )
        }))
    }
    #[inline(always)]
    fn ch(self, f: Self, g: Self) -> Self {
        U32x8Vl(U32x8(unsafe {
            _mm256_ternarylogic_epi32::<CH>(self.0 .0, f.0 .0, g.0 .0)
        }))
    }
    #[inline(always)]
    fn maj(self, b: Self, c: Self) -> Self {
        U32x8Vl(U32x8(unsafe {
            _mm256_ternarylogic_epi32::<MAJ>(self.0 .0, b.0 .0, c.0 .0)
        }))
    }
    #[inline(always)]
    fn eq_mask(self, other: Self) -> u32 {
        self.0.eq_mask(other.0)
    }
    #[inline(always)]
    fn swapped_le_mask(self, limit: u32) -> u32 {
        self.0.swapped_le_mask(limit)
    }
    #[inline(always)]
    fn load(values: &[u32]) -> Self {
        U32x8Vl(U32x8::load(values))
    }
    #[inline(always)]
    fn store(self, out: &mut [u32]) {
        self.0.store(out)
    }
    #[inline(always)]
    fn fence(a: &mut Self, e: &mut Self) {
        U32x8::fence(&mut a.0, &mut e.0)
    }
}

lanes::simd_kernel!(
    U32x8Vl,
    "avx2,avx512f,avx512vl",
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
);
