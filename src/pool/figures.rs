//! What a pool layer counts, whatever the protocol: a pool's connection
//! state and figures, shares by outcome, and what a pool said of a share.
//! The API, the C ABI and the CLI render these; they hold no copies.

use std::time::Duration;

/// A pool's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolState {
    /// Not connected (a backup waiting its turn, or between retries).
    Idle,
    /// Connecting and running the handshake.
    Connecting,
    /// Subscribed and authorized: the pool the devices mine for.
    Mining,
    /// The last attempt failed; waiting before the next.
    Failed,
}

impl PoolState {
    /// The state as one lower-case word.
    pub fn as_str(&self) -> &'static str {
        match self {
            PoolState::Idle => "idle",
            PoolState::Connecting => "connecting",
            PoolState::Mining => "mining",
            PoolState::Failed => "failed",
        }
    }
}

/// One pool's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolStats {
    /// The URL, without password.
    pub url: String,
    /// The worker name.
    pub user: String,
    /// The connection state.
    pub state: PoolState,
    /// The last difficulty the pool set.
    pub difficulty: Option<f64>,
    /// Shares the pool accepted.
    pub accepted: u64,
    /// Shares the pool rejected (or never answered before the connection
    /// went).
    pub rejected: u64,
    /// Shares not submitted because their job had been replaced.
    pub stale: u64,
    /// Shares that also met the network target.
    pub blocks: u64,
    /// The sum of the difficulties of accepted shares.
    pub accepted_difficulty: f64,
    /// When the last share was found (Unix seconds).
    pub last_share: Option<u64>,
    /// The last submit's round trip.
    pub rtt: Option<Duration>,
    /// The version-rolling mask in force (0: none).
    pub version_mask: u32,
    /// Connections made.
    pub connections: u64,
    /// The last reason the connection ended or failed.
    pub last_error: Option<String>,
}

impl PoolStats {
    /// A pool not yet connected, with nothing counted.
    pub fn new(url: String, user: String) -> PoolStats {
        PoolStats {
            url,
            user,
            state: PoolState::Idle,
            difficulty: None,
            accepted: 0,
            rejected: 0,
            stale: 0,
            blocks: 0,
            accepted_difficulty: 0.0,
            last_share: None,
            rtt: None,
            version_mask: 0,
            connections: 0,
            last_error: None,
        }
    }

    /// Whether the devices mine for this pool now.
    pub fn up(&self) -> bool {
        self.state == PoolState::Mining
    }

    /// Its shares by outcome.
    pub fn shares(&self) -> ShareCounts {
        ShareCounts {
            accepted: self.accepted,
            rejected: self.rejected,
            stale: self.stale,
        }
    }
}

/// Shares by outcome (of one device over every pool, or of one pool).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "api", derive(serde::Serialize))]
pub struct ShareCounts {
    /// Accepted by the pool.
    pub accepted: u64,
    /// Rejected (or never answered).
    pub rejected: u64,
    /// Not submitted: their job had been replaced.
    pub stale: u64,
}

impl ShareCounts {
    /// Counts one share's outcome.
    pub fn count(&mut self, result: &ShareResult) {
        match result {
            ShareResult::Accepted => self.accepted += 1,
            ShareResult::Rejected { .. } => self.rejected += 1,
            ShareResult::Stale => self.stale += 1,
        }
    }
}

impl std::ops::Add for ShareCounts {
    type Output = ShareCounts;

    fn add(self, other: ShareCounts) -> ShareCounts {
        ShareCounts {
            accepted: self.accepted + other.accepted,
            rejected: self.rejected + other.rejected,
            stale: self.stale + other.stale,
        }
    }
}

impl std::iter::Sum for ShareCounts {
    fn sum<I: Iterator<Item = ShareCounts>>(iter: I) -> ShareCounts {
        iter.fold(ShareCounts::default(), |a, b| a + b)
    }
}

/// What a pool said of a share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareResult {
    /// Accepted.
    Accepted,
    /// Rejected, with the pool's code and message.
    Rejected {
        /// The pool's error code, when it gave one.
        code: Option<i64>,
        /// The pool's message.
        message: String,
    },
    /// Not submitted: its job had been replaced (clean jobs, a new
    /// connection, or a narrower version mask).
    Stale,
}

impl ShareResult {
    /// `accepted`, `rejected` or `stale`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ShareResult::Accepted => "accepted",
            ShareResult::Rejected { .. } => "rejected",
            ShareResult::Stale => "stale",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_by_outcome() {
        let mut a = ShareCounts::default();
        a.count(&ShareResult::Accepted);
        a.count(&ShareResult::Stale);
        let mut b = ShareCounts::default();
        b.count(&ShareResult::Rejected {
            code: Some(23),
            message: "low difficulty".into(),
        });
        b.count(&ShareResult::Accepted);
        let total: ShareCounts = [a, b].into_iter().sum();
        assert_eq!(
            total,
            ShareCounts {
                accepted: 2,
                rejected: 1,
                stale: 1
            }
        );
    }

    #[test]
    fn a_new_pool_is_idle_and_not_up() {
        let p = PoolStats::new("stratum+tcp://127.0.0.1:3333".into(), "w".into());
        assert_eq!(p.state, PoolState::Idle);
        assert!(!p.up());
        assert_eq!(p.shares(), ShareCounts::default());
    }
}
