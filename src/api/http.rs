//! The HTTP API: the dashboard (`GET /`, with its script and style), `GET
//! /metrics`, `GET /summary` and `GET /history` (and `HEAD` of each), and
//! `POST /control/pause`, `/control/resume` and `/control/stop` with
//! `Authorization: Bearer <token>`. HTTP/1.1 with one request per
//! connection (`Connection: close`), a 16 KiB request limit and a 2 s
//! deadline. `/summary` and `/history` answer CORS for the origins the rig
//! allows, and nothing else does. A request whose `Host` is neither an IP
//! literal, `localhost` nor a name the rig was given gets 421 (DNS
//! rebinding).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::dashboard;
use super::metrics;
use super::server::{Conn, Limits, ReadEnd, Server};
use super::Rig;
use crate::Error;

/// The content type of the exposition that `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The running HTTP API; stops when dropped.
pub struct ApiServer {
    server: Server,
    sampler: Sampler,
}

/// The thread that takes the history's points; stops when dropped.
struct Sampler {
    stop: Arc<AtomicBool>,
}

impl Sampler {
    fn start(rig: Arc<Rig>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let _ = std::thread::Builder::new()
            .name("hashrig-api-history".into())
            .spawn(move || {
                let every = rig.history_interval();
                let mut next = Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    if Instant::now() >= next {
                        rig.sample();
                        next += every;
                    }
                    std::thread::sleep(Duration::from_millis(50).min(every));
                }
            });
        Sampler { stop }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl ApiServer {
    /// Serves `rig` on `addr`. Control needs `token` (`None`: control is
    /// refused).
    pub fn start(rig: Arc<Rig>, addr: SocketAddr, token: Option<String>) -> Result<Self, Error> {
        Self::with_limits(rig, addr, token, Limits::default())
    }

    /// [`start`](Self::start) with other bounds.
    pub fn with_limits(
        rig: Arc<Rig>,
        addr: SocketAddr,
        token: Option<String>,
        limits: Limits,
    ) -> Result<Self, Error> {
        let token = token.filter(|t| !t.is_empty());
        let sampler = Sampler::start(rig.clone());
        let server = Server::start(
            "api",
            addr,
            limits,
            Arc::new(move |conn: &mut Conn| handle(&rig, token.as_deref(), conn)),
        )?;
        Ok(ApiServer { server, sampler })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops serving.
    pub fn stop(&self) {
        self.server.stop();
        self.sampler.stop.store(true, Ordering::Relaxed);
    }
}

/// The content type of Prometheus's classic text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A request's method, path, bearer token and whether it takes OpenMetrics.
struct Request {
    method: String,
    path: String,
    bearer: Option<String>,
    openmetrics: bool,
    /// The `Origin` header (a page of another rig).
    origin: Option<String>,
    /// The `Host` header.
    host: Option<String>,
}

/// The end of the head, if it has arrived, and the body length it
/// announces.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn content_length(head: &str) -> Option<usize> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// Whether the head and the body it announces have both arrived.
fn complete(buf: &[u8]) -> bool {
    let Some(end) = head_end(buf) else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    buf.len() >= end + content_length(&head).unwrap_or(0)
}

fn parse(buf: &[u8]) -> Option<Request> {
    let end = head_end(buf)?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    let path = target.split('?').next().unwrap_or(target).to_string();
    let headers: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once(':')).collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let openmetrics = header("accept").is_some_and(|a| a.contains("application/openmetrics-text"));
    let bearer = header("authorization").and_then(|v| {
        let v = v.trim();
        let (scheme, rest) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_string())
    });
    let origin = header("origin").map(str::to_string);
    let host = header("host").map(str::to_string);
    Some(Request {
        method,
        path,
        bearer,
        openmetrics,
        origin,
        host,
    })
}

/// Compares without stopping at the first difference, so that the time
/// taken does not tell how much of a guess was right.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn respond(conn: &mut Conn, status: &str, content_type: &str, extra: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n{extra}\r\n",
        body.len()
    );
    let _ = conn.stream.write_all(head.as_bytes());
    if !conn.head_only {
        let _ = conn.stream.write_all(body.as_bytes());
    }
    let _ = conn.stream.flush();
}

fn error(conn: &mut Conn, status: &str, message: &str) {
    let body = serde_json::json!({ "error": message }).to_string();
    respond(conn, status, "application/json", "", &body);
}

/// The CORS header for a read of the figures: only for an origin the rig
/// allows, and only what a page needs to read them (no credentials, no
/// other method).
fn cors(rig: &Rig, request: &Request) -> String {
    match &request.origin {
        Some(o) if rig.allows_origin(o) => {
            format!("Access-Control-Allow-Origin: {o}\r\nVary: Origin\r\n")
        }
        _ => "Vary: Origin\r\n".to_string(),
    }
}

