//! Where each statement sits in the document's text, for SimulatePrincipalPolicy's
//! `MatchedStatements[].StartPosition/EndPosition` (IAM's `Position`: `Line`, `Column`).
//!
//! serde_json keeps no positions, so this is a small scanner over text serde_json has already
//! accepted: it walks the top-level object to the (last) `Statement` member and records where
//! each statement object starts (its `{`) and ends (its `}`).

/// A place in the document: line and column, both counted from 1; columns count characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// (start, end) byte offsets of each statement object, in order; `None` if the text is not the
/// shape expected (the caller then simply reports no positions).
pub(crate) fn statement_spans(text: &str) -> Option<Vec<(usize, usize)>> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    let mut found = None;
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        let key_start = i;
        i = skip_string(b, i)?;
        let key = &text[key_start + 1..i - 1];
        i = ws(b, i);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(b, i + 1);
        let value_start = i;
        i = skip_value(b, i)?;
        if key == "Statement" {
            found = Some(spans_of(b, value_start)?);
        }
        i = ws(b, i);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => return found,
            _ => return None,
        }
    }
}

fn spans_of(b: &[u8], start: usize) -> Option<Vec<(usize, usize)>> {
    match b.get(start) {
        Some(b'{') => Some(vec![(start, skip_value(b, start)? - 1)]),
        Some(b'[') => {
            let mut out = Vec::new();
            let mut i = ws(b, start + 1);
            if b.get(i) == Some(&b']') {
                return Some(out);
            }
            loop {
                let s = i;
                i = skip_value(b, i)?;
                out.push((s, i - 1));
                i = ws(b, i);
                match b.get(i) {
                    Some(b',') => i = ws(b, i + 1),
                    Some(b']') => return Some(out),
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Index just past the string starting at `i` (which must be `"`).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// Index just past the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        open @ (b'{' | b'[') => {
            let close = if *open == b'{' { b'}' } else { b']' };
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    c if c == open => depth += 1,
                    c if *c == close => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    // The other bracket kind nests freely; serde_json checked the balance.
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while let Some(c) = b.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                j += 1;
            }
            Some(j)
        }
    }
}

/// The line and column of byte offset `at`.
pub(crate) fn position(text: &str, at: usize) -> Position {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() as u32 + 1;
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    let column = before[line_start..].chars().count() as u32 + 1;
    Position { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_statements_in_arrays_and_single_objects() {
        let doc = "{\"Version\":\"2012-10-17\",\n \"Statement\":[\n  {\"Effect\":\"Allow\",\"Sid\":\"}{\"},\n  {\"Effect\":\"Deny\",\"C\":{\"x\":[1,{}]}}\n ]}";
        let spans = statement_spans(doc).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(
            &doc[spans[0].0..=spans[0].1],
            "{\"Effect\":\"Allow\",\"Sid\":\"}{\"}"
        );
        assert_eq!(position(doc, spans[0].0), Position { line: 3, column: 3 });
        assert_eq!(
            position(doc, spans[1].1),
            Position {
                line: 4,
                column: 36
            }
        );
        let single = r#"{"Statement":{"Effect":"Allow"},"Version":"2012-10-17"}"#;
        assert_eq!(statement_spans(single).unwrap(), vec![(13, 30)]);
    }
}
