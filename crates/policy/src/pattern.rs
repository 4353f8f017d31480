//! Patterns: the text of an Action, a Resource or a condition value, split once at parse time into
//! literal runs, wildcards and policy variables, and matched against request values without
//! building regular expressions.
//!
//! Two IAM rules shape this module:
//! - a substituted variable's value is *literal*: a `*` inside `aws:username` is not a wildcard
//!   (IAM guide `reference_policies_variables`; faiscadev/fakecloud#2528), so variables stay
//!   pieces of their own instead of being spliced into the pattern text;
//! - a variable with no value (absent key, multivalued key, no default) makes the whole pattern
//!   match nothing (IAM guide `reference_policies_variables` "Policy variables with no value").

use crate::context::RequestContext;

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Text compared as is (never empty).
    Lit(String),
    /// `*`: any run of characters, also empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`; the key is stored lowercased (names are case-insensitive).
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A parsed pattern. `wildcards` decides whether `*` and `?` are wildcards (StringLike, ArnLike,
/// Action, Resource) or plain characters (StringEquals); `variables` whether `${…}` is
/// substituted (only under `"Version": "2012-10-17"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub(crate) pieces: Vec<Piece>,
}

impl Pattern {
    pub(crate) fn parse(text: &str, wildcards: bool, variables: bool) -> Pattern {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables
                && rest.starts_with("${")
                && let Some(end) = rest.find('}')
                && let Some(var) = parse_variable(&rest[2..end])
            {
                match var {
                    VarSpec::Literal(ch) => lit.push(ch),
                    VarSpec::Key { key, default } => {
                        flush(&mut pieces, &mut lit);
                        pieces.push(Piece::Var { key, default });
                    }
                }
                rest = &rest[end + 1..];
                continue;
            }
            match c {
                '*' if wildcards => {
                    flush(&mut pieces, &mut lit);
                    // `**` is the same as `*`.
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                }
                '?' if wildcards => {
                    flush(&mut pieces, &mut lit);
                    pieces.push(Piece::One);
                }
                _ => lit.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        flush(&mut pieces, &mut lit);
        Pattern { pieces }
    }

    /// True for the pattern `*` alone.
    pub(crate) fn is_any(&self) -> bool {
        self.pieces == [Piece::Star]
    }

    /// Whether every variable has a value (its own or its default).
    fn resolvable(&self, ctx: &RequestContext) -> bool {
        self.pieces.iter().all(|p| match p {
            Piece::Var { key, default } => var_value(key, default, ctx).is_some(),
            _ => true,
        })
    }

    /// Whether `text` matches, substituting variables from `ctx`.
    pub(crate) fn matches(&self, text: &str, ctx: &RequestContext) -> bool {
        self.resolvable(ctx) && glob(&self.pieces, ctx, text)
    }

    /// Whether `text` equals the pattern read literally (`*` and `?` as characters), with
    /// variables substituted. No allocation.
    pub(crate) fn equals(&self, text: &str, ctx: &RequestContext) -> bool {
        let mut rest = text;
        for piece in &self.pieces {
            let expected = match piece {
                Piece::Lit(s) => s.as_str(),
                Piece::Star => "*",
                Piece::One => "?",
                Piece::Var { key, default } => match var_value(key, default, ctx) {
                    Some(v) => v,
                    None => return false,
                },
            };
            match rest.strip_prefix(expected) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The pattern as one string with variables substituted (wildcards written back as `*`/`?`),
    /// or `None` when a variable has no value. Used by the exact-compare operators.
    pub(crate) fn render(&self, ctx: &RequestContext) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Lit(s) => out.push_str(s),
                Piece::Star => out.push('*'),
                Piece::One => out.push('?'),
                Piece::Var { key, default } => out.push_str(match ctx.variable(key) {
                    Some(v) => v,
                    None => default.as_deref()?,
                }),
            }
        }
        Some(out)
    }

