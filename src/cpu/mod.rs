//! The CPU backend's dispatcher: one signature for every kernel, and one
//! place that detects what this CPU runs and picks the fastest.
//!
//! Kernels live one to a file: `soft` (the portable reference), `scalar` (the
//! portable fast body), on x86 `x86_shani`, `x86_avx2` and `x86_avx512`, and
//! on AArch64 `arm_neon` and `arm_sha2`. `search` is the threaded driver
//! that runs a kernel over a range on every core.

#[cfg(target_arch = "aarch64")]
mod arm_neon;
#[cfg(target_arch = "aarch64")]
mod arm_sha2;
mod device;
mod lanes;
mod rounds;
mod scalar;
mod search;
mod soft;
#[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
mod streams;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_avx2;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_avx512;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_avx512vl;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_shani;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::job::{HeaderJob, HeaderWork};
use crate::{Digest, Error, Header, Target};

pub use device::CpuDevice;
pub use search::{default_threads, max_threads, search, search_prepared};
pub(crate) use search::{device_name, CpuSearcher};

/// The entry points every kernel provides.
#[derive(Clone, Copy)]
pub(crate) struct KernelFns {
    /// Scans header nonces `[start, start + count)` (within 2^32) and pushes
    /// each nonce whose H7 passes [`HeaderWork::passes_early_exit`].
    pub scan_header: fn(&HeaderWork, u32, u32, &mut Vec<u32>),
    /// Compresses `blocks[i]` into `states[i]` for all i.
    pub compress_many: fn(&mut [[u32; 8]], &[[u32; 16]]),
}

/// A CPU hashing kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CpuKernel {
    /// Portable FIPS 180-4 reference, one nonce at a time, no shortcuts.
    Soft,
    /// Portable scalar code with the miners' shortcuts.
    Scalar,
    /// x86 SHA extensions, several nonces interleaved.
    ShaNi,
    /// x86 SHA extensions as [`CpuKernel::ShaNi`], in 60 `sha256rnds2` a
    /// nonce instead of 62: the header's round 3 and the second hash's
    /// round 0 as vector additions, at the price of more shuffles.
    ShaNi60,
    /// AVX2, 8 lanes.
    Avx2,
    /// AVX-512, 16 lanes.
    Avx512,
    /// AVX2, 8 lanes, as a two-stage software pipeline (two batches' hashes
    /// interleaved round by round).
    Avx2Pipelined,
    /// AVX-512, 16 lanes, as a two-stage software pipeline.
    Avx512Pipelined,
    /// AVX-512VL: AVX-512's rotates and three-input logic on 8 lanes of
    /// 256-bit registers.
    Avx512Vl,
    /// AVX-512VL, 8 lanes, as a two-stage software pipeline.
    Avx512VlPipelined,
    /// AArch64 NEON, 4 lanes.
    Neon,
    /// AArch64 NEON, 4 lanes, as a two-stage software pipeline.
    NeonPipelined,
    /// AArch64 SHA2 extension, several nonces interleaved.
    ArmSha2,
}

