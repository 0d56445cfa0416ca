//! The pool layer's side of a [`Feed`]: jobs to the engine, the
//! difficulty and version mask into the book, the pool's answers to
//! shares booked, notes as events. A protocol's link calls these; it
//! never touches the engine or the book itself.

use std::time::Instant;

use super::book::Verdict;
use super::events::{PoolChange, PoolEvent};
use super::protocol::{End, Feed};
use super::shared::Shared;
use crate::engine::Work;

/// One connection's feed.
pub(super) struct LinkFeed<'a> {
    pub shared: &'a Shared,
    pub pool: usize,
    pub session: u64,
    pub last_job: Instant,
    /// How many jobs came on this connection.
    pub jobs: u64,
}

impl LinkFeed<'_> {
    fn change(&self, change: PoolChange) {
        self.shared.pool_event(self.pool, change);
    }
}

impl LinkFeed<'_> {}

impl Feed for LinkFeed<'_> {
    /// The pool (index in the list).
    fn pool(&self) -> usize {
        self.pool
    }

    /// This connection's serial number (shares of other connections are
    /// stale).
    fn session(&self) -> u64 {
        self.session
    }

    /// A new job came from the pool (the job timeout starts again).
    fn job_arrived(&mut self) {
        self.last_job = Instant::now();
        self.jobs += 1;
    }

    /// The clean-job epoch a job starts in: a new one when it voids the
    /// earlier jobs.
    fn epoch(&self, clean: bool) -> u64 {
        let mut st = self.shared.lock();
        if clean {
            st.book.new_epoch()
        } else {
            st.book.epoch
        }
    }

    /// Hands `work` to the engine in place of what it mines, and resumes
    /// the devices.
    fn mine(&self, work: Work, job_id: String, clean: bool, read_at: Instant) {
        match self.shared.engine.submit(work) {
            Ok(engine_job) => {
                let submitted = Instant::now();
                self.shared.resume();
                self.change(PoolChange::Job {
                    job_id,
                    clean,
                    engine_job,
                    submitted,
                    queued: submitted - read_at,
                });
            }
            Err(e) => self.note(format!("job {job_id} not mined: {e}")),
        }
    }

    /// The pool set the share difficulty (for its next job).
    fn difficulty(&self, difficulty: f64) {
        self.shared.lock().book.stats[self.pool].difficulty = Some(difficulty);
        self.change(PoolChange::Difficulty(difficulty));
    }

    /// The version bits that may be rolled from now on.
    fn version_mask(&self, mask: u32) {
        let mut st = self.shared.lock();
        if let Some(l) = st.live.as_mut() {
            l.version_mask = mask;
        }
        st.book.stats[self.pool].version_mask = mask;
    }

    /// The pool's answer to request `id`; ends the connection when the
    /// pool has rejected too many shares in a row.
    fn answer(&self, id: u64, verdict: Verdict) -> Result<(), End> {
        let limit = self.shared.settings.reject_limit;
        let Some((report, failing)) = self.shared.lock().book.answer(id, verdict, limit) else {
            return Ok(());
        };
        self.shared.send(PoolEvent::Share(Box::new(report)));
        if failing {
            return Err(End::Failing(format!(
                "the pool rejected {limit} shares in a row"
            )));
        }
        Ok(())
    }

    /// A note about the pool (a `message` event).
    fn note(&self, text: String) {
        self.change(PoolChange::Message(text));
    }

    fn hashrate(&self) -> f64 {
        self.shared.hashrate()
    }
}
