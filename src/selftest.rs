//! Known-answer self-tests for every device kind: each CPU kernel and each
//! GPU is checked against real mainnet blocks and the portable reference
//! before it is trusted. The engine runs the GPU test before a GPU mines;
//! `hashrig selftest`, the C ABI and daemons run them all through [`all`].

use crate::{search, CpuKernel, Error, Header, HeaderJob, Job, NonceRange, SearchOptions, Target};

/// Bitcoin's genesis block header (block 0), the known answer of the CPU
/// tests and the job `hashrig bench` hashes.
pub const GENESIS_HEADER_HEX: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

/// One device's self-test result.
#[derive(Debug)]
pub struct Outcome {
    /// `cpu <kernel>` or `gpu <adapter> (<backend>)`.
    pub device: String,
    /// `Ok` when every known answer came out right.
    pub result: Result<(), Error>,
}

/// Self-tests every CPU kernel this CPU runs and every GPU adapter found
/// (software adapters included).
pub fn all() -> Vec<Outcome> {
    #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
    let mut outcomes: Vec<Outcome> = CpuKernel::available()
        .into_iter()
        .map(|kernel| Outcome {
            device: format!("cpu {kernel}"),
            result: cpu(kernel),
        })
        .collect();
    #[cfg(feature = "gpu")]
    for entry in crate::gpu::adapters() {
        let result = crate::gpu::GpuDevice::open(&entry, crate::gpu::LaunchConfig::default())
            .and_then(|device| gpu(&device));
        outcomes.push(Outcome {
            device: format!("gpu {}", entry.label()),
            result,
        });
    }
    outcomes
}

fn failed(device: &str, reason: String) -> Error {
    Error::SelfTest {
        device: device.to_string(),
        reason,
    }
}

/// Known answers on one CPU kernel: SHA-256("abc") (FIPS 180-4, appendix
/// B.1) through the kernel's compression in every lane, the genesis block
/// found at its real target, and the reference's solution set at an easy
/// target.
pub fn cpu(kernel: CpuKernel) -> Result<(), Error> {
    let name = kernel.name();
    let abc = kernel.sha256_many(&[b"abc".as_slice(); 16])?;
    if abc
        .iter()
        .any(|d| d.to_hex() != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    {
        return Err(failed(name, "SHA-256(\"abc\") is wrong".into()));
    }
    let on = |kernel: CpuKernel, job: &Job, range: NonceRange| {
        let options = SearchOptions {
            kernel: Some(kernel),
            ..Default::default()
        };
        search(job, range, &options)
    };
    let genesis = Header::from_hex(GENESIS_HEADER_HEX)?;
    let job = Job::from(HeaderJob::from_header(genesis)?);
    let around = NonceRange::new(u64::from(genesis.nonce) - 40_000, 65_536);
    let nonces: Vec<u64> = on(kernel, &job, around)?
        .solutions
        .iter()
        .map(|s| s.nonce)
        .collect();
    if nonces != [u64::from(genesis.nonce)] {
        return Err(failed(
            name,
            format!(
                "genesis search found {nonces:?}, expected [{}]",
                genesis.nonce
            ),
        ));
    }
    let easy = Job::from(HeaderJob::new(genesis, Target::from_leading_zero_bits(8)?));
    let range = NonceRange::new(0, 20_000);
    if on(kernel, &easy, range)?.solutions != on(CpuKernel::Soft, &easy, range)?.solutions {
        return Err(failed(
            name,
            "solutions at an easy target differ from the reference".into(),
        ));
    }
    Ok(())
}

/// Known answer on a GPU: see [`GpuDevice::self_test`](crate::gpu::GpuDevice::self_test).
#[cfg(feature = "gpu")]
pub fn gpu(device: &crate::gpu::GpuDevice) -> Result<(), Error> {
    device.self_test()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cpu_kernel_passes() {
        for kernel in CpuKernel::available() {
            assert!(cpu(kernel).is_ok(), "{kernel}: {:?}", cpu(kernel));
        }
    }
}
