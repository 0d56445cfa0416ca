//! hashrig searches nonce ranges for SHA-256d proof of work: Bitcoin block
//! headers and generic `prefix || nonce || suffix` jobs, on the CPU (SHA-NI,
//! AVX-512, AVX2 or portable code, over every core) and on GPUs through a
//! WGSL compute shader. Every solution is checked on the portable reference
//! hash before it is returned.
//!
//! ```
//! use hashrig::{search, GenericJob, Job, NonceEndian, NonceRange, SearchOptions, Target};
//!
//! // A toy blockchain's proof of work: 16 leading zero bits of SHA-256.
//! let job = Job::from(GenericJob {
//!     prefix: b"block 1: alice pays bob 5".to_vec(),
//!     suffix: Vec::new(),
//!     nonce_endian: NonceEndian::Little,
//!     double: false,
//!     target: Target::from_leading_zero_bits(16)?,
//! });
//! let options = SearchOptions { stop_at_first: true, ..Default::default() };
//! let report = search(&job, NonceRange::new(0, 1 << 24), &options)?;
//! let hash = report.solutions[0].hash;
//! assert_eq!(&hash.as_bytes()[..2], &[0, 0]);
//! # Ok::<(), hashrig::Error>(())
//! ```

#![warn(missing_docs)]

#[cfg(feature = "api")]
pub mod api;
#[cfg(feature = "stratum")]
mod base58;
pub mod cpu;
pub mod engine;
mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
mod header;
pub mod health;
pub mod hex;
mod job;
#[cfg(feature = "stratum")]
pub mod node;
pub mod pool;
mod search;
pub mod selftest;
pub mod sha256;
#[cfg(feature = "stratum")]
pub mod stratum;
#[cfg(feature = "stratum")]
pub mod sv2;
mod target;
#[cfg(feature = "stratum")]
pub mod upstream;

pub use cpu::CpuKernel;
pub use cpu::{search, search_prepared};
pub use error::{CompactError, DeviceError, Error, PoolError};
pub use header::Header;
pub use job::{GenericJob, HeaderJob, Job, NonceEndian, PreparedJob};
#[cfg(feature = "internals")]
pub use search::verify_candidate;
pub use search::{CancelToken, Found, NonceRange, SearchOptions, SearchReport, Solution};
pub use sha256::{BlockHash, Digest, Midstate};
pub use target::{CompactTarget, Target, DIFFICULTY_1};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
