//! The params of each Stratum v1 server method, parsed and checked:
//! `mining.notify`, `mining.set_difficulty`, `mining.set_extranonce`,
//! `mining.set_version_mask`, `client.reconnect`, and the results of
//! `mining.subscribe` and `mining.configure`.

use serde_json::Value;

use super::envelope::{
    bad, hex_u32, words_reversed, ProtocolError, EXTRANONCE2_SIZES, MAX_BRANCHES,
};
use crate::pool::{CoinbaseParts, ExtranonceLayout, PoolJob};
use crate::{hex, BlockHash, CompactTarget, Digest, Target};

/// `mining.notify`: the work a pool hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The pool's job id, echoed in `mining.submit`.
    pub job_id: String,
    /// The previous block hash in the header's byte order. Stratum sends it
    /// with each 4-byte word reversed (a convention from the first pool,
    /// kept by all); this is the byte order after undoing that.
    pub prev_hash: [u8; 32],
    /// The coinbase transaction before the extranonces.
    pub coinb1: Vec<u8>,
    /// The coinbase transaction after the extranonces.
    pub coinb2: Vec<u8>,
    /// The merkle branch of the coinbase, each hash in internal byte order.
    pub merkle_branch: Vec<[u8; 32]>,
    /// The block version.
    pub version: u32,
    /// The network target in compact form.
    pub bits: CompactTarget,
    /// The block time.
    pub ntime: u32,
    /// Whether earlier jobs are void (a new block on the network).
    pub clean_jobs: bool,
}

impl Notify {
    /// The pool layer's job for this notify, on a connection whose
    /// extranonce space, difficulty and version mask are as given.
    pub fn into_job(
        self,
        extranonce: ExtranonceLayout,
        difficulty: f64,
        version_mask: u32,
    ) -> PoolJob {
        PoolJob {
            job_id: self.job_id,
            prev_hash: BlockHash::from_digest(Digest::from_bytes(self.prev_hash)),
            coinbase: CoinbaseParts {
                prefix: self.coinb1,
                suffix: self.coinb2,
            },
            merkle_branch: self
                .merkle_branch
                .into_iter()
                .map(Digest::from_bytes)
                .collect(),
            version: self.version,
            bits: self.bits,
            ntime: self.ntime,
            clean: self.clean_jobs,
            extranonce,
            difficulty,
            version_mask,
            given_root: None,
            target: None,
        }
    }

