//! One Stratum V2 channel after its setup: jobs kept until their
//! `SetNewPrevHash` activates them (an active job replaces the engine's at
//! once), the target from the next share on, shares written as
//! `SubmitSharesStandard` or `SubmitSharesExtended` with sequence numbers
//! and answered per share (`SubmitShares.Error`) or per range
//! (`SubmitShares.Success`), the rate announced again when it changes a
//! lot, and the pool's `Reconnect`, `SetExtranoncePrefix` and
//! `CloseChannel`. Unknown messages and extensions are skipped.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::messages::{self, ExtendedJob, Incoming, PrevHash, ShareFields, StandardJob};
use super::transport::{Frame, Reader, Writer};
use crate::pool::book::Verdict;
use crate::pool::protocol::{Draft, End, Feed, Handshake, Link, LinkError, Redirect, ShareWriter};
use crate::pool::roller::{Origins, Places};
use crate::pool::PoolChange;
use crate::pool::{CoinbaseParts, ExtranonceLayout, PoolJob};
use crate::{BlockHash, CompactTarget, Digest, Target};

/// BIP 320's general-purpose version bits: what a device rolls where the
/// pool allows version rolling (SRI's pool allows `0x1fffffe0`, a superset).
const VERSION_MASK: u32 = 0x1fff_e000;

/// How many future jobs are kept (a pool sends one or two per block).
const FUTURE_KEPT: usize = 64;

/// How often the measured rate is compared with the announced one: soon
/// after the channel opens (the rate announced then was a guess where
/// nothing was hashed yet), then every minute.
const FIRST_RATE_CHECK: Duration = Duration::from_secs(10);
const RATE_CHECK: Duration = Duration::from_secs(60);

/// The kind of channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChannelKind {
    /// Header-only: the pool gives the merkle root.
    Standard,
    /// The device rolls its own extranonce in the coinbase.
    Extended,
}

/// What the pool granted when the channel opened.
pub(crate) struct Opened {
    pub kind: ChannelKind,
    pub channel_id: u32,
    pub group_channel_id: u32,
    pub target: Target,
    pub extranonce_prefix: Vec<u8>,
    /// The extranonce bytes the device rolls (0 on standard channels).
    pub extranonce_size: usize,
}

/// The connection's halves.
pub(crate) struct Parts {
    pub stream: TcpStream,
    pub write_stream: TcpStream,
    pub reader: Reader,
    pub writer: Writer,
    pub backlog: VecDeque<Frame>,
}

/// A job as the pool sent it, before or after its block is known.
#[derive(Clone, Debug)]
enum PoolSent {
    Standard(StandardJob),
    Extended(ExtendedJob),
}

impl PoolSent {
    fn job_id(&self) -> u32 {
        match self {
            PoolSent::Standard(j) => j.job_id,
            PoolSent::Extended(j) => j.job_id,
        }
    }
}

/// The sequence numbers written and not yet answered, shared by the
/// writer and the reading side.
type Unanswered = Arc<Mutex<BTreeSet<u32>>>;

/// A live Stratum V2 channel.
pub(crate) struct Channel {
    stream: TcpStream,
    reader: Reader,
    backlog: VecDeque<Frame>,
    writer: Arc<ChannelWriter>,
    origins: Arc<Mutex<Origins>>,
    rtt: Duration,
    opened: Opened,
    version_mask: u32,
    target: Target,
    /// A new extranonce prefix, from the next job on.
    next_prefix: Option<Vec<u8>>,
    /// Jobs for a block to come, with the target in force when each came.
    future: HashMap<u32, (PoolSent, Target)>,
    prev: Option<PrevHash>,
    /// The job being mined, as sent, with the time it was mined from.
    current: Option<PoolSent>,
    places: Places,
    unanswered: Unanswered,
    nominal_rate: f32,
    rate_checked: Instant,
    rate_checks: u32,
    /// Message types already noted as skipped.
    skipped: HashSet<(u16, u8)>,
    /// Whether the channel's first target was reported.
    announced: bool,
}

