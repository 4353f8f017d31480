//! Time as a value. The domain never reads a clock: "now" is always an argument.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn from_secs(s: i64) -> Self {
        Self(s * 1000)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Whole seconds, as JWT `iat`/`exp` claims carry them.
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    pub fn minus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// A UTC calendar time (proleptic Gregorian), or None if it isn't one.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || min > 59
            || sec > 60
        {
            return None;
        }
        // Days from civil, Howard Hinnant's algorithm.
        let (m, d) = (i64::from(month), i64::from(day));
        let y = if m <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
        Some(Self::from_secs(secs))
    }

    /// The UTC calendar time `(year, month, day, hour, minute, second)`: the inverse of
    /// [`Timestamp::from_civil`].
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        // Civil from days, Howard Hinnant's algorithm.
        let secs = self.secs();
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let part = |v: i64| u32::try_from(v).unwrap_or(0);
        (
            year,
            part(month),
            part(day),
            part(rem / 3600),
            part(rem % 3600 / 60),
            part(rem % 60),
        )
    }

    /// How long from `earlier` to `self` (zero if `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn civil_times() {
        assert_eq!(
            Timestamp::from_civil(1970, 1, 1, 0, 0, 0),
            Some(Timestamp::from_secs(0))
        );
        assert_eq!(
            Timestamp::from_civil(2015, 8, 30, 12, 36, 0),
            Some(Timestamp::from_secs(1_440_938_160))
        );
        assert_eq!(
            Timestamp::from_civil(2018, 9, 5, 21, 8, 3),
            Some(Timestamp::from_secs(1_536_181_683))
        );
        assert_eq!(Timestamp::from_civil(2018, 13, 5, 21, 8, 3), None);
    }

    #[test]
    fn civil_round_trips() {
        for (y, mo, d, h, mi, s) in [
            (1970, 1, 1, 0, 0, 0),
            (2000, 2, 29, 23, 59, 59),
            (2026, 12, 6, 11, 0, 7),
            (1969, 12, 31, 12, 0, 0),
        ] {
            let t = Timestamp::from_civil(y, mo, d, h, mi, s).unwrap();
            assert_eq!(t.civil(), (y, mo, d, h, mi, s));
        }
    }
}
