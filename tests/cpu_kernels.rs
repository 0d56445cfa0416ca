//! Every CPU kernel against the reference: NIST vectors, real mainnet
//! headers at their real targets, and randomized easy jobs with thousands
//! of solutions, compared with `soft` and with the sha2 crate.

use crate::common;

use common::{mainnet_blocks, window_around, Rng};
use hashrig::{
    search, CpuKernel, GenericJob, Header, HeaderJob, Job, NonceEndian, NonceRange, SearchOptions,
    Solution, Target,
};
use sha2::{Digest as _, Sha256};

fn options(kernel: CpuKernel) -> SearchOptions {
    SearchOptions {
        kernel: Some(kernel),
        ..Default::default()
    }
}

/// Every kernel this CPU runs except `soft`, the reference. Kernels named in
/// `HASHRIG_REQUIRE_KERNELS` (comma-separated) must be among them, so that
/// a machine expected to test them cannot pass without doing so.
fn fast_kernels() -> Vec<CpuKernel> {
    let k: Vec<_> = CpuKernel::available()
        .into_iter()
        .filter(|k| *k != CpuKernel::Soft)
        .collect();
    eprintln!("kernels under test: {k:?}");
    if let Ok(required) = std::env::var("HASHRIG_REQUIRE_KERNELS") {
        for name in required.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kernel: CpuKernel = name.parse().expect("a kernel name");
            assert!(k.contains(&kernel), "{name} is required but not available");
        }
    }
    k
}