impl Channel {
    pub fn new(
        opened: Opened,
        parts: Parts,
        origins: Arc<Mutex<Origins>>,
        rtt: Duration,
        version_rolling: bool,
        nominal_rate: f32,
    ) -> Channel {
        let unanswered = Unanswered::default();
        let writer = Arc::new(ChannelWriter {
            wire: Mutex::new((parts.write_stream, parts.writer)),
            channel_id: opened.channel_id,
            kind: opened.kind,
            unanswered: unanswered.clone(),
        });
        Channel {
            stream: parts.stream,
            reader: parts.reader,
            backlog: parts.backlog,
            writer,
            origins,
            rtt,
            target: opened.target,
            version_mask: if version_rolling { VERSION_MASK } else { 0 },
            opened,
            next_prefix: None,
            future: HashMap::new(),
            prev: None,
            current: None,
            places: Places::default(),
            unanswered,
            nominal_rate,
            rate_checked: Instant::now(),
            rate_checks: 0,
            skipped: HashSet::new(),
            announced: false,
        }
    }

    /// Whether a message for `channel_id` is for this channel (or its
    /// group).
    fn ours(&self, channel_id: u32) -> bool {
        channel_id == self.opened.channel_id || channel_id == self.opened.group_channel_id
    }

    /// A job from the pool: mined at once when it is for the current block,
    /// kept until its `SetNewPrevHash` otherwise.
    fn job(
        &mut self,
        feed: &mut dyn Feed,
        job: PoolSent,
        min_ntime: Option<u32>,
        read_at: Instant,
    ) {
        match (min_ntime, &self.prev) {
            (Some(ntime), Some(_)) => {
                feed.job_arrived();
                self.hand_out(feed, job, ntime, self.target, false, read_at);
            }
            _ => {
                if self.future.len() >= FUTURE_KEPT {
                    if let Some(&oldest) = self.future.keys().min() {
                        self.future.remove(&oldest);
                    }
                }
                self.future.insert(job.job_id(), (job, self.target));
            }
        }
    }

    /// `SetNewPrevHash`: the block changed; its job replaces everything.
    fn prev_hash(&mut self, feed: &mut dyn Feed, prev: PrevHash, read_at: Instant) {
        let job = self.future.remove(&prev.job_id);
        let ntime = prev.min_ntime;
        let job_id = prev.job_id;
        self.prev = Some(prev);
        self.future.clear();
        match job {
            Some((job, target)) => {
                feed.job_arrived();
                // The spec applies a SetTarget to future jobs already
                // received; SRI's pool keeps the target a job was made
                // with. The harder of the two meets both.
                let target = target.min(self.target);
                self.hand_out(feed, job, ntime, target, true, read_at);
            }
            None => feed.note(format!(
                "SetNewPrevHash for job {job_id}, which the pool never sent: waiting for a job"
            )),
        }
    }

    /// Gives a job on the current block to the engine, its shares judged
    /// against `target`.
    fn hand_out(
        &mut self,
        feed: &mut dyn Feed,
        job: PoolSent,
        ntime: u32,
        target: Target,
        clean: bool,
        read_at: Instant,
    ) {
        let Some(prev) = &self.prev else { return };
        if let Some(prefix) = self.next_prefix.take() {
            self.opened.extranonce_prefix = prefix;
        }
        let mut pool_job = PoolJob {
            job_id: job.job_id().to_string(),
            prev_hash: BlockHash::from_digest(Digest::from_bytes(prev.prev_hash)),
            coinbase: CoinbaseParts::default(),
            merkle_branch: Vec::new(),
            version: 0,
            bits: CompactTarget::from_consensus(prev.nbits),
            ntime,
            clean,
            extranonce: ExtranonceLayout {
                fixed: self.opened.extranonce_prefix.clone(),
                rolled: self.opened.extranonce_size,
            },
            difficulty: target.difficulty(),
            version_mask: self.version_mask,
            given_root: None,
            target: Some(target),
        };
        match &job {
            PoolSent::Standard(j) => {
                pool_job.version = j.version;
                pool_job.given_root = Some(Digest::from_bytes(j.merkle_root));
            }
            PoolSent::Extended(j) => {
                pool_job.version = j.version;
                pool_job.coinbase = CoinbaseParts {
                    prefix: j.coinbase_prefix.clone(),
                    suffix: j.coinbase_suffix.clone(),
                };
                pool_job.merkle_branch = j
                    .merkle_path
                    .iter()
                    .copied()
                    .map(Digest::from_bytes)
                    .collect();
                if !j.version_rolling_allowed {
                    pool_job.version_mask = 0;
                }
            }
        }
        let first = self.current.is_none();
        if self
            .places
            .hand_out(feed, pool_job, first, &self.origins, read_at)
            .is_some()
        {
            self.current = Some(job);
        }
    }

