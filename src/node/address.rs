//! Payout addresses, checked for the node's network and turned into the
//! output script the coinbase pays: base58check P2PKH and P2SH, bech32
//! (BIP 173) P2WPKH and P2WSH, bech32m (BIP 350) P2TR and later witness
//! versions.

use std::fmt;

/// A Bitcoin network as `getblockchaininfo` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// `main`.
    Main,
    /// `test` (testnet3) and `testnet4`.
    Test,
    /// `signet`.
    Signet,
    /// `regtest`.
    Regtest,
}

impl Network {
    /// From `getblockchaininfo`'s `chain`.
    pub fn from_chain(chain: &str) -> Option<Network> {
        Some(match chain {
            "main" => Network::Main,
            "test" | "testnet4" => Network::Test,
            "signet" => Network::Signet,
            "regtest" => Network::Regtest,
            _ => return None,
        })
    }

    fn hrp(self) -> &'static str {
        match self {
            Network::Main => "bc",
            Network::Test | Network::Signet => "tb",
            Network::Regtest => "bcrt",
        }
    }

    fn base58_versions(self) -> (u8, u8) {
        match self {
            Network::Main => (0x00, 0x05),
            _ => (0x6f, 0xc4),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::Main => "mainnet",
            Network::Test => "testnet",
            Network::Signet => "signet",
            Network::Regtest => "regtest",
        })
    }
}

/// Why an address cannot be paid to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Not an address in any known form.
    #[error("{0:?} is not a Bitcoin address (base58check or bech32)")]
    Malformed(String),
    /// An address of another network.
    #[error("{address:?} is not a {network} address")]
    WrongNetwork {
        /// The address.
        address: String,
        /// The node's network.
        network: Network,
    },
}

/// The output script paying `address` on `network`.
pub fn script_for(address: &str, network: Network) -> Result<Vec<u8>, AddressError> {
    let a = address.trim();
    let malformed = || AddressError::Malformed(a.to_string());
    let wrong = || AddressError::WrongNetwork {
        address: a.to_string(),
        network,
    };
    let lower = a.to_ascii_lowercase();
    if let Some((hrp, _)) = lower.rsplit_once('1') {
        if ["bc", "tb", "bcrt"].contains(&hrp) {
            if a != lower && a != a.to_ascii_uppercase() {
                return Err(malformed());
            }
            if hrp != network.hrp() {
                return Err(wrong());
            }
            return segwit_script(&lower, hrp).ok_or_else(malformed);
        }
    }
    let raw = crate::base58::base58check(a).ok_or_else(malformed)?;
    if raw.len() != 21 {
        return Err(malformed());
    }
    let (p2pkh, p2sh) = network.base58_versions();
    let hash = &raw[1..];
    match raw[0] {
        v if v == p2pkh => {
            let mut s = vec![0x76, 0xa9, 0x14];
            s.extend_from_slice(hash);
            s.extend_from_slice(&[0x88, 0xac]);
            Ok(s)
        }
        v if v == p2sh => {
            let mut s = vec![0xa9, 0x14];
            s.extend_from_slice(hash);
            s.push(0x87);
            Ok(s)
        }
        0x00 | 0x05 | 0x6f | 0xc4 => Err(wrong()),
        _ => Err(malformed()),
    }
}

const CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn polymod(values: &[u8]) -> u32 {
    const GEN: [u32; 5] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let mut chk: u32 = 1;
    for &v in values {
        let top = chk >> 25;
        chk = (chk & 0x1ffffff) << 5 ^ v as u32;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

fn hrp_expand(hrp: &str) -> Vec<u8> {
    let mut v: Vec<u8> = hrp.bytes().map(|b| b >> 5).collect();
    v.push(0);
    v.extend(hrp.bytes().map(|b| b & 31));
    v
}

/// The witness program's output script, where the checksum fits its
/// witness version (bech32 for version 0, bech32m after).
fn segwit_script(address: &str, hrp: &str) -> Option<Vec<u8>> {
    let data_part = &address[hrp.len() + 1..];
    if data_part.len() < 7 {
        return None;
    }
    let data: Vec<u8> = data_part
        .bytes()
        .map(|c| CHARSET.iter().position(|&x| x == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let mut values = hrp_expand(hrp);
    values.extend_from_slice(&data);
    let check = polymod(&values);
    let (version, program5) = (data[0], &data[1..data.len() - 6]);
    let wanted = if version == 0 { 1 } else { 0x2bc830a3 };
    if check != wanted || version > 16 {
        return None;
    }
    // 5-bit groups to bytes, without padding bits set.
    let mut program = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &v in program5 {
        acc = acc << 5 | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            program.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc << (8 - bits)) & 0xff != 0 {
        return None;
    }
    let valid_len = match version {
        0 => program.len() == 20 || program.len() == 32,
        _ => (2..=40).contains(&program.len()),
    };
    if !valid_len {
        return None;
    }
    let op = if version == 0 { 0 } else { 0x50 + version };
    let mut s = vec![op, program.len() as u8];
    s.extend_from_slice(&program);
    Some(s)
}
