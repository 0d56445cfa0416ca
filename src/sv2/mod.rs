//! Stratum V2 for mining devices: the Noise NX transport pinned to the
//! pool's authority key ([`transport`], [`AuthorityKey`]), the messages a
//! device exchanges with a pool ([`messages`]), and the protocol under the
//! pool layer, so that a [`PoolMiner`](crate::pool::PoolMiner) mines on
//! `stratum2+tcp://HOST:PORT/KEY` pools beside Stratum v1 ones in one
//! failover list.
//!
//! Everything on the wire goes through the Stratum Reference
//! Implementation's own crates (`noise_sv2`, `codec_sv2`, `binary_sv2`,
//! `common_messages_sv2`, `mining_sv2`), driven over `std::net` on the pool
//! miner's threads.

mod channel;
pub(crate) mod client;
pub mod messages;
pub mod transport;

pub use crate::pool::{AuthorityKey, KeyError};
pub use client::{Sv2Channel, Sv2Settings};

#[cfg(test)]
mod tests;
