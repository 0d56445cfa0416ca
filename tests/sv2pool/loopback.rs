//! A minimal Stratum V2 pool on loopback for timing hashrig's side alone:
//! the Noise responder from SRI's crates, one standard channel per
//! connection, jobs on command (`NewMiningJob` then `SetNewPrevHash`, the
//! moment of the write recorded), and every share answered at once. It
//! judges nothing: the shares' validity is what the tests against SRI's own
//! pool check.

#![allow(dead_code)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use binary_sv2::{Sv2Option, B032, U256};
use hashrig::sv2::transport::{self, Frame};

pub const PUBLIC: &str = "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72";
const SECRET: &str = "mkDLTBBRxdBv998612qipDYoTK3YUrqLe8uWw7gu3iXbSrn2n";

fn frame<T: binary_sv2::Serialize + binary_sv2::GetSize>(msg: T, msg_type: u8, ch: bool) -> Frame {
    Frame {
        extension: 0,
        channel_msg: ch,
        msg_type,
        payload: binary_sv2::to_bytes(msg).unwrap(),
    }
}

/// The connection jobs are sent on.
struct Live {
    stream: TcpStream,
    writer: transport::Writer,
}

/// The loopback pool.
pub struct Loopback {
    pub port: u16,
    live: Arc<Mutex<Option<Live>>>,
    next_job: Arc<AtomicU32>,
    /// Shares received.
    pub shares: Arc<AtomicU32>,
    /// Channels opened.
    pub channels: Arc<AtomicU32>,
}

fn responder() -> Box<noise_sv2::Responder> {
    let public = bitcoin::base58::decode_check(PUBLIC).unwrap();
    let secret = bitcoin::base58::decode_check(SECRET).unwrap();
    let public: [u8; 32] = public[2..].try_into().unwrap();
    let secret: [u8; 32] = secret[..].try_into().unwrap();
    noise_sv2::Responder::from_authority_kp(&public, &secret, Duration::from_secs(3600)).unwrap()
}

impl Loopback {
    /// Listens; the channel's share target is that of `difficulty`.
    pub fn at_difficulty(difficulty: f64) -> Loopback {
        // Little-endian, as V2 sends targets.
        let mut target = hashrig::Target::from_difficulty(difficulty)
            .unwrap()
            .to_be_bytes();
        target.reverse();
        Loopback::start(target)
    }

    /// Listens; the channel's target is `target_le` (little-endian).
    pub fn start(target_le: [u8; 32]) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let live = Arc::new(Mutex::new(None));
        let shares = Arc::new(AtomicU32::new(0));
        let next_job = Arc::new(AtomicU32::new(1));
        let channels = Arc::new(AtomicU32::new(0));
        let (l, s, j, c) = (
            live.clone(),
            shares.clone(),
            next_job.clone(),
            channels.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let (l, s, j, c) = (l.clone(), s.clone(), j.clone(), c.clone());
                std::thread::spawn(move || {
                    serve(stream, target_le, &l, &s, &j, &c);
                });
            }
        });
        Loopback {
            port,
            live,
            next_job,
            shares,
            channels,
        }
    }

    pub fn url(&self) -> String {
        format!("stratum2+tcp://127.0.0.1:{}/{PUBLIC}", self.port)
    }

    /// Whether a miner's channel is open.
    pub fn connected(&self) -> bool {
        self.live.lock().unwrap().is_some()
    }

    /// Sends `msg` (of type `msg_type`) on the live channel.
    pub fn send<T: binary_sv2::Serialize + binary_sv2::GetSize>(
        &self,
        msg: T,
        msg_type: u8,
        channel_msg: bool,
    ) -> bool {
        let mut live = self.live.lock().unwrap();
        let Some(l) = live.as_mut() else {
            return false;
        };
        let Ok(bytes) = l.writer.encrypt(&frame(msg, msg_type, channel_msg)) else {
            return false;
        };
        l.stream.write_all(&bytes).is_ok()
    }

    /// Sends a new block: a future job and the `SetNewPrevHash` that
    /// activates it. The job id, and when the second message was written.
    pub fn new_block(&self) -> Option<(u32, Instant)> {
        let mut live = self.live.lock().unwrap();
        block(live.as_mut()?, &self.next_job)
    }
}

