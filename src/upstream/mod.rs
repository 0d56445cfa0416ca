//! The upstreams a pool miner mines on, and the one place that knows every
//! protocol. [`UpstreamUrl`] decides what a URL names by its scheme;
//! [`PoolOptions`] holds the failover list (Stratum v1 and V2 pools and
//! solo nodes) and what each protocol asks for;
//! [`PoolMiner::start`](crate::pool::PoolMiner::start) routes each upstream
//! of the list to its protocol.
//!
//! The protocols stand side by side below this module and import none of
//! each other: [`crate::stratum`], [`crate::sv2`] and [`crate::node`] each
//! turn their wire into the pool layer's job ([`crate::pool::PoolJob`])
//! and take its shares back. A fourth protocol is one folder beside them,
//! one variant of [`UpstreamUrl`] for its scheme and one of the router's
//! route (`router.rs`).

mod options;
mod router;
mod url;

pub use crate::sv2::Sv2Channel;
pub use options::{PoolOptions, Upstream};
pub use url::UpstreamUrl;
