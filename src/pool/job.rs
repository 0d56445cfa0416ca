//! The job every protocol hands the pool layer, whatever its wire: a
//! Stratum v1 `mining.notify`, a Stratum V2 job and its previous hash, or
//! a node's block template. From it to the header a device hashes: the
//! coinbase (prefix ‖ extranonce1 ‖ extranonce2 ‖ suffix), its hash folded
//! up the merkle branch, and the header with the job's fields and the
//! rolled version bits (BIP 320) filled in. Pool-side tools and proxies can
//! use it on their own.

use crate::sha256::sha256d;
use crate::{BlockHash, CompactTarget, Digest, Error, Header, Target};

/// The coinbase transaction around the extranonces: `prefix ‖ extranonce1
/// ‖ extranonce2 ‖ suffix`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CoinbaseParts {
    /// The transaction before the extranonces (Stratum v1's coinb1).
    pub prefix: Vec<u8>,
    /// The transaction after the extranonces (Stratum v1's coinb2).
    pub suffix: Vec<u8>,
}

/// The coinbase's extranonce space: the part the upstream fixes for this
/// connection and the size of the part the miner rolls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtranonceLayout {
    /// The upstream's extra nonce for this connection (extranonce1).
    pub fixed: Vec<u8>,
    /// How many extranonce2 bytes the miner rolls (1 to 16; 0 where the
    /// upstream gave the merkle root).
    pub rolled: usize,
}

/// A job with everything needed to build its headers.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolJob {
    /// The upstream's job id, echoed in the share.
    pub job_id: String,
    /// The block this job builds on.
    pub prev_hash: BlockHash,
    /// The coinbase around the extranonces (empty where `given_root` is
    /// set).
    pub coinbase: CoinbaseParts,
    /// The merkle branch of the coinbase, each node in internal byte
    /// order.
    pub merkle_branch: Vec<Digest>,
    /// The block version.
    pub version: u32,
    /// The network target in compact form.
    pub bits: CompactTarget,
    /// The block time.
    pub ntime: u32,
    /// Whether earlier jobs are void (a new block on the network).
    pub clean: bool,
    /// The extranonce space.
    pub extranonce: ExtranonceLayout,
    /// The share difficulty in force for this job.
    pub difficulty: f64,
    /// The version bits the upstream lets the miner roll (0: none).
    pub version_mask: u32,
    /// The merkle root the upstream gave, where it builds the coinbase
    /// itself (Stratum V2 standard jobs): no coinbase is built then.
    pub given_root: Option<Digest>,
    /// The share target the upstream gave exactly (Stratum V2), in place
    /// of the one worked out from the difficulty.
    pub target: Option<Target>,
}

impl PoolJob {
    /// The share target: the pool's own where it gave one, else
    /// [`crate::DIFFICULTY_1`] (`0xffff << 208`) divided by the difficulty,
    /// as pools compute it.
    pub fn share_target(&self) -> Result<Target, Error> {
        if let Some(t) = self.target {
            return Ok(t);
        }
        Target::from_difficulty(self.difficulty)
    }

    /// The network target from the job's nBits.
    pub fn network_target(&self) -> Result<Target, Error> {
        Ok(Target::from_compact(self.bits)?)
    }

    /// The coinbase transaction with `extranonce2` in place.
    pub fn coinbase(&self, extranonce2: &[u8]) -> Vec<u8> {
        let (c, fixed) = (&self.coinbase, &self.extranonce.fixed);
        let mut tx =
            Vec::with_capacity(c.prefix.len() + fixed.len() + extranonce2.len() + c.suffix.len());
        tx.extend_from_slice(&c.prefix);
        tx.extend_from_slice(fixed);
        tx.extend_from_slice(extranonce2);
        tx.extend_from_slice(&c.suffix);
        tx
    }

    /// The merkle root for `extranonce2`: the coinbase's hash, then
    /// SHA-256d(root ‖ branch) for each branch in order (or the root the
    /// pool gave).
    pub fn merkle_root(&self, extranonce2: &[u8]) -> Digest {
        if let Some(root) = self.given_root {
            return root;
        }
        let mut root = sha256d(&self.coinbase(extranonce2));
        let mut pair = [0u8; 64];
        for node in &self.merkle_branch {
            pair[..32].copy_from_slice(root.as_bytes());
            pair[32..].copy_from_slice(node.as_bytes());
            root = sha256d(&pair);
        }
        root
    }

    /// The header for `extranonce2`, `ntime` and `version` (nonce 0).
    pub fn header(&self, extranonce2: &[u8], ntime: u32, version: u32) -> Header {
        self.header_with_root(self.merkle_root(extranonce2), ntime, version)
    }

    /// The header for a merkle root already computed.
    pub fn header_with_root(&self, merkle_root: Digest, ntime: u32, version: u32) -> Header {
        Header {
            version: version as i32,
            prev_blockhash: self.prev_hash,
            merkle_root,
            time: ntime,
            bits: self.bits,
            nonce: 0,
        }
    }

    /// Whether the job's own version already sets masked bits: BIP 320
    /// rolling is then left off, as pools expect the bits to start clear.
    pub fn rolls_version(&self) -> bool {
        self.version_mask != 0 && self.version & self.version_mask == 0
    }

    /// How many versions the mask allows rolling through (1 when none).
    pub fn version_count(&self) -> u64 {
        if self.rolls_version() {
            1u64 << self.version_mask.count_ones()
        } else {
            1
        }
    }

    /// The `k`th rolled version: the bits of `k` spread over the mask's set
    /// bits, lowest first, over the job's version.
    pub fn rolled_version(&self, k: u64) -> u32 {
        if !self.rolls_version() {
            return self.version;
        }
        self.version | spread_bits(k, self.version_mask)
    }
}

/// The low bits of `k` placed in the set bits of `mask`, lowest first.
pub fn spread_bits(mut k: u64, mask: u32) -> u32 {
    let mut out = 0u32;
    let mut m = mask;
    while m != 0 && k != 0 {
        let bit = m & m.wrapping_neg();
        if k & 1 == 1 {
            out |= bit;
        }
        k >>= 1;
        m &= m - 1;
    }
    out
}

/// An extranonce2 counter as bytes: `value` little-endian in `size` bytes
/// (so that the first bytes change fastest, as pools' own miners count),
/// zeros past the sixteenth.
pub fn extranonce2_bytes(value: u128, size: usize) -> Vec<u8> {
    let mut bytes = value.to_le_bytes()[..size.min(16)].to_vec();
    bytes.resize(size, 0);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_over_the_mask() {
        assert_eq!(spread_bits(0, 0x1fff_e000), 0);
        assert_eq!(spread_bits(1, 0x1fff_e000), 0x2000);
        assert_eq!(spread_bits(3, 0x1fff_e000), 0x6000);
        assert_eq!(spread_bits(0xffff, 0x1fff_e000), 0x1fff_e000);
        assert_eq!(spread_bits(1, 0x00ff_ff00), 0x100);
        assert_eq!(spread_bits(5, 0b1010_0100), 0b1000_0100);
    }

    #[test]
    fn extranonce2_counts_little_endian() {
        assert_eq!(extranonce2_bytes(1, 4), vec![1, 0, 0, 0]);
        assert_eq!(extranonce2_bytes(0x0102, 2), vec![2, 1]);
        assert_eq!(extranonce2_bytes(u128::MAX, 16), vec![0xff; 16]);
        assert_eq!(extranonce2_bytes(1, 20)[..2], [1, 0]);
        assert_eq!(extranonce2_bytes(1, 20).len(), 20);
    }
}
