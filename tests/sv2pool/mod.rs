//! The Stratum Reference Implementation's own pool (`pool_sv2`) and
//! translator (`translator_sv2`), built from crates.io and started on
//! loopback by the tests; the pool is fed by the template provider in
//! [`provider`].

#![allow(dead_code)]

pub mod hostile;
mod provider;

pub use provider::{frame_of, responder, TemplateProvider};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The authority key pair of SRI's example configs (public test keys).
pub const AUTHORITY_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
pub const AUTHORITY_SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";

/// SRI's `pool_sv2` binary, or `None` (with the reason) where it is not
/// installed.
pub fn pool_binary() -> Option<PathBuf> {
    let from_env = std::env::var_os("HASHRIG_POOL_SV2").map(PathBuf::from);
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let candidates = from_env
        .into_iter()
        .chain(home.map(|h| h.join("bin/pool_sv2")))
        .chain(std::env::split_paths(&path).map(|p| p.join("pool_sv2")));
    for c in candidates {
        if c.is_file() {
            return Some(c);
        }
    }
    assert!(
        std::env::var_os("HASHRIG_REQUIRE_SRI").is_none(),
        "SRI's pool_sv2 is needed: cargo install --locked pool_sv2 --version 0.7.0"
    );
    eprintln!("SKIPPED: SRI's pool_sv2 is not installed (cargo install --locked pool_sv2 --version 0.7.0)");
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running SRI pool.
pub struct SriPool {
    pub port: u16,
    pub monitoring: u16,
    child: Child,
    binary: PathBuf,
    config: PathBuf,
    /// Every line the pool logged.
    pub log: Arc<Mutex<Vec<String>>>,
    lines: Arc<AtomicU64>,
}

impl SriPool {
    /// Starts the pool on a free port, fed by `tp`; waits until it listens.
    /// Every share is answered on its own.
    pub fn start(binary: &PathBuf, tp: &TemplateProvider, shares_per_minute: f64) -> SriPool {
        SriPool::batched(binary, tp, shares_per_minute, 1)
    }

    /// [`start`](Self::start), answering shares `batch` at a time
    /// (`SubmitShares.Success` for a range of sequence numbers).
    pub fn batched(
        binary: &PathBuf,
        tp: &TemplateProvider,
        shares_per_minute: f64,
        batch: u32,
    ) -> SriPool {
        let port = free_port();
        let monitoring = free_port();
        let dir = std::env::temp_dir().join(format!("hashrig-sri-pool-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("pool.toml");
        std::fs::write(
            &config,
            format!(
                r#"authority_public_key = "{AUTHORITY_PUBLIC}"
authority_secret_key = "{AUTHORITY_SECRET}"
cert_validity_sec = 3600
listen_address = "127.0.0.1:{port}"
coinbase_reward_script = "addr(bc1qtzqxqaxyy6lda2fhdtp5dp0v56vlf6g0tljy2x)"
server_id = 1
pool_signature = "hashrig test pool"
shares_per_minute = {shares_per_minute:.1}
share_batch_size = {batch}
monitoring_address = "127.0.0.1:{monitoring}"
monitoring_cache_refresh_secs = 1

[template_provider_type.Sv2Tp]
address = "{}"
"#,
                tp.address
            ),
        )
        .unwrap();
        let log = Arc::default();
        let lines = Arc::default();
        let pool = SriPool {
            port,
            monitoring,
            child: spawn(binary, &config, &log, &lines),
            binary: binary.clone(),
            config,
            log,
            lines,
        };
        pool.wait_listening();
        pool
    }

    fn wait_listening(&self) {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("SRI's pool did not listen: {:#?}", self.log.lock().unwrap());
    }

    /// Kills the pool.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the pool and starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        std::thread::sleep(Duration::from_millis(500));
        self.child = spawn(&self.binary, &self.config, &self.log, &self.lines);
        self.wait_listening();
    }

    /// The pool's log lines containing `needle`.
    pub fn logged(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// A GET on the pool's monitoring server: the body.
    pub fn monitoring(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.monitoring)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        Some(text.split_once("\r\n\r\n")?.1.to_string())
    }

    /// How many lines the pool has logged so far (a mark for
    /// [`accepted_since`](Self::accepted_since)).
    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    /// The shares the pool accepted, as its log tells, from log line
    /// `mark` on: one line per valid share (an acknowledgement or a
    /// valid share left for a later one, each marked ✅) and one per
    /// block found. Unlike its metrics, the log still holds a channel's
    /// shares after the miner has gone.
    pub fn accepted_since(&self, mark: usize) -> u64 {
        let log = self.log.lock().unwrap();
        log.iter()
            .skip(mark)
            .filter(|l| {
                !l.contains("Received ")
                    && (l.contains("SubmitSharesStandard: ")
                        || l.contains("SubmitSharesExtended: "))
                    && (l.contains('✅') || l.contains("Block Found!!!"))
            })
            .count() as u64
    }
}

impl Drop for SriPool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(
    binary: &PathBuf,
    config: &PathBuf,
    log: &Arc<Mutex<Vec<String>>>,
    lines: &Arc<AtomicU64>,
) -> Child {
    let mut child = Command::new(binary)
        .arg("-c")
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pool_sv2 starts");
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let (log, lines) = (log.clone(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.fetch_add(1, Ordering::Relaxed);
                let mut l = log.lock().unwrap();
                if l.len() < 100_000 {
                    l.push(line);
                }
            }
        });
    }
    child
}

/// SRI's `translator_sv2` binary, or `None` where it is not installed.
pub fn translator_binary() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = home
        .map(|h| h.join("bin/translator_sv2"))
        .into_iter()
        .chain(std::env::split_paths(&path).map(|p| p.join("translator_sv2")))
        .find(|c| c.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("HASHRIG_REQUIRE_SRI").is_none(),
            "SRI's translator_sv2 is needed: cargo install --locked translator_sv2 --version 0.6.0"
        );
        eprintln!("SKIPPED: SRI's translator_sv2 is not installed");
    }
    found
}

/// SRI's translator: a Stratum v1 server in front of `pool`.
pub struct Translator {
    pub port: u16,
    child: Child,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Translator {
    pub fn start(binary: &PathBuf, pool: &SriPool) -> Translator {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("hashrig-sri-tproxy-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("tproxy.toml");
        std::fs::write(
            &config,
            format!(
                r#"downstream_address = "127.0.0.1"
downstream_port = {port}
max_supported_version = 2
min_supported_version = 2
downstream_extranonce2_size = 4
verify_payout = false
aggregate_channels = false
supported_extensions = []

[downstream_difficulty_config]
min_individual_miner_hashrate = 20_000_000.0
shares_per_minute = 300.0
enable_vardiff = true
job_keepalive_interval_secs = 60

[[upstreams]]
address = "127.0.0.1"
port = {}
authority_pubkey = "{AUTHORITY_PUBLIC}"
user_identity = "hashrig-tproxy"
"#,
                pool.port
            ),
        )
        .unwrap();
        let log = Arc::default();
        let child = spawn(binary, &config, &log, &Arc::default());
        let until = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < until,
                "SRI's translator did not listen: {:#?}",
                log.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Translator { port, child, log }
    }
}

impl Drop for Translator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
