//! A Bitcoin node for the tests, where no bitcoind installs: JSON-RPC over
//! HTTP as Bitcoin Core serves it (basic authentication, `getblockchaininfo`,
//! `getblocktemplate` with long polling, `submitblock`), with templates
//! built from real blocks' transactions (rust-bitcoin's test data), and
//! every submitted block judged by rust-bitcoin alone: the whole block
//! decoded, the merkle root, the witness commitment, the BIP 34 height, the
//! proof of work and the coinbase value, answered as Core answers. Faults
//! on demand: wrong credentials, still loading, in initial block download,
//! answers that never come, a node that is down.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use serde_json::{json, Value};

/// The network target of the templates by default: 2^232, about one
/// block per 2^24 hashes (a fraction of a second on one CPU thread).
pub const NBITS: u32 = 0x1e00_ffff;

/// A real segwit block from testnet (a handful of transactions).
pub const TESTNET_BLOCK: &[u8] = include_bytes!(
    "../data/blocks/testnet_block_000000000000045e0b1660b6445b5e5c5ab63c9a4f956be7e1e69be04fa4497b.raw"
);
/// A real segwit block from mainnet (thousands of transactions).
pub const MAINNET_BLOCK: &[u8] = include_bytes!(
    "../data/blocks/mainnet_block_000000000000000000000c835b2adcaedc20fdf6ee440009c249452c726dafae.raw"
);

/// How the node behaves; changed while it runs.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// `getblockchaininfo`'s chain.
    pub chain: &'static str,
    /// Whether templates carry a long-poll id.
    pub longpoll: bool,
    /// Whether templates carry `default_witness_commitment`.
    pub witness_commitment: bool,
    /// Refuse the credentials (401).
    pub unauthorized: bool,
    /// Answer `-28` ("Loading block index…") this many more times.
    pub loading: u32,
    /// In initial block download (`getblockchaininfo` says so;
    /// `getblocktemplate` answers `-10`).
    pub ibd: bool,
    /// Take calls and never answer them.
    pub stall: bool,
    /// Close every connection at once.
    pub down: bool,
    /// Reject every block with this reason.
    pub reject: Option<&'static str>,
    /// The templates' nBits.
    pub bits: u32,
    /// On Bitcoin Knots' BLAKE2b chain: `getblocktemplate` without the
    /// `blake2b` rule answers `-8`, as Knots does.
    pub blake2b: bool,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            chain: "regtest",
            longpoll: true,
            witness_commitment: true,
            unauthorized: false,
            loading: 0,
            ibd: false,
            blake2b: false,
            stall: false,
            down: false,
            reject: None,
            bits: NBITS,
        }
    }
}

/// A block the node was sent, as rust-bitcoin judged it.
#[derive(Clone, Debug)]
pub struct Judged {
    pub hash: bitcoin::BlockHash,
    pub height: u64,
    /// Core's answer: `None` accepted, else the reason.
    pub answer: Option<String>,
    /// What rust-bitcoin found wrong (empty: valid).
    pub faults: Vec<String>,
    /// The payout outputs' scripts.
    pub payout: Vec<bitcoin::ScriptBuf>,
}

struct Chain {
    tip: bitcoin::BlockHash,
    height: u64,
    /// Tips this node had, for "inconclusive" (stale) blocks.
    old_tips: Vec<bitcoin::BlockHash>,
    /// The template's transactions (after the coinbase).
    txs: Vec<bitcoin::Transaction>,
    coinbase_value: u64,
    /// Bumped whenever the template changes (the long-poll id).
    serial: u64,
    accepted: Vec<bitcoin::BlockHash>,
}

struct State {
    behaviour: Behaviour,
    chain: Chain,
    judged: Vec<Judged>,
    calls: Vec<String>,
}

