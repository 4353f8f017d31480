//! Cognito's CSS allow-list for the classic hosted UI (ManagedLoginVersion 1), enforced.
//!
//! SetUICustomization takes a style sheet that the hosted pages inline into a `<style>` element,
//! so what we keep must be unable to break out of it or reach the network. Cognito documents a
//! fixed set of `.…-customizable` classes, each with its own property list; we accept exactly
//! those, tokenize with a spec tokenizer (cssparser, the one Servo and Firefox use), check every
//! token of every value against a small grammar and **re-serialize from the tokens** — the input
//! string is never copied through. So the output holds no `<`, no `@`, no `url(`, no quotes, no
//! backslashes and no comments, whatever the input was.
//!
//! Sources: the AWS developer guide "Customizing hosted UI (classic) branding" (class list and
//! per-class property table, 2023 and current versions).

use crate::{DomainError, DomainResult};
use cssparser::{ParseError, Parser, Token};
use std::fmt::Write as _;

/// The selectors Cognito accepts and, for each, the properties it documents.
const RULES: &[(&str, &[&str])] = &[
    ("background-customizable", &["background-color"]),
    ("banner-customizable", &["padding", "background-color"]),
    (
        "errorMessage-customizable",
        &[
            "margin",
            "padding",
            "font-size",
            "width",
            "background",
            "border",
            "color",
            "box-sizing",
        ],
    ),
    (
        "idpButton-customizable",
        &[
            "height",
            "width",
            "text-align",
            "margin-bottom",
            "color",
            "background-color",
            "border-color",
        ],
    ),
    (
        "idpButton-customizable:hover",
        &["color", "background-color"],
    ),
    (
        "inputField-customizable",
        &["width", "height", "color", "background-color", "border"],
    ),
    (
        "inputField-customizable:focus",
        &["border-color", "outline"],
    ),
    ("label-customizable", &["font-weight"]),
    ("legalText-customizable", &["color", "font-size"]),
    ("logo-customizable", &["max-width", "max-height"]),
    (
        "submitButton-customizable",
        &[
            "font-size",
            "font-weight",
            "margin",
            "width",
            "height",
            "color",
            "background-color",
        ],
    ),
    (
        "submitButton-customizable:hover",
        &["color", "background-color"],
    ),
    (
        "textDescription-customizable",
        &["padding-top", "padding-bottom", "display", "font-size"],
    ),
    // Documented in the same property table (and in the current class list), so the console's
    // CSS template, which styles them, is accepted too.
    (
        "idpDescription-customizable",
        &["padding-top", "padding-bottom", "display", "font-size"],
    ),
    ("passwordCheck-notValid-customizable", &["color"]),
    ("passwordCheck-valid-customizable", &["color"]),
];

/// The selectors [`sanitize`] can emit (each preceded by `.` in the output).
pub fn allowed_selectors() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|(s, _)| *s)
}

/// SetUICustomization's answer to CSS outside the allow-list. (The wording of Cognito's own
/// message for this case could not be confirmed; the detail says what was refused.)
fn refused(detail: impl std::fmt::Display) -> DomainError {
    DomainError::invalid_parameter(format!("Invalid CSS: {detail}"))
}

type Refusal = ParseError<String>;

fn custom(msg: impl Into<String>) -> Refusal {
    ParseError::custom(msg.into())
}

/// Checks `css` against Cognito's allow-list and returns it normalised: one rule per line,
/// `.class[:pseudo]{property:value;…}`, rebuilt from tokens. Comments are dropped. Anything
/// outside the allow-list (another selector, a property the class doesn't document, an
/// at-rule, a string, `url()`, a function other than `rgb[a]()`/`hsl[a]()`, `<`, escapes…) is
/// refused with InvalidParameterException.
pub fn sanitize(css: &str) -> DomainResult<String> {
    let mut parser = Parser::new(css);
    let mut out = String::new();
    loop {
        match stylesheet_rule(&mut parser, &mut out) {
            Ok(true) => {}
            Ok(false) => return Ok(out),
            Err(e) => {
                return Err(refused(match e.kind {
                    cssparser::ParseErrorKind::Custom(m) => m,
                    cssparser::ParseErrorKind::Basic(b) => b.to_string(),
                }));
            }
        }
    }
}

