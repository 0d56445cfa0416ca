//! A Stratum v1 pool on loopback for the tests. It builds its jobs and
//! judges every share with rust-bitcoin (coinbase transaction, txid,
//! merkle root, header and proof of work), never with hashrig's own code,
//! so hashrig's header assembly is not its own judge.
//!
//! Each scenario sets how the pool behaves (its answer to
//! `mining.configure`, the shape of its subscribe result, whether it
//! rejects everything, TLS) and can push any line to the connected miner.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{
    Amount, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Target, Transaction, TxIn,
    TxMerkleNode, TxOut, Txid, Witness,
};
use serde_json::{json, Value};

mod jobs;

use jobs::{hexs, judge, make_job, notify_line};

/// How the pool answers `mining.configure`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Configure {
    /// Grants this mask.
    Grant(u32),
    /// Declines (`"version-rolling": false`).
    Decline,
    /// Answers with an error.
    Error,
    /// Never answers.
    Ignore,
    /// Closes the connection.
    Close,
}

/// The shape of the `mining.subscribe` result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// `[[["mining.set_difficulty", id], ["mining.notify", id]], en1, n]`.
    Nested,
    /// `[["mining.notify", id], en1, n]`.
    Flat,
    /// `[null, en1, n]`.
    Null,
}

/// The pool's behaviour.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub configure: Configure,
    pub shape: Shape,
    pub extranonce1: Vec<u8>,
    pub extranonce2_size: usize,
    pub difficulty: f64,
    pub reject_all: bool,
    /// A job is sent right after authorize.
    pub job_on_connect: bool,
    /// Every line is written one byte at a time.
    pub fragment: bool,
    /// Until then, nothing the miner sends is read or answered.
    pub stall_until: Option<Instant>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            configure: Configure::Grant(0x1fff_e000),
            shape: Shape::Nested,
            extranonce1: vec![0x08, 0x00, 0x00, 0x2a],
            extranonce2_size: 4,
            difficulty: 0.0005,
            reject_all: false,
            job_on_connect: true,
            fragment: false,
            stall_until: None,
        }
    }
}

/// A job as the pool keeps it.
#[derive(Clone)]
pub struct PoolJob {
    pub id: String,
    pub prev: BlockHash,
    pub coinb1: Vec<u8>,
    pub coinb2: Vec<u8>,
    /// The other transactions' ids (the coinbase's is computed per share).
    pub txids: Vec<Txid>,
    pub version: i32,
    pub bits: CompactTarget,
    pub ntime: u32,
    /// The difficulty in force when the job was sent.
    pub difficulty: f64,
}

/// A share the pool judged.
#[derive(Clone, Debug)]
pub struct Judged {
    pub connection: u64,
    pub params: Value,
    pub accepted: bool,
    pub reason: String,
    pub hash: Option<BlockHash>,
    /// The full header as rust-bitcoin built it.
    pub header: Option<Header>,
}

#[derive(Default)]
struct State {
    jobs: HashMap<String, PoolJob>,
    /// Job ids voided by a clean notify.
    voided: Vec<String>,
    seen: std::collections::HashSet<String>,
    judged: Vec<Judged>,
    /// Every line received, per connection.
    received: Vec<(u64, String)>,
    connections: Vec<Conn>,
    mask: HashMap<u64, u32>,
    extranonce1: HashMap<u64, Vec<u8>>,
    extranonce2_size: HashMap<u64, usize>,
    next_job: u64,
    behaviour: Behaviour,
}

struct Conn {
    id: u64,
    stream: TcpStream,
    tls: Option<Arc<Mutex<rustls::ServerConnection>>>,
    open: Arc<AtomicBool>,
}

/// The pool.
pub struct TestPool {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    conn_ids: Arc<AtomicU64>,
    height: Arc<AtomicU64>,
    refuse: Arc<AtomicBool>,
}

impl TestPool {
    /// A plain-TCP pool.
    pub fn start(behaviour: Behaviour) -> TestPool {
        Self::start_inner(behaviour, None)
    }

