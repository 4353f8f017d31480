//! Dates for the Date* operators: "W3C implementations of the ISO 8601 date formats" or epoch
//! seconds (IAM guide `reference_policies_elements_condition_operators`, "Date condition
//! operators").
//!
//! Written by hand, like tessera-domain's `time` module, so this crate needs no date library: the
//! forms are `YYYY-MM-DD`, `YYYY-MM-DDThh:mm`, `…:ss`, `…:ss.fff` with `Z`, `±hh:mm`, `±hhmm` or
//! no zone (UTC), and integer or decimal epoch seconds.

/// Milliseconds since the Unix epoch, or `None` when `text` is neither form.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let body = text.strip_prefix('-').unwrap_or(text);
    if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let seconds: f64 = text.parse().ok()?;
        if !seconds.is_finite() {
            return None;
        }
        return Some((seconds * 1000.0).round() as i64);
    }
    parse_iso8601(text)
}

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    if s.len() < n || !s.as_bytes()[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

fn parse_iso8601(s: &str) -> Option<i64> {
    let (year, s) = digits(s, 4)?;
    let s = s.strip_prefix('-')?;
    let (month, s) = digits(s, 2)?;
    let s = s.strip_prefix('-')?;
    let (day, mut s) = digits(s, 2)?;
    let (mut hour, mut minute, mut second, mut millis) = (0, 0, 0, 0i64);
    if let Some(rest) = s.strip_prefix('T').or_else(|| s.strip_prefix('t')) {
        let (h, rest) = digits(rest, 2)?;
        let rest = rest.strip_prefix(':')?;
        let (m, mut rest) = digits(rest, 2)?;
        hour = h;
        minute = m;
        if let Some(r) = rest.strip_prefix(':') {
            let (sec, r) = digits(r, 2)?;
            second = sec;
            rest = r;
            if let Some(r) = rest.strip_prefix('.') {
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                let frac = &r[..n.min(3)];
                let scale = 10i64.pow(3 - frac.len() as u32);
                millis = frac.parse::<i64>().ok()? * scale;
                rest = &r[n..];
            }
        }
        s = rest;
    }
    let offset_minutes: i64 = match s {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match s.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, rest) = digits(&s[1..], 2)?;
            let rest = rest.strip_prefix(':').unwrap_or(rest);
            let (om, rest) = digits(rest, 2)?;
            if !rest.is_empty() || oh > 23 || om > 59 {
                return None;
            }
            sign * (oh as i64 * 60 + om as i64)
        }
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year as i64, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year as i64, month, day);
    let seconds = days * 86_400 + hour as i64 * 3600 + minute as i64 * 60 + second as i64
        - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `YYYY-MM-DDThh:mm:ssZ`, the form of `aws:CurrentTime`.
pub(crate) fn format_iso8601(epoch_millis: i64) -> String {
    let secs = epoch_millis.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_forms() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2019-07-16T12:00:00Z"), Some(1_563_278_400_000));
        assert_eq!(parse("2019-07-16"), Some(1_563_235_200_000));
        assert_eq!(parse("2019-07-16T12:00Z"), Some(1_563_278_400_000));
        assert_eq!(parse("2019-07-16T14:00:00+02:00"), Some(1_563_278_400_000));
        assert_eq!(parse("2019-07-16T14:00:00+0200"), Some(1_563_278_400_000));
        assert_eq!(parse("2019-07-16T12:00:00.250Z"), Some(1_563_278_400_250));
        assert_eq!(parse("2020-02-30T00:00:00Z"), None);
        assert_eq!(parse("2019-13-01"), None);
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn epoch_forms() {
        assert_eq!(parse("1563278400"), Some(1_563_278_400_000));
        assert_eq!(parse("1563278400.5"), Some(1_563_278_400_500));
        assert_eq!(parse("-1"), Some(-1000));
    }

    #[test]
    fn format_round_trips() {
        for ms in [
            0i64,
            1_563_278_400_000,
            951_782_400_000,
            -86_400_000,
            4_102_444_799_000,
        ] {
            assert_eq!(parse(&format_iso8601(ms)), Some(ms));
        }
        assert_eq!(format_iso8601(1_563_278_400_000), "2019-07-16T12:00:00Z");
    }
}
