//! JSON-RPC to a Bitcoin node over HTTP/1.1 on `std::net`, as Bitcoin
//! Core serves it: basic authentication (from the node's cookie file or a
//! user and password), one connection per call, every answer bounded in
//! size and time.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

/// The largest answer read (a mainnet template is a few MiB of hex).
pub const MAX_ANSWER: usize = 64 << 20;

/// How a node is logged in to.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// The cookie file the node writes at start (`user:password`), read
    /// again on every connection (it changes when the node restarts).
    Cookie(PathBuf),
    /// `rpcuser` and `rpcpassword`.
    UserPass(String, String),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Cookie(p) => write!(f, "Cookie({})", p.display()),
            Auth::UserPass(u, _) => write!(f, "UserPass({u}, <hidden>)"),
        }
    }
}

/// Why a call failed.
#[derive(Debug)]
pub enum RpcError {
    /// The node cannot be reached or the connection failed.
    Io(String),
    /// The node did not answer in time.
    TimedOut(Duration),
    /// The node refused the credentials (HTTP 401).
    Unauthorized,
    /// The node answered with an RPC error.
    Rpc {
        /// The code (`-28`: still starting, `-10`: in initial download, …).
        code: i64,
        /// The message.
        message: String,
    },
    /// The answer is not JSON-RPC.
    Bad(String),
}

impl RpcError {
    /// The proof-of-work rule a node's `getblocktemplate` refused to serve
    /// without, when that is what this error says: a chain that left
    /// SHA-256d (Bitcoin Knots' BLAKE2b fork answers `-8 "Support for
    /// 'blake2b' rule requires explicit client support"` to a client that
    /// does not list the rule). Such a node can never be mined by hashrig.
    pub fn foreign_proof_of_work(&self) -> Option<&'static str> {
        match self {
            RpcError::Rpc { code: -8, message }
                if message.to_ascii_lowercase().contains("'blake2b' rule") =>
            {
                Some("blake2b")
            }
            _ => None,
        }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RpcError::Io(e) => write!(f, "node: {e}"),
            RpcError::TimedOut(t) => {
                write!(f, "node: no answer within {:.1} s (timed out)", t.as_secs_f64())
            }
            RpcError::Unauthorized => f.write_str(
                "node: the RPC credentials were refused (HTTP 401): check --rpc-cookie or --rpc-user/--rpc-pass",
            ),
            RpcError::Rpc { code: -28, message } => {
                write!(f, "node: still starting ({message}, RPC error -28)")
            }
            RpcError::Rpc { code: -10, message } => {
                write!(f, "node: in initial block download ({message}, RPC error -10)")
            }
            RpcError::Rpc { code, message } => write!(f, "node: RPC error {code}: {message}"),
            RpcError::Bad(why) => write!(f, "node: a bad answer ({why})"),
        }
    }
}

impl std::error::Error for RpcError {}

