//! Stratum v1 on the wire: one JSON-RPC object per line, parsed at the
//! edge into typed messages (`mining.notify`, `mining.set_difficulty`, …)
//! that the rest of hashrig sees; the requests a miner sends, written as
//! pools expect them.
//!
//! Everything here treats its input as hostile: wrong types, missing
//! fields, absurd numbers and oversized values are a [`ProtocolError`]
//! that names the method and the field, never a panic.

use serde_json::{json, Value};

use crate::{hex, CompactTarget, Target};

pub use super::outgoing::{
    authorize_request, configure_params, configure_request, extranonce_subscribe_request, reply,
    request, subscribe_params, subscribe_request, Submit,
};

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

/// The id of a request from the pool, echoed in the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestId(Value);

impl RequestId {
    /// The reply line carrying `result` (newline included).
    pub fn reply(&self, result: &str) -> String {
        reply(&self.0, json!(result), None)
    }

    /// The error reply line (newline included).
    pub fn refuse(&self, code: i64, message: &str) -> String {
        reply(&self.0, Value::Null, Some((code, message)))
    }
}

/// The result a pool gave to one of our requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply(Value);

impl Reply {
    /// Whether it is `true` (an accepted share, a granted authorization).
    pub fn is_true(&self) -> bool {
        self.0 == Value::Bool(true)
    }

    /// The result read as `mining.subscribe`'s.
    pub fn subscription(&self) -> Result<Subscription, ProtocolError> {
        Subscription::from_result(&self.0)
    }

    /// The result read as `mining.configure`'s: the version-rolling mask
    /// granted, or `None` when declined.
    pub fn granted_mask(&self) -> Result<Option<u32>, ProtocolError> {
        granted_mask(&self.0)
    }

    /// The result as text for a message, at most `max` characters.
    pub fn describe(&self, max: usize) -> String {
        clip(&self.0.to_string(), max)
    }
}

/// One line from the pool, parsed into what it means: the only shape of
/// the pool's messages that leaves this module.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// The answer to one of our requests.
    Response {
        /// Our request's id.
        id: u64,
        /// The result (`null` on error).
        result: Reply,
        /// The pool's error, if any.
        error: Option<RpcError>,
    },
    /// `mining.notify`: a new job.
    Notify(Notify),
    /// `mining.set_difficulty`: the share difficulty from the next job on.
    SetDifficulty(f64),
    /// `mining.set_extranonce`: extranonce1 and the extranonce2 size from
    /// the next job on.
    SetExtranonce(Vec<u8>, usize),
    /// `mining.set_version_mask`: the version bits that may be rolled now.
    SetVersionMask(u32),
    /// `client.reconnect`.
    Reconnect(Reconnect),
    /// `client.show_message`, its text clipped.
    ShowMessage(String),
    /// `client.get_version`: the pool asks for the user agent.
    GetVersion(RequestId),
    /// `mining.ping`.
    Ping(RequestId),
    /// A request hashrig does not serve (it gets an error reply).
    UnknownRequest {
        /// The id to answer.
        id: RequestId,
        /// The method, clipped.
        method: String,
    },
    /// A notification hashrig does not know (it is ignored).
    UnknownNotification(String),
}

impl ServerMessage {
    /// Parses one line (without its newline): the envelope, then the
    /// params of the method it names.
    pub fn parse(line: &str) -> Result<ServerMessage, ProtocolError> {
        match Incoming::parse(line)? {
            Incoming::Response { id, result, error } => Ok(ServerMessage::Response {
                id,
                result: Reply(result),
                error,
            }),
            Incoming::Call { id, method, params } => ServerMessage::call(id, method, &params),
        }
    }