/// The test node.
pub struct TestNode {
    pub port: u16,
    pub cookie: std::path::PathBuf,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.state.1.notify_all();
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        // The cookie's directory goes with the node.
        if let Some(dir) = self.cookie.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

impl TestNode {
    /// A node whose templates carry `block`'s transactions (its coinbase
    /// left out), on a fresh chain at height 200.
    pub fn start(block: &[u8], behaviour: Behaviour) -> TestNode {
        let block: bitcoin::Block = deserialize(block).expect("a real block");
        let txs = block.txdata[1..].to_vec();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("hashrig-testnode-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        let cookie = dir.join(".cookie");
        let secret = format!("__cookie__:{:016x}", rand_u64());
        std::fs::write(&cookie, &secret).unwrap();
        let expected = format!("Basic {}", base64(secret.as_bytes()));
        let state = Arc::new((
            Mutex::new(State {
                behaviour,
                chain: Chain {
                    tip: bitcoin::BlockHash::from_byte_array([0x42; 32]),
                    height: 200,
                    old_tips: Vec::new(),
                    txs,
                    coinbase_value: 50 * 100_000_000 + 1_234_567,
                    serial: 1,
                    accepted: Vec::new(),
                },
                judged: Vec::new(),
                calls: Vec::new(),
            }),
            Condvar::new(),
        ));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (st, sp, expected) = (st.clone(), sp.clone(), expected.clone());
                std::thread::spawn(move || serve(stream, &st, &sp, &expected));
            }
        });
        TestNode {
            port,
            cookie,
            state,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.state.0.lock().unwrap().behaviour);
        self.state.1.notify_all();
    }

    /// Every block judged so far.
    pub fn judged(&self) -> Vec<Judged> {
        self.state.0.lock().unwrap().judged.clone()
    }

    /// Blocks the node accepted.
    pub fn accepted(&self) -> usize {
        self.judged().iter().filter(|j| j.answer.is_none()).count()
    }

    /// The chain's height (of the next block).
    pub fn height(&self) -> u64 {
        self.state.0.lock().unwrap().chain.height
    }

    /// The methods called, in order.
    pub fn calls(&self) -> Vec<String> {
        self.state.0.lock().unwrap().calls.clone()
    }

    /// A block from elsewhere becomes the tip: a new template.
    pub fn new_tip(&self) -> bitcoin::BlockHash {
        let mut st = self.state.0.lock().unwrap();
        let c = &mut st.chain;
        c.old_tips.push(c.tip);
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&rand_u64().to_le_bytes());
        c.tip = bitcoin::BlockHash::from_byte_array(bytes);
        c.height += 1;
        c.serial += 1;
        let tip = c.tip;
        drop(st);
        self.state.1.notify_all();
        tip
    }

    /// More fees for the same tip: one transaction fewer (a replaced
    /// one), a higher coinbase value.
    pub fn fee_update(&self) {
        let mut st = self.state.0.lock().unwrap();
        let c = &mut st.chain;
        if c.txs.len() > 1 {
            c.txs.pop();
        }
        c.coinbase_value += 10_000;
        c.serial += 1;
        drop(st);
        self.state.1.notify_all();
    }

    /// The template's current long-poll serial.
    pub fn serial(&self) -> u64 {
        self.state.0.lock().unwrap().chain.serial
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn serve(
    mut stream: TcpStream,
    state: &(Mutex<State>, Condvar),
    stop: &AtomicBool,
    expected: &str,
) {
    let behaviour = state.0.lock().unwrap().behaviour.clone();
    if behaviour.down {
        return;
    }
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut length = 0usize;
    let mut auth = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("authorization") {
                auth = v.trim().to_string();
            }
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    if behaviour.stall {
        while !stop.load(Ordering::Relaxed) && state.0.lock().unwrap().behaviour.stall {
            std::thread::sleep(Duration::from_millis(50));
        }
        return;
    }
    if behaviour.unauthorized || auth != expected {
        let _ = write!(stream, "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"jsonrpc\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = request["method"].as_str().unwrap_or("").to_string();
    let id = request["id"].clone();
    let params = request["params"].clone();
    state.0.lock().unwrap().calls.push(method.clone());
    let answer = |result: Value| json!({"result": result, "error": null, "id": id}).to_string();
    let error = |code: i64, message: &str| {
        json!({"result": null, "error": {"code": code, "message": message}, "id": id}).to_string()
    };
    {
        let mut st = state.0.lock().unwrap();
        if st.behaviour.loading > 0 {
            st.behaviour.loading -= 1;
            drop(st);
            respond(
                &mut stream,
                "500 Internal Server Error",
                &error(-28, "Loading block index…"),
            );
            return;
        }
    }
    match method.as_str() {
        "getblockchaininfo" => {
            let st = state.0.lock().unwrap();
            let info = json!({
                "chain": st.behaviour.chain,
                "blocks": st.chain.height - 1,
                "headers": if st.behaviour.ibd { st.chain.height + 5000 } else { st.chain.height - 1 },
                "bestblockhash": st.chain.tip.to_string(),
                "initialblockdownload": st.behaviour.ibd,
            });
            drop(st);
            respond(&mut stream, "200 OK", &answer(info));
        }
        "getblocktemplate" => {
            let p = &params[0];
            let segwit = p["rules"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "segwit"));
            if !segwit {
                respond(&mut stream, "500 Internal Server Error", &error(-8, "getblocktemplate must be called with the segwit rule set (call with {\"rules\": [\"segwit\"]})"));
                return;
            }
            let blake2b = p["rules"]
                .as_array()
                .is_some_and(|r| r.iter().any(|x| x == "blake2b"));
            if state.0.lock().unwrap().behaviour.blake2b && !blake2b {
                respond(
                    &mut stream,
                    "500 Internal Server Error",
                    &error(
                        -8,
                        "Support for 'blake2b' rule requires explicit client support",
                    ),
                );
                return;
            }
            if state.0.lock().unwrap().behaviour.ibd {
                respond(
                    &mut stream,
                    "500 Internal Server Error",
                    &error(
                        -10,
                        "Bitcoin Core is in initial sync and waiting for blocks...",
                    ),
                );
                return;
            }
            if let Some(lp) = p["longpollid"].as_str() {
                // Waits until the template changes (or a while).
                let until = Instant::now() + Duration::from_secs(20);
                let mut st = state.0.lock().unwrap();
                while longpoll_id(&st.chain) == lp
                    && Instant::now() < until
                    && !stop.load(Ordering::Relaxed)
                {
                    st = state
                        .1
                        .wait_timeout(st, Duration::from_millis(200))
                        .unwrap()
                        .0;
                }
            }
            let t = template(&state.0.lock().unwrap());
            respond(&mut stream, "200 OK", &answer(t));
        }
        "submitblock" => {
            let hex = params[0].as_str().unwrap_or("");
            let result = submit(state, hex);
            respond(
                &mut stream,
                "200 OK",
                &answer(match result {
                    None => Value::Null,
                    Some(r) => json!(r),
                }),
            );
        }
        _ => respond(
            &mut stream,
            "404 Not Found",
            &error(-32601, "Method not found"),
        ),
    }
}

fn longpoll_id(c: &Chain) -> String {
    format!("{}{}", c.tip, c.serial)
}

fn template(st: &State) -> Value {
    let c = &st.chain;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let txs: Vec<Value> = c
        .txs
        .iter()
        .map(|t| {
            json!({
                "data": bitcoin::consensus::encode::serialize_hex(t),
                "txid": t.compute_txid().to_string(),
                "hash": t.compute_wtxid().to_string(),
                "fee": 1000,
                "sigops": 4,
                "weight": t.weight().to_wu(),
            })
        })
        .collect();
    let bits = st.behaviour.bits;
    let target = bitcoin::Target::from_compact(bitcoin::CompactTarget::from_consensus(bits));
    let mut t = json!({
        "version": 0x2000_0000,
        "rules": ["csv", "!segwit", "taproot"],
        "vbavailable": {},
        "vbrequired": 0,
        "previousblockhash": c.tip.to_string(),
        "transactions": txs,
        "coinbaseaux": {},
        "coinbasevalue": c.coinbase_value,
        "target": bitcoin::hex::DisplayHex::to_lower_hex_string(&target.to_be_bytes()[..]),
        "mintime": now - 3600,
        "mutable": ["time", "transactions", "prevblock"],
        "noncerange": "00000000ffffffff",
        "sigoplimit": 80000,
        "sizelimit": 4000000,
        "weightlimit": 4000000,
        "curtime": now,
        "bits": format!("{bits:08x}"),
        "height": c.height,
    });
    if st.behaviour.longpoll {
        t["longpollid"] = json!(longpoll_id(c));
    }
    if st.behaviour.witness_commitment {
        // As Core computes it: over the wtxids, the coinbase's as zero,
        // with a reserved value of zero.
        let mut hashes = vec![bitcoin::hashes::sha256d::Hash::all_zeros()];
        hashes.extend(c.txs.iter().map(|t| t.compute_wtxid().to_raw_hash()));
        let root = bitcoin::merkle_tree::calculate_root(hashes.into_iter()).unwrap();
        let commitment = bitcoin::Block::compute_witness_commitment(
            &bitcoin::WitnessMerkleNode::from_raw_hash(root),
            &[0u8; 32],
        );
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(commitment.as_byte_array());
        t["default_witness_commitment"] =
            json!(bitcoin::hex::DisplayHex::to_lower_hex_string(&script[..]));
    }
    t
}

/// Judges a block as Core would, with rust-bitcoin's checks; `None` when
/// accepted (the tip moves on), else Core's reason.
fn submit(state: &(Mutex<State>, Condvar), hex: &str) -> Option<String> {
    let mut st = state.0.lock().unwrap();
    let bytes = match bitcoin::hex::FromHex::from_hex(hex) {
        Ok(b) => b,
        Err(_) => return Some("Block decode failed".into()),
    };
    let bytes: Vec<u8> = bytes;
    let block: bitcoin::Block = match deserialize(&bytes) {
        Ok(b) => b,
        Err(_) => return Some("Block decode failed".into()),
    };
    let hash = block.block_hash();
    let height = st.chain.height;
    let mut faults = Vec::new();
    let mut answer = None;
    let fault = |faults: &mut Vec<String>, answer: &mut Option<String>, reason: &str| {
        faults.push(reason.to_string());
        if answer.is_none() {
            *answer = Some(reason.to_string());
        }
    };
    if st.chain.accepted.contains(&hash) {
        answer = Some("duplicate".into());
    } else if block.header.prev_blockhash != st.chain.tip {
        answer = Some(
            if st.chain.old_tips.contains(&block.header.prev_blockhash) {
                "inconclusive".into()
            } else {
                "prev-blk-not-found".into()
            },
        );
    }
    if block.header.bits != bitcoin::CompactTarget::from_consensus(st.behaviour.bits)
        || block.header.validate_pow(block.header.target()).is_err()
    {
        fault(&mut faults, &mut answer, "high-hash");
    }
    if !block.check_merkle_root() {
        fault(&mut faults, &mut answer, "bad-txnmrklroot");
    }
    if !block.check_witness_commitment() {
        fault(&mut faults, &mut answer, "bad-witness-merkle-match");
    }
    match block.bip34_block_height() {
        Ok(h) if h == height => {}
        // rust-bitcoin reads only data pushes; OP_1…OP_16 heights:
        _ if height <= 16
            && block.txdata[0].input[0].script_sig.as_bytes().first()
                == Some(&(0x50 + height as u8)) => {}
        _ => fault(&mut faults, &mut answer, "bad-cb-height"),
    }
    let coinbase = &block.txdata[0];
    let paid: u64 = coinbase.output.iter().map(|o| o.value.to_sat()).sum();
    if paid > st.chain.coinbase_value {
        fault(&mut faults, &mut answer, "bad-cb-amount");
    }
    let first: Vec<&bitcoin::Transaction> = block.txdata[1..].iter().collect();
    if first.len() != st.chain.txs.len()
        || first
            .iter()
            .zip(&st.chain.txs)
            .any(|(a, b)| serialize(*a) != serialize(b))
    {
        // A template's transactions in another order or set: still a valid
        // block for Core as long as its own checks pass; recorded.
        faults.push("the transactions are not the template's".into());
    }
    if answer.is_none() {
        if let Some(r) = st.behaviour.reject {
            answer = Some(r.to_string());
        }
    }
    let payout = coinbase
        .output
        .iter()
        .filter(|o| !o.script_pubkey.is_op_return())
        .map(|o| o.script_pubkey.clone())
        .collect();
    st.judged.push(Judged {
        hash,
        height,
        answer: answer.clone(),
        faults,
        payout,
    });
    if answer.is_none() {
        let c = &mut st.chain;
        c.accepted.push(hash);
        c.old_tips.push(c.tip);
        c.tip = hash;
        c.height += 1;
        c.serial += 1;
        drop(st);
        state.1.notify_all();
    }
    answer
}
