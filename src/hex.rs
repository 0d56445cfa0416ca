//! Hex encoding and decoding with errors that name the field being parsed.

use crate::Error;

/// Lower-case hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Decodes hex text (either case, an optional `0x` prefix) for the named field.
pub fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, Error> {
    let text = text.trim();
    let text = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    if !text.len().is_multiple_of(2) {
        return Err(Error::Hex {
            field,
            reason: format!("odd number of hex digits ({})", text.len()),
        });
    }
    let digit = |c: u8, at: usize| -> Result<u8, Error> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(Error::Hex {
                field,
                reason: format!("{:?} at position {at} is not a hex digit", c as char),
            }),
        }
    };
    text.as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| Ok(digit(pair[0], 2 * i)? << 4 | digit(pair[1], 2 * i + 1)?))
        .collect()
}

/// Decodes exactly `N` bytes of hex for the named field.
pub fn decode_array<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], Error> {
    let bytes = decode(field, text)?;
    bytes.try_into().map_err(|bytes: Vec<u8>| Error::Length {
        field,
        expected: N,
        actual: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        assert_eq!(decode("x", "00ffAb").unwrap(), vec![0, 255, 0xab]);
        assert_eq!(encode(&[0, 255, 0xab]), "00ffab");
        assert!(matches!(decode("x", "abc"), Err(Error::Hex { .. })));
        assert!(matches!(decode("x", "zz"), Err(Error::Hex { .. })));
        assert!(matches!(
            decode_array::<4>("x", "0011"),
            Err(Error::Length {
                expected: 4,
                actual: 2,
                ..
            })
        ));
    }
}