/// Skips whitespace and comments; the next significant token, or `None` at the end.
fn significant<'i>(p: &mut Parser<'i>) -> Option<Token<'i>> {
    loop {
        match p.next_including_whitespace_and_comments() {
            Ok(Token::WhiteSpace(_) | Token::Comment(_)) => {}
            Ok(t) => return Some(t.clone()),
            Err(_) => return None,
        }
    }
}

/// One rule at the top level, appended to `out`. `Ok(false)` at the end of the input.
fn stylesheet_rule<'i>(p: &mut Parser<'i>, out: &mut String) -> Result<bool, Refusal> {
    let Some(first) = significant(p) else {
        return Ok(false);
    };
    let mut selectors: Vec<&'static (&'static str, &'static [&'static str])> = Vec::new();
    let mut token = first;
    loop {
        selectors.push(selector(p, &token)?);
        match significant(p) {
            Some(Token::Comma) => {
                token = significant(p).ok_or_else(|| custom("a selector list ends in a comma."))?;
            }
            Some(Token::CurlyBracketBlock) => break,
            Some(t) => {
                return Err(custom(format!(
                    "unexpected {} after a selector.",
                    describe(&t)
                )));
            }
            None => return Err(custom("a rule has no declaration block.")),
        }
    }
    let list = selectors
        .iter()
        .map(|(s, _)| format!(".{s}"))
        .collect::<Vec<_>>()
        .join(",");
    let body = p.parse_nested_block(|p| declarations(p, &selectors))?;
    let _ = writeln!(out, "{list}{{{body}}}");
    Ok(true)
}

/// `.class` or `.class:pseudo`, with no space inside, naming an allowed selector.
fn selector<'i>(
    p: &mut Parser<'i>,
    first: &Token<'i>,
) -> Result<&'static (&'static str, &'static [&'static str]), Refusal> {
    match first {
        Token::Delim('.') => {}
        Token::AtKeyword(name) => {
            return Err(custom(format!("at-rules (@{name}) are not allowed.")));
        }
        t => {
            return Err(custom(format!(
                "only the customizable classes may be styled; found {}.",
                describe(t)
            )));
        }
    }
    let class = match p.next_including_whitespace_and_comments() {
        Ok(Token::Ident(c)) => c.to_string(),
        _ => return Err(custom("a class selector has no class name.")),
    };
    let mut name = class;
    let state = p.state();
    if let Ok(Token::Colon) = p.next_including_whitespace_and_comments() {
        match p.next_including_whitespace_and_comments() {
            Ok(Token::Ident(pseudo)) => {
                name.push(':');
                name.push_str(pseudo);
            }
            _ => return Err(custom(format!("the selector .{name}: is incomplete."))),
        }
    } else {
        p.reset(&state);
    }
    RULES.iter().find(|(s, _)| *s == name).ok_or_else(|| {
        custom(format!(
            "the selector .{name} is not one of the customizable classes."
        ))
    })
}

