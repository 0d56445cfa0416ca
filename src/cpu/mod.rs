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
    /// AVX2, 8 lanes.
    Avx2,
    /// AVX-512, 16 lanes.
    Avx512,
    /// AArch64 NEON, 4 lanes.
    Neon,
    /// AArch64 SHA2 extension, several nonces interleaved.
    ArmSha2,
}

impl CpuKernel {
    /// Every kernel, in order of preference when speeds tie.
    pub const ALL: [CpuKernel; 7] = [
        CpuKernel::Soft,
        CpuKernel::Scalar,
        CpuKernel::ShaNi,
        CpuKernel::Avx2,
        CpuKernel::Avx512,
        CpuKernel::Neon,
        CpuKernel::ArmSha2,
    ];

    /// The name used on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            CpuKernel::Soft => "soft",
            CpuKernel::Scalar => "scalar",
            CpuKernel::ShaNi => "sha-ni",
            CpuKernel::Avx2 => "avx2",
            CpuKernel::Avx512 => "avx512",
            CpuKernel::Neon => "neon",
            CpuKernel::ArmSha2 => "arm-sha2",
        }
    }

    pub(crate) fn fns(self) -> Option<KernelFns> {
        match self {
            CpuKernel::Soft => Some(soft::kernel()),
            CpuKernel::Scalar => Some(scalar::kernel()),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::ShaNi => x86_shani::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx2 => x86_avx2::kernel(),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            CpuKernel::Avx512 => x86_avx512::kernel(),
            #[cfg(target_arch = "aarch64")]
            CpuKernel::Neon => arm_neon::kernel(),
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

/// Times every supported kernel except `soft` on a short header scan (a few
/// milliseconds in all) and remembers the fastest for the process.
pub fn calibrate() -> &'static Calibration {
    static CALIBRATION: OnceLock<Calibration> = OnceLock::new();
    CALIBRATION.get_or_init(|| {
        let header = Header::from_bytes(&[0x5a; 80]).expect("80 bytes");
        let work = HeaderWork::new(&HeaderJob::new(
            header,
            Target::from_leading_zero_bits(32).expect("32 <= 256"),
        ));
        let mut rates = Vec::new();
        for kernel in CpuKernel::available() {
            if kernel == CpuKernel::Soft {
                continue;
            }
            let fns = kernel.fns().expect("available");
            let mut out = Vec::new();
            let mut best = Duration::MAX;
            const NONCES: u32 = 1 << 14;
            for round in 0..3 {
                let t = Instant::now();
                (fns.scan_header)(&work, round * NONCES, NONCES, &mut out);
                best = best.min(t.elapsed());
            }
            rates.push((kernel, NONCES as f64 / best.as_secs_f64().max(1e-9)));
        }
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
