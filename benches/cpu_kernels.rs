//! Header-scan throughput of every CPU kernel on one thread, beside the
//! naive baseline (the sha2 crate hashing the full 80-byte header twice per
//! nonce), so that the ratio comes from one run. Whole-machine figures come
//! from `hashrig bench --backend cpu`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hashrig::{search, CpuKernel, Header, HeaderJob, Job, NonceRange, SearchOptions};
use sha2::{Digest as _, Sha256};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";
const NONCES: u64 = 1 << 18;

fn kernels(c: &mut Criterion) {
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::from_header(header).unwrap());
    let mut group = c.benchmark_group("sha256d_header_1_thread");
    group.throughput(Throughput::Elements(NONCES));
    group.sample_size(20);

    group.bench_function("naive_sha2", |b| {
        let mut bytes = header.to_bytes();
        b.iter(|| {
            let mut best = [0xffu8; 32];
            for nonce in 0..NONCES as u32 {
                bytes[76..].copy_from_slice(&nonce.to_le_bytes());
                let hash: [u8; 32] = Sha256::digest(Sha256::digest(bytes)).into();
                best = best.min(hash);
            }
            best
        })
    });
    for kernel in CpuKernel::available() {
        if kernel == CpuKernel::Soft {
            continue;
        }
        let options = SearchOptions {
            kernel: Some(kernel),
            threads: Some(1),
            ..Default::default()
        };
        group.bench_function(kernel.name(), |b| {
            b.iter(|| search(&job, NonceRange::new(0, NONCES), &options).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