    /// A TLS pool with this certificate and key.
    pub fn start_tls(behaviour: Behaviour, config: Arc<rustls::ServerConfig>) -> TestPool {
        Self::start_inner(behaviour, Some(config))
    }

    fn start_inner(behaviour: Behaviour, tls: Option<Arc<rustls::ServerConfig>>) -> TestPool {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State {
            behaviour,
            ..Default::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let conn_ids = Arc::new(AtomicU64::new(0));
        let pool = TestPool {
            addr,
            state: state.clone(),
            stop: stop.clone(),
            conn_ids: conn_ids.clone(),
            height: Arc::new(AtomicU64::new(800_000)),
            refuse: Arc::new(AtomicBool::new(false)),
        };
        let height = pool.height.clone();
        let refuse = pool.refuse.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) if refuse.load(Ordering::Relaxed) => {
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                    Ok((stream, _)) => {
                        let id = conn_ids.fetch_add(1, Ordering::Relaxed) + 1;
                        let state = state.clone();
                        let stop = stop.clone();
                        let tls = tls.clone();
                        let height = height.clone();
                        std::thread::spawn(move || serve(id, stream, tls, state, stop, height));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        pool
    }

    pub fn url(&self) -> String {
        format!("stratum+tcp://127.0.0.1:{}", self.addr.port())
    }

    pub fn tls_url(&self) -> String {
        format!("stratum+ssl://127.0.0.1:{}", self.addr.port())
    }

    /// Changes the behaviour for what comes next.
    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.lock().unwrap().behaviour);
    }

    /// Sends a line to every open connection.
    pub fn broadcast(&self, line: &str) {
        let st = self.state.lock().unwrap();
        for c in st
            .connections
            .iter()
            .filter(|c| c.open.load(Ordering::Relaxed))
        {
            let _ = write_to(c, line, st.behaviour.fragment);
        }
    }

    /// Sends several lines to every open connection in one write.
    pub fn broadcast_together(&self, lines: &[String]) {
        self.broadcast(lines.join("\n").as_str());
    }

    /// The `mining.notify` line of job `id`, with `clean_jobs` as given.
    pub fn job_line(&self, id: &str, clean: bool) -> Option<String> {
        self.job(id).map(|job| notify_line(&job, clean))
    }

    /// Reads and answers nothing for `d` (the miner's submits wait).
    pub fn stall(&self, d: Duration) {
        self.state.lock().unwrap().behaviour.stall_until = Some(Instant::now() + d);
    }

    /// Sends `mining.set_difficulty`.
    pub fn set_difficulty(&self, d: f64) {
        self.state.lock().unwrap().behaviour.difficulty = d;
        self.broadcast(
            &json!({"id": null, "method": "mining.set_difficulty", "params": [d]}).to_string(),
        );
    }

    /// Makes a new job and sends it to every connection; returns its id
    /// and the instant its line was written.
    pub fn notify(&self, clean: bool) -> (String, Instant) {
        let job = {
            let mut st = self.state.lock().unwrap();
            let job = make_job(&mut st, &self.height, clean);
            if clean {
                let old: Vec<String> = st.jobs.keys().cloned().collect();
                st.voided.extend(old);
            }
            st.jobs.insert(job.id.clone(), job.clone());
            job
        };
        let line = notify_line(&job, clean);
        self.broadcast(&line);
        (job.id, Instant::now())
    }

    /// Sends job `id` again with `clean_jobs` false, as pools do after
    /// `mining.set_difficulty`.
    pub fn renotify(&self, id: &str) {
        let job = self.job(id).expect("a job sent before");
        self.broadcast(&notify_line(&job, false));
    }

    /// While set, connections are closed as soon as they are accepted.
    pub fn refuse(&self, on: bool) {
        self.refuse.store(on, Ordering::Relaxed);
    }

