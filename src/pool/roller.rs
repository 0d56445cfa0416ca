//! The engine's job source for a pool job: each header it hands out is new
//! header space. It rolls the version bits the pool granted (BIP 320)
//! fastest, then extranonce2 (each value a new coinbase and merkle root),
//! and the time only when both are used up, by at most
//! [`NTIME_ROLL_LIMIT`] seconds. Every header's merkle root is recorded
//! with where it came from, so that a solution can be turned back into a
//! `mining.submit`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::job::{extranonce2_bytes, PoolJob};
use super::protocol::{Draft, Feed};
use crate::engine::{JobSource, Work};
use crate::{Digest, Header, HeaderJob, Job, Target};

/// How far past the job's time a header's time may be rolled. Pools reject
/// times far from their own ("time too new"); ckpool allows about two hours
/// ahead, and ten minutes is well inside what every pool accepts.
pub const NTIME_ROLL_LIMIT: u32 = 600;

/// Which connection, pool and clean-job epoch a job was handed out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provenance {
    /// The connection it was handed out on.
    pub session: u64,
    /// The pool (index in the miner's list).
    pub pool: usize,
    /// The clean-job epoch: shares of an older epoch are stale.
    pub epoch: u64,
}

/// Where a header came from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// The connection, pool and epoch.
    pub from: Provenance,
    /// The pool job.
    pub job: Arc<PoolJob>,
    /// The extranonce2 in the header's coinbase.
    pub extranonce2: Vec<u8>,
}

/// Headers handed out, by merkle root, bounded: the oldest are forgotten
/// first (their shares would be stale anyway).
#[derive(Debug, Default)]
pub struct Origins {
    by_root: HashMap<[u8; 32], Origin>,
    order: VecDeque<[u8; 32]>,
}

/// How many merkle roots are remembered.
const ORIGINS_KEPT: usize = 1 << 16;

impl Origins {
    /// Records a header's origin.
    pub fn insert(&mut self, root: &Digest, origin: Origin) {
        let key = *root.as_bytes();
        if self.by_root.insert(key, origin).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > ORIGINS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.by_root.remove(&old);
            }
        }
    }

    /// The origin of a header with this merkle root.
    pub fn get(&self, root: &Digest) -> Option<&Origin> {
        self.by_root.get(root.as_bytes())
    }

    /// Forgets everything before `epoch`.
    pub fn retain_epoch(&mut self, epoch: u64) {
        self.by_root.retain(|_, o| o.from.epoch >= epoch);
        let by_root = &self.by_root;
        self.order.retain(|k| by_root.contains_key(k));
    }
}

/// How far the rolling of one pool job's work has got, shared by every
/// roller of that work: a job sent again (`clean_jobs` false, as pools do
/// after `set_difficulty`), or the same work under a new job id, goes on
/// from here instead of hashing its headers a second time.
#[derive(Debug, Default)]
pub struct Place {
    /// The next extranonce2 not handed to any roller.
    extranonce2: u128,
    /// How far the time is rolled for it.
    ntime_offset: u32,
}

/// The share a solved header stands for, rebuilt from the pool job its
/// merkle root was handed out for, or `None` when that job is forgotten.
pub(crate) fn draft(origins: &Mutex<Origins>, header: &Header) -> Option<Draft> {
    let origin = origins
        .lock()
        .expect("not poisoned")
        .get(&header.merkle_root)
        .cloned()?;
    let job = &origin.job;
    let rebuilt = job
        .header(&origin.extranonce2, header.time, header.version as u32)
        .with_nonce(header.nonce);
    Some(Draft {
        pool: origin.from.pool,
        session: origin.from.session,
        epoch: origin.from.epoch,
        job_id: job.job_id.clone(),
        extranonce2: origin.extranonce2.clone(),
        rolled: header.version as u32 ^ job.version,
        rebuilt,
        share_target: job.share_target().ok()?,
        network_target: job.network_target().ok()?,
        target_difficulty: job.difficulty,
    })
}

/// How many recent works a connection remembers where it got to.
const PLACES_KEPT: usize = 16;

/// The work a job describes, whatever its id, flags and difficulty: two
/// jobs with the same work share header space.
#[derive(Clone, PartialEq)]
struct WorkKey(PoolJob);

impl WorkKey {
    fn of(job: &PoolJob) -> WorkKey {
        WorkKey(PoolJob {
            job_id: String::new(),
            clean: false,
            difficulty: 0.0,
            version_mask: 0,
            target: None,
            ..job.clone()
        })
    }
}

/// Where the rolling of one connection's recent works got to, newest
/// last, so that a job sent again goes on where it was.
#[derive(Default)]
pub struct Places {
    recent: VecDeque<(WorkKey, Arc<Mutex<Place>>)>,
}

