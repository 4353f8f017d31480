//! What the admin console keeps in the store besides the API's own data: operator accounts
//! (named people who sign in to the console with a password, created by `tessera admin create`)
//! and each pool's sign-in counts per hour (the console's "metrics at a glance").

use crate::Timestamp;
use std::time::Duration;

/// A console operator: a name and an argon2id password hash (a PHC string, like a user's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleOperator {
    pub name: String,
    pub password_phc: String,
    pub created_at: Timestamp,
}

/// Whether `name` may name an operator: 1 to 64 letters, digits, `.`, `_`, `-` and `@` (it is
/// repeated in the audit trail as `console:{name}`, so nothing that needs quoting).
pub fn valid_operator_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// One hour of a pool's sign-ins: tokens issued at the end of a sign-in (refreshes are not
/// sign-ins), refused proofs (wrong password, code, or unknown user), and attempts refused
/// because the user or name was locked out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignInCounts {
    pub sign_ins: u64,
    pub failures: u64,
    pub lockouts: u64,
}

impl SignInCounts {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SignInCounts) {
        self.sign_ins = self.sign_ins.saturating_add(other.sign_ins);
        self.failures = self.failures.saturating_add(other.failures);
        self.lockouts = self.lockouts.saturating_add(other.lockouts);
    }
}

/// How long hourly counts are kept.
pub const SIGN_IN_COUNTS_KEPT: Duration = Duration::from_secs(8 * 24 * 3600);

const HOUR_MS: i64 = 3_600_000;

/// The start of the hour `at` falls in.
pub fn hour_of(at: Timestamp) -> Timestamp {
    Timestamp::from_millis(at.millis().div_euclid(HOUR_MS) * HOUR_MS)
}

/// The `hours` hours ending with the current one, oldest first, each with its counts from
/// `stored` (hours absent there are zero).
pub fn hourly_series(
    now: Timestamp,
    hours: usize,
    stored: &[(Timestamp, SignInCounts)],
) -> Vec<(Timestamp, SignInCounts)> {
    let current = hour_of(now).millis();
    (0..hours as i64)
        .rev()
        .map(|back| {
            let hour = Timestamp::from_millis(current - back * HOUR_MS);
            let mut counts = SignInCounts::default();
            for (_, c) in stored.iter().filter(|(h, _)| *h == hour) {
                counts.add(c);
            }
            (hour, counts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_are_plain() {
        for ok in ["alice", "ops.bob", "a-b_c@corp", "A1"] {
            assert!(valid_operator_name(ok), "{ok}");
        }
        for bad in [
            "",
            "with space",
            "quote\"",
            "x".repeat(65).as_str(),
            "é",
            "a:b",
        ] {
            assert!(!valid_operator_name(bad), "{bad}");
        }
    }

    #[test]
    fn hours_are_truncated_and_the_series_fills_gaps() {
        let t = Timestamp::from_millis(10 * HOUR_MS + 1234);
        assert_eq!(hour_of(t), Timestamp::from_millis(10 * HOUR_MS));
        assert_eq!(
            hour_of(Timestamp::from_millis(-1)),
            Timestamp::from_millis(-HOUR_MS)
        );
        let one = SignInCounts {
            sign_ins: 2,
            failures: 1,
            lockouts: 0,
        };
        let stored = [
            (Timestamp::from_millis(9 * HOUR_MS), one),
            (Timestamp::from_millis(2 * HOUR_MS), one), // outside the window
        ];
        let series = hourly_series(t, 3, &stored);
        assert_eq!(
            series
                .iter()
                .map(|(h, _)| h.millis() / HOUR_MS)
                .collect::<Vec<_>>(),
            vec![8, 9, 10]
        );
        assert_eq!(series[1].1, one);
        assert!(series[0].1.is_empty() && series[2].1.is_empty());
    }
}