    /// Splits the pattern into the six colon-separated parts of an ARN. Only colons in literal
    /// text split (a `${…:…}` variable and a substituted value never do); the sixth part keeps
    /// every further colon, as IAM does for resource ids such as S3 keys or identity ids.
    pub(crate) fn split_arn(&self) -> Option<[Pattern; 6]> {
        let mut parts: Vec<Vec<Piece>> = vec![Vec::new()];
        for piece in &self.pieces {
            match piece {
                Piece::Lit(s) if parts.len() < 6 => {
                    let mut rest = s.as_str();
                    while parts.len() < 6 {
                        match rest.find(':') {
                            Some(i) => {
                                if i > 0 {
                                    push_piece(&mut parts, Piece::Lit(rest[..i].to_string()));
                                }
                                parts.push(Vec::new());
                                rest = &rest[i + 1..];
                            }
                            None => break,
                        }
                    }
                    if !rest.is_empty() {
                        push_piece(&mut parts, Piece::Lit(rest.to_string()));
                    }
                }
                other => push_piece(&mut parts, other.clone()),
            }
        }
        let parts: [Vec<Piece>; 6] = parts.try_into().ok()?;
        Some(parts.map(|pieces| Pattern { pieces }))
    }
}

fn var_value<'a>(
    key: &str,
    default: &'a Option<String>,
    ctx: &'a RequestContext,
) -> Option<&'a str> {
    ctx.variable(key).or(default.as_deref())
}

fn push_piece(parts: &mut [Vec<Piece>], piece: Piece) {
    if let Some(last) = parts.last_mut() {
        if let (Piece::Lit(add), Some(Piece::Lit(prev))) = (&piece, last.last_mut()) {
            prev.push_str(add);
            return;
        }
        last.push(piece);
    }
}

fn flush(pieces: &mut Vec<Piece>, lit: &mut String) {
    if !lit.is_empty() {
        pieces.push(Piece::Lit(std::mem::take(lit)));
    }
}

enum VarSpec {
    Literal(char),
    Key {
        key: String,
        default: Option<String>,
    },
}

/// `*`, `?`, `$` are the escapes for literal characters; otherwise `key` or `key, 'default'`.
/// Anything else (empty, unquoted default) is not a variable and stays literal text.
fn parse_variable(inner: &str) -> Option<VarSpec> {
    let inner = inner.trim();
    match inner {
        "*" => return Some(VarSpec::Literal('*')),
        "?" => return Some(VarSpec::Literal('?')),
        "$" => return Some(VarSpec::Literal('$')),
        "" => return None,
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let quoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))?;
            (key.trim(), Some(quoted.to_string()))
        }
        None => (inner, None),
    };
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return None;
    }
    Some(VarSpec::Key {
        key: key.to_ascii_lowercase(),
        default,
    })
}

