//! SHA-256 building blocks shared by every backend: the FIPS 180-4 constants,
//! the portable compression function that is the reference for every fast
//! kernel, one-shot hashing and the [`Midstate`] of a message prefix.

include!("sha256_constants.rs");

/// Size of one SHA-256 message block in bytes.
pub const BLOCK_LEN: usize = 64;

include!("sha256_functions.rs");

/// The eight working variables a..h of the compression function.
pub(crate) type Working = [u32; 8];

/// One round of the compression function on the working variables, with
/// `kw` = K[t] + W[t] already added.
#[inline(always)]
pub(crate) const fn round(s: Working, kw: u32) -> Working {
    let [a, b, c, d, e, f, g, h] = s;
    let t1 = h
        .wrapping_add(big_sigma1(e))
        .wrapping_add(ch(e, f, g))
        .wrapping_add(kw);
    let t2 = big_sigma0(a).wrapping_add(maj(a, b, c));
    [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g]
}

/// Expands the 16 words of a block into the 64-word message schedule,
/// FIPS 180-4 section 6.2.2 step 1.
pub(crate) fn schedule(block: &[u32; 16]) -> [u32; 64] {
    let mut w = [0u32; 64];
    w[..16].copy_from_slice(block);
    for t in 16..64 {
        w[t] = small_sigma1(w[t - 2])
            .wrapping_add(w[t - 7])
            .wrapping_add(small_sigma0(w[t - 15]))
            .wrapping_add(w[t - 16]);
    }
    w
}

/// The portable compression function, FIPS 180-4 section 6.2.2: the
/// reference every other kernel is tested against.
pub fn compress(state: &mut [u32; 8], block: &[u32; 16]) {
    let w = schedule(block);
    let mut s = *state;
    for t in 0..64 {
        s = round(s, K[t].wrapping_add(w[t]));
    }
    for (h, v) in state.iter_mut().zip(s) {
        *h = h.wrapping_add(v);
    }
}

/// Reads a 64-byte block as sixteen big-endian words.
pub(crate) fn block_words(bytes: &[u8]) -> [u32; 16] {
    debug_assert_eq!(bytes.len(), BLOCK_LEN);
    let mut w = [0u32; 16];
    for (word, chunk) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    w
}

/// The first block of SHA-256d's second hash: the 32-byte digest of the
/// first (its state words), then the FIPS 180-4 section 5.1.1 padding of a
/// 32-byte message: W8 = 0x80000000, W9..W14 = 0, W15 = 256 bits.
#[inline(always)]
pub(crate) fn digest_block(state: &[u32; 8]) -> [u32; 16] {
    let mut block = [0u32; 16];
    block[..8].copy_from_slice(state);
    block[8] = DIGEST_PAD_W8;
    block[15] = DIGEST_LEN_BITS;
    block
}

/// W8 of the second hash's block: the padding's leading 1 bit.
pub(crate) const DIGEST_PAD_W8: u32 = 0x8000_0000;
/// W15 of the second hash's block: the 32-byte message's length in bits.
pub(crate) const DIGEST_LEN_BITS: u32 = 256;

/// Serializes a state as the 32 digest bytes (big-endian words).
pub(crate) fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// The padding of FIPS 180-4 section 5.1.1 for a message of `len` bytes,
/// appended after the message: 0x80, zeros, the 64-bit bit length.
pub(crate) fn padding(len: u64) -> Vec<u8> {
    let zeros = (BLOCK_LEN * 2 - 9 - (len as usize % BLOCK_LEN)) % BLOCK_LEN;
    let mut pad = Vec::with_capacity(zeros + 9);
    pad.push(0x80);
    pad.resize(zeros + 1, 0);
    pad.extend_from_slice(&(len.wrapping_mul(8)).to_be_bytes());
    pad
}

/// SHA-256 of a whole message on the portable reference.
pub fn sha256(message: &[u8]) -> Digest {
    let mut data = message.to_vec();
    data.extend_from_slice(&padding(message.len() as u64));
    let mut state = IV;
    for block in data.chunks_exact(BLOCK_LEN) {
        compress(&mut state, &block_words(block));
    }
    Digest::from_state(&state)
}

