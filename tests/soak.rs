//! A minute of the soak (tests/soaking/mod.rs): `hashrig mine` against a test
//! pool that drops the connection, stalls, fragments its lines, batches
//! them, changes the difficulty and sends clean jobs every few seconds.
//! Resident memory, open descriptors and threads must not grow past small
//! bounds, and every share is accounted for. The half-hour run is
//! `cargo bench --bench soak` (docs/BENCHMARKS.md).

use crate::soaking;

use std::time::Duration;

#[test]
fn a_minute_against_a_misbehaving_pool_leaks_nothing_and_loses_no_share() {
    let s = soaking::soak(
        Duration::from_secs(60),
        Duration::from_secs(2),
        Duration::from_secs(3),
    );
    assert_eq!(s.exit, Some(0), "{:#?}", s.stderr_tail);
    assert!(s.samples.len() >= 20, "{} samples", s.samples.len());
    assert!(s.disturbances.len() >= 15, "{:?}", s.disturbances);
    let settled = &s.samples[s.samples.len() / 5..];
    let span = |f: fn(&soaking::Sample) -> u64| {
        let values: Vec<u64> = settled.iter().map(f).collect();
        values.iter().max().unwrap() - values.iter().min().unwrap()
    };
    // After the warm-up: memory within 16 MiB, descriptors and threads
    // within a handful (a reconnect or a probe comes and goes).
    assert!(span(|x| x.rss_kib) < 16 * 1024, "RSS {:?}", settled);
    assert!(span(|x| x.fds as u64) <= 6, "descriptors {:?}", settled);
    assert!(span(|x| x.threads as u64) <= 6, "threads {:?}", settled);
    // Every share accounted for: the pool judged what hashrig sent (some
    // submits die with a dropped connection and count as rejected), no
    // header twice, and every share hashrig counts as accepted the pool
    // accepted.
    let count = |k: &str| {
        s.summary[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k}: {}", s.summary)) as usize
    };
    let (accepted, rejected) = (count("accepted"), count("rejected"));
    assert!(accepted > 10, "{}", s.summary);
    assert_eq!(s.duplicates, 0);
    assert!(
        accepted <= s.pool_accepted,
        "{accepted} > {}",
        s.pool_accepted
    );
    assert!(
        s.pool_judged <= accepted + rejected,
        "{} judged, {}",
        s.pool_judged,
        s.summary
    );
}