/// A node's RPC endpoint.
#[derive(Clone, Debug)]
pub struct Rpc {
    /// `host:port`.
    pub address: String,
    /// The credentials.
    pub auth: Auth,
    /// How long a connection and an ordinary call may take.
    pub timeout: Duration,
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Rpc {
    fn credentials(&self) -> Result<String, RpcError> {
        let pair = match &self.auth {
            Auth::UserPass(u, p) => format!("{u}:{p}"),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RpcError::Io(format!("cannot read the cookie {}: {e}", path.display()))
                })?;
                text.trim().to_string()
            }
        };
        Ok(base64(pair.as_bytes()))
    }

    /// Calls `method` with `params`, waiting at most `wait` for the answer
    /// (longer than the timeout for long polls).
    pub fn call_within(
        &self,
        method: &str,
        params: Value,
        wait: Duration,
    ) -> Result<Value, RpcError> {
        let stream = self.send(method, params, wait)?;
        self.receive(stream)
    }

    /// Writes the call of `method` with `params`; the connection to read
    /// its answer from (within `wait`) with [`receive`](Self::receive).
    pub fn send(&self, method: &str, params: Value, wait: Duration) -> Result<TcpStream, RpcError> {
        let body = json!({"jsonrpc": "1.0", "id": "hashrig", "method": method, "params": params})
            .to_string();
        self.send_body(&[body.as_bytes()], wait)
    }

    /// Writes `submitblock` with the block's hex given in `parts` (written
    /// as they are, without copying them into one string first: a block
    /// can be megabytes).
    pub fn send_block(&self, parts: &[&[u8]], wait: Duration) -> Result<TcpStream, RpcError> {
        let mut body: Vec<&[u8]> =
            vec![br#"{"jsonrpc":"1.0","id":"hashrig","method":"submitblock","params":[""#];
        body.extend_from_slice(parts);
        body.push(br#""]}"#);
        self.send_body(&body, wait)
    }

    fn send_body(&self, body: &[&[u8]], wait: Duration) -> Result<TcpStream, RpcError> {
        let io = |e: std::io::Error| RpcError::Io(format!("{}: {e}", self.address));
        let addr = self
            .address
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| RpcError::Io(format!("{} has no address", self.address)))?;
        let stream = TcpStream::connect_timeout(&addr, self.timeout).map_err(io)?;
        stream.set_read_timeout(Some(wait)).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        let _ = stream.set_nodelay(true);
        let length: usize = body.iter().map(|b| b.len()).sum();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            self.credentials()?,
            length
        );
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, &stream);
        out.write_all(request.as_bytes()).map_err(io)?;
        for part in body {
            out.write_all(part).map_err(io)?;
        }
        out.flush().map_err(io)?;
        drop(out);
        Ok(stream)
    }

    /// Reads the answer to a call [`send`](Self::send) wrote.
    pub fn receive(&self, stream: TcpStream) -> Result<Value, RpcError> {
        let wait = stream.read_timeout().ok().flatten().unwrap_or(self.timeout);
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                RpcError::TimedOut(wait)
            }
            _ => RpcError::Io(format!("{}: {e}", self.address)),
        };
        let mut reader = BufReader::new(stream.take(MAX_ANSWER as u64 + 64 * 1024));
        let mut status = String::new();
        reader.read_line(&mut status).map_err(io)?;
        let code: u16 = status
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| RpcError::Bad(format!("status line {:?}", status.trim())))?;
        let mut length = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).map_err(io)? == 0 || line.len() > 8192 {
                return Err(RpcError::Bad("headers cut short".into()));
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse::<usize>().ok();
                }
            }
        }
        if code == 401 {
            return Err(RpcError::Unauthorized);
        }
        let mut body = Vec::new();
        match length {
            Some(n) if n > MAX_ANSWER => {
                return Err(RpcError::Bad(format!("an answer of {n} bytes")))
            }
            Some(n) => {
                body.resize(n, 0);
                reader.read_exact(&mut body).map_err(io)?;
            }
            None => {
                reader.read_to_end(&mut body).map_err(io)?;
                if body.len() > MAX_ANSWER {
                    return Err(RpcError::Bad("an answer too long".into()));
                }
            }
        }
        let v: Value = serde_json::from_slice(&body)
            .map_err(|_| RpcError::Bad(format!("HTTP {code} with a body that is not JSON")))?;
        match v.get("error") {
            Some(e) if !e.is_null() => Err(RpcError::Rpc {
                code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: e
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect(),
            }),
            _ => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// Calls `method` with `params` within the timeout.
    pub fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_within(method, params, self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::base64;
    use super::RpcError;

    #[test]
    fn a_node_that_asks_for_the_blake2b_rule_is_a_foreign_proof_of_work() {
        let knots = RpcError::Rpc {
            code: -8,
            message: "Support for 'blake2b' rule requires explicit client support".into(),
        };
        assert_eq!(knots.foreign_proof_of_work(), Some("blake2b"));
        let segwit = RpcError::Rpc {
            code: -8,
            message: "getblocktemplate must be called with the segwit rule set".into(),
        };
        assert_eq!(segwit.foreign_proof_of_work(), None);
        let other_code = RpcError::Rpc {
            code: -10,
            message: "Support for 'blake2b' rule requires explicit client support".into(),
        };
        assert_eq!(other_code.foreign_proof_of_work(), None);
    }

    #[test]
    fn base64_as_rfc_4648() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }
}
