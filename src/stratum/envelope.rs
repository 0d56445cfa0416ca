//! Stratum v1's envelope: one JSON-RPC object per line, bounded, split
//! into responses and calls ([`Incoming`]); the errors pools send and the
//! error hashrig names for what it cannot use; the byte-order and hex
//! helpers every message parser shares.
//!
//! Everything here treats its input as hostile: wrong types, missing
//! fields, absurd numbers and oversized values are a [`ProtocolError`]
//! that names the method and the field, never a panic.

use serde_json::Value;

/// The longest line accepted from a pool. Coinbases that pay many
/// outputs run to tens of kilobytes; nothing legitimate comes near this.
pub const MAX_LINE: usize = 256 * 1024;

/// The most merkle branches a notify may carry (a tree of 2^32
/// transactions would need 32).
pub const MAX_BRANCHES: usize = 32;

/// The extranonce2 sizes accepted, in bytes.
pub const EXTRANONCE2_SIZES: std::ops::RangeInclusive<usize> = 1..=16;

/// The version-rolling mask hashrig asks for: BIP 320's general-purpose
/// bits 13 to 28.
pub const BIP320_MASK: u32 = 0x1fff_e000;

/// The fewest rolling bits hashrig asks the pool to allow (BIP 310
/// `version-rolling.min-bit-count`).
pub const MIN_ROLLING_BITS: u32 = 2;

/// A message a pool sent that hashrig cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{context}: {reason}")]
pub struct ProtocolError {
    /// The method or part of the message.
    pub context: String,
    /// What was wrong.
    pub reason: String,
}

impl ProtocolError {
    pub(super) fn new(context: impl Into<String>, reason: impl Into<String>) -> Self {
        ProtocolError {
            context: context.into(),
            reason: reason.into(),
        }
    }
}

/// A pool's error as JSON-RPC carries it: `[code, "message", traceback]`
/// (or, from some pools, an object or a bare string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// The numeric code when given (21 job not found, 22 duplicate, 23 low
    /// difficulty, 24 unauthorized, 25 not subscribed, by convention).
    pub code: Option<i64>,
    /// The message.
    pub message: String,
}

impl RpcError {
    fn from_value(value: &Value) -> Option<RpcError> {
        match value {
            Value::Null => None,
            Value::Array(items) => Some(RpcError {
                code: items.first().and_then(Value::as_i64),
                message: items.get(1).map(text_of).unwrap_or_default(),
            }),
            Value::Object(map) => Some(RpcError {
                code: map.get("code").and_then(Value::as_i64),
                message: map.get("message").map(text_of).unwrap_or_default(),
            }),
            other => Some(RpcError {
                code: None,
                message: text_of(other),
            }),
        }
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "{code} {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn text_of(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    clip(&text, 200)
}

/// At most `max` characters of `text`, for log lines built from pool input.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    if text.chars().count() > max {
        format!("{clean}…")
    } else {
        clean
    }
}

/// One line from the pool.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// The answer to one of our requests.
    Response {
        /// Our request's id (a pool that answers with another kind of id
        /// is answering something we did not send).
        id: u64,
        /// The result (`null` on error).
        result: Value,
        /// The pool's error, if any.
        error: Option<RpcError>,
    },
    /// A notification (`id` null or absent) or a request from the pool.
    Call {
        /// The id to answer with, for requests.
        id: Option<Value>,
        /// The method name.
        method: String,
        /// The parameters (an empty list when absent).
        params: Value,
    },
}

impl Incoming {
    /// Parses one line (without its newline).
    pub fn parse(line: &str) -> Result<Incoming, ProtocolError> {
        if line.len() > MAX_LINE {
            return Err(ProtocolError::new(
                "line",
                format!("{} bytes is over the {MAX_LINE}-byte limit", line.len()),
            ));
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| ProtocolError::new("line", format!("not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(ProtocolError::new("line", "not a JSON object"));
        };
        let id = map.remove("id").filter(|v| !v.is_null());
        match map.remove("method") {
            Some(Value::String(method)) => Ok(Incoming::Call {
                id,
                method: clip(&method, 64),
                params: map.remove("params").unwrap_or(Value::Array(Vec::new())),
            }),
            Some(_) => Err(ProtocolError::new("line", "method is not a string")),
            None => {
                let id = id
                    .as_ref()
                    .and_then(Value::as_u64)
                    .ok_or_else(|| ProtocolError::new("response", "id is not one of ours"))?;
                let error = map.get("error").and_then(RpcError::from_value);
                Ok(Incoming::Response {
                    id,
                    result: map.remove("result").unwrap_or(Value::Null),
                    error,
                })
            }
        }
    }
}

/// Reverses the bytes of each 4-byte word: Stratum's previous-hash order to
/// the header's, and back.
pub fn words_reversed(bytes: [u8; 32]) -> [u8; 32] {
    let mut out = bytes;
    for word in out.chunks_exact_mut(4) {
        word.reverse();
    }
    out
}

pub(super) fn bad(method: &str, e: crate::Error) -> ProtocolError {
    ProtocolError::new(method, e.to_string())
}

/// A 32-bit value sent as big-endian hex, 1 to 8 digits (pools do not
/// always pad to 8).
pub(super) fn hex_u32(method: &str, name: &str, text: &str) -> Result<u32, ProtocolError> {
    let digits = text.trim();
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ProtocolError::new(
            method,
            format!("{name} {:?} is not 1 to 8 hex digits", clip(text, 20)),
        ));
    }
    Ok(u32::from_str_radix(digits, 16).expect("checked hex digits"))
}
