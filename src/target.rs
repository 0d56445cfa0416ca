//! 256-bit proof-of-work targets: from and to Bitcoin's compact nBits form,
//! from pool difficulty, from a count of leading zero bits and from hex.

use crate::error::CompactError;
use crate::sha256::{BlockHash, Digest};
use crate::{hex, Error};

/// The compact (nBits) encoding of a target, as it sits in a block header.
///
/// Holding one does not mean it is valid: [`Target::from_compact`] checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompactTarget(u32);

impl CompactTarget {
    /// Wraps the consensus value (the number serialized in the header).
    pub const fn from_consensus(bits: u32) -> Self {
        CompactTarget(bits)
    }

    /// The consensus value.
    pub const fn to_consensus(self) -> u32 {
        self.0
    }

    /// Parses 8 hex digits of the number (as block explorers show it, e.g. `1d00ffff`).
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let bytes = hex::decode_array::<4>("bits", text)?;
        Ok(CompactTarget(u32::from_be_bytes(bytes)))
    }
}

impl std::fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

/// A 256-bit target: a hash meets it when the hash, read as a number, is at
/// most the target.
///
/// Stored as big-endian bytes, so the derived ordering is numeric order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target([u8; 32]);

/// Difficulty 1 as pools and Bitcoin's RPC count it: 0x00000000ffff0000…0000,
/// the target of nBits 0x1d00ffff.
pub const DIFFICULTY_1: Target = {
    let mut b = [0u8; 32];
    b[4] = 0xff;
    b[5] = 0xff;
    Target(b)
};

impl Target {
    /// The largest target (met by every hash).
    pub const MAX: Target = Target([0xff; 32]);

    /// A target from its big-endian bytes. Zero is allowed here: it is met by
    /// the all-zero hash alone.
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Target(bytes)
    }

    /// A target from its little-endian bytes (the order Bitcoin stores 256-bit numbers in).
    pub fn from_le_bytes(mut bytes: [u8; 32]) -> Self {
        bytes.reverse();
        Target(bytes)
    }

    /// The big-endian bytes.
    pub const fn to_be_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// Parses 64 hex digits written most significant first (as targets are
    /// shown). A zero target is rejected.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let t = Target(hex::decode_array::<32>("target", text)?);
        if t.is_zero() {
            return Err(Error::ZeroTarget);
        }
        Ok(t)
    }

    /// Whether the target is zero.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 32]
    }

    /// Decodes compact nBits exactly as Bitcoin Core's `SetCompact`, and
    /// rejects what `DeriveTarget` rejects: the sign bit, overflow and zero.
    pub fn from_compact(bits: CompactTarget) -> Result<Self, CompactError> {
        let compact = bits.0;
        let size = compact >> 24;
        let mut word = compact & 0x007f_ffff;
        if size <= 3 {
            word >>= 8 * (3 - size);
        }
        if word != 0 && compact & 0x0080_0000 != 0 {
            return Err(CompactError::Negative(compact));
        }
        if word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32)) {
            return Err(CompactError::Overflow(compact));
        }
        if word == 0 {
            return Err(CompactError::Zero(compact));
        }
        let mut out = [0u8; 32];
        // The value is `word << 8 * (size - 3)`: its most significant
        // mantissa byte sits `size` bytes from the end.
        for (i, byte) in word.to_be_bytes()[1..].iter().enumerate() {
            let from_end = size.max(3) as usize - i; // 1-based position from the last byte
            if (1..=32).contains(&from_end) {
                out[32 - from_end] = *byte;
            }
        }
        Ok(Target(out))
    }

    /// Encodes as compact nBits like Bitcoin Core's `GetCompact`, dropping
    /// all but the top 23 bits of precision.
    pub fn to_compact_lossy(&self) -> CompactTarget {
        let first = self.0.iter().position(|&b| b != 0).unwrap_or(32);
        let mut size = (32 - first) as u32;
        let mut compact = if size <= 3 {
            u32::from_be_bytes([0, self.0[29], self.0[30], self.0[31]]) << (8 * (3 - size))
        } else {
            u32::from_be_bytes([0, self.0[first], self.0[first + 1], self.0[first + 2]])
        };
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        CompactTarget(compact | size << 24)
    }

    /// The target of a pool difficulty: [`DIFFICULTY_1`] divided by
    /// `difficulty`, rounded down. Fractional difficulties are allowed;
    /// one so small that the target passes 2^256 - 1 gives [`Target::MAX`].
    pub fn from_difficulty(difficulty: f64) -> Result<Self, Error> {
        if !(difficulty.is_finite() && difficulty > 0.0) {
            return Err(Error::Difficulty(difficulty));
        }
        let quotient = 65535.0 / difficulty;
        if quotient.is_infinite() {
            return Ok(Target::MAX);
        }
        // quotient = mantissa * 2^exponent exactly; the target is that times 2^208.
        let bits = quotient.to_bits();
        let raw_exp = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1 << 52) - 1);
        let (mantissa, exponent) = if raw_exp == 0 {
            (fraction, -1074)
        } else {
            (fraction | 1 << 52, raw_exp - 1075)
        };
        let mut out = [0u8; 32];
        for bit in 0..64 {
            if mantissa >> bit & 1 == 0 {
                continue;
            }
            let position = bit + exponent + 208;
            if position >= 256 {
                return Ok(Target::MAX);
            }
            if position >= 0 {
                out[31 - position as usize / 8] |= 1 << (position % 8);
            }
        }
        let t = Target(out);
        if t.is_zero() {
            return Err(Error::ZeroTarget);
        }
        Ok(t)
    }

    /// The target met by hashes with at least `bits` leading zero bits:
    /// 2^(256 - bits) - 1.
    pub fn from_leading_zero_bits(bits: u32) -> Result<Self, Error> {
        // 256 zero bits is the zero target, which no hash meets: refused
        // like a zero target given any other way.
        if bits > 255 {
            return Err(Error::ZeroBits(bits));
        }
        let mut out = [0xffu8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            let zeros_here = bits.saturating_sub(8 * i as u32).min(8);
            *byte = if zeros_here == 8 {
                0
            } else {
                0xff >> zeros_here
            };
        }
        Ok(Target(out))
    }

    /// The pool difficulty of this target ([`DIFFICULTY_1`] / target), approximately.
    pub fn difficulty(&self) -> f64 {
        be_to_f64(&DIFFICULTY_1.0) / be_to_f64(&self.0)
    }

    /// The chance that one hash meets this target: (target + 1) / 2^256,
    /// approximately.
    pub fn chance_per_hash(&self) -> f64 {
        ((be_to_f64(&self.0) + 1.0) / 2f64.powi(256)).min(1.0)
    }

    /// The most significant 32 bits, which kernels compare before anything else.
    pub fn most_significant_word(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// Bitcoin's check: the block hash, read as a little-endian 256-bit
    /// number, is at most the target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        hash.to_be_bytes() <= self.0
    }

    /// The check for a hash read as a big-endian number (the order the digest
    /// bytes come out of SHA-256, and the order generic proof-of-work schemes
    /// count leading zeros in).
    pub fn is_met_by_digest(&self, hash: &Digest) -> bool {
        hash.as_bytes() <= &self.0
    }
}

