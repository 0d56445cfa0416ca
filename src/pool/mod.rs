//! The pool layer's vocabulary, the same for every way of getting work
//! (Stratum v1 and V2 pools, and solo mining on a node): the job every
//! protocol hands the layer ([`PoolJob`]), the upstreams' URLs
//! ([`PoolUrl`]), a pool's state and figures ([`PoolStats`]), shares by
//! outcome ([`ShareCounts`], [`ShareResult`]), the events a miner reports
//! ([`PoolEvent`]), and what a monitor reads from a miner ([`PoolWatch`]).
//!
//! The layer itself is written once for every protocol ([`PoolMiner`]):
//! the pool list in priority order, failover with backoff and the return
//! to the first pool (`failover.rs`, tuned by [`FailoverOptions`]), the
//! roller that turns a job into header space and remembers where each
//! header came from (`roller.rs`), the share path that checks each
//! solution against its pool job on the CPU reference and books the
//! pool's answer (`miner.rs`, `book.rs`), and the devices paused while no
//! pool is usable. A protocol plugs in by writing its connection and its
//! messages: a `Protocol` that connects and hands back a `Link`, which
//! turns what the pool sends into calls on a `Feed` (`protocol.rs`,
//! `feed.rs`). Stratum v1 ([`crate::stratum`]), Stratum V2
//! ([`crate::sv2`]) and the node ([`crate::node`]) stand side by side
//! above this layer; [`crate::upstream`] routes a list over them.
//!
//! The vocabulary is always compiled, with no protocol's crates: the API,
//! the C ABI and the command line render these types and keep no copies of
//! their own.

// The miner itself is built with its protocols (the `stratum` feature);
// the vocabulary always.
#[cfg(feature = "stratum")]
pub(crate) mod book;
mod events;
#[cfg(feature = "stratum")]
mod failover;
#[cfg(feature = "stratum")]
mod feed;
mod figures;
#[cfg(feature = "stratum")]
mod job;
#[cfg(feature = "stratum")]
mod key;
#[cfg(feature = "stratum")]
mod miner;
#[cfg(feature = "stratum")]
pub(crate) mod protocol;
#[cfg(feature = "stratum")]
pub(crate) mod roller;
#[cfg(feature = "stratum")]
mod settings;
#[cfg(feature = "stratum")]
mod shared;
#[cfg(feature = "stratum")]
mod url;

use std::collections::BTreeMap;

pub use events::{PoolChange, PoolEvent, ShareReport};
pub use figures::{PoolState, PoolStats, ShareCounts, ShareResult};
#[cfg(feature = "stratum")]
pub use job::{extranonce2_bytes, spread_bits, CoinbaseParts, ExtranonceLayout, PoolJob};
#[cfg(feature = "stratum")]
pub use key::{AuthorityKey, KeyError};
#[cfg(feature = "stratum")]
pub use miner::PoolMiner;
#[cfg(feature = "stratum")]
pub use roller::NTIME_ROLL_LIMIT;
#[cfg(feature = "stratum")]
pub use settings::FailoverOptions;
#[cfg(feature = "stratum")]
pub(crate) use url::usable_host;
#[cfg(feature = "stratum")]
pub use url::{Pool, PoolUrl, Version};

/// What a monitor reads from a pool miner, at one moment.
pub trait PoolWatch: Send + Sync {
    /// Every pool's figures, in the order given.
    fn stats(&self) -> Vec<PoolStats>;
    /// Shares by the device that found them (over every pool), keyed by
    /// the device names of the engine's statistics.
    fn device_shares(&self) -> BTreeMap<String, ShareCounts>;
}