/// Wildcard match of `text` against `pieces`, reading variables from `ctx` (a variable without
/// a value reads as empty here; [`Pattern::matches`] refuses those patterns first).
///
/// The classic two-pointer match with backtracking to the last `*`: linear for patterns with one
/// star, O(pattern × text) in the worst case, and no allocation.
pub(crate) fn glob(pieces: &[Piece], ctx: &RequestContext, text: &str) -> bool {
    let mut p = 0;
    let mut t = 0;
    // (piece after the star, text position the star's run ends at)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(piece) = pieces.get(p) {
            let advanced = match piece {
                Piece::Star => {
                    star = Some((p + 1, t));
                    p += 1;
                    continue;
                }
                Piece::One => match text[t..].chars().next() {
                    Some(c) => {
                        t += c.len_utf8();
                        true
                    }
                    None => false,
                },
                Piece::Lit(s) => {
                    if text[t..].starts_with(s.as_str()) {
                        t += s.len();
                        true
                    } else {
                        false
                    }
                }
                Piece::Var { key, default } => {
                    let value = var_value(key, default, ctx).unwrap_or_default();
                    if text[t..].starts_with(value) {
                        t += value.len();
                        true
                    } else {
                        false
                    }
                }
            };
            if advanced {
                p += 1;
                continue;
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character, or fail.
        match star {
            Some((after, end)) => match text[end..].chars().next() {
                Some(c) => {
                    let end = end + c.len_utf8();
                    star = Some((after, end));
                    p = after;
                    t = end;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Matches an ARN against an ARN pattern part by part (the six colon-separated parts, the last
/// keeping its colons), as IAM does for Resource and the Arn* operators. A pattern that is not
/// ARN-shaped is matched against the whole text.
pub(crate) fn arn_matches(
    parts: Option<&[Pattern; 6]>,
    whole: &Pattern,
    text: &str,
    ctx: &RequestContext,
) -> bool {
    match parts {
        Some(parts) => {
            let mut segments = text.splitn(6, ':');
            parts.iter().all(|part| match segments.next() {
                Some(segment) => part.matches(segment, ctx),
                None => false,
            })
        }
        None => whole.matches(text, ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obvious recursive matcher over characters, as the reference for `glob`.
    fn naive(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| naive(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && naive(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && naive(rest, &t[1..]),
        }
    }

    proptest! {
        #[test]
        fn glob_agrees_with_the_naive_matcher(p in "[ab*?]{0,8}", t in "[ab]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            prop_assert_eq!(m(&p, &t), naive(&pc, &tc), "pattern {:?} text {:?}", p, t);
        }

        #[test]
        fn substituted_values_are_literal(value in "[ab*?]{0,6}", t in "[ab*?]{0,8}") {
            // `x${k}y` matches exactly `x<value>y`, wildcards in the value included.
            let ctx = RequestContext::new("a:b", "*").with_key("k:v", value.clone());
            let p = Pattern::parse("x${k:v}y", true, true);
            let text = format!("x{t}y");
            prop_assert_eq!(p.matches(&text, &ctx), t == value);
        }
    }

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern, true, true).matches(text, &RequestContext::new("a:b", "*"))
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "anything/at:all"));
        assert!(m("a*", "a"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "ab"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*b*b*", "abxbx"));
        assert!(!m("*b*b*", "abx"));
        assert!(m("S/*", "S/"));
        assert!(!m("S/*", "S"));
        assert!(m("é?", "éé"));
        assert!(m("a*b?c*", "aXbYcZZ"));
        assert!(!m("abc", "abcd"));
    }

    #[test]
    fn special_variables_are_literal_characters() {
        let p = Pattern::parse("a${*}b${?}${$}", true, true);
        assert_eq!(p.pieces, vec![Piece::Lit("a*b?$".into())]);
        assert!(m("a${*}b", "a*b"));
        assert!(!m("a${*}b", "axb"));
    }

    #[test]
    fn variables_parse_with_defaults() {
        let p = Pattern::parse("home/${aws:username, 'anon'}/*", true, true);
        assert_eq!(
            p.pieces,
            vec![
                Piece::Lit("home/".into()),
                Piece::Var {
                    key: "aws:username".into(),
                    default: Some("anon".into())
                },
                Piece::Lit("/".into()),
                Piece::Star
            ]
        );
        // Without variables the text is literal, wildcards still apply.
        let p = Pattern::parse("${aws:username}*", true, false);
        assert_eq!(
            p.pieces,
            vec![Piece::Lit("${aws:username}".into()), Piece::Star]
        );
    }

    #[test]
    fn arn_split_keeps_colons_of_the_resource_part_and_variables() {
        let p = Pattern::parse(
            "arn:aws:s3:::bucket/${cognito-identity.amazonaws.com:sub}/*",
            true,
            true,
        );
        let parts = p.split_arn().unwrap();
        assert_eq!(parts[0].pieces, vec![Piece::Lit("arn".into())]);
        assert_eq!(parts[2].pieces, vec![Piece::Lit("s3".into())]);
        assert!(parts[3].pieces.is_empty());
        assert_eq!(parts[5].pieces.len(), 4);
        assert!(
            Pattern::parse("arn:aws:s3", true, true)
                .split_arn()
                .is_none()
        );
        let p = Pattern::parse("arn:aws:logs:us-east-1:1:log-group:x:*", true, true);
        assert_eq!(
            p.split_arn().unwrap()[5].pieces,
            vec![Piece::Lit("log-group:x:".into()), Piece::Star]
        );
    }
}