    /// The pool's answer to shares up to `last`: those not rejected on
    /// their own were accepted.
    fn accepted_up_to(&mut self, feed: &mut dyn Feed, last: u32, count: u32) -> Result<(), End> {
        let done: Vec<u32> = {
            let mut open = self.unanswered.lock().expect("not poisoned");
            let done: Vec<u32> = open.range(..=last).copied().collect();
            for s in &done {
                open.remove(s);
            }
            done
        };
        if done.len() != count as usize {
            feed.note(format!(
                "the pool counted {count} shares accepted up to {last}, and {} were waiting for an answer",
                done.len()
            ));
        }
        for seq in done {
            feed.answer(seq as u64, Verdict::Accepted)?;
        }
        Ok(())
    }

    fn message(&mut self, feed: &mut dyn Feed, m: Incoming, read_at: Instant) -> Result<(), End> {
        match m {
            Incoming::Job(j) if self.ours(j.channel_id) => {
                let t = j.min_ntime;
                self.job(feed, PoolSent::Standard(j), t, read_at)
            }
            Incoming::ExtendedJob(j) if self.ours(j.channel_id) => {
                let t = j.min_ntime;
                self.job(feed, PoolSent::Extended(j), t, read_at)
            }
            Incoming::PrevHash(p) if self.ours(p.channel_id) => self.prev_hash(feed, p, read_at),
            Incoming::SetTarget { channel_id, target } if self.ours(channel_id) => {
                // For the jobs that come after it (the spec's words: "not
                // applicable for already started jobs"): the job being
                // mined keeps the target it came with, as the pool judges
                // it.
                self.target = target;
                feed.difficulty(target.difficulty());
            }
            Incoming::SubmitSuccess {
                channel_id,
                last_sequence_number,
                accepted,
                ..
            } if channel_id == self.opened.channel_id => {
                self.accepted_up_to(feed, last_sequence_number, accepted)?
            }
            Incoming::SubmitError {
                channel_id,
                sequence_number,
                code,
            } if channel_id == self.opened.channel_id => {
                self.unanswered
                    .lock()
                    .expect("not poisoned")
                    .remove(&sequence_number);
                feed.answer(sequence_number as u64, Verdict::Rejected(None, code))?
            }
            Incoming::ExtranoncePrefix { channel_id, prefix }
                if channel_id == self.opened.channel_id =>
            {
                self.next_prefix = Some(prefix)
            }
            Incoming::CloseChannel { channel_id, reason } if self.ours(channel_id) => {
                return Err(End::Lost(LinkError::Closed(format!(
                    "the pool closed the channel: {reason}"
                ))))
            }
            Incoming::GroupChannel {
                group_channel_id,
                channel_ids,
            } => {
                if channel_ids.contains(&self.opened.channel_id) {
                    self.opened.group_channel_id = group_channel_id;
                }
            }
            Incoming::UpdateError { code, .. } => {
                feed.note(format!("the pool refused the new nominal rate: {code}"))
            }
            Incoming::Reconnect { host, port } => {
                return Err(End::Redirect(Redirect {
                    host: Some(host).filter(|h| !h.is_empty()),
                    port: Some(port).filter(|&p| p != 0),
                    wait: 0,
                }))
            }
            Incoming::Other {
                extension,
                msg_type,
            } => {
                if self.skipped.len() < 64 && self.skipped.insert((extension, msg_type)) {
                    feed.note(format!(
                        "skipped message 0x{msg_type:02x} (extension {extension}): not used by hashrig"
                    ));
                }
            }
            other => feed.note(format!("ignored {}", describe(&other))),
        }
        Ok(())
    }

