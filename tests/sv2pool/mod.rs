//! The Stratum Reference Implementation's own pool (`pool_sv2`, built from
//! crates.io), started on loopback by the tests, fed by a small template
//! provider written here: the Template Distribution Protocol over Noise
//! (`NewTemplate`, `SetNewPrevHash`, and `SubmitSolution` back from the
//! pool). Every block the pool submits is judged by rust-bitcoin alone:
//! the whole coinbase decoded, the merkle root, the BIP 34 height, the
//! proof of work and the coinbase value.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use binary_sv2::{Seq0255, B0255, B064K, U256};
use bitcoin::hashes::Hash;
use common_messages_sv2::SetupConnectionSuccess;
use hashrig::sv2::transport::{self, Frame};
use template_distribution_sv2::{NewTemplate, SetNewPrevHash, SubmitSolution};

/// The authority key pair of SRI's example configs (public test keys).
pub const AUTHORITY_PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
pub const AUTHORITY_SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";

/// The network target of the templates: 2^230, about one block per 2^26
/// hashes (a second or two on one CPU thread).
pub const NBITS: u32 = 0x1d3f_ffff;

/// The coinbase value of each template.
pub const COINBASE_VALUE: u64 = 50 * 100_000_000;

/// A block the pool submitted, as rust-bitcoin judged it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub height: u64,
    pub hash: bitcoin::BlockHash,
    /// Empty when valid; else what is wrong.
    pub faults: Vec<String>,
    /// Valid, but for a template the tip has moved past (another block
    /// came first): a stale block, not a wrong one.
    pub stale: bool,
}

#[derive(Clone, Copy)]
struct Tip {
    height: u64,
    prev: [u8; 32],
    template_id: u64,
}

/// The tip now and the templates before it (for late solutions).
struct Tips {
    now: Tip,
    past: Vec<Tip>,
}

