//! The share book: every pool's figures, the shares waiting for an answer,
//! the clean-job epoch, the shares already sent in it, and the count by
//! device. Every protocol's shares are booked here, the same way.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use super::events::ShareReport;
use super::figures::{PoolStats, ShareCounts, ShareResult};
use crate::Header;

/// A submit waiting for its answer.
pub(crate) struct Pending {
    pub report: ShareReport,
    pub written: Instant,
}

/// What a pool answered to a share.
pub(crate) enum Verdict {
    /// Accepted.
    Accepted,
    /// Rejected, with the pool's code (where it gave one) and message.
    Rejected(Option<i64>, String),
}

/// The book of one pool miner.
pub(crate) struct Book {
    pub stats: Vec<PoolStats>,
    pending: HashMap<u64, Pending>,
    /// The clean-job epoch (shares of older epochs are stale).
    pub epoch: u64,
    /// Shares submitted in this epoch, by solved header, so none goes twice.
    submitted: HashSet<Header>,
    rejects_in_a_row: u32,
    /// Shares by the device that found them, over every pool.
    by_device: BTreeMap<String, ShareCounts>,
}

impl Book {
    /// A book for pools with these figures, nothing counted.
    pub fn new(stats: Vec<PoolStats>) -> Book {
        Book {
            stats,
            pending: HashMap::new(),
            epoch: 0,
            submitted: HashSet::new(),
            rejects_in_a_row: 0,
            by_device: BTreeMap::new(),
        }
    }

    /// Starts a new epoch: every earlier job's shares are stale from now.
    pub fn new_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.submitted.clear();
        self.epoch
    }

    /// A new connection starts with no rejects counted against it.
    pub fn connected(&mut self) {
        self.rejects_in_a_row = 0;
    }

    /// Whether a share for `header` was already sent in this epoch; marks
    /// it sent when not.
    pub fn already_sent(&mut self, header: &Header) -> bool {
        !self.submitted.insert(*header)
    }

    /// Whether any share waits for its answer.
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Books a share judged without the pool (stale, or not sent), and
    /// gives it back for its event.
    pub fn judged(&mut self, mut report: ShareReport, result: ShareResult) -> ShareReport {
        let s = &mut self.stats[report.pool];
        match &result {
            ShareResult::Stale => s.stale += 1,
            ShareResult::Rejected { .. } => s.rejected += 1,
            ShareResult::Accepted => unreachable!("only a pool accepts"),
        }
        report.result = result;
        self.tally(&report);
        report
    }

    /// A share written as request `id`, waiting for its answer.
    pub fn sent(&mut self, id: u64, report: ShareReport, written: Instant) {
        self.pending.insert(id, Pending { report, written });
    }

    /// The pool's answer to request `id`: the share's report, and whether
    /// the pool has now rejected `reject_limit` shares in a row. `None`
    /// when `id` is no share of ours.
    pub fn answer(
        &mut self,
        id: u64,
        verdict: Verdict,
        reject_limit: u32,
    ) -> Option<(ShareReport, bool)> {
        let pending = self.pending.remove(&id)?;
        let mut report = pending.report;
        report.latency = Some(pending.written.elapsed());
        let s = &mut self.stats[report.pool];
        s.rtt = report.latency;
        match verdict {
            Verdict::Accepted => {
                s.accepted += 1;
                s.accepted_difficulty += report.target_difficulty;
                if report.block {
                    s.blocks += 1;
                }
                report.result = ShareResult::Accepted;
                self.rejects_in_a_row = 0;
            }
            Verdict::Rejected(code, message) => {
                s.rejected += 1;
                report.result = ShareResult::Rejected { code, message };
                self.rejects_in_a_row += 1;
            }
        }
        self.tally(&report);
        Some((report, self.rejects_in_a_row >= reject_limit))
    }

    /// The connection ended: shares it never answered count as rejected.
    pub fn unanswered(&mut self) -> Vec<ShareReport> {
        let lost: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        lost.into_iter()
            .map(|p| {
                self.judged(
                    p.report,
                    ShareResult::Rejected {
                        code: None,
                        message: "no answer before the connection ended".into(),
                    },
                )
            })
            .collect()
    }

    /// Shares by device.
    pub fn by_device(&self) -> BTreeMap<String, ShareCounts> {
        self.by_device.clone()
    }

    fn tally(&mut self, report: &ShareReport) {
        self.by_device
            .entry(report.device.clone())
            .or_default()
            .count(&report.result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    fn report(pool: usize, device: &str) -> ShareReport {
        ShareReport {
            pool,
            job_id: "j".into(),
            extranonce2: vec![0; 4],
            version_bits: None,
            header: Header::from_hex(GENESIS).unwrap(),
            difficulty: 2.0,
            target_difficulty: 1.5,
            block: false,
            result: ShareResult::Stale,
            submit_delay: None,
            latency: None,
            device: device.into(),
        }
    }

    fn book() -> Book {
        Book::new(vec![
            PoolStats::new("a".into(), "w".into()),
            PoolStats::new("b".into(), "w".into()),
        ])
    }

    #[test]
    fn answers_count_per_pool_and_device() {
        let mut b = book();
        b.sent(100, report(0, "cpu"), Instant::now());
        b.sent(101, report(1, "gpu"), Instant::now());
        let (r, failing) = b.answer(100, Verdict::Accepted, 2).unwrap();
        assert_eq!((r.result, failing), (ShareResult::Accepted, false));
        let (r, failing) = b
            .answer(101, Verdict::Rejected(Some(23), "low".into()), 2)
            .unwrap();
        assert!(matches!(
            r.result,
            ShareResult::Rejected { code: Some(23), .. }
        ));
        assert!(!failing);
        assert!(
            b.answer(101, Verdict::Accepted, 2).is_none(),
            "answered once"
        );
        assert_eq!(
            (b.stats[0].accepted, b.stats[0].accepted_difficulty),
            (1, 1.5)
        );
        assert_eq!(b.stats[1].rejected, 1);
        assert_eq!(b.by_device()["cpu"].accepted, 1);
        assert_eq!(b.by_device()["gpu"].rejected, 1);
    }

    #[test]
    fn rejects_in_a_row_reach_the_limit_and_an_accept_resets_them() {
        let mut b = book();
        for id in 0..3 {
            b.sent(id, report(0, "cpu"), Instant::now());
        }
        let reject = || Verdict::Rejected(None, "no".into());
        assert!(!b.answer(0, reject(), 2).unwrap().1);
        assert!(b.answer(1, reject(), 2).unwrap().1);
        b.connected();
        assert!(!b.answer(2, reject(), 2).unwrap().1);
    }

    #[test]
    fn a_header_goes_once_per_epoch_and_unanswered_shares_are_rejected() {
        let mut b = book();
        let h = Header::from_hex(GENESIS).unwrap();
        assert!(!b.already_sent(&h));
        assert!(b.already_sent(&h));
        b.new_epoch();
        assert!(!b.already_sent(&h));
        b.sent(7, report(1, "cpu"), Instant::now());
        assert!(b.waiting());
        let lost = b.unanswered();
        assert_eq!(lost.len(), 1);
        assert!(!b.waiting());
        assert_eq!(b.stats[1].rejected, 1);
        let stale = b.judged(report(0, "cpu"), ShareResult::Stale);
        assert_eq!(stale.result, ShareResult::Stale);
        assert_eq!(b.stats[0].stale, 1);
        assert_eq!(b.by_device()["cpu"].stale, 1);
    }
}
