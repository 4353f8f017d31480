//! Sign-in lockout, as Cognito documents it: five free failures, then a lock of 2^(n−5) seconds
//! after the n-th failure (capped at 15 minutes); attempts during a lock are refused without
//! extending it; the counter forgets after 15 minutes without failures.
//!
//! An attempt is *charged before* the password is checked (the store applies the charge with a
//! compare-and-swap), so parallel guesses can't all slip in under the same count. A success then
//! resets the counter.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const FREE_FAILURES: u32 = 5;
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
pub const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInFailures {
    pub count: u32,
    pub last_failure: Option<Timestamp>,
}

/// The user is locked out until the given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Locked {
    pub until: Timestamp,
}

impl SignInFailures {
    /// The count that still matters at `now`.
    pub fn effective(&self, now: Timestamp) -> u32 {
        match self.last_failure {
            Some(last) if now.since(last) < FORGET_AFTER => self.count,
            _ => 0,
        }
    }

    fn lock_for(count: u32) -> Duration {
        if count < FREE_FAILURES {
            return Duration::ZERO;
        }
        let exp = (count - FREE_FAILURES).min(20);
        Duration::from_secs(1u64 << exp).min(MAX_LOCK)
    }

    /// When the current lock ends, if there is one at `now`.
    pub fn locked_at(&self, now: Timestamp) -> Option<Locked> {
        let count = self.effective(now);
        let last = self.last_failure?;
        let until = last.plus(Self::lock_for(count));
        (count >= FREE_FAILURES && now < until).then_some(Locked { until })
    }

    /// Admits one more attempt at `now`, returning the state with that attempt charged as a
    /// failure; or refuses it during a lock (leaving the state untouched).
    pub fn charge(&self, now: Timestamp) -> Result<SignInFailures, Locked> {
        if let Some(locked) = self.locked_at(now) {
            return Err(locked);
        }
        Ok(SignInFailures {
            count: self.effective(now).saturating_add(1),
            last_failure: Some(now),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + s)
    }

    #[test]
    fn five_free_failures_then_doubling_locks() {
        let mut f = SignInFailures::default();
        for i in 0..5 {
            f = f
                .charge(at(i))
                .unwrap_or_else(|_| panic!("attempt {i} refused"));
        }
        // The fifth failure (at t=4) locks for 1 s.
        assert_eq!(f.charge(at(4)), Err(Locked { until: at(5) }));
        f = f
            .charge(at(5))
            .unwrap_or_else(|_| panic!("lock should have ended"));
        // Sixth failure at t=5 locks for 2 s; an attempt during it doesn't extend it.
        assert!(f.charge(at(6)).is_err());
        assert!(f.charge(at(7)).is_ok());
    }

    #[test]
    fn locks_cap_at_fifteen_minutes() {
        let f = SignInFailures {
            count: 40,
            last_failure: Some(at(0)),
        };
        assert_eq!(f.locked_at(at(1)), Some(Locked { until: at(900) }));
    }

    #[test]
    fn quiet_period_resets_the_counter() {
        let f = SignInFailures {
            count: 9,
            last_failure: Some(at(0)),
        };
        let later = at(15 * 60);
        assert_eq!(f.effective(later), 0);
        assert_eq!(f.charge(later).map(|s| s.count), Ok(1));
    }
}
