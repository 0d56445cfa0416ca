// The SHA-256 functions of FIPS 180-4 section 4.1.2, included by
// src/sha256.rs and by build.rs (which folds constants with them while it
// writes the shader's straight-line rounds), so that both use one definition.

/// Σ0, FIPS 180-4 (4.4).
#[inline(always)]
pub(crate) const fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}

/// Σ1, FIPS 180-4 (4.5).
#[inline(always)]
pub(crate) const fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}

/// σ0, FIPS 180-4 (4.6).
#[inline(always)]
pub(crate) const fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

/// σ1, FIPS 180-4 (4.7).
#[inline(always)]
pub(crate) const fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// Ch, FIPS 180-4 (4.2).
#[inline(always)]
pub(crate) const fn ch(x: u32, y: u32, z: u32) -> u32 {
    (x & y) ^ (!x & z)
}

/// Maj, FIPS 180-4 (4.3).
#[inline(always)]
pub(crate) const fn maj(x: u32, y: u32, z: u32) -> u32 {
    (x & y) ^ (x & z) ^ (y & z)
}
