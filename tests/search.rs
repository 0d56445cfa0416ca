//! The search API's contract: cancellation, stop-at-first, range checks and
//! the verification of every kernel candidate.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashrig::{
    search, verify_candidate, CancelToken, Error, Header, HeaderJob, Job, NonceRange,
    SearchOptions, Target,
};

const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

fn genesis_job() -> Job {
    Job::from(HeaderJob::from_header(Header::from_hex(GENESIS).unwrap()).unwrap())
}

#[test]
fn cancel_from_another_thread_returns_promptly() {
    let cancel = CancelToken::new();
    let options = SearchOptions {
        cancel: Some(cancel.clone()),
        ..Default::default()
    };
    let job = genesis_job();
    let searcher = std::thread::spawn(move || search(&job, NonceRange::FULL_HEADER, &options));
    std::thread::sleep(Duration::from_millis(150));
    let asked = Instant::now();
    cancel.cancel();
    let report = searcher.join().unwrap().unwrap();
    let latency = asked.elapsed();
    assert!(report.cancelled);
    assert!(report.hashes < 1 << 32);
    // A chunk is ~2 ms of one core; allow generous scheduling slack.
    assert!(latency < Duration::from_millis(250), "took {latency:?}");
}

#[test]
fn a_cancelled_search_has_searched_exactly_a_prefix_of_its_range() {
    // Easy target: about one solution in 256 nonces, so a prefix that was
    // skipped or a chunk past the prefix that was counted shows up as a
    // solution set that differs from the prefix's.
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(8).unwrap(),
    ));
    let range = NonceRange::new(777, (1 << 32) - 777);
    let cancel = CancelToken::new();
    let progress = Arc::new(AtomicU64::new(0));
    let options = SearchOptions {
        cancel: Some(cancel.clone()),
        threads: Some(2),
        progress: Some(progress.clone()),
        ..Default::default()
    };
    let searcher = {
        let job = job.clone();
        std::thread::spawn(move || search(&job, range, &options))
    };
    // Cancel once some chunks are done, while others are in flight.
    while progress.load(Ordering::Relaxed) < 1 << 20 {
        std::thread::sleep(Duration::from_millis(1));
    }
    cancel.cancel();
    let report = searcher.join().unwrap().unwrap();
    assert!(report.cancelled);
    assert!(report.hashes > 0 && report.hashes < range.count);
    let prefix = search(
        &job,
        NonceRange::new(range.start, report.hashes),
        &SearchOptions::default(),
    )
    .unwrap();
    assert!(prefix.solutions.len() > 100);
    assert_eq!(report.solutions, prefix.solutions);
}

#[test]
fn stop_at_first_returns_the_lowest_solution() {
    let header = Header::from_hex(GENESIS).unwrap();
    let job = Job::from(HeaderJob::new(
        header,
        Target::from_leading_zero_bits(10).unwrap(),
    ));
    let range = NonceRange::new(12_345, 3_000_000);
    let all = search(&job, range, &SearchOptions::default()).unwrap();
    let first = search(
        &job,
        range,
        &SearchOptions {
            stop_at_first: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(all.solutions.len() > 100);
    assert_eq!(first.solutions, all.solutions[..1]);
    assert!(first.hashes < all.hashes);
}

#[test]
fn ranges_are_checked() {
    let job = genesis_job();
    let options = SearchOptions::default();
    assert!(matches!(
        search(&job, NonceRange::new(0, 0), &options),
        Err(Error::Range(_))
    ));
    assert!(matches!(
        search(&job, NonceRange::new(1 << 32, 1), &options),
        Err(Error::Range(_))
    ));
    assert!(matches!(
        search(&job, NonceRange::new((1 << 32) - 5, 6), &options),
        Err(Error::Range(_))
    ));
    assert!(search(&job, NonceRange::new((1 << 32) - 5, 5), &options).is_ok());
}

#[test]
fn a_candidate_that_fails_the_reference_is_a_kernel_error() {
    let job = genesis_job();
    // The real nonce verifies; its neighbour's hash is nowhere near the target.
    assert!(verify_candidate(&job, "test", 2_083_236_893)
        .unwrap()
        .is_some());
    let wrong = verify_candidate(&job, "test", 2_083_236_894);
    assert!(
        matches!(
            &wrong,
            Err(Error::KernelMismatch {
                device,
                nonce: 2_083_236_894
            }) if device == "test"
        ),
        "{wrong:?}"
    );
}
