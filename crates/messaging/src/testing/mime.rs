//! Just enough MIME reading to check what lettre sent: unfolded headers, RFC 2047 encoded words,
//! multipart bodies, quoted-printable and base64 transfer encodings. Text is assumed UTF-8.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Splits a message (or a body part) into its unfolded headers and its body.
pub(crate) fn split(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (raw.find("\r\n\r\n"), raw.find("\n\n")) {
        (Some(crlf), Some(lf)) if lf < crlf => (&raw[..lf], &raw[lf + 2..]),
        (Some(crlf), _) => (&raw[..crlf], &raw[crlf + 4..]),
        (None, Some(lf)) => (&raw[..lf], &raw[lf + 2..]),
        (None, None) => (raw, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    (headers, body)
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `text/html; charset=utf-8; boundary="x"` → (`text/html`, parameters with lowercase names).
fn content_type(value: Option<&str>) -> (String, Vec<(String, String)>) {
    let value = value.unwrap_or("text/plain");
    let mut pieces = value.split(';');
    let mime = pieces
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let params = pieces
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect();
    (mime, params)
}

/// The decoded content of the first part of type `wanted` (e.g. `text/plain`) in `raw`, looking
/// inside multiparts. Line ends come back as `\n`.
pub(crate) fn find_part(raw: &str, wanted: &str) -> Option<String> {
    let (headers, body) = split(raw);
    let (mime, params) = content_type(header(&headers, "Content-Type"));
    if mime.starts_with("multipart/") {
        let boundary = params
            .iter()
            .find(|(k, _)| k == "boundary")
            .map(|(_, v)| v.as_str())?;
        return parts(body, boundary)
            .into_iter()
            .find_map(|part| find_part(&part, wanted));
    }
    if mime != wanted {
        return None;
    }
    let encoding = header(&headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD.decode(compact).ok()?
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    };
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    Some(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// The body parts between `--boundary` delimiter lines.
fn parts(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    let closing = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut current: Option<String> = None;
    for line in body.split_inclusive('\n') {
        let bare = line.trim_end();
        if bare == delimiter || bare == closing {
            if let Some(mut part) = current.take() {
                // The line break before a delimiter belongs to the delimiter.
                if part.ends_with("\r\n") {
                    part.truncate(part.len() - 2);
                } else if part.ends_with('\n') {
                    part.truncate(part.len() - 1);
                }
                parts.push(part);
            }
            if bare == closing {
                break;
            }
            current = Some(String::new());
        } else if let Some(part) = current.as_mut() {
            part.push_str(line);
        }
    }
    parts
}

fn quoted_printable(body: &str) -> Vec<u8> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let rest = &bytes[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3; // soft line break
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(hex) = rest.get(..2)
                && let Ok(hex) = std::str::from_utf8(hex)
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value;
/// whitespace between two encoded words is dropped, as the RFC says.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut previous_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        let word = encoded_word(candidate);
        match word {
            Some((decoded, len)) => {
                if !(previous_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&decoded);
                rest = &candidate[len..];
                previous_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                previous_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `=?charset?encoding?text?=` at the start of `s`: its text and its length.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let len = s.len() - inner.len() + end + 2;
    let bytes = match encoding {
        "b" | "B" => STANDARD.decode(text).ok()?,
        "q" | "Q" => quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    Some((String::from_utf8_lossy(&bytes).into_owned(), len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words() {
        assert_eq!(
            decode_words("=?utf-8?b?Q2Fmw6k=?= =?utf-8?q?_=E2=9C=93?= done"),
            "Café ✓ done"
        );
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn multipart_with_encodings() {
        let raw = "Subject: x\r\nContent-Type: multipart/alternative;\r\n boundary=\"B\"\r\n\r\n\
                   --B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Caf=C3=A9 =\r\nau lait\r\n--B\r\nContent-Type: text/html; charset=utf-8\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nPHA+Q2Fmw6k8L3A+\r\n--B--\r\n";
        assert_eq!(find_part(raw, "text/plain").unwrap(), "Café au lait");
        assert_eq!(find_part(raw, "text/html").unwrap(), "<p>Café</p>");
    }
}
