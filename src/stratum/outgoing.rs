//! Stratum v1 requests and replies as a miner writes them: one JSON-RPC
//! object per line, the 32-bit values as pools expect them (8 big-endian
//! hex digits).

use serde_json::{json, Value};

use super::envelope::{bad, hex_u32, ProtocolError, MIN_ROLLING_BITS};
use crate::hex;

/// A share as `mining.submit` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Submit {
    /// The worker name (the user given to `mining.authorize`).
    pub worker: String,
    /// The pool's job id.
    pub job_id: String,
    /// The extranonce2 bytes.
    pub extranonce2: Vec<u8>,
    /// The header's time.
    pub ntime: u32,
    /// The header's nonce.
    pub nonce: u32,
    /// The rolled version bits (the header's version XOR the job's), sent
    /// only when version rolling was negotiated.
    pub version_bits: Option<u32>,
}

impl Submit {
    /// The JSON-RPC params: `[worker, job_id, extranonce2, ntime, nonce
    /// (, version_bits)]`, the 32-bit values as 8 big-endian hex digits.
    pub fn params(&self) -> Value {
        let mut p = vec![
            json!(self.worker),
            json!(self.job_id),
            json!(hex::encode(&self.extranonce2)),
            json!(format!("{:08x}", self.ntime)),
            json!(format!("{:08x}", self.nonce)),
        ];
        if let Some(bits) = self.version_bits {
            p.push(json!(format!("{bits:08x}")));
        }
        Value::Array(p)
    }

    /// Parses submit params, for proxies and pool-side tools.
    pub fn from_params(params: &Value) -> Result<Submit, ProtocolError> {
        const M: &str = "mining.submit";
        let p = params
            .as_array()
            .filter(|p| p.len() >= 5)
            .ok_or_else(|| ProtocolError::new(M, "params is not a list of 5 or 6"))?;
        let s = |i: usize, name: &str| -> Result<&str, ProtocolError> {
            p[i].as_str()
                .ok_or_else(|| ProtocolError::new(M, format!("{name} is not a string")))
        };
        Ok(Submit {
            worker: s(0, "worker")?.to_string(),
            job_id: s(1, "job_id")?.to_string(),
            extranonce2: hex::decode("extranonce2", s(2, "extranonce2")?).map_err(|e| bad(M, e))?,
            ntime: hex_u32(M, "ntime", s(3, "ntime")?)?,
            nonce: hex_u32(M, "nonce", s(4, "nonce")?)?,
            version_bits: match p.get(5) {
                Some(v) => Some(hex_u32(
                    M,
                    "version_bits",
                    v.as_str()
                        .ok_or_else(|| ProtocolError::new(M, "version_bits is not a string"))?,
                )?),
                None => None,
            },
        })
    }

    /// The `mining.submit` request line, as request `id`.
    pub fn request(&self, id: u64) -> String {
        request(id, "mining.submit", self.params())
    }
}

/// A request line (newline included).
pub fn request(id: u64, method: &str, params: Value) -> String {
    let mut line = json!({"id": id, "method": method, "params": params}).to_string();
    line.push('\n');
    line
}

/// A reply line to a pool's request (newline included).
pub fn reply(id: &Value, result: Value, error: Option<(i64, &str)>) -> String {
    let error = match error {
        Some((code, message)) => json!([code, message, null]),
        None => Value::Null,
    };
    let mut line = json!({"id": id, "result": result, "error": error}).to_string();
    line.push('\n');
    line
}

/// `mining.configure` params asking for BIP 310 version rolling.
pub fn configure_params(mask: u32) -> Value {
    json!([
        ["version-rolling"],
        {
            "version-rolling.mask": format!("{mask:08x}"),
            "version-rolling.min-bit-count": MIN_ROLLING_BITS
        }
    ])
}

/// `mining.subscribe` params: the user agent, and the session to resume.
pub fn subscribe_params(agent: &str, session: Option<&str>) -> Value {
    match session {
        Some(s) => json!([agent, s]),
        None => json!([agent]),
    }
}

/// `mining.configure` asking for BIP 310 version rolling under `mask`.
pub fn configure_request(id: u64, mask: u32) -> String {
    request(id, "mining.configure", configure_params(mask))
}

/// `mining.subscribe` with the user agent and the session to resume.
pub fn subscribe_request(id: u64, agent: &str, session: Option<&str>) -> String {
    request(id, "mining.subscribe", subscribe_params(agent, session))
}

/// `mining.extranonce.subscribe` (NiceHash's extension).
pub fn extranonce_subscribe_request(id: u64) -> String {
    request(id, "mining.extranonce.subscribe", Value::Array(Vec::new()))
}

/// `mining.authorize` for the worker and its password.
pub fn authorize_request(id: u64, user: &str, pass: &str) -> String {
    request(id, "mining.authorize", json!([user, pass]))
}
