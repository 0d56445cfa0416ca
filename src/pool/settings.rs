//! How the pool layer behaves whatever the protocol ([`FailoverOptions`]):
//! the backoff, when a pool counts as failing, and the return to a better
//! pool, checked in one place.

use std::time::Duration;

use crate::Error;

/// How a pool miner reconnects, fails over and comes back, for every
/// protocol alike. The defaults are what a rig wants; tests shorten the
/// times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverOptions {
    /// The first wait before reconnecting; it doubles per failure.
    pub backoff_start: Duration,
    /// The longest wait before reconnecting.
    pub backoff_max: Duration,
    /// Failures in a row on one pool before switching to the next.
    pub failures_before_switch: u32,
    /// How often a backup pool checks whether a better pool works again.
    pub primary_check: Duration,
    /// How long without a new job before the connection counts as dead.
    pub job_timeout: Duration,
    /// Rejected shares in a row after which a pool counts as failing.
    pub reject_limit: u32,
}

impl Default for FailoverOptions {
    fn default() -> FailoverOptions {
        FailoverOptions {
            backoff_start: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            failures_before_switch: 3,
            primary_check: Duration::from_secs(60),
            job_timeout: Duration::from_secs(300),
            reject_limit: 20,
        }
    }
}

impl FailoverOptions {
    /// Checks every option.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |option: &'static str, reason: &str| {
            Err(Error::Options {
                option,
                reason: reason.to_string(),
            })
        };
        if self.backoff_start.is_zero() || self.backoff_max < self.backoff_start {
            return bad(
                "backoff",
                "the first wait must be longer than zero and at most the longest",
            );
        }
        if self.failures_before_switch == 0 {
            return bad("failures-before-switch", "must be at least 1");
        }
        if self.reject_limit == 0 {
            return bad("reject-limit", "must be at least 1");
        }
        if self.job_timeout.is_zero() || self.primary_check.is_zero() {
            return bad(
                "timeouts",
                "the job timeout and the primary check must be longer than zero",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_pass_and_each_bound_is_checked() {
        assert!(FailoverOptions::default().validate().is_ok());
        type Spoil = fn(&mut FailoverOptions);
        let cases: [(Spoil, &str); 5] = [
            (|o| o.backoff_start = Duration::ZERO, "backoff"),
            (|o| o.backoff_max = Duration::from_millis(1), "backoff"),
            (|o| o.failures_before_switch = 0, "failures-before-switch"),
            (|o| o.reject_limit = 0, "reject-limit"),
            (|o| o.job_timeout = Duration::ZERO, "timeouts"),
        ];
        for (spoil, named) in cases {
            let mut o = FailoverOptions::default();
            spoil(&mut o);
            match o.validate() {
                Err(Error::Options { option, .. }) => assert_eq!(option, named),
                other => panic!("{named}: {other:?}"),
            }
        }
    }
}
