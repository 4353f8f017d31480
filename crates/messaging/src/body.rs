//! Cognito message templates may be HTML. Mail clients that show only text (and spam filters that
//! distrust HTML-only mail) get a text/plain alternative made here by crude tag stripping.

/// Whether `body` reads as HTML: it has something shaped like a tag (`<p>`, `</a>`, `<br/>`,
/// `<!-- … -->`), not merely a `<` and a `>` somewhere ("code < 5 > 3" stays text).
pub(crate) fn looks_like_html(body: &str) -> bool {
    body.match_indices('<').any(|(i, _)| {
        let rest = &body[i + 1..];
        let starts_tag = rest
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        starts_tag && rest.contains('>')
    })
}

/// Tags whose end (or start) is a line break in the text rendering.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "title",
];

/// The text a reader would see in `html`, with links kept as `label (url)` so a
/// CONFIRM_WITH_LINK message still works in a text-only client.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut links: Vec<(String, usize)> = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        push_text(&mut out, &rest[..lt]);
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            push_text(&mut out, rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if !closing && (name == "script" || name == "style") {
            // Their content is not text. Skip to the matching close tag (ASCII-lowercased
            // copies keep byte offsets identical).
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&close) {
                Some(at) => rest[at..].find('>').map_or("", |gt| &rest[at + gt + 1..]),
                None => "",
            };
            continue;
        }
        if name == "a" {
            if closing {
                if let Some((href, label_start)) = links.pop() {
                    let label = out[label_start..].trim().to_string();
                    if !href.is_empty() && !href.starts_with('#') && label != href {
                        out.push_str(" (");
                        out.push_str(&href);
                        out.push(')');
                    }
                }
            } else {
                links.push((attribute(tag, "href").unwrap_or_default(), out.len()));
            }
        } else if BLOCK_TAGS.contains(&name.as_str()) {
            out.push('\n');
        } else if name == "td" || name == "th" {
            out.push(' ');
        }
    }
    push_text(&mut out, rest);
    tidy(&out)
}

/// Appends text content: entities decoded, source whitespace folded to spaces (as HTML renders it).
fn push_text(out: &mut String, text: &str) {
    let decoded = decode_entities(text);
    for c in decoded.chars() {
        out.push(if c.is_whitespace() && c != '\u{a0}' {
            ' '
        } else {
            c
        });
    }
}

/// Collapses runs of spaces, trims each line, keeps at most one blank line in a row.
fn tidy(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let line = line
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace('\u{a0}', " ");
        if line.trim().is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(line.trim().to_string());
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// The value of `name="…"` (or `'…'`, or unquoted) inside a tag.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let start = from + found;
        from = start + name.len();
        let preceded_by_space = lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace);
        let after = tag[from..].trim_start();
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        if !preceded_by_space {
            continue;
        }
        let value = value.trim_start();
        let raw = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or_default(),
            _ => value.split(char::is_whitespace).next().unwrap_or_default(),
        };
        return Some(decode_entities(raw.trim_end_matches('/')));
    }
    None
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity = rest[1..]
            .find(';')
            .filter(|&semi| semi <= 10)
            .map(|semi| &rest[1..semi + 1]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => {
                let number = e.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)
            }
        });
        match (entity, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_html_from_text() {
        assert!(looks_like_html("<p>Your code is 123456</p>"));
        assert!(looks_like_html("Hi<br/>there"));
        assert!(looks_like_html("<!DOCTYPE html><html></html>"));
        assert!(!looks_like_html("Your verification code is 123456. "));
        assert!(!looks_like_html("a < 5 and b > 3"));
        assert!(!looks_like_html("<no end"));
    }

    #[test]
    fn strips_tags_and_keeps_links() {
        let html = "<html><head><style>p { color: red }</style></head><body>\
                    <h1>Welcome&nbsp;aboard</h1>\n<p>Your code is <b>123456</b>.</p>\
                    <p>Or <a href=\"https://id.test/confirm?c=1&amp;u=2\">Verify Email</a></p>\
                    <!-- tracking --><script>alert(1)</script>Caf&eacute; &amp; &#233;&#x21;</body></html>";
        assert_eq!(
            html_to_text(html),
            "Welcome aboard\n\nYour code is 123456.\n\nOr Verify Email (https://id.test/confirm?c=1&u=2)\nCaf&eacute; & é!"
        );
    }

    #[test]
    fn links_whose_label_is_the_url_are_not_doubled() {
        assert_eq!(
            html_to_text("Go to <a href='https://x.test'>https://x.test</a>"),
            "Go to https://x.test"
        );
        assert_eq!(html_to_text("<a name=top>Top</a>"), "Top");
    }

    #[test]
    fn line_breaks() {
        assert_eq!(html_to_text("one<br>two<BR />three"), "one\ntwo\nthree");
    }
}