/// SHA-256 applied twice (SHA-256d), as Bitcoin hashes block headers.
pub fn sha256d(message: &[u8]) -> Digest {
    sha256(&sha256(message).0)
}

/// The 32 bytes a SHA-256 computation outputs, in the order it outputs them.
///
/// Bitcoin reads these bytes as a little-endian number and shows them
/// reversed (see [`crate::BlockHash`]); most other uses show them as they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest([u8; 32]);

impl Digest {
    /// A digest from its 32 bytes in output order.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest(bytes)
    }

    /// The digest of a final SHA-256 state (its words written big-endian).
    pub(crate) fn from_state(state: &[u32; 8]) -> Self {
        Digest(state_bytes(state))
    }

    /// The digest read as a big-endian 256-bit number, as generic
    /// proof-of-work schemes compare it: its most significant 32 bits.
    pub fn most_significant_word_be(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// The digest bytes in output order.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of the bytes in output order.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A block hash: a SHA-256d digest that Bitcoin reads as a little-endian
/// number and shows byte-reversed (leading zeros first).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct BlockHash(Digest);

impl BlockHash {
    /// The block hash whose internal byte order is `digest`'s.
    pub const fn from_digest(digest: Digest) -> Self {
        BlockHash(digest)
    }

    /// The hash read as Bitcoin reads it, a little-endian 256-bit number:
    /// its most significant 32 bits (the digest's last four bytes).
    pub fn most_significant_word(&self) -> u32 {
        let b = &self.0 .0;
        u32::from_le_bytes([b[28], b[29], b[30], b[31]])
    }

    /// Parses the usual display form (64 hex digits, byte-reversed).
    pub fn from_display_hex(text: &str) -> Result<Self, crate::Error> {
        let mut bytes = crate::hex::decode_array::<32>("block hash", text)?;
        bytes.reverse();
        Ok(BlockHash(Digest(bytes)))
    }

    /// The digest in internal byte order.
    pub const fn digest(&self) -> &Digest {
        &self.0
    }

    /// The hash as a 256-bit number in big-endian bytes (the display order).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        let mut b = self.0 .0;
        b.reverse();
        b
    }
}

impl std::fmt::Display for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::hex::encode(&self.to_be_bytes()))
    }
}

impl std::fmt::Debug for BlockHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlockHash({self})")
    }
}

/// The chaining state after compressing whole 64-byte blocks of a message
/// prefix, so that a search hashes only the blocks that change per nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Midstate {
    /// The eight state words H0..H7.
    pub state: [u32; 8],
    /// How many prefix bytes the state covers (a multiple of 64).
    pub bytes_folded: u64,
}

impl Midstate {
    /// Folds the whole 64-byte blocks at the start of `prefix` into a state;
    /// the remaining `prefix.len() % 64` bytes are left for the caller.
    pub fn of_prefix(prefix: &[u8]) -> Self {
        let mut state = IV;
        let whole = prefix.len() / BLOCK_LEN * BLOCK_LEN;
        for block in prefix[..whole].chunks_exact(BLOCK_LEN) {
            compress(&mut state, &block_words(block));
        }
        Midstate {
            state,
            bytes_folded: whole as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips_180_4_examples() {
        assert_eq!(
            sha256(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").to_hex(),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn padding_fills_to_a_block_boundary() {
        for len in 0..200u64 {
            let pad = padding(len);
            assert_eq!((len as usize + pad.len()) % BLOCK_LEN, 0, "len {len}");
            assert!(pad.len() >= 9);
        }
    }

    #[test]
    fn midstate_folds_whole_blocks_only() {
        let data = [7u8; 130];
        let m = Midstate::of_prefix(&data);
        assert_eq!(m.bytes_folded, 128);
        let mut s = IV;
        compress(&mut s, &block_words(&data[..64]));
        compress(&mut s, &block_words(&data[64..128]));
        assert_eq!(m.state, s);
    }
}
