//! The engine's work vocabulary: what is mined ([`Work`], its first job
//! and where the next comes from, [`JobSource`]), the ids jobs get, who
//! pauses an engine, and what an engine reports ([`Event`]).

use std::sync::Arc;

use crate::{Error, Job, NonceRange, Solution};

/// Who pauses an engine. Each holds its own pause; the devices hash only
/// while nobody does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pauser {
    /// Whoever runs the engine: [`Engine::pause`](super::Engine::pause) and [`Engine::resume`](super::Engine::resume)
    /// (the command line, the API's control, the C ABI).
    Operator = 0,
    /// A source of work that has none to give, such as a pool miner
    /// between jobs or without a usable pool.
    Source = 1,
}

/// Identifies a submitted job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// Supplies the next job when one's nonce space is used up, for example
/// the same block with the extranonce, the time or the version bits
/// rolled. Called on an engine thread with the engine's lock held: it must
/// not call back into the engine.
pub trait JobSource: Send {
    /// The job after `done`, or `None` to stop.
    fn next_job(&mut self, done: &Job) -> Option<Job>;
}

impl<F: FnMut(&Job) -> Option<Job> + Send> JobSource for F {
    fn next_job(&mut self, done: &Job) -> Option<Job> {
        self(done)
    }
}

/// A header job source that adds one second to the header's time field:
/// what `hashrig bench` and `hashrig mine` roll when 2^32 nonces run out.
/// It gives no next job for generic jobs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RollTime;

impl JobSource for RollTime {
    fn next_job(&mut self, done: &Job) -> Option<Job> {
        match done {
            Job::Header(j) => {
                let mut next = j.clone();
                next.header.time = next.header.time.wrapping_add(1);
                Some(Job::Header(next))
            }
            Job::Generic(_) => None,
        }
    }
}

/// What to mine: a job, the part of its nonce space to search (all of it
/// by default), and optionally where the next job comes from.
pub struct Work {
    job: Job,
    span: Span,
    source: Option<Box<dyn JobSource>>,
}

/// The part of the first job's nonce space that a [`Work`] searches.
#[derive(Clone, Copy, Debug)]
enum Span {
    /// Exactly these nonces.
    Range(NonceRange),
    /// From this nonce to the end of the nonce space.
    From(u64),
}

impl Work {
    /// The whole nonce space of `job`, stopping when it is searched.
    pub fn new(job: Job) -> Self {
        Work {
            job,
            span: Span::From(0),
            source: None,
        }
    }

    /// Only `range` of the first job.
    pub fn range(mut self, range: NonceRange) -> Self {
        self.span = Span::Range(range);
        self
    }

    /// The first job from nonce `start` to the end of its nonce space: what
    /// a search "with no count" means (usually followed by
    /// [`then(RollTime)`](Self::then) for a header).
    pub fn from_nonce(mut self, start: u64) -> Self {
        self.span = Span::From(start);
        self
    }

    /// Whether the span lies in the first job's nonce space: what
    /// [`Engine::submit`](super::Engine::submit) checks first, for callers that want to know
    /// before they start an engine.
    pub fn check(&self) -> Result<(), Error> {
        self.bounds().map(|_| ())
    }

    /// `[start, end)` of the first job's nonce space, checked.
    fn bounds(&self) -> Result<(u64, u128), Error> {
        match self.span {
            Span::Range(r) => {
                r.check(&self.job)?;
                Ok((r.start, r.end()))
            }
            Span::From(start) if (start as u128) < self.job.nonce_space() => {
                Ok((start, self.job.nonce_space()))
            }
            Span::From(start) => Err(Error::Range(format!(
                "start {start} is past the end of the nonce space ({})",
                self.job.nonce_space()
            ))),
        }
    }

    /// When a job's range is used up, asks `source` for the next job (whose
    /// whole nonce space is then searched) instead of stopping.
    pub fn then(mut self, source: impl JobSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// A verified solution as the engine reports it.
#[derive(Clone, Debug)]
pub struct FoundSolution {
    /// The submitted job it belongs to.
    pub job: JobId,
    /// The exact job solved: the submitted one or one its source rolled.
    pub work: Arc<Job>,
    /// The nonce and its reference hash.
    pub solution: Solution,
    /// The device that found it.
    pub device: String,
    /// True when the job had already been replaced: the solution is
    /// reported for the record and must not be used as current.
    pub stale: bool,
    /// When the engine verified it and reported it.
    pub found: std::time::Instant,
}

/// What the engine reports.
#[derive(Clone, Debug)]
pub enum Event {
    /// A verified solution.
    Solution(FoundSolution),
    /// Every nonce of the job (and of its source's jobs) has been searched.
    Exhausted(JobId),
    /// A device was taken out of service.
    DeviceFailed {
        /// The device.
        device: String,
        /// Why.
        reason: String,
    },
    /// A device taken out of service was opened again, passed its
    /// self-test and is back at work.
    DeviceRecovered {
        /// The device.
        device: String,
        /// The attempt that brought it back (1 for the first).
        attempt: u32,
    },
}

/// A [`Work`] as the engine starts it.
pub(super) struct Parts {
    /// The first job.
    pub job: Job,
    /// `[start, end)` of its nonce space, checked.
    pub bounds: (u64, u128),
    /// Where the next jobs come from.
    pub source: Option<Box<dyn JobSource>>,
}

impl Work {
    /// The work taken apart, its span checked.
    pub(super) fn into_parts(self) -> Result<Parts, Error> {
        let bounds = self.bounds()?;
        Ok(Parts {
            job: self.job,
            bounds,
            source: self.source,
        })
    }
}