    /// Tells the pool the rate when it is far from the one it was told.
    fn check_rate(&mut self, feed: &dyn Feed) -> Result<(), End> {
        let every = if self.rate_checks == 0 {
            FIRST_RATE_CHECK
        } else {
            RATE_CHECK
        };
        if self.rate_checked.elapsed() < every {
            return Ok(());
        }
        self.rate_checked = Instant::now();
        self.rate_checks += 1;
        let rate = feed.hashrate() as f32;
        let ratio = rate / self.nominal_rate.max(1.0);
        if rate > 0.0 && !(0.5..=2.0).contains(&ratio) {
            self.nominal_rate = rate;
            let update = messages::update_channel(self.opened.channel_id, rate, &Target::MAX);
            self.writer
                .write(&update)
                .map_err(|e| End::Lost(LinkError::Write(e)))?;
        }
        Ok(())
    }
}

/// A message in a few words, for notes.
fn describe(m: &Incoming) -> String {
    let text = format!("{m:?}");
    match text.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

impl Link for Channel {
    fn handshake(&self) -> Handshake {
        Handshake {
            rtt: self.rtt,
            version_mask: self.version_mask,
            authorized: PoolChange::Authorized {
                extranonce1: crate::hex::encode(&self.opened.extranonce_prefix),
                extranonce2_size: self.opened.extranonce_size,
                version_mask: self.version_mask,
            },
        }
    }

    fn writer(&self) -> Arc<dyn ShareWriter> {
        self.writer.clone()
    }

    fn step(&mut self, feed: &mut dyn Feed) -> Result<bool, End> {
        if !self.announced {
            // The target the channel opened with, as v1's first
            // `mining.set_difficulty`.
            self.announced = true;
            feed.difficulty(self.target.difficulty());
        }
        let frame = match self.backlog.pop_front() {
            Some(f) => f,
            None => match self.reader.read(&mut self.stream) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    self.check_rate(feed)?;
                    return Ok(false);
                }
                Err(e) => return Err(End::Lost(LinkError::Upstream(Box::new(e)))),
            },
        };
        let read_at = Instant::now();
        match Incoming::parse(&frame) {
            Ok(m) => self.message(feed, m, read_at)?,
            Err(e) => feed.note(format!("ignored a message that does not decode: {e}")),
        }
        Ok(true)
    }
}

/// Writes shares on the channel.
struct ChannelWriter {
    wire: Mutex<(TcpStream, Writer)>,
    channel_id: u32,
    kind: ChannelKind,
    unanswered: Unanswered,
}

impl ChannelWriter {
    fn write(&self, frame: &Frame) -> std::io::Result<()> {
        let mut wire = self.wire.lock().expect("not poisoned");
        let (stream, writer) = &mut *wire;
        let bytes = writer.encrypt(frame)?;
        stream.write_all(&bytes)
    }
}

impl ShareWriter for ChannelWriter {
    fn submit(&self, id: u64, draft: &Draft, _version_bits: Option<u32>) -> std::io::Result<()> {
        let job_id = draft.job_id.parse::<u32>().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("job id {:?} is not a Stratum V2 job", draft.job_id),
            )
        })?;
        let fields = ShareFields {
            channel_id: self.channel_id,
            sequence_number: id as u32,
            job_id,
            nonce: draft.rebuilt.nonce,
            ntime: draft.rebuilt.time,
            version: draft.rebuilt.version as u32,
        };
        let frame = match self.kind {
            ChannelKind::Standard => messages::submit_standard(&fields),
            ChannelKind::Extended => messages::submit_extended(&fields, &draft.extranonce2),
        };
        self.unanswered
            .lock()
            .expect("not poisoned")
            .insert(id as u32);
        self.write(&frame)
    }

    fn shutdown(&self) {
        if let Ok(wire) = self.wire.lock() {
            let _ = wire.0.shutdown(std::net::Shutdown::Both);
        }
    }
}