/// The declarations of one block, normalised; each property must be allowed for every selector
/// of the rule.
fn declarations<'i>(
    p: &mut Parser<'i>,
    selectors: &[&'static (&'static str, &'static [&'static str])],
) -> Result<String, Refusal> {
    let mut out = String::new();
    loop {
        let property = match significant(p) {
            None => return Ok(out),
            Some(Token::Semicolon) => continue,
            Some(Token::Ident(name)) => name.to_ascii_lowercase(),
            Some(Token::AtKeyword(name)) => {
                return Err(custom(format!("at-rules (@{name}) are not allowed.")));
            }
            Some(t) => {
                return Err(custom(format!(
                    "expected a property name, found {}.",
                    describe(&t)
                )));
            }
        };
        for (sel, props) in selectors {
            if !props.contains(&property.as_str()) {
                return Err(custom(format!(
                    "the property {property} is not allowed for .{sel}."
                )));
            }
        }
        match significant(p) {
            Some(Token::Colon) => {}
            _ => return Err(custom(format!("the property {property} has no value."))),
        }
        let value = value(p, &property)?;
        check_keywords(&property, &value, selectors)?;
        let _ = write!(out, "{property}:{value};");
    }
}

/// A value up to `;` or the end of the block, rebuilt from allowed tokens.
fn value<'i>(p: &mut Parser<'i>, property: &str) -> Result<String, Refusal> {
    let mut out = String::new();
    let mut space = false;
    let mut important = false;
    while let Ok(token) = p.next_including_whitespace_and_comments() {
        let token = token.clone();
        let piece = match &token {
            Token::WhiteSpace(_) | Token::Comment(_) => {
                space = !out.is_empty() && !out.ends_with(',');
                continue;
            }
            Token::Semicolon => break,
            _ if important => {
                return Err(custom(format!(
                    "nothing may follow !important in {property}."
                )));
            }
            Token::Delim('!') => {
                match significant(p) {
                    Some(Token::Ident(i)) if i.eq_ignore_ascii_case("important") => {}
                    _ => return Err(custom(format!("a stray ! in the value of {property}."))),
                }
                important = true;
                "!important".to_string()
            }
            Token::Comma => {
                out.push(',');
                space = false;
                continue;
            }
            Token::Delim('/') => "/".to_string(),
            Token::Function(name) => {
                let name = name.to_ascii_lowercase();
                if !matches!(name.as_str(), "rgb" | "rgba" | "hsl" | "hsla") {
                    return Err(custom(format!(
                        "the function {name}() is not allowed (only rgb, rgba, hsl and hsla)."
                    )));
                }
                let args = p.parse_nested_block(color_arguments)?;
                format!("{name}({args})")
            }
            t => simple(t).map_err(|what| {
                custom(format!("{what} is not allowed in the value of {property}."))
            })?,
        };
        if space || would_merge(&out, &piece) {
            out.push(' ');
        }
        space = false;
        out.push_str(&piece);
    }
    if out.is_empty() || out == "!important" {
        return Err(custom(format!("the property {property} has no value.")));
    }
    Ok(out)
}

/// Whether writing `next` right after `out` would let a tokenizer read the two as one token (an
/// identifier then a number, `a` `1` → `a1`; a number then an identifier, `3` `em` → `3em`): the
/// input had them apart, so the output must too, or it would mean something else.
fn would_merge(out: &str, next: &str) -> bool {
    let Some(last) = out.chars().last() else {
        return false;
    };
    !matches!(last, ',' | '/' | ' ') && next != "/"
}

/// The arguments of `rgb()`/`hsl()`: numbers, percentages, angles, commas and `/`.
fn color_arguments<'i>(p: &mut Parser<'i>) -> Result<String, Refusal> {
    let mut out = String::new();
    let mut space = false;
    loop {
        let token = match p.next_including_whitespace_and_comments() {
            Ok(t) => t.clone(),
            Err(_) => return Ok(out),
        };
        let piece = match &token {
            Token::WhiteSpace(_) | Token::Comment(_) => {
                space = !out.is_empty() && !out.ends_with(',');
                continue;
            }
            Token::Comma => {
                out.push(',');
                space = false;
                continue;
            }
            Token::Delim('/') => "/".to_string(),
            t @ (Token::Number { .. } | Token::Percentage { .. } | Token::Dimension { .. }) => {
                simple(t).map_err(|what| custom(format!("{what} is not allowed in a colour.")))?
            }
            t => {
                return Err(custom(format!(
                    "{} is not allowed in a colour function.",
                    describe(t)
                )));
            }
        };
        if space || would_merge(&out, &piece) {
            out.push(' ');
        }
        space = false;
        out.push_str(&piece);
    }
}

