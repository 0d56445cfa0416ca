//! Half an hour of `hashrig mine` against a test pool that drops the
//! connection, stalls, writes lines a byte at a time or many in one write,
//! changes the difficulty and sends clean jobs every few seconds: resident
//! memory, open descriptors and threads sampled every five seconds, their
//! growth per hour, and every share accounted for. Not a criterion bench:
//! it runs once and prints its figures.
//!
//! `cargo bench --bench soak` (`HASHRIG_SOAK_SECS` sets the length; 1800
//! by default)

#[path = "../tests/testpool/mod.rs"]
mod testpool;

#[path = "../tests/soaking/mod.rs"]
mod soaking;

use std::time::Duration;

fn main() {
    let secs: u64 = std::env::var("HASHRIG_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    let s = soaking::soak(
        Duration::from_secs(secs),
        Duration::from_secs(5),
        Duration::from_secs(4),
    );
    let first = s.samples.first().copied();
    let last = s.samples.last().copied();
    println!(
        "soak: {secs} s, {} disturbances, {} samples",
        s.disturbances.len(),
        s.samples.len()
    );
    if let (Some(a), Some(b)) = (first, last) {
        println!(
            "soak: RSS {} -> {} KiB, descriptors {} -> {}, threads {} -> {}",
            a.rss_kib, b.rss_kib, a.fds, b.fds, a.threads, b.threads
        );
    }
    println!(
        "soak: growth per hour after the warm-up: RSS {:.0} KiB, descriptors {:.1}, threads {:.1}",
        soaking::growth_per_hour(&s.samples, |x| x.rss_kib as f64),
        soaking::growth_per_hour(&s.samples, |x| x.fds as f64),
        soaking::growth_per_hour(&s.samples, |x| x.threads as f64),
    );
    println!(
        "soak: hashrig accepted {} rejected {} stale {}; the pool judged {} (accepted {}), {} duplicates; exit {:?}",
        s.summary["accepted"], s.summary["rejected"], s.summary["stale"],
        s.pool_judged, s.pool_accepted, s.duplicates, s.exit
    );
}
