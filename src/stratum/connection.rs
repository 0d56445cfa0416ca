//! One Stratum v1 connection after its handshake: the pool's lines read
//! as typed messages and turned into jobs for the engine (through the
//! pool layer's [`Feed`]), the difficulty, extranonce and version mask
//! that come with them, answers to shares, and the pool's own requests.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::link::LinkWriter;
use super::message::{self, Notify, ServerMessage, Submit};
use super::session::Session;
use crate::pool::book::Verdict;
use crate::pool::protocol::{Draft, End, Feed, Handshake, Link, LinkError, Redirect, ShareWriter};
use crate::pool::roller::{Origins, Places};
use crate::pool::PoolChange;
use crate::pool::{ExtranonceLayout, PoolJob};

/// A live Stratum v1 connection.
pub(crate) struct Connection {
    session: Session,
    writer: Arc<SubmitWriter>,
    origins: Arc<Mutex<Origins>>,
    agent: String,
    difficulty: f64,
    pending_difficulty: Option<f64>,
    extranonce1: Vec<u8>,
    extranonce2_size: usize,
    pending_extranonce: Option<(Vec<u8>, usize)>,
    version_mask: u32,
    current: Option<Arc<PoolJob>>,
    /// Where the rolling of recent works got to.
    places: Places,
}

impl Connection {
    pub fn new(
        session: Session,
        worker: String,
        origins: Arc<Mutex<Origins>>,
        agent: String,
    ) -> Connection {
        let writer = Arc::new(SubmitWriter {
            writer: session.writer.clone(),
            worker,
        });
        Connection {
            extranonce1: session.subscription.extranonce1.clone(),
            extranonce2_size: session.subscription.extranonce2_size,
            version_mask: session.version_mask,
            session,
            writer,
            origins,
            agent,
            difficulty: 1.0,
            pending_difficulty: None,
            pending_extranonce: None,
            current: None,
            places: Places::default(),
        }
    }

    /// A notification or request from the pool.
    fn call(
        &mut self,
        feed: &mut dyn Feed,
        message: ServerMessage,
        read_at: Instant,
    ) -> std::io::Result<Result<(), End>> {
        match message {
            ServerMessage::Response { id, result, error } => {
                let verdict = match error {
                    None if result.is_true() => Verdict::Accepted,
                    Some(e) => Verdict::Rejected(e.code, e.message),
                    None => Verdict::Rejected(None, result.describe(200)),
                };
                return Ok(feed.answer(id, verdict));
            }
            ServerMessage::Notify(n) => self.new_job(feed, n, read_at),
            ServerMessage::SetDifficulty(d) => {
                self.pending_difficulty = Some(d);
                feed.difficulty(d);
            }
            ServerMessage::SetExtranonce(en1, size) => self.pending_extranonce = Some((en1, size)),
            ServerMessage::SetVersionMask(mask) if self.session.version_mask != 0 => {
                let mask = mask & message::BIP320_MASK;
                self.version_mask = mask;
                feed.version_mask(mask);
                // At once: the current job goes on under the new mask.
                if let Some(job) = self.current.clone() {
                    let mut job = (*job).clone();
                    job.version_mask = mask;
                    job.clean = false;
                    self.hand_out(feed, job, read_at);
                }
            }
            ServerMessage::SetVersionMask(_) => feed
                .note("ignored mining.set_version_mask: version rolling was not negotiated".into()),
            ServerMessage::Reconnect(r) => {
                return Ok(Err(End::Redirect(Redirect {
                    host: r.host,
                    port: r.port,
                    wait: r.wait,
                })))
            }
            ServerMessage::ShowMessage(text) => feed.note(format!("pool says: {text}")),
            ServerMessage::GetVersion(id) => {
                self.session.writer.write_line(&id.reply(&self.agent))?
            }
            ServerMessage::Ping(id) => self.session.writer.write_line(&id.reply("pong"))?,
            ServerMessage::UnknownRequest { id, method } => {
                self.session
                    .writer
                    .write_line(&id.refuse(20, "unsupported method"))?;
                feed.note(format!("answered unknown request {method:?} with an error"));
            }
            ServerMessage::UnknownNotification(method) => {
                feed.note(format!("ignored unknown notification {method:?}"))
            }
        }
        Ok(Ok(()))
    }

    /// A `mining.notify`: the difficulty and extranonce announced since the
    /// last job take effect, and the job goes to the engine.
    fn new_job(&mut self, feed: &mut dyn Feed, notify: Notify, read_at: Instant) {
        if let Some(d) = self.pending_difficulty.take() {
            self.difficulty = d;
        }
        if let Some((en1, size)) = self.pending_extranonce.take() {
            self.extranonce1 = en1;
            self.extranonce2_size = size;
        }
        feed.job_arrived();
        let extranonce = ExtranonceLayout {
            fixed: self.extranonce1.clone(),
            rolled: self.extranonce2_size,
        };
        let job = notify.into_job(extranonce, self.difficulty, self.version_mask);
        self.hand_out(feed, job, read_at);
    }

    /// Gives a pool job to the engine, replacing what it mines.
    fn hand_out(&mut self, feed: &mut dyn Feed, job: PoolJob, read_at: Instant) {
        let first = self.current.is_none();
        if let Some(job) = self
            .places
            .hand_out(feed, job, first, &self.origins, read_at)
        {
            self.current = Some(job);
        }
    }
}

impl Link for Connection {
    fn handshake(&self) -> Handshake {
        let s = &self.session;
        Handshake {
            rtt: s.rtt,
            version_mask: s.version_mask,
            authorized: PoolChange::Authorized {
                extranonce1: crate::hex::encode(&s.subscription.extranonce1),
                extranonce2_size: s.subscription.extranonce2_size,
                version_mask: s.version_mask,
            },
        }
    }

    fn writer(&self) -> Arc<dyn ShareWriter> {
        self.writer.clone()
    }

    fn step(&mut self, feed: &mut dyn Feed) -> Result<bool, End> {
        let (item, read_at) = match self.session.backlog.pop_front() {
            Some(item) => (item, Instant::now()),
            None => match self.session.reader.read_line() {
                Ok(Some(line)) if line.trim().is_empty() => return Ok(true),
                Ok(Some(line)) => (ServerMessage::parse(&line), Instant::now()),
                Ok(None) => return Ok(false),
                Err(source) => return Err(End::Lost(LinkError::Io(source))),
            },
        };
        match item {
            Ok(message) => match self.call(feed, message, read_at) {
                Ok(result) => result?,
                Err(e) => return Err(End::Lost(LinkError::Write(e))),
            },
            Err(e) => feed.note(format!("ignored: {e}")),
        }
        Ok(true)
    }
}

/// Writes shares as `mining.submit` lines.
struct SubmitWriter {
    writer: LinkWriter,
    worker: String,
}

impl ShareWriter for SubmitWriter {
    fn submit(&self, id: u64, draft: &Draft, version_bits: Option<u32>) -> std::io::Result<()> {
        let submit = Submit {
            worker: self.worker.clone(),
            job_id: draft.job_id.clone(),
            extranonce2: draft.extranonce2.clone(),
            ntime: draft.rebuilt.time,
            nonce: draft.rebuilt.nonce,
            version_bits,
        };
        self.writer.write_line(&submit.request(id))
    }

    fn shutdown(&self) {
        self.writer.shutdown();
    }
}