/// An identifier, colour hash or number, serialized from its parts; anything else is refused
/// (the error is a description of what was found).
fn simple(t: &Token<'_>) -> Result<String, String> {
    match t {
        Token::Ident(i) => {
            // Written out, it must read back as the same identifier: a letter first, or one
            // `-` then a letter. An escape can make an identifier of `-` or `-1`, which would
            // read back as a stray `-` or the number -1.
            let ok = i.len() <= 64
                && i.strip_prefix('-')
                    .unwrap_or(i)
                    .starts_with(|c: char| c.is_ascii_alphabetic())
                && i.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if ok {
                Ok(i.to_ascii_lowercase())
            } else {
                Err(format!("the identifier {:?}", i.as_ref()))
            }
        }
        Token::Hash(h) | Token::IDHash(h) => {
            if matches!(h.len(), 3 | 4 | 6 | 8) && h.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(format!("#{}", h.to_ascii_lowercase()))
            } else {
                Err(format!("the colour #{h}"))
            }
        }
        Token::Number {
            value, int_value, ..
        } => number(*value, *int_value),
        Token::Percentage {
            unit_value,
            int_value,
            ..
        } => Ok(format!("{}%", number(unit_value * 100.0, *int_value)?)),
        Token::Dimension {
            value,
            int_value,
            unit,
            ..
        } => {
            if unit.len() <= 4 && unit.chars().all(|c| c.is_ascii_alphabetic()) {
                Ok(format!(
                    "{}{}",
                    number(*value, *int_value)?,
                    unit.to_ascii_lowercase()
                ))
            } else {
                Err(format!("the unit {:?}", unit.as_ref()))
            }
        }
        t => Err(describe(t)),
    }
}

