//! A small template provider for SRI's pool: the Template Distribution
//! Protocol over Noise (`NewTemplate`, `SetNewPrevHash`, and
//! `SubmitSolution` back from the pool). Every block the pool submits is
//! judged by rust-bitcoin alone: the whole coinbase decoded, the merkle
//! root, the BIP 34 height, the proof of work and the coinbase value.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use binary_sv2::{Seq0255, B0255, B064K, U256};
use bitcoin::hashes::Hash;
use common_messages_sv2::SetupConnectionSuccess;
use hashrig::sv2::transport::{self, Frame};
use template_distribution_sv2::{NewTemplate, SetNewPrevHash, SubmitSolution};

use super::{AUTHORITY_PUBLIC, AUTHORITY_SECRET};

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