fn block(l: &mut Live, next_job: &AtomicU32) -> Option<(u32, Instant)> {
    let id = next_job.fetch_add(1, Ordering::Relaxed);
    let mut root = [0u8; 32];
    root[..4].copy_from_slice(&id.to_le_bytes());
    root[31] = 0x5a;
    let mut prev = [0u8; 32];
    prev[..4].copy_from_slice(&id.to_le_bytes());
    let job = mining_sv2::NewMiningJob {
        channel_id: 1,
        job_id: id,
        min_ntime: Sv2Option::new(None),
        version: 0x2000_0000,
        merkle_root: U256::from(&root),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let activate = mining_sv2::SetNewPrevHash {
        channel_id: 1,
        job_id: id,
        prev_hash: U256::from(&prev),
        min_ntime: now,
        nbits: 0x1d00_ffff,
    };
    let a = l
        .writer
        .encrypt(&frame(job, mining_sv2::MESSAGE_TYPE_NEW_MINING_JOB, true))
        .ok()?;
    l.stream.write_all(&a).ok()?;
    let b = l
        .writer
        .encrypt(&frame(
            activate,
            mining_sv2::MESSAGE_TYPE_MINING_SET_NEW_PREV_HASH,
            true,
        ))
        .ok()?;
    l.stream.write_all(&b).ok()?;
    Some((id, Instant::now()))
}

fn serve(
    mut stream: TcpStream,
    target_le: [u8; 32],
    live: &Mutex<Option<Live>>,
    shares: &AtomicU32,
    next_job: &AtomicU32,
    channels: &AtomicU32,
) {
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let Ok((mut reader, writer)) =
        transport::respond(&mut stream, responder(), Duration::from_secs(5))
    else {
        return;
    };
    let (tx, rx) = mpsc::channel::<Frame>();
    let mut read = stream.try_clone().unwrap();
    std::thread::spawn(move || loop {
        match reader.read(&mut read) {
            Ok(Some(f)) => {
                if tx.send(f).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(_) => return,
        }
    });
    *live.lock().unwrap() = None;
    let mut writer = Some(writer);
    let send = |live: &Mutex<Option<Live>>, writer: &mut Option<transport::Writer>, f: Frame| {
        let mut guard = live.lock().unwrap();
        let w = match guard.as_mut() {
            Some(l) => &mut l.writer,
            None => writer.as_mut().unwrap(),
        };
        let bytes = w.encrypt(&f).unwrap();
        let _ = (&stream).write_all(&bytes);
    };
    for f in rx {
        match f.msg_type {
            common_messages_sv2::MESSAGE_TYPE_SETUP_CONNECTION => {
                let ok = common_messages_sv2::SetupConnectionSuccess {
                    used_version: 2,
                    flags: 0,
                };
                send(
                    live,
                    &mut writer,
                    frame(
                        ok,
                        common_messages_sv2::MESSAGE_TYPE_SETUP_CONNECTION_SUCCESS,
                        false,
                    ),
                );
            }
            mining_sv2::MESSAGE_TYPE_OPEN_STANDARD_MINING_CHANNEL => {
                let mut p = f.payload.clone();
                let open: mining_sv2::OpenStandardMiningChannel =
                    binary_sv2::from_bytes(&mut p).unwrap();
                let prefix = [0u8; 0];
                let ok = mining_sv2::OpenStandardMiningChannelSuccess {
                    request_id: open.request_id,
                    channel_id: 1,
                    target: U256::from(&target_le),
                    extranonce_prefix: B032::new(&prefix[..]).unwrap(),
                    group_channel_id: 0,
                };
                send(
                    live,
                    &mut writer,
                    frame(
                        ok,
                        mining_sv2::MESSAGE_TYPE_OPEN_STANDARD_MINING_CHANNEL_SUCCESS,
                        false,
                    ),
                );
                // From now on jobs go out on this connection, the first at
                // once, as pools do.
                let mut l = Live {
                    stream: stream.try_clone().unwrap(),
                    writer: writer.take().unwrap(),
                };
                block(&mut l, next_job);
                *live.lock().unwrap() = Some(l);
                channels.fetch_add(1, Ordering::Relaxed);
            }
            mining_sv2::MESSAGE_TYPE_SUBMIT_SHARES_STANDARD => {
                let mut p = f.payload.clone();
                let s: mining_sv2::SubmitSharesStandard = binary_sv2::from_bytes(&mut p).unwrap();
                shares.fetch_add(1, Ordering::Relaxed);
                let ok = mining_sv2::SubmitSharesSuccess {
                    channel_id: 1,
                    last_sequence_number: s.sequence_number,
                    new_submits_accepted_count: 1,
                    new_shares_sum: 1,
                };
                send(
                    live,
                    &mut writer,
                    frame(ok, mining_sv2::MESSAGE_TYPE_SUBMIT_SHARES_SUCCESS, true),
                );
            }
            _ => {}
        }
    }
    *live.lock().unwrap() = None;
}