impl CpuKernel {
    /// Every kernel, in order of preference when speeds tie.
    pub const ALL: [CpuKernel; 13] = [
        CpuKernel::Soft,
        CpuKernel::Scalar,
        CpuKernel::ShaNi,
        CpuKernel::ShaNi60,
        CpuKernel::Avx2,
        CpuKernel::Avx512,
        CpuKernel::Avx2Pipelined,
        CpuKernel::Avx512Pipelined,
        CpuKernel::Avx512Vl,
        CpuKernel::Avx512VlPipelined,
        CpuKernel::Neon,
        CpuKernel::NeonPipelined,
        CpuKernel::ArmSha2,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            CpuKernel::Soft => "soft",
            CpuKernel::Scalar => "scalar",
            CpuKernel::ShaNi => "sha-ni",
            CpuKernel::ShaNi60 => "sha-ni-60",
            CpuKernel::Avx2 => "avx2",
            CpuKernel::Avx512 => "avx512",
            CpuKernel::Avx2Pipelined => "avx2-pipelined",
            CpuKernel::Avx512Pipelined => "avx512-pipelined",
            CpuKernel::Avx512Vl => "avx512vl",
            CpuKernel::Avx512VlPipelined => "avx512vl-pipelined",
            CpuKernel::Neon => "neon",
            CpuKernel::NeonPipelined => "neon-pipelined",
            CpuKernel::ArmSha2 => "arm-sha2",
        }
    }

    /// Nonces the kernel hashes side by side: its vector lanes, or its
    /// interleaved streams.
    pub const fn lanes(self) -> usize {
        match self {
            CpuKernel::Soft | CpuKernel::Scalar => 1,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64"))]
            CpuKernel::ShaNi | CpuKernel::ShaNi60 | CpuKernel::ArmSha2 => streams::STREAMS,
            #[cfg(not(any(target_arch = "x86", target_arch = "x86_64", target_arch = "aarch64")))]
            CpuKernel::ShaNi | CpuKernel::ShaNi60 | CpuKernel::ArmSha2 => 1,
            CpuKernel::Avx2 | CpuKernel::Avx2Pipelined => 8,
            CpuKernel::Avx512Vl | CpuKernel::Avx512VlPipelined => 8,
            CpuKernel::Avx512 | CpuKernel::Avx512Pipelined => 16,
            CpuKernel::Neon | CpuKernel::NeonPipelined => 4,
        }
    }

    pub(crate) fn fns(self) -> Option<KernelFns> {
        match self {
            CpuKernel::Soft => Some(soft::kernel()),
            CpuKernel::Scalar => Some(scalar::kernel()),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::ShaNi => x86_shani::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::ShaNi60 => x86_shani::kernel_60(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx2 => x86_avx2::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx512 => x86_avx512::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx2Pipelined => x86_avx2::pipelined_kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx512Pipelined => x86_avx512::pipelined_kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx512Vl => x86_avx512vl::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx512VlPipelined => x86_avx512vl::pipelined_kernel(),
            #[cfg(target_arch = "aarch64")]
            CpuKernel::Neon => arm_neon::kernel(),
            #[cfg(target_arch = "aarch64")]
            CpuKernel::NeonPipelined => arm_neon::pipelined_kernel(),
            #[cfg(target_arch = "aarch64")]
            CpuKernel::ArmSha2 => arm_sha2::kernel(),
            // The kernels of other architectures.
            _ => None,
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        self.fns().is_some()
    }

    /// The kernels this CPU can run.
    pub fn available() -> Vec<CpuKernel> {
        Self::ALL.into_iter().filter(|k| k.is_supported()).collect()
    }

    /// This kernel if the CPU supports it, else an error naming it.
    pub fn require(self) -> Result<CpuKernel, Error> {
        if self.is_supported() {
            Ok(self)
        } else {
            Err(self.unsupported())
        }
    }

    pub(crate) fn unsupported(self) -> Error {
        Error::Kernel(format!("{} is not supported by this CPU", self.name()))
    }

    /// The kernel a search uses: `chosen` if this CPU runs it (else an
    /// error naming it), or the fastest when none is chosen.
    pub fn resolve(chosen: Option<CpuKernel>) -> Result<CpuKernel, Error> {
        match chosen {
            Some(k) => k.require(),
            None => Ok(CpuKernel::fastest()),
        }
    }

    /// SHA-256 of each message, computed by this kernel's block compression
    /// (the messages' blocks are compressed side by side, lanes full).
    pub fn sha256_many(self, messages: &[&[u8]]) -> Result<Vec<crate::Digest>, Error> {
        let fns = self.require()?.fns().expect("supported");
        let padded: Vec<Vec<[u32; 16]>> = messages
            .iter()
            .map(|m| {
                let mut bytes = m.to_vec();
                bytes.extend_from_slice(&crate::sha256::padding(m.len() as u64));
                bytes
                    .chunks_exact(64)
                    .map(crate::sha256::block_words)
                    .collect()
            })
            .collect();
        let mut states = vec![crate::sha256::IV; messages.len()];
        let most = padded.iter().map(Vec::len).max().unwrap_or(0);
        for j in 0..most {
            let open: Vec<usize> = (0..messages.len())
                .filter(|&i| j < padded[i].len())
                .collect();
            let mut batch: Vec<[u32; 8]> = open.iter().map(|&i| states[i]).collect();
            let blocks: Vec<[u32; 16]> = open.iter().map(|&i| padded[i][j]).collect();
            (fns.compress_many)(&mut batch, &blocks);
            for (&i, state) in open.iter().zip(batch) {
                states[i] = state;
            }
        }
        Ok(states.iter().map(Digest::from_state).collect())
    }

    /// The fastest kernel on this CPU, measured once per process by
    /// [`calibrate`].
    pub fn fastest() -> CpuKernel {
        calibrate().fastest
    }
}

impl std::fmt::Display for CpuKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CpuKernel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                Error::Kernel(format!(
                    "unknown kernel {s:?} (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// What the start-up measurement found.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// The kernel with the highest single-thread rate.
    pub fastest: CpuKernel,
    /// Each measured kernel and its single-thread rate in hashes per second.
    pub rates: Vec<(CpuKernel, f64)>,
}

/// Times every supported kernel except `soft` on a short header scan (some
/// tens of milliseconds in all) and remembers the fastest for the process.
///
/// The kernels take turns, round after round, so that a change of clock or
/// a neighbour's load during the measurement falls on all of them alike, and
/// each keeps its best round. Kernels at less than half the best rate after
/// two rounds cannot win and are not timed again; those within 10% of the
/// best after seven rounds take sixteen more turns among themselves. (Forms of one kernel can
/// differ by a few percent: a single short round each picked the slower one
/// about one start in six.) Every kernel's rate is kept, a dropped one's
/// from its first two rounds.
pub fn calibrate() -> &'static Calibration {
    static CALIBRATION: OnceLock<Calibration> = OnceLock::new();
    CALIBRATION.get_or_init(|| {
        let header = Header::from_bytes(&[0x5a; 80]).expect("80 bytes");
        let work = HeaderWork::new(&HeaderJob::new(
            header,
            Target::from_leading_zero_bits(32).expect("32 <= 256"),
        ));
        const NONCES: u32 = 1 << 15;
        const ROUNDS: u32 = 7;
        // Kernels within 10% of the leader after `ROUNDS` take this many
        // more turns among themselves.
        const CLOSE_ROUNDS: u32 = 16;
        // Each kernel's entry points, its best time so far, and whether it
        // is still timed.
        struct Timing {
            kernel: CpuKernel,
            fns: KernelFns,
            best: Duration,
            timed: bool,
        }
        let mut timings: Vec<Timing> = CpuKernel::available()
            .into_iter()
            .filter(|&k| k != CpuKernel::Soft)
            .map(|kernel| Timing {
                kernel,
                fns: kernel.fns().expect("available"),
                best: Duration::MAX,
                timed: true,
            })
            .collect();
        let mut out = Vec::new();
        for round in 0..ROUNDS + CLOSE_ROUNDS {
            for t in timings.iter_mut().filter(|t| t.timed) {
                let started = Instant::now();
                (t.fns.scan_header)(&work, round * NONCES, NONCES, &mut out);
                t.best = t.best.min(started.elapsed());
            }
            // After two rounds, those under half the leader's rate go; after
            // `ROUNDS`, only those within 10% of it go on.
            let within = match round {
                1 => 2.0,
                r if r == ROUNDS - 1 => 1.1,
                _ => continue,
            };
            let leader = timings
                .iter()
                .map(|t| t.best)
                .min()
                .unwrap_or(Duration::MAX);
            for t in &mut timings {
                t.timed = t.best.as_secs_f64() <= leader.as_secs_f64() * within;
            }
        }
        let rates: Vec<(CpuKernel, f64)> = timings
            .iter()
            .map(|t| (t.kernel, NONCES as f64 / t.best.as_secs_f64().max(1e-9)))
            .collect();
        let fastest = rates
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(CpuKernel::Soft, |r| r.0);
        Calibration { fastest, rates }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_parse() {
        for k in CpuKernel::ALL {
            assert_eq!(k.name().parse::<CpuKernel>().unwrap(), k);
        }
        assert!(matches!("avx9".parse::<CpuKernel>(), Err(Error::Kernel(_))));
    }

    #[test]
    fn calibration_picks_a_supported_kernel() {
        let c = calibrate();
        assert!(c.fastest.is_supported());
        assert!(c.rates.iter().all(|(_, r)| *r > 0.0));
    }
}