    /// Parses `mining.notify` params: `[job_id, prevhash, coinb1, coinb2,
    /// [branch…], version, nbits, ntime, clean_jobs]`.
    pub fn from_params(params: &Value) -> Result<Notify, ProtocolError> {
        const M: &str = "mining.notify";
        let p = params
            .as_array()
            .filter(|p| p.len() >= 9)
            .ok_or_else(|| ProtocolError::new(M, "params is not a list of 9"))?;
        let field = |i: usize, name: &str| -> Result<&str, ProtocolError> {
            p[i].as_str()
                .ok_or_else(|| ProtocolError::new(M, format!("{name} is not a string")))
        };
        let job_id = field(0, "job_id")?;
        if job_id.is_empty() || job_id.len() > 128 {
            return Err(ProtocolError::new(M, "job_id is empty or over 128 bytes"));
        }
        let wire_prev: [u8; 32] =
            hex::decode_array("prevhash", field(1, "prevhash")?).map_err(|e| bad(M, e))?;
        let coinb1 = hex::decode("coinb1", field(2, "coinb1")?).map_err(|e| bad(M, e))?;
        let coinb2 = hex::decode("coinb2", field(3, "coinb2")?).map_err(|e| bad(M, e))?;
        let branch_values = p[4]
            .as_array()
            .ok_or_else(|| ProtocolError::new(M, "merkle branch is not a list"))?;
        if branch_values.len() > MAX_BRANCHES {
            return Err(ProtocolError::new(
                M,
                format!(
                    "{} merkle branches (at most {MAX_BRANCHES})",
                    branch_values.len()
                ),
            ));
        }
        let merkle_branch = branch_values
            .iter()
            .map(|b| {
                let text = b
                    .as_str()
                    .ok_or_else(|| ProtocolError::new(M, "a merkle branch is not a string"))?;
                hex::decode_array::<32>("merkle branch", text).map_err(|e| bad(M, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let version = hex_u32(M, "version", field(5, "version")?)?;
        let bits = CompactTarget::from_consensus(hex_u32(M, "nbits", field(6, "nbits")?)?);
        Target::from_compact(bits).map_err(|e| ProtocolError::new(M, e.to_string()))?;
        let ntime = hex_u32(M, "ntime", field(7, "ntime")?)?;
        let clean_jobs = p[8]
            .as_bool()
            .ok_or_else(|| ProtocolError::new(M, "clean_jobs is not a boolean"))?;
        Ok(Notify {
            job_id: job_id.to_string(),
            prev_hash: words_reversed(wire_prev),
            coinb1,
            coinb2,
            merkle_branch,
            version,
            bits,
            ntime,
            clean_jobs,
        })
    }
}

/// `mining.set_difficulty`: the share difficulty, checked to be a positive
/// finite number whose target exists.
pub fn difficulty_from_params(params: &Value) -> Result<f64, ProtocolError> {
    const M: &str = "mining.set_difficulty";
    let d = params
        .as_array()
        .and_then(|p| p.first())
        .and_then(Value::as_f64)
        .ok_or_else(|| ProtocolError::new(M, "params is not [number]"))?;
    Target::from_difficulty(d).map_err(|e| ProtocolError::new(M, e.to_string()))?;
    Ok(d)
}

/// The result of `mining.subscribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The session id to resume with, when the pool gave one.
    pub session_id: Option<String>,
    /// The pool's part of the coinbase's extra nonce (may be empty).
    pub extranonce1: Vec<u8>,
    /// How many bytes of extra nonce the miner rolls.
    pub extranonce2_size: usize,
}

impl Subscription {
    /// Parses a subscribe result. Pools send it in several shapes:
    /// `[[["mining.set_difficulty", id], ["mining.notify", id]], en1, size]`,
    /// `[["mining.notify", id], en1, size]`, or with the details list null.
    pub fn from_result(result: &Value) -> Result<Subscription, ProtocolError> {
        const M: &str = "mining.subscribe";
        let r = result
            .as_array()
            .filter(|r| r.len() >= 3)
            .ok_or_else(|| ProtocolError::new(M, "result is not a list of 3"))?;
        let session_id = session_of(&r[0]);
        let en1_text = r[1]
            .as_str()
            .ok_or_else(|| ProtocolError::new(M, "extranonce1 is not a string"))?;
        let extranonce1 = hex::decode("extranonce1", en1_text).map_err(|e| bad(M, e))?;
        if extranonce1.len() > 32 {
            return Err(ProtocolError::new(M, "extranonce1 is over 32 bytes"));
        }
        let extranonce2_size = extranonce2_size(M, &r[2])?;
        Ok(Subscription {
            session_id,
            extranonce1,
            extranonce2_size,
        })
    }
}

/// The session id in a subscribe result's details: the id paired with
/// `mining.notify` (cgminer's convention), else the first id given.
fn session_of(details: &Value) -> Option<String> {
    let pairs: Vec<&Vec<Value>> = match details.as_array() {
        Some(list) if list.first().is_some_and(Value::is_string) => vec![list],
        Some(list) => list.iter().filter_map(Value::as_array).collect(),
        None => Vec::new(),
    };
    let id_of = |pair: &&Vec<Value>| pair.get(1).and_then(Value::as_str).map(str::to_string);
    pairs
        .iter()
        .find(|p| p.first().and_then(Value::as_str) == Some("mining.notify"))
        .and_then(id_of)
        .or_else(|| pairs.first().and_then(id_of))
        .filter(|s| !s.is_empty() && s.len() <= 128)
}

fn extranonce2_size(method: &str, value: &Value) -> Result<usize, ProtocolError> {
    let size = value
        .as_u64()
        .ok_or_else(|| ProtocolError::new(method, "extranonce2 size is not a whole number"))?;
    if !EXTRANONCE2_SIZES.contains(&(size as usize)) {
        return Err(ProtocolError::new(
            method,
            format!("extranonce2 size {size} is not 1 to 16 bytes"),
        ));
    }
    Ok(size as usize)
}

/// `mining.set_extranonce`: `[extranonce1, extranonce2_size]`.
pub fn extranonce_from_params(params: &Value) -> Result<(Vec<u8>, usize), ProtocolError> {
    const M: &str = "mining.set_extranonce";
    let p = params
        .as_array()
        .filter(|p| p.len() >= 2)
        .ok_or_else(|| ProtocolError::new(M, "params is not a list of 2"))?;
    let text = p[0]
        .as_str()
        .ok_or_else(|| ProtocolError::new(M, "extranonce1 is not a string"))?;
    let en1 = hex::decode("extranonce1", text).map_err(|e| bad(M, e))?;
    if en1.len() > 32 {
        return Err(ProtocolError::new(M, "extranonce1 is over 32 bytes"));
    }
    Ok((en1, extranonce2_size(M, &p[1])?))
}

/// `mining.set_version_mask`: `["1fffe000"]`.
pub fn version_mask_from_params(params: &Value) -> Result<u32, ProtocolError> {
    const M: &str = "mining.set_version_mask";
    let text = params
        .as_array()
        .and_then(|p| p.first())
        .and_then(Value::as_str)
        .ok_or_else(|| ProtocolError::new(M, "params is not [string]"))?;
    hex_u32(M, "mask", text)
}

/// The mask a pool granted in its `mining.configure` result, or `None`
/// when it declined version rolling.
pub fn granted_mask(result: &Value) -> Result<Option<u32>, ProtocolError> {
    const M: &str = "mining.configure";
    let map = result
        .as_object()
        .ok_or_else(|| ProtocolError::new(M, "result is not an object"))?;
    match map.get("version-rolling") {
        Some(Value::Bool(true)) => {}
        _ => return Ok(None),
    }
    let text = map
        .get("version-rolling.mask")
        .and_then(Value::as_str)
        .ok_or_else(|| ProtocolError::new(M, "version-rolling.mask is not a string"))?;
    Ok(Some(hex_u32(M, "version-rolling.mask", text)?))
}

/// `client.reconnect`: `[host, port, wait seconds]`, each optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    /// The host, when one is named.
    pub host: Option<String>,
    /// The port, when one is named.
    pub port: Option<u16>,
    /// Seconds to wait first (capped at ten minutes).
    pub wait: u64,
}

impl Reconnect {
    /// Parses the params.
    pub fn from_params(params: &Value) -> Result<Reconnect, ProtocolError> {
        const M: &str = "client.reconnect";
        let empty = Vec::new();
        let p = params.as_array().unwrap_or(&empty);
        let host = match p.first() {
            None | Some(Value::Null) => None,
            Some(Value::String(h)) if h.is_empty() => None,
            Some(Value::String(h)) if h.len() <= 253 => Some(h.clone()),
            Some(_) => return Err(ProtocolError::new(M, "host is not a name")),
        };
        let port = match p.get(1) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.parse::<u16>().ok(),
            Some(_) => None,
        };
        if p.get(1).is_some_and(|v| !v.is_null()) && port.is_none() {
            return Err(ProtocolError::new(M, "port is not 0 to 65535"));
        }
        let wait = match p.get(2) {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(Reconnect {
            host,
            port,
            wait: wait.min(600),
        })
    }
}
