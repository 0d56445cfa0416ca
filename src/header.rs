//! The 80-byte Bitcoin block header with typed fields, its consensus
//! serialization and its hash.

use crate::sha256::{sha256d, BlockHash, Digest};
use crate::target::CompactTarget;
use crate::{hex, Error};

/// A Bitcoin block header (the 80 bytes that are hashed for proof of work).
///
/// Integer fields are stored as numbers and serialized little-endian, as the
/// consensus rules do; hashes are stored in their internal byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Block version (bytes 0..4, little-endian); carries BIP 9 version bits.
    pub version: i32,
    /// Hash of the previous block, internal byte order (bytes 4..36).
    pub prev_blockhash: BlockHash,
    /// Merkle root of the transactions, internal byte order (bytes 36..68).
    pub merkle_root: Digest,
    /// Block time in seconds since the Unix epoch (bytes 68..72, little-endian).
    pub time: u32,
    /// The target in compact form (bytes 72..76, little-endian).
    pub bits: CompactTarget,
    /// The nonce searched for proof of work (bytes 76..80, little-endian).
    pub nonce: u32,
}

impl Header {
    /// Serialized size in bytes.
    pub const SIZE: usize = 80;

    /// Parses the 80 consensus bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bytes: &[u8; 80] = bytes.try_into().map_err(|_| Error::Length {
            field: "header",
            expected: Self::SIZE,
            actual: bytes.len(),
        })?;
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let hash_at = |at: usize| -> [u8; 32] { bytes[at..at + 32].try_into().expect("32 bytes") };
        Ok(Header {
            version: u32_at(0) as i32,
            prev_blockhash: BlockHash::from_digest(Digest::from_bytes(hash_at(4))),
            merkle_root: Digest::from_bytes(hash_at(36)),
            time: u32_at(68),
            bits: CompactTarget::from_consensus(u32_at(72)),
            nonce: u32_at(76),
        })
    }

    /// Parses 160 hex digits of consensus bytes.
    pub fn from_hex(text: &str) -> Result<Self, Error> {
        let bytes = hex::decode("header", text)?;
        Self::from_bytes(&bytes)
    }

    /// The 80 consensus bytes.
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut out = [0u8; 80];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..36].copy_from_slice(self.prev_blockhash.digest().as_bytes());
        out[36..68].copy_from_slice(self.merkle_root.as_bytes());
        out[68..72].copy_from_slice(&self.time.to_le_bytes());
        out[72..76].copy_from_slice(&self.bits.to_consensus().to_le_bytes());
        out[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// The consensus bytes as 160 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.to_bytes())
    }

    /// This header with another nonce.
    pub fn with_nonce(mut self, nonce: u32) -> Self {
        self.nonce = nonce;
        self
    }

    /// SHA-256d of the header on the portable reference.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash::from_digest(sha256d(&self.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    #[test]
    fn genesis_fields_and_hash() {
        let h = Header::from_hex(GENESIS).unwrap();
        assert_eq!(h.version, 1);
        assert_eq!(h.time, 1231006505);
        assert_eq!(h.bits.to_consensus(), 0x1d00ffff);
        assert_eq!(h.nonce, 2083236893);
        assert_eq!(h.to_hex(), GENESIS);
        assert_eq!(
            h.block_hash().to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
    }

    #[test]
    fn wrong_length_names_the_field() {
        let err = Header::from_hex("00").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Length {
                    field: "header",
                    expected: 80,
                    actual: 1
                }
            ),
            "{err:?}"
        );
    }
}