/// A big-endian 256-bit number as the nearest `f64` (the one place such
/// numbers become floating point).
fn be_to_f64(bytes: &[u8; 32]) -> f64 {
    bytes.iter().fold(0.0f64, |acc, &b| acc * 256.0 + b as f64)
}

impl BlockHash {
    /// The difficulty this hash meets: [`DIFFICULTY_1`] / hash (a hash of
    /// zero counts as one), approximately: what pools call a share's
    /// difficulty.
    pub fn difficulty(&self) -> f64 {
        be_to_f64(&DIFFICULTY_1.0) / be_to_f64(&self.to_be_bytes()).max(1.0)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Target({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compact(bits: u32) -> Result<Target, CompactError> {
        Target::from_compact(CompactTarget::from_consensus(bits))
    }

    fn hex_target(s: &str) -> Target {
        let padded = format!("{s:0>64}");
        Target(hex::decode_array::<32>("t", &padded).unwrap())
    }

    /// The cases of Bitcoin Core's `arith_uint256_tests/bignum_SetCompact`.
    #[test]
    fn bitcoin_core_set_compact_cases() {
        for zero in [
            0, 0x00123456, 0x01003456, 0x02000056, 0x03000000, 0x04000000, 0x00923456, 0x01803456,
            0x02800056, 0x03800000, 0x04800000,
        ] {
            assert_eq!(compact(zero), Err(CompactError::Zero(zero)), "{zero:#x}");
        }
        let ok = [
            (0x01123456, "12", 0x01120000),
            (0x02123456, "1234", 0x02123400),
            (0x03123456, "123456", 0x03123456),
            (0x04123456, "12345600", 0x04123456),
            (0x05009234, "92340000", 0x05009234),
            (
                0x20123456,
                "1234560000000000000000000000000000000000000000000000000000000000",
                0x20123456,
            ),
            (
                0x1d00ffff,
                "00000000ffff0000000000000000000000000000000000000000000000000000",
                0x1d00ffff,
            ),
        ];
        for (bits, value, back) in ok {
            let t = compact(bits).unwrap();
            assert_eq!(t, hex_target(value), "{bits:#x}");
            assert_eq!(t.to_compact_lossy().to_consensus(), back, "{bits:#x}");
        }
        assert_eq!(compact(0x01fedcba), Err(CompactError::Negative(0x01fedcba)));
        assert_eq!(compact(0x04923456), Err(CompactError::Negative(0x04923456)));
        assert_eq!(compact(0xff123456), Err(CompactError::Overflow(0xff123456)));
        assert_eq!(compact(0x23000001), Err(CompactError::Overflow(0x23000001)));
        assert_eq!(compact(0x22000100), Err(CompactError::Overflow(0x22000100)));
        assert_eq!(compact(0x21010000), Err(CompactError::Overflow(0x21010000)));
        // The largest values that still fit.
        assert_eq!(compact(0x220000ff).unwrap().to_be_bytes()[0], 0xff);
        assert_eq!(
            compact(0x2100ffff).unwrap().to_be_bytes()[..2],
            [0xff, 0xff]
        );
    }

    /// `GetCompact` cases from the same Bitcoin Core test.
    #[test]
    fn bitcoin_core_get_compact_cases() {
        assert_eq!(
            hex_target("80").to_compact_lossy().to_consensus(),
            0x02008000
        );
        assert_eq!(
            hex_target("12345600").to_compact_lossy().to_consensus(),
            0x04123456
        );
        assert_eq!(
            hex_target("92340000").to_compact_lossy().to_consensus(),
            0x05009234
        );
        assert_eq!(Target([0; 32]).to_compact_lossy().to_consensus(), 0);
    }

    #[test]
    fn difficulty_known_values() {
        assert_eq!(Target::from_difficulty(1.0).unwrap(), DIFFICULTY_1);
        assert_eq!(
            Target::from_difficulty(2.0).unwrap(),
            hex_target("000000007fff8000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(
            Target::from_difficulty(0.5).unwrap(),
            hex_target("00000001fffe0000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(
            Target::from_difficulty(1.0 / 65536.0).unwrap(),
            hex_target("0000ffff00000000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(Target::from_difficulty(1e-30).unwrap(), Target::MAX);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Target::from_difficulty(bad),
                Err(Error::Difficulty(_))
            ));
        }
        assert!(matches!(
            Target::from_difficulty(1e80),
            Err(Error::ZeroTarget)
        ));
        // Block 100000's nBits 0x1b04864c is difficulty 14484.1623…
        let d = compact(0x1b04864c).unwrap().difficulty();
        assert!((d - 14484.162361).abs() < 1e-3, "{d}");
    }

    #[test]
    fn leading_zero_bits() {
        assert_eq!(Target::from_leading_zero_bits(0).unwrap(), Target::MAX);
        assert_eq!(
            Target::from_leading_zero_bits(12).unwrap(),
            hex_target("000fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
        );
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(Target::from_leading_zero_bits(255).unwrap(), Target(one));
        assert!(matches!(
            Target::from_leading_zero_bits(256),
            Err(Error::ZeroBits(256))
        ));
    }

    #[test]
    fn hex_target_rejects_zero() {
        assert!(matches!(
            Target::from_hex(&"0".repeat(64)),
            Err(Error::ZeroTarget)
        ));
        assert!(Target::from_hex("ff").is_err());
    }

    #[test]
    fn block_hash_comparison_is_little_endian() {
        let t = compact(0x1d00ffff).unwrap();
        let mut digest = [0u8; 32];
        digest[0] = 0xff; // least significant byte
        assert!(t.is_met_by(&BlockHash::from_digest(Digest::from_bytes(digest))));
        digest[31] = 1; // most significant byte
        assert!(!t.is_met_by(&BlockHash::from_digest(Digest::from_bytes(digest))));
    }

    proptest! {
        #[test]
        fn compact_round_trip(bytes in any::<[u8; 32]>()) {
            let t = Target(bytes);
            prop_assume!(!t.is_zero());
            let c = t.to_compact_lossy();
            let back = Target::from_compact(c).unwrap();
            // Lossy: never above the original, equal in the top bits, and stable.
            prop_assert!(back <= t);
            prop_assert_eq!(back.to_compact_lossy(), c);
            prop_assert_eq!(Target::from_compact(c).unwrap(), back);
        }

        #[test]
        fn valid_compact_survives(size in 1u32..=32, mantissa in 1u32..0x0080_0000) {
            let c = CompactTarget::from_consensus(size << 24 | mantissa);
            if let Ok(t) = Target::from_compact(c) {
                prop_assert_eq!(Target::from_compact(t.to_compact_lossy()).unwrap(), t);
            }
        }

        #[test]
        fn difficulty_round_trip(exp in -20i32..60, frac in 1.0f64..2.0) {
            let d = frac * 2f64.powi(exp);
            let t = Target::from_difficulty(d).unwrap();
            let back = t.difficulty();
            prop_assert!((back / d - 1.0).abs() < 1e-9, "{} vs {}", d, back);
        }

        #[test]
        fn zero_bits_are_counted(bits in 0u32..=255) {
            let t = Target::from_leading_zero_bits(bits).unwrap();
            let leading: u32 = t.to_be_bytes().iter().map(|b| b.leading_zeros()).scan(true, |go, z| {
                if !*go { return Some(0) }
                if z < 8 { *go = false }
                Some(z)
            }).sum();
            prop_assert_eq!(leading, bits);
        }
    }
}
