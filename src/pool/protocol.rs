//! Where a protocol plugs into the pool layer. A protocol writes two
//! things: a [`Protocol`] that connects to one pool of its list and runs
//! its handshake, and the [`Link`] that handshake gives, which turns what
//! the pool sends into calls on a [`Feed`] (jobs, difficulty, answers) and
//! writes the shares the layer hands it (a [`ShareWriter`]). Everything else (the pool list in
//! priority order, failover with backoff and the return to the first
//! pool, the share path that checks every solution against its pool job
//! on the CPU reference and counts the answer, the devices paused while no
//! pool is usable) is the layer's, the same for every protocol.

use std::io;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use std::time::Instant;

use super::book::Verdict;
use super::events::PoolChange;
use crate::engine::Work;
use crate::{Header, Target};

/// The pool layer as one connection sees it: what a [`Link`] calls while
/// it reads.
pub(crate) trait Feed {
    /// The pool (index in the list).
    fn pool(&self) -> usize;
    /// This connection's serial number (shares of other connections are
    /// stale).
    fn session(&self) -> u64;
    /// A new job came from the pool (the job timeout starts again).
    fn job_arrived(&mut self);
    /// The clean-job epoch a job starts in: a new one when it voids the
    /// earlier jobs.
    fn epoch(&self, clean: bool) -> u64;
    /// Hands `work` to the engine in place of what it mines, and resumes
    /// the devices.
    fn mine(&self, work: Work, job_id: String, clean: bool, read_at: Instant);
    /// The pool set the share difficulty (for its next job).
    fn difficulty(&self, difficulty: f64);
    /// The version bits that may be rolled from now on.
    fn version_mask(&self, mask: u32);
    /// The pool's answer to request `id`; ends the connection when the
    /// pool has rejected too many shares in a row.
    fn answer(&self, id: u64, verdict: Verdict) -> Result<(), End>;
    /// A note about the pool (a `message` event).
    fn note(&self, text: String);
    /// The devices' measured hash rate (H/s).
    fn hashrate(&self) -> f64;
}

/// One way of getting work: connects to the pools of one list.
pub(crate) trait Protocol: Send + Sync + 'static {
    /// Connects to pool `pool` and runs the handshake until it can mine.
    /// A `probe` checks in the background whether a better pool works
    /// again: it resumes nothing and follows no redirect.
    fn open(&self, pool: usize, probe: bool, cx: &Opening<'_>) -> Result<Box<dyn Link>, Opened>;

    /// The pool asked to be reached elsewhere: follow it where allowed,
    /// and say what was done (the reason the connection ends).
    fn redirect(&self, pool: usize, to: &Redirect) -> String;

    /// The miner moves away from `pool`: forget where it redirected to.
    fn forget_redirect(&self, pool: usize);

    /// The share a solved header stands for, rebuilt from its pool job,
    /// or `None` when its job is forgotten (older than any pool takes).
    fn draft(&self, header: &Header) -> Option<Draft>;
}

/// What a handshake may use: the stop flag, and a way to say what it
/// worked around.
pub(crate) struct Opening<'a> {
    /// Set when the miner is stopping.
    pub stop: &'a AtomicBool,
    /// Reports a note about the pool (a `message` event).
    pub note: &'a dyn Fn(String),
    /// The devices' measured hash rate (H/s; 0 before any hashing), for
    /// protocols that announce it.
    pub hashrate: f64,
}

