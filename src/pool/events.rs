//! What a pool layer reports while it mines, whatever the protocol: a
//! pool's connection changing, a share judged, the devices paused or
//! resumed, a device taken out.

use std::time::{Duration, Instant};

use super::figures::ShareResult;
use crate::engine::JobId;
use crate::Header;

/// A share and what became of it.
#[derive(Clone, Debug)]
pub struct ShareReport {
    /// The pool (index in the miner's pool list).
    pub pool: usize,
    /// The pool's job id.
    pub job_id: String,
    /// The extranonce2 in the header's coinbase (empty where the pool
    /// sent the merkle root itself).
    pub extranonce2: Vec<u8>,
    /// The rolled version bits as submitted (`None`: not rolling).
    pub version_bits: Option<u32>,
    /// The solved header (its nonce and time are what was submitted).
    pub header: Header,
    /// The difficulty the header's hash meets.
    pub difficulty: f64,
    /// The share difficulty asked for.
    pub target_difficulty: f64,
    /// Whether it also meets the network target: a block.
    pub block: bool,
    /// The outcome.
    pub result: ShareResult,
    /// From the engine's verified solution to the submit written.
    pub submit_delay: Option<Duration>,
    /// From the submit written to the pool's answer.
    pub latency: Option<Duration>,
    /// The device that found it.
    pub device: String,
}

/// A change in a pool's connection.
#[derive(Clone, Debug)]
pub enum PoolChange {
    /// Connected (TCP, and TLS when asked).
    Connected,
    /// Subscribed and authorized.
    Authorized {
        /// The pool's extranonce1, hex.
        extranonce1: String,
        /// The extranonce2 size in bytes.
        extranonce2_size: usize,
        /// The version-rolling mask granted (0: none).
        version_mask: u32,
    },
    /// A new difficulty (for the next job).
    Difficulty(f64),
    /// A new job, handed to the engine.
    Job {
        /// The pool's job id.
        job_id: String,
        /// Whether it voided earlier jobs.
        clean: bool,
        /// The engine's id for it.
        engine_job: JobId,
        /// When it was handed to the engine.
        submitted: Instant,
        /// From its line being read to its handing to the engine.
        queued: Duration,
    },
    /// The connection ended or could not be made.
    Disconnected(String),
    /// The miner moved to another pool.
    Failover {
        /// The pool left.
        from: usize,
    },
    /// A message from the pool, or a note about something the pool sent
    /// that was ignored.
    Message(String),
}

/// What a [`PoolMiner`](crate::pool::PoolMiner) reports (built with a protocol).
#[derive(Clone, Debug)]
pub enum PoolEvent {
    /// A pool's connection changed.
    Pool {
        /// The pool's index.
        pool: usize,
        /// Its URL (no password).
        url: String,
        /// What happened.
        change: PoolChange,
    },
    /// A share was found and judged.
    Share(Box<ShareReport>),
    /// The devices stopped or went back to hashing.
    Mining {
        /// True when paused.
        paused: bool,
        /// Why.
        reason: String,
    },
    /// A device was taken out of service.
    DeviceFailed {
        /// The device.
        device: String,
        /// Why.
        reason: String,
    },
    /// A device taken out of service was opened again and is back at work.
    DeviceRecovered {
        /// The device.
        device: String,
        /// The attempt that brought it back (1 for the first).
        attempt: u32,
    },
}