impl Places {
    /// Where the rolling of `job`'s work got to: on from there when the
    /// same work was handed out before on this connection.
    pub fn of(&mut self, job: &PoolJob) -> Arc<Mutex<Place>> {
        let key = WorkKey::of(job);
        if let Some((_, place)) = self.recent.iter().find(|(k, _)| *k == key) {
            return place.clone();
        }
        let place = Arc::new(Mutex::new(Place::default()));
        self.recent.push_back((key, place.clone()));
        if self.recent.len() > PLACES_KEPT {
            self.recent.pop_front();
        }
        place
    }

    /// Gives a pool job to the engine through `feed`, replacing what it
    /// mines, rolled on from where the same work got to; the first job of
    /// a connection (`first`) or a clean one voids whatever came before it.
    /// The job as handed out, or `None` when it cannot be mined.
    pub(crate) fn hand_out(
        &mut self,
        feed: &mut dyn Feed,
        job: PoolJob,
        first: bool,
        origins: &Arc<Mutex<Origins>>,
        read_at: Instant,
    ) -> Option<Arc<PoolJob>> {
        let target = job.share_target().ok()?;
        let clean = job.clean || first;
        let epoch = feed.epoch(clean);
        if clean {
            origins.lock().expect("not poisoned").retain_epoch(epoch);
        }
        let place = self.of(&job);
        let job = Arc::new(job);
        let job_id = job.job_id.clone();
        let from = Provenance {
            session: feed.session(),
            pool: feed.pool(),
            epoch,
        };
        let mut roller = Roller::resuming(job.clone(), target, origins.clone(), from, place);
        let Some(header) = roller.next_header() else {
            feed.note(format!(
                "job {job_id} not mined: its header space is used up"
            ));
            return None;
        };
        feed.mine(Work::new(header).then(roller), job_id, clean, read_at);
        Some(job)
    }
}

/// Rolls one pool job into headers for the engine.
pub struct Roller {
    job: Arc<PoolJob>,
    target: Target,
    origins: Arc<Mutex<Origins>>,
    from: Provenance,
    place: Arc<Mutex<Place>>,
    /// The (extranonce2, time offset) being rolled, its next version index,
    /// and its merkle root, computed once for all its versions.
    current: Option<(u128, u32)>,
    version: u64,
    root: Option<Digest>,
}

impl Roller {
    /// A roller starting at extranonce2 zero.
    #[cfg(test)]
    pub fn new(
        job: Arc<PoolJob>,
        target: Target,
        origins: Arc<Mutex<Origins>>,
        from: Provenance,
    ) -> Roller {
        Roller::resuming(job, target, origins, from, Arc::default())
    }

    /// A roller going on from `place`, where earlier rollers of the same
    /// work stopped.
    pub fn resuming(
        job: Arc<PoolJob>,
        target: Target,
        origins: Arc<Mutex<Origins>>,
        from: Provenance,
        place: Arc<Mutex<Place>>,
    ) -> Roller {
        Roller {
            job,
            target,
            origins,
            from,
            place,
            current: None,
            version: 0,
            root: None,
        }
    }

    fn extranonce2_space(&self) -> u128 {
        match self.job.extranonce.rolled {
            16.. => u128::MAX,
            n => 1u128 << (8 * n),
        }
    }

    /// Takes the next extranonce2 (and time offset) nobody has rolled, or
    /// `None` when the time-roll limit is reached.
    fn claim(&self) -> Option<(u128, u32)> {
        let mut place = self.place.lock().expect("not poisoned");
        if place.ntime_offset > NTIME_ROLL_LIMIT {
            return None;
        }
        let claimed = (place.extranonce2, place.ntime_offset);
        if place.extranonce2 == self.extranonce2_space() - 1 {
            place.extranonce2 = 0;
            place.ntime_offset += 1;
        } else {
            place.extranonce2 += 1;
        }
        Some(claimed)
    }

    /// The next header job, or `None` when the job's space (within the
    /// time-roll limit) is used up.
    pub fn next_header(&mut self) -> Option<Job> {
        if self.current.is_none() || self.version >= self.job.version_count() {
            self.current = Some(self.claim()?);
            self.version = 0;
            self.root = None;
        }
        let (extranonce2, ntime_offset) = self.current?;
        let root = match self.root {
            Some(r) => r,
            None => {
                let en2 = extranonce2_bytes(extranonce2, self.job.extranonce.rolled);
                let r = self.job.merkle_root(&en2);
                self.origins.lock().expect("not poisoned").insert(
                    &r,
                    Origin {
                        from: self.from,
                        job: self.job.clone(),
                        extranonce2: en2,
                    },
                );
                self.root = Some(r);
                r
            }
        };
        let version = self.job.rolled_version(self.version);
        self.version += 1;
        let ntime = self.job.ntime.wrapping_add(ntime_offset);
        let header = self.job.header_with_root(root, ntime, version);
        Some(Job::Header(HeaderJob::new(header, self.target)))
    }
}