/// (message, SHA-256) pairs: FIPS 180-4's examples and NIST CAVP
/// SHA256ShortMsg / SHA256LongMsg entries.
const NIST_VECTORS: &[(&str, &str)] = &[
    ("616263", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("d3", "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1"),
    ("11af", "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98"),
    ("74ba2521", "b16aa56be3880d18cd41e68384cf1ec8c17680c45a02b1575dc1518923ae8b0e"),
    ("c299209682", "f0887fe961c9cd3beab957e8222494abb969b1ce4c6557976df8b0f6d20e9166"),
    (
        "6162636462636465636465666465666765666768666768696768696a68696a6b696a6b6c6a6b6c6d6b6c6d6e6c6d6e6f6d6e6f706e6f7071",
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ),
    (
        "451101250ec6f26652249d59dc974b7361d571a8101cdfd36aba3b5854d3ae086b5fdd4597721b66e3c0dc5d8c606d9657d0e323283a5217d1f53f2f284f57b85c8a61ac8924711f895c5ed90ef17745ed2d728abd22a5f7a13479a462d71b56c19a74a40b655c58edfe0a188ad2cf46cbf30524f65d423c837dd1ff2bf462ac4198007345bb44dbb7b1c861298cdf61982a833afc728fae1eda2f87aa2c9480858bec",
        "3c593aa539fdcdae516cdf2f15000f6634185c88f505b39775fb9ab137a10aa2",
    ),
];

/// The NIST vectors through every kernel's own block compression, many
/// copies side by side so that the SIMD kernels hash them in full lanes;
/// then messages of every length up to four blocks against the sha2 crate.
#[test]
fn nist_vectors_on_every_kernel() {
    let messages: Vec<Vec<u8>> = NIST_VECTORS
        .iter()
        .map(|(m, _)| hashrig::hex::decode("message", m).unwrap())
        .collect();
    for (message, (_, want)) in messages.iter().zip(NIST_VECTORS) {
        assert_eq!(hashrig::sha256::sha256(message).to_hex(), *want);
    }
    let million = vec![b'a'; 1_000_000];
    for kernel in std::iter::once(CpuKernel::Soft).chain(fast_kernels()) {
        let copies: Vec<&[u8]> = messages
            .iter()
            .flat_map(|m| std::iter::repeat_n(m.as_slice(), 17))
            .collect();
        let digests = kernel.sha256_many(&copies).unwrap();
        for (digest, want) in digests.iter().zip(
            NIST_VECTORS
                .iter()
                .flat_map(|v| std::iter::repeat_n(v.1, 17)),
        ) {
            assert_eq!(digest.to_hex(), want, "{kernel}");
        }
        // FIPS 180-4's long example: one million 'a'.
        let long = kernel.sha256_many(&[million.as_slice(); 16]).unwrap();
        assert!(
            long.iter().all(|d| d.to_hex()
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
            "{kernel}"
        );
    }
    let mut rng = Rng(7);
    let random: Vec<Vec<u8>> = (0..256).map(|len| rng.bytes(len)).collect();
    let refs: Vec<&[u8]> = random.iter().map(Vec::as_slice).collect();
    for kernel in CpuKernel::available() {
        for (message, digest) in random.iter().zip(kernel.sha256_many(&refs).unwrap()) {
            assert_eq!(
                digest.as_bytes()[..],
                Sha256::digest(message)[..],
                "{kernel} len {}",
                message.len()
            );
        }
    }
}

#[test]
fn mainnet_headers_found_at_real_targets_on_every_kernel() {
    let mut kernels = fast_kernels();
    kernels.push(CpuKernel::Soft);
    for block in mainnet_blocks() {
        assert_eq!(
            block.header.block_hash(),
            block.hash,
            "height {}",
            block.height
        );
        let job = Job::from(HeaderJob::from_header(block.header).unwrap());
        let (start, count) = window_around(block.header.nonce, 1 << 17);
        for &kernel in &kernels {
            let report = search(&job, NonceRange::new(start, count), &options(kernel)).unwrap();
            assert_eq!(report.hashes, count);
            assert_eq!(
                report.solutions,
                vec![Solution {
                    nonce: block.header.nonce as u64,
                    hash: *block.hash.digest()
                }],
                "height {} on {kernel}",
                block.height
            );
        }
    }
}

/// A random header job at an easy target, all solutions on `kernel`.
fn solutions(job: &Job, range: NonceRange, kernel: CpuKernel) -> Vec<Solution> {
    search(job, range, &options(kernel)).unwrap().solutions
}

#[test]
fn header_kernels_match_soft_on_random_easy_jobs() {
    let mut rng = Rng(42);
    for trial in 0..6 {
        let header = Header::from_bytes(&rng.bytes(80)).unwrap();
        // 8 zero bits: about one nonce in 256 is a solution, and the target's
        // top word is non-zero, which exercises the general early exit.
        let zero_bits = [8, 10, 12][trial % 3];
        let job = Job::from(HeaderJob::new(
            header,
            Target::from_leading_zero_bits(zero_bits).unwrap(),
        ));
        // Odd starts and lengths, one range at the top of the 32-bit space.
        let count = 200_000 + rng.below(1000);
        let start = if trial == 0 {
            (1u64 << 32) - count
        } else {
            rng.below((1 << 32) - count)
        };
        let range = NonceRange::new(start, count);
        let reference = solutions(&job, range, CpuKernel::Soft);
        assert!(
            reference.len() > 40,
            "trial {trial}: only {} solutions",
            reference.len()
        );
        for kernel in fast_kernels() {
            assert_eq!(
                solutions(&job, range, kernel),
                reference,
                "trial {trial} on {kernel}"
            );
        }
    }
}

#[test]
fn header_kernels_match_at_the_top_of_the_nonce_space() {
    let header = Header::from_bytes(&[3; 80]).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(4).unwrap(),
    ));
    for count in [1u64, 7, 15, 16, 17, 33, 1000] {
        let range = NonceRange::new((1 << 32) - count, count);
        let reference = solutions(&job, range, CpuKernel::Soft);
        for kernel in fast_kernels() {
            assert_eq!(
                solutions(&job, range, kernel),
                reference,
                "count {count} on {kernel}"
            );
        }
    }
}

/// Every range length from 1 to 80 (whole and partial passes of 8 and 16
/// lanes, one and two pipeline stages), from an ordinary start and ending
/// at the top of the nonce space: no kernel loses or repeats a nonce.
#[test]
fn header_kernels_match_for_every_short_range_length() {
    let header = Header::from_bytes(&[0x21; 80]).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(3).unwrap(),
    ));
    let kernels = fast_kernels();
    for count in 1u64..=80 {
        for start in [12_345, (1 << 32) - count] {
            let range = NonceRange::new(start, count);
            let reference = solutions(&job, range, CpuKernel::Soft);
            for &kernel in &kernels {
                assert_eq!(
                    solutions(&job, range, kernel),
                    reference,
                    "start {start}, count {count} on {kernel}"
                );
            }
        }
    }
}

