//! Base58 and base58check as Bitcoin writes them (addresses, Stratum V2
//! authority keys).

use crate::sha256::sha256d;

/// Why a text is not base58.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base58Error {
    /// A character outside the alphabet.
    Character(char),
    /// Longer than anything decoded here (64 characters).
    TooLong(usize),
}

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58 to bytes (leading '1's are zero bytes). Bounded: keys are short,
/// and longer texts are refused before any arithmetic.
pub(crate) fn base58_decode(text: &str) -> Result<Vec<u8>, Base58Error> {
    if text.len() > 64 {
        return Err(Base58Error::TooLong(text.len()));
    }
    let mut bytes: Vec<u8> = Vec::new();
    for c in text.chars() {
        let digit = ALPHABET
            .iter()
            .position(|&a| a as char == c)
            .ok_or(Base58Error::Character(c))? as u32;
        let mut carry = digit;
        for b in bytes.iter_mut().rev() {
            carry += (*b as u32) * 58;
            *b = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    let zeros = text.chars().take_while(|&c| c == '1').count();
    let mut out = vec![0u8; zeros];
    out.extend(bytes);
    Ok(out)
}

pub(crate) fn base58_encode(data: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new();
    for &byte in data {
        let mut carry = byte as u32;
        for d in digits.iter_mut() {
            carry += (*d as u32) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = data.iter().take_while(|&&b| b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(digits.iter().rev().map(|&d| ALPHABET[d as usize] as char))
        .collect()
}

/// The payload of a base58check text (its checksum checked), or `None`.
pub(crate) fn base58check(text: &str) -> Option<Vec<u8>> {
    let raw = base58_decode(text).ok()?;
    if raw.len() < 4 {
        return None;
    }
    let (body, check) = raw.split_at(raw.len() - 4);
    (sha256d(body).as_bytes()[..4] == *check).then(|| body.to_vec())
}