    /// Sends `mining.set_extranonce` and uses the new values for shares of
    /// jobs sent after it.
    pub fn set_extranonce(&self, en1: &[u8], size: usize) {
        {
            let mut st = self.state.lock().unwrap();
            st.behaviour.extranonce1 = en1.to_vec();
            st.behaviour.extranonce2_size = size;
            let ids: Vec<u64> = st.connections.iter().map(|c| c.id).collect();
            for id in ids {
                st.extranonce1.insert(id, en1.to_vec());
                st.extranonce2_size.insert(id, size);
            }
        }
        self.broadcast(
            &json!({"id": null, "method": "mining.set_extranonce", "params": [hexs(en1), size]})
                .to_string(),
        );
    }

    /// Closes every connection.
    pub fn drop_connections(&self) {
        let st = self.state.lock().unwrap();
        for c in &st.connections {
            c.open.store(false, Ordering::Relaxed);
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.drop_connections();
    }

    pub fn judged(&self) -> Vec<Judged> {
        self.state.lock().unwrap().judged.clone()
    }

    pub fn accepted(&self) -> usize {
        self.judged().iter().filter(|j| j.accepted).count()
    }

    pub fn received(&self) -> Vec<(u64, String)> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn connections(&self) -> u64 {
        self.conn_ids.load(Ordering::Relaxed)
    }

    pub fn open_connections(&self) -> usize {
        let st = self.state.lock().unwrap();
        st.connections
            .iter()
            .filter(|c| c.open.load(Ordering::Relaxed))
            .count()
    }

    /// The jobs sent so far.
    pub fn job(&self, id: &str) -> Option<PoolJob> {
        self.state.lock().unwrap().jobs.get(id).cloned()
    }

    /// Waits until `f` holds, up to `secs` seconds.
    pub fn wait_for(&self, secs: u64, mut f: impl FnMut(&TestPool) -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < until {
            if f(self) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        f(self)
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_to(c: &Conn, line: &str, fragment: bool) -> std::io::Result<()> {
    let mut data = line.as_bytes().to_vec();
    if !line.ends_with('\n') {
        data.push(b'\n');
    }
    match &c.tls {
        None if fragment => {
            for byte in &data {
                (&c.stream).write_all(std::slice::from_ref(byte))?;
                (&c.stream).flush()?;
            }
            Ok(())
        }
        None => (&c.stream).write_all(&data),
        Some(tls) => {
            let mut t = tls.lock().unwrap();
            t.writer().write_all(&data)?;
            while t.wants_write() {
                t.write_tls(&mut &c.stream)?;
            }
            Ok(())
        }
    }
}

fn serve(
    id: u64,
    stream: TcpStream,
    tls: Option<Arc<rustls::ServerConfig>>,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    height: Arc<AtomicU64>,
) {
    stream.set_nodelay(true).ok();
    let open = Arc::new(AtomicBool::new(true));
    let tls_conn = tls.map(|cfg| Arc::new(Mutex::new(rustls::ServerConnection::new(cfg).unwrap())));
    let conn = Conn {
        id,
        stream: stream.try_clone().unwrap(),
        tls: tls_conn.clone(),
        open: open.clone(),
    };
    state.lock().unwrap().connections.push(conn);
    let reader: Box<dyn Read + Send> = match &tls_conn {
        None => Box::new(stream.try_clone().unwrap()),
        Some(t) => Box::new(TlsRead {
            sock: stream.try_clone().unwrap(),
            conn: t.clone(),
        }),
    };
    let mut lines = BufReader::new(reader);
    let send = |line: String| {
        let st = state.lock().unwrap();
        if let Some(c) = st.connections.iter().find(|c| c.id == id) {
            let _ = write_to(c, &line, st.behaviour.fragment);
        }
    };
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) && open.load(Ordering::Relaxed) {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let stalled = state.lock().unwrap().behaviour.stall_until;
        if let Some(until) = stalled {
            if let Some(wait) = until.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let text = line.trim().to_string();
        state.lock().unwrap().received.push((id, text.clone()));
        let Ok(msg) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let rid = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
        let params = msg.get("params").cloned().unwrap_or(json!([]));
        let behaviour = state.lock().unwrap().behaviour.clone();
        match method {
            "mining.configure" => match behaviour.configure {
                Configure::Grant(mask) => {
                    let asked = params[1]["version-rolling.mask"]
                        .as_str()
                        .and_then(|m| u32::from_str_radix(m, 16).ok())
                        .unwrap_or(0);
                    let granted = asked & mask;
                    state.lock().unwrap().mask.insert(id, granted);
                    send(json!({"id": rid, "result": {"version-rolling": true, "version-rolling.mask": format!("{granted:08x}")}, "error": null}).to_string());
                }
                Configure::Decline => send(
                    json!({"id": rid, "result": {"version-rolling": false}, "error": null})
                        .to_string(),
                ),
                Configure::Error => send(
                    json!({"id": rid, "result": null, "error": [20, "Unknown method", null]})
                        .to_string(),
                ),
                Configure::Ignore => {}
                Configure::Close => {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    break;
                }
            },
            "mining.subscribe" => {
                let en1 = behaviour.extranonce1.clone();
                {
                    let mut st = state.lock().unwrap();
                    st.extranonce1.insert(id, en1.clone());
                    st.extranonce2_size.insert(id, behaviour.extranonce2_size);
                }
                let details = match behaviour.shape {
                    Shape::Nested => json!([
                        ["mining.set_difficulty", "d1"],
                        ["mining.notify", format!("s{id}")]
                    ]),
                    Shape::Flat => json!(["mining.notify", format!("s{id}")]),
                    Shape::Null => Value::Null,
                };
                send(json!({"id": rid, "result": [details, hexs(&en1), behaviour.extranonce2_size], "error": null}).to_string());
            }
            "mining.authorize" => {
                send(json!({"id": rid, "result": true, "error": null}).to_string());
                if behaviour.job_on_connect {
                    send(json!({"id": null, "method": "mining.set_difficulty", "params": [behaviour.difficulty]}).to_string());
                    let job = {
                        let mut st = state.lock().unwrap();
                        let job = make_job(&mut st, &height, true);
                        st.jobs.insert(job.id.clone(), job.clone());
                        job
                    };
                    send(notify_line(&job, true));
                }
            }
            "mining.extranonce.subscribe" => {
                send(json!({"id": rid, "result": true, "error": null}).to_string());
            }
            "mining.submit" => {
                let (ok, reason, header) = {
                    let mut st = state.lock().unwrap();
                    let (ok, reason, header) = judge(&mut st, id, &params);
                    let ok = ok && !st.behaviour.reject_all;
                    let reason = if st.behaviour.reject_all {
                        "rejecting everything".into()
                    } else {
                        reason
                    };
                    st.judged.push(Judged {
                        connection: id,
                        params: params.clone(),
                        accepted: ok,
                        reason: reason.clone(),
                        hash: header.map(|h| h.block_hash()),
                        header,
                    });
                    (ok, reason, header)
                };
                let _ = header;
                if ok {
                    send(json!({"id": rid, "result": true, "error": null}).to_string());
                } else {
                    send(
                        json!({"id": rid, "result": null, "error": [23, reason, null]}).to_string(),
                    );
                }
            }
            _ => {}
        }
    }
    open.store(false, Ordering::Relaxed);
}

/// Reads plaintext from a server-side TLS connection.
struct TlsRead {
    sock: TcpStream,
    conn: Arc<Mutex<rustls::ServerConnection>>,
}

impl Read for TlsRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            {
                let mut c = self.conn.lock().unwrap();
                match c.reader().read(out) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            let mut raw = [0u8; 4096];
            let n = self.sock.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            let mut c = self.conn.lock().unwrap();
            let mut rest = &raw[..n];
            while !rest.is_empty() {
                c.read_tls(&mut rest)?;
                c.process_new_packets().map_err(std::io::Error::other)?;
            }
            while c.wants_write() {
                c.write_tls(&mut &self.sock)?;
            }
        }
    }
}

/// A self-signed certificate for 127.0.0.1 and a server config with it;
/// returns the config and the certificate's PEM for the client.
pub fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let pem = cert.cert.pem();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der], key)
        .unwrap();
    (Arc::new(config), pem)
}