/// A search stopped part-way (as when a new job replaces the one being
/// hashed) reports the solutions of exactly the nonces it says it hashed,
/// and resuming from there finds the rest: a pipelined kernel's batches in
/// flight are neither lost nor counted twice.
#[test]
fn a_cancelled_search_resumes_without_a_gap_or_an_overlap() {
    use hashrig::CancelToken;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    let header = Header::from_bytes(&[0x44; 80]).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(10).unwrap(),
    ));
    let range = NonceRange::new(5_000_001, 3_000_000);
    let reference = solutions(&job, range, CpuKernel::Soft);
    for kernel in fast_kernels() {
        // One thread hashes; the other watches its progress and stops it.
        // A machine too loaded to let the watcher in before the end gets
        // another try.
        let first = (0..5)
            .map(|_| {
                let cancel = CancelToken::new();
                let progress = Arc::new(AtomicU64::new(0));
                let options = SearchOptions {
                    kernel: Some(kernel),
                    threads: Some(1),
                    cancel: Some(cancel.clone()),
                    progress: Some(progress.clone()),
                    ..Default::default()
                };
                std::thread::scope(|s| {
                    s.spawn(|| {
                        while progress.load(Ordering::Relaxed) < 300_000 {
                            std::thread::yield_now();
                        }
                        cancel.cancel();
                    });
                    search(&job, range, &options).unwrap()
                })
            })
            .find(|report| report.hashes < range.count)
            .unwrap_or_else(|| panic!("{kernel}: never cancelled before the end"));
        let done = range.start + first.hashes;
        let before: Vec<_> = reference
            .iter()
            .filter(|s| s.nonce < done)
            .cloned()
            .collect();
        assert_eq!(first.solutions, before, "{kernel}: the hashed part");
        let rest = search(
            &job,
            NonceRange::new(done, range.count - first.hashes),
            &options(kernel),
        )
        .unwrap();
        let mut all = first.solutions;
        all.extend(rest.solutions);
        assert_eq!(all, reference, "{kernel}: both parts");
    }
}

#[test]
fn generic_kernels_match_soft_and_sha2() {
    let mut rng = Rng(9);
    for trial in 0..12 {
        let (prefix_len, suffix_len) = (rng.below(150) as usize, rng.below(70) as usize);
        let prefix = rng.bytes(prefix_len);
        let suffix = rng.bytes(suffix_len);
        let double = trial % 2 == 0;
        let endian = if trial % 3 == 0 {
            NonceEndian::Big
        } else {
            NonceEndian::Little
        };
        let job = GenericJob {
            prefix: prefix.clone(),
            suffix: suffix.clone(),
            nonce_endian: endian,
            double,
            target: Target::from_leading_zero_bits(6).unwrap(),
        };
        let count = 5001 + rng.below(100);
        // Trial 1 ends exactly at the top of the 64-bit nonce space.
        let start = if trial == 1 {
            u64::MAX - count + 1
        } else {
            rng.next_u64() >> 1
        };
        let range = NonceRange::new(start, count);
        let job = Job::from(job);
        let reference = solutions(&job, range, CpuKernel::Soft);
        assert!(reference.len() > 30, "trial {trial}");
        // The sha2 crate agrees on every solution.
        let Job::Generic(g) = &job else {
            unreachable!()
        };
        for s in &reference {
            let once = Sha256::digest(g.message(s.nonce));
            let digest = if double { Sha256::digest(once) } else { once };
            assert_eq!(s.hash.as_bytes()[..], digest[..]);
            assert!(digest[0] < 4);
        }
        for kernel in fast_kernels() {
            assert_eq!(
                solutions(&job, range, kernel),
                reference,
                "trial {trial} on {kernel}"
            );
        }
    }
}
