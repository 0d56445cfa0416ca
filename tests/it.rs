//! Every integration test of hashrig in one binary, a module per area;
//! the helpers they share (`common`, the test pool and node, the rig and
//! soak drivers, the SRI pool launcher) are declared once here.
//!
//! `cargo test` runs them all; `cargo test --test it -- gpu::` runs one
//! area. A test that needs a peer this machine may lack (SRI's pool and
//! translator, pyasic, Bitcoin Core) is ignored with its reason, and runs
//! with `cargo test -- --include-ignored`.

// Everything but the CPU kernels needs the default features (the
// command line, GPUs, pools and the API); the CPU kernels are tested
// alone on targets built without them.
#[cfg(feature = "cli")]
mod backpressure;
#[cfg(feature = "cli")]
mod cli;
mod common;
mod cpu_kernels;
#[cfg(feature = "cli")]
mod daemon;
#[cfg(feature = "cli")]
mod dashboard;
#[cfg(feature = "cli")]
mod engine;
#[cfg(feature = "cli")]
mod gpu;
#[cfg(feature = "cli")]
mod health;
#[cfg(feature = "cli")]
mod monitoring;
#[cfg(feature = "cli")]
mod multi_gpu;
#[cfg(feature = "cli")]
mod recovery;
#[cfg(feature = "cli")]
mod rig;
#[cfg(feature = "cli")]
mod rig_monitors;
#[cfg(feature = "cli")]
mod rig_os;
#[cfg(feature = "cli")]
mod search;
#[cfg(feature = "cli")]
mod soak;
#[cfg(feature = "cli")]
mod soaking;
#[cfg(feature = "cli")]
mod solo;
#[cfg(feature = "cli")]
mod stratum;
#[cfg(feature = "cli")]
mod stratum_real;
#[cfg(feature = "cli")]
mod stratum_v2;
#[cfg(feature = "cli")]
mod sv2pool;
#[cfg(feature = "cli")]
mod terminal;
#[cfg(feature = "cli")]
mod testnode;
#[cfg(feature = "cli")]
mod testpool;
#[cfg(feature = "cli")]
mod translations;