/// The template provider: listens on loopback and serves whichever pool
/// connects (again after a restart).
pub struct TemplateProvider {
    pub address: String,
    pub blocks: Arc<Mutex<Vec<Judged>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for TemplateProvider {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn frame_of<T: binary_sv2::Serialize + binary_sv2::GetSize>(msg: T, msg_type: u8) -> Frame {
    Frame {
        extension: 0,
        channel_msg: false,
        msg_type,
        payload: binary_sv2::to_bytes(msg).unwrap(),
    }
}

pub fn responder() -> Box<noise_sv2::Responder> {
    let public = bitcoin::base58::decode_check(AUTHORITY_PUBLIC).unwrap();
    let secret = bitcoin::base58::decode_check(AUTHORITY_SECRET).unwrap();
    let public: [u8; 32] = public[2..].try_into().unwrap();
    let secret: [u8; 32] = secret[..].try_into().unwrap();
    noise_sv2::Responder::from_authority_kp(&public, &secret, Duration::from_secs(3600)).unwrap()
}

impl TemplateProvider {
    pub fn start() -> TemplateProvider {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let blocks = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        // Past 16, so that the height is a data push (rust-bitcoin reads
        // BIP 34 heights only as such).
        let tip = Arc::new(Mutex::new(Tips {
            now: Tip {
                height: 1000,
                prev: [0x11; 32],
                template_id: 1,
            },
            past: Vec::new(),
        }));
        let (b, s) = (blocks.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (b, s, tip) = (b.clone(), s.clone(), tip.clone());
                        std::thread::spawn(move || serve(stream, &b, &s, &tip));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        TemplateProvider {
            address,
            blocks,
            stop,
        }
    }
}

fn send(stream: &mut TcpStream, w: &mut transport::Writer, frame: Frame) -> std::io::Result<()> {
    let bytes = w.encrypt(&frame)?;
    stream.write_all(&bytes)
}

fn bip34_prefix(height: u64) -> Vec<u8> {
    let script = bitcoin::blockdata::script::Builder::new()
        .push_int(height as i64)
        .into_script();
    script.to_bytes()
}

fn send_tip(stream: &mut TcpStream, w: &mut transport::Writer, tip: &Tip) -> std::io::Result<()> {
    let prefix = bip34_prefix(tip.height);
    let template = NewTemplate {
        template_id: tip.template_id,
        future_template: true,
        version: 0x2000_0000,
        coinbase_tx_version: 2,
        coinbase_prefix: B0255::try_from(prefix.as_slice()).unwrap(),
        coinbase_tx_input_sequence: 0xffff_ffff,
        coinbase_tx_value_remaining: COINBASE_VALUE,
        coinbase_tx_outputs_count: 0,
        coinbase_tx_outputs: B064K::try_from(&[][..]).unwrap(),
        coinbase_tx_locktime: 0,
        merkle_path: Seq0255::new(Vec::<U256>::new()).unwrap(),
    };
    send(
        stream,
        w,
        frame_of(
            template,
            template_distribution_sv2::MESSAGE_TYPE_NEW_TEMPLATE,
        ),
    )?;
    let target = bitcoin::Target::from_compact(bitcoin::CompactTarget::from_consensus(NBITS));
    let target_le = target.to_le_bytes();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let prev = SetNewPrevHash {
        template_id: tip.template_id,
        prev_hash: U256::from(&tip.prev),
        header_timestamp: now,
        n_bits: NBITS,
        target: U256::from(&target_le),
    };
    send(
        stream,
        w,
        frame_of(
            prev,
            template_distribution_sv2::MESSAGE_TYPE_SET_NEW_PREV_HASH,
        ),
    )
}

fn serve(mut stream: TcpStream, blocks: &Mutex<Vec<Judged>>, stop: &AtomicBool, tip: &Mutex<Tips>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let Ok((mut reader, mut writer)) =
        transport::respond(&mut stream, responder(), Duration::from_secs(10))
    else {
        return;
    };
    let mut read = stream.try_clone().unwrap();
    while !stop.load(Ordering::Relaxed) {
        let frame = match reader.read(&mut read) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(_) => return,
        };
        let mut payload = frame.payload.clone();
        match frame.msg_type {
            common_messages_sv2::MESSAGE_TYPE_SETUP_CONNECTION => {
                let ok = SetupConnectionSuccess {
                    used_version: 2,
                    flags: 0,
                };
                let f = frame_of(
                    ok,
                    common_messages_sv2::MESSAGE_TYPE_SETUP_CONNECTION_SUCCESS,
                );
                if send(&mut stream, &mut writer, f).is_err() {
                    return;
                }
            }
            template_distribution_sv2::MESSAGE_TYPE_COINBASE_OUTPUT_CONSTRAINTS => {
                let t = tip.lock().unwrap();
                if send_tip(&mut stream, &mut writer, &t.now).is_err() {
                    return;
                }
            }
            template_distribution_sv2::MESSAGE_TYPE_SUBMIT_SOLUTION => {
                let Ok(solution) = binary_sv2::from_bytes::<SubmitSolution>(&mut payload) else {
                    continue;
                };
                let mut t = tip.lock().unwrap();
                let judged = judge(&t, &solution);
                let good = judged.faults.is_empty() && !judged.stale;
                let hash = judged.hash;
                blocks.lock().unwrap().push(judged);
                if good {
                    // The found block becomes the tip: a new block for the
                    // pool to switch every miner to.
                    let old = t.now;
                    t.past.push(old);
                    if t.past.len() > 64 {
                        t.past.remove(0);
                    }
                    t.now = Tip {
                        height: old.height + 1,
                        prev: hash.to_byte_array(),
                        template_id: old.template_id + 1,
                    };
                    if send_tip(&mut stream, &mut writer, &t.now).is_err() {
                        return;
                    }
                }
            }
            _ => {}
        }
    }
}

/// Judges a submitted block with rust-bitcoin alone, against the template
/// it names.
fn judge(tips: &Tips, s: &SubmitSolution<'_>) -> Judged {
    let mut faults = Vec::new();
    let stale = s.template_id != tips.now.template_id;
    let tip = match tips
        .past
        .iter()
        .chain(std::iter::once(&tips.now))
        .find(|t| t.template_id == s.template_id)
    {
        Some(t) => *t,
        None => {
            faults.push(format!("template {} was never sent", s.template_id));
            tips.now
        }
    };
    let tip = &tip;
    let coinbase: Result<bitcoin::Transaction, _> =
        bitcoin::consensus::deserialize(s.coinbase_tx.as_bytes());
    let coinbase = match coinbase {
        Ok(c) => c,
        Err(e) => {
            return Judged {
                height: tip.height,
                hash: bitcoin::BlockHash::all_zeros(),
                faults: vec![format!("the coinbase does not decode: {e}")],
                stale,
            }
        }
    };
    let header = bitcoin::block::Header {
        version: bitcoin::block::Version::from_consensus(s.version as i32),
        prev_blockhash: bitcoin::BlockHash::from_byte_array(tip.prev),
        merkle_root: bitcoin::TxMerkleNode::from_raw_hash(coinbase.compute_txid().to_raw_hash()),
        time: s.header_timestamp,
        bits: bitcoin::CompactTarget::from_consensus(NBITS),
        nonce: s.header_nonce,
    };
    let block = bitcoin::Block {
        header,
        txdata: vec![coinbase],
    };
    if !block.check_merkle_root() {
        faults.push("the merkle root does not match".into());
    }
    if header.validate_pow(header.target()).is_err() {
        faults.push("the proof of work does not meet nBits".into());
    }
    match block.bip34_block_height() {
        Ok(h) if h == tip.height => {}
        other => faults.push(format!("BIP 34 height {other:?}, not {}", tip.height)),
    }
    let paid: u64 = block.txdata[0]
        .output
        .iter()
        .map(|o| o.value.to_sat())
        .sum();
    if paid > COINBASE_VALUE {
        faults.push(format!(
            "the coinbase pays {paid}, more than {COINBASE_VALUE}"
        ));
    }
    Judged {
        height: tip.height,
        hash: block.block_hash(),
        faults,
        stale,
    }
}

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
