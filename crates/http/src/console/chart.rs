//! The pool page's sign-in chart: an inline SVG drawn on the server (no JavaScript, nothing
//! the CSP must allow), one group of bars per hour, with a text table beside it for screen
//! readers and for exact numbers.

use std::fmt::Write;
use tessera_domain::Timestamp;
use tessera_domain::console::SignInCounts;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 180;
/// Room for the axis labels.
const LEFT: u32 = 36;
const BOTTOM: u32 = 20;
const TOP: u32 = 8;

/// The smallest "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `max`, and
/// never below 1.
pub(crate) fn axis_max(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let candidate = step.saturating_mul(m);
            if candidate >= max {
                return candidate;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// A bar's height in pixels for `value` on an axis up to `top` spanning `span` pixels: zero
/// for zero, at least one pixel for anything else.
pub(crate) fn bar_height(value: u64, top: u64, span: u32) -> u32 {
    if value == 0 || top == 0 {
        return 0;
    }
    let h = (value as f64 / top as f64 * f64::from(span)).round();
    (h as u32).clamp(1, span)
}

/// The chart of `series` (oldest hour first) as SVG markup. Every value in it is a number or a
/// fixed word, so it needs no escaping.
pub(crate) fn sign_in_svg(series: &[(Timestamp, SignInCounts)]) -> String {
    let max = series
        .iter()
        .map(|(_, c)| c.sign_ins.max(c.failures).max(c.lockouts))
        .max()
        .unwrap_or(0);
    let top = axis_max(max);
    let span = HEIGHT - TOP - BOTTOM;
    let n = u32::try_from(series.len()).unwrap_or(1).max(1);
    let slot = (WIDTH - LEFT) / n;
    let bar = (slot.saturating_sub(4) / 3).max(1);
    let base = HEIGHT - BOTTOM;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" id="sign-in-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="sign-in-chart-title"><title id="sign-in-chart-title">Sign-ins, failures and lockouts per hour, last {n} hours</title>"#
    );
    // A middle line only where it falls on a whole number.
    let middle = top.is_multiple_of(2).then_some((top / 2, TOP + span / 2));
    for (value, y) in [Some((top, TOP)), middle, Some((0, base))]
        .into_iter()
        .flatten()
    {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" y1="{y}" x2="{WIDTH}" y2="{y}"/><text class="axis" x="{}" y="{}" text-anchor="end">{value}</text>"#,
            LEFT - 4,
            y + 4
        );
    }
    for (i, (hour, c)) in series.iter().enumerate() {
        let x0 = LEFT + 2 + slot * u32::try_from(i).unwrap_or(0);
        for (j, (class, v)) in [
            ("sign-ins", c.sign_ins),
            ("failures", c.failures),
            ("lockouts", c.lockouts),
        ]
        .into_iter()
        .enumerate()
        {
            let h = bar_height(v, top, span);
            if h > 0 {
                let _ = write!(
                    svg,
                    r#"<rect class="{class}" x="{}" y="{}" width="{bar}" height="{h}"><title>{v} {class}</title></rect>"#,
                    x0 + bar * u32::try_from(j).unwrap_or(0),
                    base - h
                );
            }
        }
        let (_, _, _, h, _, _) = hour.civil();
        if h % 3 == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{}" y="{}">{h:02}h</text>"#,
                x0,
                HEIGHT - 4
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(1), 1);
        assert_eq!(axis_max(2), 2);
        assert_eq!(axis_max(3), 5);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(11), 20);
        assert_eq!(axis_max(499), 500);
        assert_eq!(axis_max(501), 1000);
        assert_eq!(axis_max(u64::MAX), u64::MAX);
    }

    #[test]
    fn bars_scale_to_the_axis_and_small_ones_stay_visible() {
        assert_eq!(bar_height(0, 10, 150), 0);
        assert_eq!(bar_height(10, 10, 150), 150);
        assert_eq!(bar_height(5, 10, 150), 75);
        assert_eq!(bar_height(1, 1000, 150), 1, "never invisible");
        assert_eq!(bar_height(5, 0, 150), 0);
        assert_eq!(bar_height(20, 10, 150), 150, "clamped");
    }

    #[test]
    fn the_svg_draws_a_bar_per_nonzero_count() {
        let hour = |h: i64| Timestamp::from_millis(h * 3_600_000);
        let series = vec![
            (
                hour(0),
                SignInCounts {
                    sign_ins: 4,
                    failures: 1,
                    lockouts: 0,
                },
            ),
            (hour(1), SignInCounts::default()),
            (
                hour(2),
                SignInCounts {
                    sign_ins: 0,
                    failures: 0,
                    lockouts: 2,
                },
            ),
        ];
        let svg = sign_in_svg(&series);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches(r#"<rect class="sign-ins""#).count(), 1);
        assert_eq!(svg.matches(r#"<rect class="failures""#).count(), 1);
        assert_eq!(svg.matches(r#"<rect class="lockouts""#).count(), 1);
        assert!(svg.contains("<title>4 sign-ins</title>"));
        // The axis goes up to 5 (the round number above 4); a 4 is 4/5 of the span.
        assert!(svg.contains(r#">5</text>"#));
        assert_eq!(HEIGHT - TOP - BOTTOM, 152);
        assert!(
            svg.contains(r#"height="122""#),
            "152 × 4/5 = 121.6, rounded"
        );
        assert!(svg.contains(">00h<") && !svg.contains(">01h<"));
        assert!(
            !svg.contains("style="),
            "no inline styles: the CSP forbids them"
        );
        // An empty day still draws its axis, 0 to 1 with nothing between.
        let empty = sign_in_svg(&[]);
        assert!(empty.contains(">1</text>"));
        assert_eq!(empty.matches(">0</text>").count(), 1);
        // On an axis of 5 the middle line would read 2.5: none is drawn.
        assert!(!svg.contains(">2</text>"));
    }
}