fn handle(rig: &Rig, token: Option<&str>, conn: &mut Conn) {
    let mut buf = Vec::new();
    match conn.read_request(&mut buf, complete) {
        ReadEnd::Complete => {}
        ReadEnd::TooLarge => {
            let limit = conn.limits.max_request;
            error(
                conn,
                "413 Content Too Large",
                &format!("requests are limited to {limit} bytes"),
            );
            // Closing with the rest unread would reset the connection and
            // could lose the answer: read a little more first, bounded.
            return conn.linger();
        }
        ReadEnd::Eof | ReadEnd::TimedOut => {
            return error(conn, "408 Request Timeout", "incomplete request")
        }
    }
    let Some(request) = parse(&buf) else {
        return error(conn, "400 Bad Request", "not an HTTP request");
    };
    // HEAD is GET without the body (RFC 9110 9.3.2).
    conn.head_only = request.method == "HEAD";
    // Only the names this rig goes by: a page whose own name was rebound
    // to this address sends its own name (RFC 9110 15.5.20).
    if let Some(host) = request.host.as_deref().filter(|h| !rig.allows_host(h)) {
        let message = format!(
            "this API does not answer for the host {host:?}: name it with --api-host (an IP address or localhost always works)"
        );
        return error(conn, "421 Misdirected Request", &message);
    }
    let method = if conn.head_only {
        "GET"
    } else {
        request.method.as_str()
    };
    match (method, request.path.as_str()) {
        ("GET", "/metrics") => {
            // OpenMetrics for those that ask for it (Prometheus does), the
            // classic text format for everyone else.
            let text = metrics::exposition(&rig.snapshot());
            if request.openmetrics {
                respond(conn, "200 OK", OPENMETRICS, "", &text);
            } else {
                respond(
                    conn,
                    "200 OK",
                    PROMETHEUS_TEXT,
                    "",
                    &metrics::classic(&text),
                );
            }
        }
        ("GET", "/" | "/index.html") => {
            let csp = dashboard::content_security_policy(rig.peers());
            let headers = format!("Content-Security-Policy: {csp}\r\n{}", dashboard::HEADERS);
            respond(conn, "200 OK", "text/html; charset=utf-8", &headers, dashboard::INDEX);
        }
        // Browsers ask for it whatever the page says.
        ("GET", "/favicon.ico") => respond(conn, "204 No Content", "image/x-icon", "", ""),
        ("GET", "/dashboard.js") => respond(
            conn,
            "200 OK",
            "text/javascript; charset=utf-8",
            dashboard::HEADERS,
            dashboard::SCRIPT,
        ),
        ("GET", "/dashboard.css") => respond(
            conn,
            "200 OK",
            "text/css; charset=utf-8",
            dashboard::HEADERS,
            dashboard::STYLE,
        ),
        ("GET", "/summary") => {
            let mut summary = serde_json::to_value(rig.summary()).unwrap_or_default();
            if let Some(o) = summary.as_object_mut() {
                o.insert("control".into(), token.is_some().into());
                o.insert("peers".into(), rig.peers().into());
            }
            let body = serde_json::to_string_pretty(&summary).unwrap_or_default();
            let cors = cors(rig, &request);
            respond(conn, "200 OK", "application/json", &cors, &body);
        }
        ("GET", "/mmpos") => {
            let body = super::mmpos::document(&rig.summary()).to_string();
            respond(conn, "200 OK", "application/json", "", &body);
        }
        ("GET", "/history") => {
            let cors = cors(rig, &request);
            respond(conn, "200 OK", "application/json", &cors, &rig.history_json());
        }
        ("POST", path) if path.starts_with("/control/") => {
            let action = &path["/control/".len()..];
            if !matches!(action, "pause" | "resume" | "stop") {
                return error(
                    conn,
                    "404 Not Found",
                    "control actions: pause, resume, stop",
                );
            }
            let Some(token) = token else {
                return error(
                    conn,
                    "403 Forbidden",
                    "control is off: start hashrig with --api-token (or HASHRIG_API_TOKEN)",
                );
            };
            if !request
                .bearer
                .as_deref()
                .is_some_and(|b| same_secret(b, token))
            {
                let body = serde_json::json!({ "error": "a valid bearer token is needed" });
                return respond(
                    conn,
                    "401 Unauthorized",
                    "application/json",
                    "WWW-Authenticate: Bearer\r\n",
                    &body.to_string(),
                );
            }
            let body = serde_json::json!({ "ok": true, "action": action }).to_string();
            respond(conn, "200 OK", "application/json", "", &body);
            rig.record("control", &format!("{action}, asked through the API"));
            match action {
                "pause" => rig.pause(),
                "resume" => rig.resume(),
                _ => rig.stop(),
            }
        }
        (_, "/" | "/index.html" | "/dashboard.js" | "/dashboard.css" | "/metrics")
        | (_, "/summary" | "/history" | "/mmpos")
        | (_, "/control/pause" | "/control/resume" | "/control/stop") => error(
            conn,
            "405 Method Not Allowed",
            "GET (or HEAD) /, /metrics, /summary, /history and /mmpos, POST /control/…",
        ),
        _ => error(
            conn,
            "404 Not Found",
            "GET / (the dashboard), /metrics, /summary, /history, POST /control/{pause,resume,stop}",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_and_completed_by_their_length() {
        let raw = b"POST /control/pause?x=1 HTTP/1.1\r\nHost: a\r\nauthorization: bearer s3cret \r\nContent-Length: 3\r\n\r\nab";
        assert!(!complete(raw));
        let mut full = raw.to_vec();
        full.push(b'c');
        assert!(complete(&full));
        let r = parse(&full).unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/control/pause")
        );
        assert_eq!(r.bearer.as_deref(), Some("s3cret"));
        assert!(parse(b"\xff\xfe\r\n\r\n").is_none());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "a"));
    }
}