impl JobSource for Roller {
    fn next_job(&mut self, _done: &Job) -> Option<Job> {
        self.next_header()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::job::{CoinbaseParts, ExtranonceLayout};
    use crate::{BlockHash, CompactTarget, Digest};
    use std::collections::HashSet;

    /// The connection, pool and epoch the tests' jobs come from.
    const FROM: Provenance = Provenance {
        session: 1,
        pool: 0,
        epoch: 0,
    };

    fn job(mask: u32, en2_size: usize) -> Arc<PoolJob> {
        Arc::new(PoolJob {
            job_id: "1".into(),
            prev_hash: BlockHash::from_digest(Digest::from_bytes([7; 32])),
            coinbase: CoinbaseParts {
                prefix: vec![1, 2, 3],
                suffix: vec![4, 5],
            },
            merkle_branch: vec![Digest::from_bytes([9; 32])],
            version: 0x2000_0000,
            bits: CompactTarget::from_consensus(0x1d00ffff),
            ntime: 1000,
            clean: true,
            extranonce: ExtranonceLayout {
                fixed: vec![0xaa],
                rolled: en2_size,
            },
            difficulty: 1.0,
            version_mask: mask,
            given_root: None,
            target: None,
        })
    }

    fn headers(job: Arc<PoolJob>, n: usize) -> (Vec<crate::Header>, Arc<Mutex<Origins>>) {
        let origins = Arc::new(Mutex::new(Origins::default()));
        let mut r = Roller::new(job, Target::MAX, origins.clone(), FROM);
        let hs = (0..n)
            .map_while(|_| r.next_header())
            .map(|j| match j {
                Job::Header(h) => h.header,
                Job::Generic(_) => unreachable!("a header job"),
            })
            .collect();
        (hs, origins)
    }

    #[test]
    fn every_header_is_new_space() {
        let (hs, origins) = headers(job(0x1fff_e000, 4), 5000);
        let distinct: HashSet<_> = hs.iter().map(|h| h.to_bytes()).collect();
        assert_eq!(distinct.len(), hs.len());
        // Versions first (2^16 of them for one extranonce2), within the mask.
        assert!(hs.iter().all(|h| h.merkle_root == hs[0].merkle_root));
        assert!(hs
            .iter()
            .all(|h| (h.version as u32 ^ 0x2000_0000) & !0x1fff_e000 == 0));
        let o = origins.lock().unwrap();
        assert_eq!(o.get(&hs[0].merkle_root).unwrap().extranonce2, vec![0; 4]);
    }

    #[test]
    fn without_rolling_the_extranonce_then_the_time_moves() {
        let (hs, _) = headers(job(0, 1), 200_000);
        // 256 extranonce2 values per second of time, up to the limit.
        assert_eq!(hs.len(), 256 * (NTIME_ROLL_LIMIT as usize + 1));
        assert!(hs.iter().all(|h| h.version == 0x2000_0000));
        assert_eq!(hs[255].time, 1000);
        assert_eq!(hs[256].time, 1001);
        let distinct: HashSet<_> = hs.iter().map(|h| h.to_bytes()).collect();
        assert_eq!(distinct.len(), hs.len());
    }

    #[test]
    fn a_job_sent_again_goes_on_where_the_first_stopped() {
        let origins = Arc::new(Mutex::new(Origins::default()));
        let place = Arc::new(Mutex::new(Place::default()));
        let take = |r: &mut Roller, n: usize| -> Vec<crate::Header> {
            (0..n)
                .map_while(|_| r.next_header())
                .map(|j| match j {
                    Job::Header(h) => h.header,
                    Job::Generic(_) => unreachable!("a header job"),
                })
                .collect()
        };
        let first_job = job(0x0000_6000, 2);
        let mut first = Roller::resuming(
            first_job.clone(),
            Target::MAX,
            origins.clone(),
            FROM,
            place.clone(),
        );
        // Part way into an extranonce2's versions, as a device would be.
        let mut seen: HashSet<_> = take(&mut first, 10).iter().map(|h| h.to_bytes()).collect();
        // The same work again under another id and difficulty.
        let mut again = (*first_job).clone();
        again.job_id = "2".into();
        again.clean = false;
        again.difficulty = 2.0;
        let mut second = Roller::resuming(Arc::new(again), Target::MAX, origins, FROM, place);
        for h in take(&mut second, 1000)
            .iter()
            .chain(take(&mut first, 1000).iter())
        {
            assert!(seen.insert(h.to_bytes()), "header {h:?} handed out twice");
        }
        // A fresh roller (other work) starts over.
        let (fresh, _) = headers(job(0x0000_6000, 2), 1);
        assert_eq!(fresh[0].time, 1000);
    }

    #[test]
    fn no_rolling_when_the_job_sets_masked_bits() {
        let mut j = (*job(0x1fff_e000, 2)).clone();
        j.version = 0x2000_2000;
        let (hs, _) = headers(Arc::new(j), 3);
        assert!(hs.iter().all(|h| h.version == 0x2000_2000));
        assert_ne!(hs[0].merkle_root, hs[1].merkle_root);
    }
}
