//! Mining on pools over Stratum v1, the protocol every SHA-256d pool
//! speaks: BIP 310 version rolling, failover between pools, TLS, and the
//! server messages pools really send.
//!
//! [`PoolMiner`] connects to the first usable pool on a thread of its own,
//! turns each `mining.notify` into header jobs for an
//! [`Engine`](crate::engine::Engine) (rolling extranonce2 and the version
//! bits, so that every device works on header space of its own), checks
//! every solution on the CPU reference once more against the pool's job,
//! and submits it as a share. The wire messages ([`message`]) are usable
//! on their own, for proxies and pool-side tools; a notify becomes the
//! pool layer's job ([`PoolJob`]) through [`Notify::into_job`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use hashrig::engine::{Engine, EngineOptions};
//! use hashrig::stratum::{Pool, PoolEvent, PoolMiner};
//! use hashrig::upstream::PoolOptions;
//!
//! let engine = Arc::new(Engine::start(EngineOptions::default())?);
//! let pool = Pool::new("stratum+tcp://solo.ckpool.org:3333".parse()?, Some("bc1q…"), Some("x"))?;
//! let miner = PoolMiner::start(engine, PoolOptions::new(vec![pool.into()]))?;
//! while let Some(event) = miner.recv_timeout(Duration::from_secs(60)) {
//!     if let PoolEvent::Share(s) = event {
//!         println!("share {:08x}: {}", s.header.nonce, s.result.as_str());
//!     }
//! }
//! miner.stop(Duration::from_secs(2));
//! # Ok::<(), hashrig::Error>(())
//! ```

pub(crate) mod client;
mod connection;
mod envelope;
mod link;
pub mod message;
mod outgoing;
mod params;
pub(crate) mod session;

/// The pool layer's vocabulary ([`crate::pool`]), which this protocol reports in.
pub use crate::pool::{
    extranonce2_bytes, spread_bits, FailoverOptions, Pool, PoolChange, PoolEvent, PoolJob,
    PoolMiner, PoolState, PoolStats, PoolUrl, ShareCounts, ShareReport, ShareResult, Version,
    NTIME_ROLL_LIMIT,
};
pub use client::V1Settings;
pub(crate) use link::tls_config;
pub use message::{Notify, ProtocolError, RpcError, ServerMessage, Submit, Subscription};
