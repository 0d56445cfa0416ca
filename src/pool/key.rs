//! A Stratum V2 pool's authority key as pools publish it: base58check of
//! a two-byte version (1, little-endian) and the 32-byte x-only secp256k1
//! public key, the form of SRI's configs and Braiins OS's pool URLs
//! (`stratum2+tcp://HOST:PORT/KEY`).

use std::fmt;
use std::str::FromStr;

use crate::base58::{base58_decode, base58_encode, Base58Error};
use crate::sha256::sha256d;

/// The key that signs a pool's Noise certificates: pinning it is what
/// makes the connection authenticated (nobody on the path can stand in
/// for the pool).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuthorityKey([u8; 32]);

/// Why a text is not an authority key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A character outside the base58 alphabet.
    #[error("{0:?} is not a base58 character")]
    Character(char),
    /// Too short or too long.
    #[error("decodes to {0} bytes, not the 38 of a version, a 32-byte key and a checksum")]
    Length(usize),
    /// The checksum does not match (a typo).
    #[error("its checksum does not match (a character is wrong or missing)")]
    Checksum,
    /// A version other than 1.
    #[error("key version {0}, not 1")]
    Version(u16),
}

impl AuthorityKey {
    /// The key from its 32 x-only bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> AuthorityKey {
        AuthorityKey(bytes)
    }

    /// The 32 x-only bytes.
    pub const fn to_bytes(&self) -> [u8; 32] {
        self.0
    }
}

impl FromStr for AuthorityKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<AuthorityKey, KeyError> {
        let raw = base58_decode(text.trim()).map_err(|e| match e {
            Base58Error::Character(c) => KeyError::Character(c),
            Base58Error::TooLong(n) => KeyError::Length(n),
        })?;
        if raw.len() != 38 {
            return Err(KeyError::Length(raw.len()));
        }
        let (body, check) = raw.split_at(34);
        if sha256d(body).as_bytes()[..4] != *check {
            return Err(KeyError::Checksum);
        }
        let version = u16::from_le_bytes([body[0], body[1]]);
        if version != 1 {
            return Err(KeyError::Version(version));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&body[2..]);
        Ok(AuthorityKey(key))
    }
}

/// The base58check form pools publish.
impl fmt::Display for AuthorityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut body = vec![1u8, 0];
        body.extend_from_slice(&self.0);
        let check = sha256d(&body);
        body.extend_from_slice(&check.as_bytes()[..4]);
        f.write_str(&base58_encode(&body))
    }
}

impl fmt::Debug for AuthorityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorityKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The authority key of SRI's example configs and test utilities.
    const SRI_KEY: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";

    #[test]
    fn reads_and_writes_sri_keys() {
        let key: AuthorityKey = SRI_KEY.parse().unwrap();
        assert_eq!(key.to_string(), SRI_KEY);
        assert_eq!(AuthorityKey::from_bytes(key.to_bytes()), key);
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        let mut typo = SRI_KEY.to_string();
        typo.replace_range(5..6, "X");
        assert_eq!(typo.parse::<AuthorityKey>(), Err(KeyError::Checksum));
        assert!(matches!(
            "0OIl".parse::<AuthorityKey>(),
            Err(KeyError::Character('0'))
        ));
        assert!(matches!(
            "abc".parse::<AuthorityKey>(),
            Err(KeyError::Length(_))
        ));
        assert!(matches!(
            "1".repeat(200).parse::<AuthorityKey>(),
            Err(KeyError::Length(_))
        ));
        // The same body with version 2.
        let mut body = vec![2u8, 0];
        body.extend_from_slice(&[7; 32]);
        let check = sha256d(&body);
        body.extend_from_slice(&check.as_bytes()[..4]);
        assert_eq!(
            base58_encode(&body).parse::<AuthorityKey>(),
            Err(KeyError::Version(2))
        );
    }

    #[test]
    fn base58_round_trips_with_leading_zeros() {
        for data in [vec![], vec![0], vec![0, 0, 1, 2], vec![255; 40]] {
            assert_eq!(base58_decode(&base58_encode(&data)).unwrap(), data);
        }
    }
}
