//! The upstreams a pool miner mines on, and the one place that knows every
//! protocol. [`PoolOptions`] holds the failover list (Stratum v1 and V2
//! pools by their URLs, [`crate::pool::PoolUrl`], and solo nodes) and what
//! each protocol asks for; [`PoolMiner::start`](crate::pool::PoolMiner::start)
//! routes each upstream of the list to its protocol.
//!
//! The protocols stand side by side below this module and import none of
//! each other: [`crate::stratum`], [`crate::sv2`] and [`crate::node`] each
//! turn their wire into the pool layer's job ([`crate::pool::PoolJob`])
//! and take its shares back. A fourth protocol is one folder beside them,
//! one variant of the router's route (`router.rs`) and one URL scheme.

mod options;
mod router;

pub use crate::sv2::Sv2Channel;
pub use options::{PoolOptions, Upstream};
