//! Helpers shared by the integration tests.
#![allow(dead_code)]

use hashrig::{BlockHash, Header};

/// A real mainnet block: height, header and its block hash.
pub struct MainnetBlock {
    pub height: u64,
    pub header: Header,
    pub hash: BlockHash,
}

/// The blocks of tests/data/mainnet_headers.tsv.
pub fn mainnet_blocks() -> Vec<MainnetBlock> {
    let text = include_str!("../data/mainnet_headers.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            MainnetBlock {
                height: cols[0].parse().unwrap(),
                header: Header::from_hex(cols[1]).unwrap(),
                hash: BlockHash::from_display_hex(cols[2]).unwrap(),
            }
        })
        .collect()
}

/// A window of `size` nonces that holds `nonce`, clamped into the 32-bit space.
pub fn window_around(nonce: u32, size: u64) -> (u64, u64) {
    let start = (nonce as u64)
        .saturating_sub(size / 2)
        .min((1u64 << 32) - size);
    (start, size)
}

/// A small deterministic generator (SplitMix64) for randomized jobs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