fn number(value: f32, int_value: Option<i32>) -> Result<String, String> {
    match int_value {
        Some(i) => Ok(i.to_string()),
        None if value.is_finite() && value.abs() < 1.0e6 => {
            // Rounded to 4 places: no exponent, and no float noise in the output. A negative
            // that rounds to zero is 0, as it reads back (`-0` is the integer 0).
            let s = format!("{value:.4}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            Ok(if s == "-0" { "0" } else { s }.to_string())
        }
        None => Err("an out-of-range number".into()),
    }
}

/// The documented value sets of the properties that have one.
fn check_keywords(
    property: &str,
    value: &str,
    selectors: &[&'static (&'static str, &'static [&'static str])],
) -> Result<(), Refusal> {
    let bare = value.trim_end_matches("!important").trim_end();
    let allowed: Option<&[&str]> = match property {
        "display" => Some(&["block", "inline"]),
        "text-align" => Some(&["left", "right", "center"]),
        "box-sizing" => Some(&["border-box", "content-box"]),
        "font-weight" if selectors.iter().any(|(s, _)| *s == "label-customizable") => Some(&[
            "100", "200", "300", "400", "500", "600", "700", "800", "900",
        ]),
        "font-weight" => Some(&[
            "normal", "bold", "bolder", "lighter", "italic", "100", "200", "300", "400", "500",
            "600", "700", "800", "900",
        ]),
        _ => None,
    };
    match allowed {
        Some(values) if !values.contains(&bare) => Err(custom(format!(
            "{bare} is not an allowed value of {property} (one of {}).",
            values.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// A short description of a token for messages (never echoing long input).
fn describe(t: &Token<'_>) -> String {
    match t {
        Token::Ident(i) => format!("the identifier {}", clip(i)),
        Token::AtKeyword(a) => format!("the at-rule @{}", clip(a)),
        Token::Hash(h) | Token::IDHash(h) => format!("#{}", clip(h)),
        Token::QuotedString(_) => "a string".into(),
        Token::UnquotedUrl(_) | Token::BadUrl(_) => "url()".into(),
        Token::Function(f) if f.eq_ignore_ascii_case("url") => "url()".into(),
        Token::Function(f) => format!("the function {}()", clip(f)),
        Token::Delim(c) => format!("{c:?}"),
        Token::CDO | Token::CDC => "an HTML comment marker".into(),
        Token::CurlyBracketBlock => "a {…} block".into(),
        Token::ParenthesisBlock => "a (…) block".into(),
        Token::SquareBracketBlock => "a […] block".into(),
        Token::BadString(_) => "an unterminated string".into(),
        _ => "an unexpected token".into(),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cognitos_documented_example_is_kept_and_normalised() {
        let css = "/* header */ .label-customizable { font-weight: 400; }\n\
                   .submitButton-customizable:hover {\n  color: #FFF;\n  background-color: rgba(0, 10%, 255,.5) !important }\n\
                   .inputField-customizable { border: 1px solid #ccc; width: 100% }";
        assert_eq!(
            sanitize(css).unwrap(),
            ".label-customizable{font-weight:400;}\n\
             .submitButton-customizable:hover{color:#fff;background-color:rgba(0,10%,255,0.5) !important;}\n\
             .inputField-customizable{border:1px solid #ccc;width:100%;}\n"
        );
    }

    /// Found by the branding_css fuzz target: `ob+1` is two tokens; written back as `ob1` it was
    /// one identifier, and `3ob` `1` became a dimension with unit `ob1`.
    #[test]
    fn tokens_that_were_apart_stay_apart() {
        let once =
            sanitize(".background-customizable { background-color: olc ob+1,2,3ob+1,S }").unwrap();
        assert_eq!(
            once,
            ".background-customizable{background-color:olc ob 1,2,3ob 1,s;}\n"
        );
        assert_eq!(sanitize(&once).unwrap(), once);
    }

    /// Found by the `branding_css` fuzz target: `-.0` (or any negative that rounds to zero)
    /// was written `-0`, which reads back as the integer 0 and is written `0`: normalising the
    /// output changed it. A number that rounds to zero is written `0`.
    #[test]
    fn negative_zero_is_zero() {
        for css in [
            ".background-customizable{background-color:x 1-.000}",
            ".background-customizable{background-color:x 1 -0.00001}",
            ".background-customizable{background-color:x 1 -0.00001%}",
        ] {
            let once = sanitize(css).unwrap();
            assert!(!once.contains("-0"), "{once}");
            assert_eq!(sanitize(&once).unwrap(), once, "{css}");
        }
    }

    /// Found by the `branding_css` fuzz target: `\-` is an identifier `-`, which written out
    /// bare is a stray delimiter (the output then failed its own check). Identifiers that
    /// don't read back as themselves are refused.
    #[test]
    fn identifiers_that_would_not_read_back_are_refused() {
        for css in [
            ".background-customizable{background-color:o/\\-}",
            ".background-customizable{background-color:\\-1}",
            ".background-customizable{background-color:\\2d\\2d x}",
        ] {
            assert!(sanitize(css).is_err(), "{css}");
        }
        assert_eq!(
            sanitize(".background-customizable{background-color:-webkit-x}").unwrap(),
            ".background-customizable{background-color:-webkit-x;}\n"
        );
    }

    #[test]
    fn escapes_are_resolved_by_the_tokenizer_never_copied() {
        assert_eq!(
            sanitize(".background-customizable{background-color:\\72 ed}").unwrap(),
            ".background-customizable{background-color:red;}\n"
        );
        assert_eq!(
            sanitize(".logo-customizable{max-width:10\\70 x}").unwrap(),
            ".logo-customizable{max-width:10px;}\n"
        );
        assert!(sanitize(".logo-customizable{max-width:10\\3c x}").is_err());
    }

    #[test]
    fn empty_css_is_empty() {
        assert_eq!(sanitize("").unwrap(), "");
        assert_eq!(sanitize("  /* nothing */ ").unwrap(), "");
    }

    #[test]
    fn selector_lists_need_every_class_to_allow_the_property() {
        assert_eq!(
            sanitize(".idpButton-customizable:hover, .submitButton-customizable:hover{color:red}")
                .unwrap(),
            ".idpButton-customizable:hover,.submitButton-customizable:hover{color:red;}\n"
        );
        assert!(sanitize(".label-customizable,.banner-customizable{padding:1px}").is_err());
    }

    fn refusal(css: &str) -> String {
        let e = sanitize(css).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::InvalidParameter, "{css}");
        e.message
    }

    #[test]
    fn everything_outside_the_allow_list_is_refused() {
        for css in [
            "body{color:red}",
            ".other-customizable{color:red}",
            ".label-customizable:hover{font-weight:400}",
            ".label-customizable .x{font-weight:400}",
            ".label-customizable{color:red}",
            ".label-customizable{font-weight:450}",
            ".label-customizable{font-weight:bold}",
            ".textDescription-customizable{display:flex}",
            "@import 'x.css';",
            "@media screen{.label-customizable{font-weight:400}}",
            "@supports (x:y){}",
            "@page{}",
            "@font-face{src:url(x)}",
            ".background-customizable{background-color:url(javascript:alert(1))}",
            ".background-customizable{background-color:url('x')}",
            ".background-customizable{background-color:expression(alert(1))}",
            ".background-customizable{background-color:\"red\"}",
            ".background-customizable{background-color:red}</style><script>alert(1)</script>",
            "</style><script>",
            "<!-- .label-customizable{font-weight:400} -->",
            ".background-customizable{background-color:#zzz}",
            ".background-customizable{background-color:red !important red}",
            ".background-customizable{background-color:}",
            ".background-customizable{background-color red}",
            ".background-customizable",
            ".background-customizable{background-color:var(--x)}",
            ".background-customizable{--x:red}",
            ".background-customizable{background-color:rgb(\"1\",2,3)}",
        ] {
            refusal(css);
        }
        assert!(refusal("@import url(x);").contains("@import"));
        assert!(refusal(".label-customizable{color:red}").contains("color"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn output_is_always_inert(css in "[ -~\n]{0,200}") {
            check_inert(&css)?;
        }

        #[test]
        fn near_miss_rules_are_inert(
            sel in prop::sample::select(allowed_selectors().collect::<Vec<_>>()),
            prop in "[a-z-]{1,16}",
            val in "[ -~]{0,40}",
        ) {
            check_inert(&format!(".{sel}{{{prop}:{val}}}"))?;
        }
    }

    fn check_inert(css: &str) -> Result<(), TestCaseError> {
        if let Ok(out) = sanitize(css) {
            prop_assert!(!out.contains('<'), "{out}");
            prop_assert!(!out.contains('@'), "{out}");
            prop_assert!(!out.to_ascii_lowercase().contains("url("), "{out}");
            prop_assert!(!out.contains('\\') && !out.contains('"') && !out.contains('\''));
            for line in out.lines() {
                let (selectors, _) = line.split_once('{').unwrap();
                for s in selectors.split(',') {
                    let s = s.strip_prefix('.').unwrap();
                    prop_assert!(allowed_selectors().any(|a| a == s), "{s}");
                }
                prop_assert!(line.ends_with('}'), "{}", line);
                prop_assert_eq!(line.matches('{').count(), 1);
                prop_assert_eq!(line.matches('}').count(), 1);
            }
            // Normalising is idempotent: the output is itself accepted, unchanged.
            prop_assert_eq!(sanitize(&out).ok(), Some(out.clone()));
        }
        Ok(())
    }
}
