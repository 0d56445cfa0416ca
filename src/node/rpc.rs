//! JSON-RPC to a Bitcoin node over HTTP/1.1 (ureq, blocking: chunked or
//! sized answers alike), as Bitcoin Core serves it: basic authentication
//! (from the node's cookie file or a user and password), one connection
//! per call, every answer bounded in size and time.

use std::fmt;
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

impl Rpc {
    /// The `Authorization` header's value.
    fn authorization(&self) -> Result<String, RpcError> {
        use base64::Engine as _;
        let pair = match &self.auth {
            Auth::UserPass(u, p) => format!("{u}:{p}"),
            Auth::Cookie(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    RpcError::Io(format!("cannot read the cookie {}: {e}", path.display()))
                })?;
                text.trim().to_string()
            }
        };
        Ok(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        ))
    }

    /// Calls `method` with `params`, waiting at most `wait` for the answer
    /// (longer than the timeout for long polls).
    pub fn call_within(
        &self,
        method: &str,
        params: Value,
        wait: Duration,
    ) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "1.0", "id": "hashrig", "method": method, "params": params})
            .to_string();
        // One connection per call: a node restarts, and its cookie with
        // it. Connecting and sending are bounded by the timeout, the answer
        // by `wait` (short for a preflight, long for a long poll); no
        // status is an error of ureq's own (a node answers RPC errors with
        // 500 and a JSON body).
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(self.timeout))
            .timeout_send_request(Some(self.timeout))
            .timeout_send_body(Some(self.timeout))
            .timeout_recv_response(Some(wait))
            .timeout_recv_body(Some(wait))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .proxy(None)
            .user_agent(concat!("hashrig/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let answer = agent
            .post(format!("http://{}/", self.address))
            .header("Authorization", self.authorization()?)
            .content_type("application/json")
            .send(body.as_bytes());
        let failed = |e: ureq::Error| match e {
            ureq::Error::Timeout(_) => RpcError::TimedOut(wait),
            ureq::Error::BodyExceedsLimit(n) => RpcError::Bad(format!("an answer over {n} bytes")),
            ureq::Error::Io(e) if is_timeout(&e) => RpcError::TimedOut(wait),
            e @ (ureq::Error::StatusCode(_)
            | ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::Protocol(_)) => RpcError::Bad(e.to_string()),
            e => RpcError::Io(format!("{}: {e}", self.address)),
        };
        let answer = answer.map_err(failed)?;
        let code = answer.status().as_u16();
        if code == 401 {
            return Err(RpcError::Unauthorized);
        }
        let body = answer
            .into_body()
            .with_config()
            .limit(MAX_ANSWER as u64)
            .read_to_vec()
            .map_err(failed)?;
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

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

#[cfg(test)]
mod tests {
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
    fn basic_authorization_from_a_user_and_password() {
        let rpc = super::Rpc {
            address: "127.0.0.1:8332".into(),
            auth: super::Auth::UserPass("user".into(), "pass".into()),
            timeout: std::time::Duration::from_secs(1),
        };
        assert_eq!(rpc.authorization().unwrap(), "Basic dXNlcjpwYXNz");
    }

    /// A one-shot HTTP server on loopback: reads one request and writes
    /// `answer` (None: never answers, holding the connection).
    fn node(answer: Option<&'static str>) -> (super::Rpc, std::thread::JoinHandle<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("\"params\"") {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            match answer {
                Some(a) => conn.write_all(a.as_bytes()).unwrap(),
                None => std::thread::sleep(std::time::Duration::from_secs(1)),
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        let rpc = super::Rpc {
            address,
            auth: super::Auth::UserPass("user".into(), "pass".into()),
            timeout: std::time::Duration::from_millis(500),
        };
        (rpc, server)
    }

    #[test]
    fn a_chunked_answer_is_read_whole() {
        let (rpc, server) = node(Some(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
             a\r\n{\"result\":\r\n1c\r\n 42, \"error\": null, \"id\": 1}\r\n0\r\n\r\n",
        ));
        let got = rpc.call("getblockcount", serde_json::json!([])).unwrap();
        assert_eq!(got, serde_json::json!(42));
        let request = server.join().unwrap();
        assert!(request.contains("Basic dXNlcjpwYXNz"), "{request}");
    }

    #[test]
    fn refused_credentials_and_silence_are_typed() {
        let (rpc, server) = node(Some(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
        ));
        let e = rpc
            .call("getblockcount", serde_json::json!([]))
            .unwrap_err();
        assert!(matches!(e, RpcError::Unauthorized), "{e:?}");
        server.join().unwrap();
        // The answer is waited for as long as asked, not the (longer)
        // connection timeout: a preflight's short wait stays short.
        let (mut rpc, server) = node(None);
        rpc.timeout = std::time::Duration::from_secs(5);
        let started = std::time::Instant::now();
        let e = rpc
            .call_within(
                "getblockcount",
                serde_json::json!([]),
                std::time::Duration::from_millis(300),
            )
            .unwrap_err();
        assert!(matches!(e, RpcError::TimedOut(_)), "{e:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        server.join().unwrap();
    }
}