    fn call(
        id: Option<Value>,
        method: String,
        params: &Value,
    ) -> Result<ServerMessage, ProtocolError> {
        Ok(match method.as_str() {
            "mining.notify" => ServerMessage::Notify(Notify::from_params(params)?),
            "mining.set_difficulty" => {
                ServerMessage::SetDifficulty(difficulty_from_params(params)?)
            }
            "mining.set_extranonce" => {
                let (en1, size) = extranonce_from_params(params)?;
                ServerMessage::SetExtranonce(en1, size)
            }
            "mining.set_version_mask" => {
                ServerMessage::SetVersionMask(version_mask_from_params(params)?)
            }
            "client.reconnect" => ServerMessage::Reconnect(Reconnect::from_params(params)?),
            "client.show_message" => ServerMessage::ShowMessage(
                params
                    .as_array()
                    .and_then(|p| p.first())
                    .map(|v| clip(v.as_str().unwrap_or(&v.to_string()), 500))
                    .unwrap_or_default(),
            ),
            _ => match id {
                Some(id) => {
                    let id = RequestId(id);
                    match method.as_str() {
                        "client.get_version" => ServerMessage::GetVersion(id),
                        "mining.ping" => ServerMessage::Ping(id),
                        _ => ServerMessage::UnknownRequest { id, method },
                    }
                }
                // A request without an id cannot be answered.
                None => ServerMessage::UnknownNotification(method),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_lines_become_typed_messages() {
        let parse = |line: &str| ServerMessage::parse(line).unwrap();
        assert_eq!(
            parse(r#"{"id":null,"method":"mining.set_difficulty","params":[0.5]}"#),
            ServerMessage::SetDifficulty(0.5)
        );
        assert_eq!(
            parse(r#"{"id":null,"method":"mining.set_extranonce","params":["f000",4]}"#),
            ServerMessage::SetExtranonce(vec![0xf0, 0], 4)
        );
        assert_eq!(
            parse(r#"{"method":"mining.set_version_mask","params":["1fffe000"]}"#),
            ServerMessage::SetVersionMask(0x1fff_e000)
        );
        assert_eq!(
            parse(r#"{"id":null,"method":"client.show_message","params":["hi\nthere"]}"#),
            ServerMessage::ShowMessage("hi there".into())
        );
        let ServerMessage::Ping(id) = parse(r#"{"id":7,"method":"mining.ping","params":[]}"#)
        else {
            panic!("a ping")
        };
        let reply: Value = serde_json::from_str(&id.reply("pong")).unwrap();
        assert_eq!(reply, json!({"id": 7, "result": "pong", "error": null}));
        let ServerMessage::UnknownRequest { id, method } =
            parse(r#"{"id":"x","method":"mining.frobnicate"}"#)
        else {
            panic!("an unknown request")
        };
        assert_eq!(method, "mining.frobnicate");
        assert!(id
            .refuse(20, "unsupported method")
            .contains("[20,\"unsupported method\",null]"));
        assert_eq!(
            parse(r#"{"method":"mining.ping"}"#),
            ServerMessage::UnknownNotification("mining.ping".into())
        );
        let ServerMessage::Response { id, result, error } =
            parse(r#"{"id":101,"result":true,"error":null}"#)
        else {
            panic!("a response")
        };
        assert_eq!((id, result.is_true(), error), (101, true, None));
        // A known method with bad params is an error naming the method.
        let e =
            ServerMessage::parse(r#"{"method":"mining.set_difficulty","params":[0]}"#).unwrap_err();
        assert!(e.to_string().starts_with("mining.set_difficulty"), "{e}");
    }

    #[test]
    fn subscribe_shapes() {
        let nested = json!([
            [["mining.set_difficulty", "a"], ["mining.notify", "b"]],
            "f000",
            4
        ]);
        let s = Subscription::from_result(&nested).unwrap();
        assert_eq!(s.session_id.as_deref(), Some("b"));
        assert_eq!(s.extranonce1, vec![0xf0, 0]);
        assert_eq!(s.extranonce2_size, 4);
        let flat = json!([["mining.notify", "c"], "", 8]);
        let s = Subscription::from_result(&flat).unwrap();
        assert_eq!(s.session_id.as_deref(), Some("c"));
        assert!(s.extranonce1.is_empty());
        let none = json!([null, "01", 16]);
        assert_eq!(Subscription::from_result(&none).unwrap().session_id, None);
        for size in [0, 17, 100] {
            assert!(Subscription::from_result(&json!([null, "01", size])).is_err());
        }
        assert!(Subscription::from_result(&json!([null, "01", -1])).is_err());
        assert!(Subscription::from_result(&json!([null, "zz", 4])).is_err());
    }

    #[test]
    fn difficulties() {
        assert_eq!(difficulty_from_params(&json!([0.5])).unwrap(), 0.5);
        assert_eq!(difficulty_from_params(&json!([65536])).unwrap(), 65536.0);
        for bad in [
            json!([0]),
            json!([-1]),
            json!(["1"]),
            json!([]),
            json!(null),
        ] {
            assert!(difficulty_from_params(&bad).is_err(), "{bad}");
        }
        // A difficulty so high that its target is zero cannot be met
        // (1e999 and NaN are not JSON at all).
        assert!(difficulty_from_params(&json!([1e300])).is_err());
        assert!(difficulty_from_params(&json!([1e12])).is_ok());
    }

    #[test]
    fn hex_words_need_not_be_padded() {
        assert_eq!(hex_u32("m", "v", "4").unwrap(), 4);
        assert_eq!(hex_u32("m", "v", "20000004").unwrap(), 0x2000_0004);
        assert!(hex_u32("m", "v", "120000004").is_err());
        assert!(hex_u32("m", "v", "").is_err());
        assert!(hex_u32("m", "v", "-1").is_err());
    }

    #[test]
    fn submit_round_trip() {
        let s = Submit {
            worker: "w".into(),
            job_id: "j".into(),
            extranonce2: vec![0, 1],
            ntime: 0x64,
            nonce: 0xdead,
            version_bits: Some(0x2000),
        };
        assert_eq!(
            s.params(),
            json!(["w", "j", "0001", "00000064", "0000dead", "00002000"])
        );
        assert_eq!(Submit::from_params(&s.params()).unwrap(), s);
    }

    #[test]
    fn responses_and_calls() {
        let r =
            Incoming::parse(r#"{"id":3,"result":null,"error":[23,"Low difficulty share",null]}"#)
                .unwrap();
        assert_eq!(
            r,
            Incoming::Response {
                id: 3,
                result: Value::Null,
                error: Some(RpcError {
                    code: Some(23),
                    message: "Low difficulty share".into()
                })
            }
        );
        let c = Incoming::parse(r#"{"id":null,"method":"mining.set_difficulty","params":[2]}"#)
            .unwrap();
        assert!(matches!(c, Incoming::Call { id: None, .. }));
        assert!(Incoming::parse("[1,2]").is_err());
        assert!(Incoming::parse("{\"id\":\"x\",\"result\":true}").is_err());
        assert!(Incoming::parse("\u{0}\u{1}garbage").is_err());
    }
}