/// A boxed error of a protocol's own, kept whole with its sources.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a connection to an upstream failed or ended, as failover sees it:
/// each kind is a variant, its cause a source.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The upstream could not be reached: refused, unreachable, or a name
    /// that does not resolve.
    #[error("connecting to {address}: {source}")]
    Connect {
        /// The address tried last.
        address: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The upstream did not answer in time.
    #[error("no answer to {what} within {:.1} s", after.as_secs_f64())]
    TimedOut {
        /// What went unanswered.
        what: &'static str,
        /// How long was waited.
        after: Duration,
    },
    /// The upstream is not the one its URL names (a certificate not
    /// signed by the authority key, or not valid now).
    #[error("{0}")]
    Authentication(#[source] BoxError),
    /// The upstream refused the connection, the channel or the worker.
    #[error("{0}")]
    Refused(String),
    /// The upstream closed the connection or the channel.
    #[error("{0}")]
    Closed(String),
    /// The upstream broke its protocol.
    #[error("{0}")]
    Protocol(String),
    /// Connecting or reading failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// Writing to the connection failed.
    #[error("writing to the pool: {0}")]
    Write(#[source] std::io::Error),
    /// A protocol's own error (the node's RPC, a template), kept whole.
    #[error("{0}")]
    Upstream(#[source] BoxError),
}

/// Why a connection could not be made ready.
#[derive(Debug)]
pub(crate) enum Opened {
    /// It failed.
    Failed(LinkError),
    /// The miner is stopping.
    Stopped,
}

/// A pool's request to be reached elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Redirect {
    /// The host, when one is named.
    pub host: Option<String>,
    /// The port, when one is named.
    pub port: Option<u16>,
    /// Seconds to wait first.
    pub wait: u64,
}

/// What a handshake agreed, once per connection.
pub(crate) struct Handshake {
    /// The handshake's round trip.
    pub rtt: Duration,
    /// The version bits the pool lets the miner roll (0: none).
    pub version_mask: u32,
    /// The event that says what was agreed.
    pub authorized: PoolChange,
}

/// Writes shares on a connection; the share thread holds it.
pub(crate) trait ShareWriter: Send + Sync {
    /// Writes `draft` as request `id`, with `version_bits` when rolling.
    fn submit(&self, id: u64, draft: &Draft, version_bits: Option<u32>) -> io::Result<()>;
    /// Closes the connection (the reading side then ends too).
    fn shutdown(&self);
    /// Whether `draft` is stale for reasons only the protocol knows (a
    /// node whose tip a block just sent will replace): counted stale, not
    /// sent.
    fn stale(&self, _draft: &Draft) -> bool {
        false
    }
}

/// A connection ready to mine.
pub(crate) trait Link: Send {
    /// What the handshake agreed.
    fn handshake(&self) -> Handshake;

    /// The writer for shares.
    fn writer(&self) -> std::sync::Arc<dyn ShareWriter>;

    /// Reads what the pool sends next, waiting at most one poll, and acts
    /// on it through `feed`. `Ok(false)` when nothing came; `Err` when the
    /// connection ends.
    fn step(&mut self, feed: &mut dyn Feed) -> Result<bool, End>;
}

/// A solved header as the share its pool job makes of it.
#[derive(Clone, Debug)]
pub(crate) struct Draft {
    /// The pool (index in the list).
    pub pool: usize,
    /// The connection the job came on.
    pub session: u64,
    /// The clean-job epoch of the job.
    pub epoch: u64,
    /// The pool's job id.
    pub job_id: String,
    /// The extranonce2 in the header's coinbase (empty where the pool
    /// gave the merkle root).
    pub extranonce2: Vec<u8>,
    /// The header's version bits XOR the job's.
    pub rolled: u32,
    /// The header rebuilt from the pool job alone (to compare with the
    /// solved one).
    pub rebuilt: Header,
    /// The share target and the network target of the job.
    pub share_target: Target,
    /// The network target.
    pub network_target: Target,
    /// The share difficulty asked for.
    pub target_difficulty: f64,
}

/// How one connection ended.
pub(crate) enum End {
    /// It failed or closed; try again (after a backoff).
    Lost(LinkError),
    /// The pool misbehaves (rejects everything, no jobs): move on.
    Failing(String),
    /// A better pool works again: this is its ready connection.
    Switch(usize, Box<dyn Link>),
    /// The pool asked to be reached again (maybe elsewhere) after a wait.
    Redirect(Redirect),
    /// The miner is stopping.
    Stop,
}
