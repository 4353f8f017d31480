//! AWS Signature Version 4: the canonical request, the string to sign and the signature, as
//! AWS specifies them, plus the pieces of a signed request (the `Authorization` header, the
//! dates). Pure and synchronous; shared by the JSON services' verifier (tessera-http) and the
//! S3/DynamoDB gateway (tessera-gateway), which each decide what a signature must cover.
//!
//! Canonical URIs: S3 signs the path as sent (encoded once); every other service encodes the
//! path again (see [`canonical_uri`] and [`canonical_uri_s3`]).

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Uri};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
pub const TERMINATOR: &str = "aws4_request";

/// The `Authorization` header, taken apart.
pub struct Authorization<'a> {
    pub access_key: &'a str,
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub terminator: &'a str,
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

/// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; the error is the
/// message AWS gives with IncompleteSignatureException.
pub fn parse_authorization(value: &str) -> Result<Authorization<'_>, String> {
    let value = value.trim();
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(format!(
            "Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 for now). ",
            tessera_wire::echo(algorithm)
        ));
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let Some((key, v)) = part.split_once('=') else {
            continue;
        };
        let v = v.trim();
        match key.trim() {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut missing = String::new();
    for (name, given) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed),
    ] {
        if given.is_none_or(str::is_empty) {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(format!(
            "{missing}Authorization={}",
            tessera_wire::echo(value)
        ));
    };
    if !missing.is_empty() {
        return Err(format!(
            "{missing}Authorization={}",
            tessera_wire::echo(value)
        ));
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope.as_slice() else {
        return Err(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            tessera_wire::echo(credential)
        ));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        terminator,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Seconds since the epoch of an ISO 8601 basic-format time (`20240102T030405Z`).
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    tessera_domain::Timestamp::from_civil(
        i64::from(num(0..4)?),
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    )
    .map(|t| t.secs())
}

/// An HTTP `Date` (IMF-fixdate, `Sun, 30 Aug 2015 12:36:00 GMT`) in ISO 8601 basic format, which
/// is how the string to sign carries it.
pub fn http_date_as_amz(s: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, rest) = s.trim().split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? + 1;
    let (h, rest) = time.split_once(':')?;
    let (m, sec) = rest.split_once(':')?;
    let all_digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|c| c.is_ascii_digit());
    if !(all_digits(day, 2)
        && all_digits(year, 4)
        && all_digits(h, 2)
        && all_digits(m, 2)
        && all_digits(sec, 2))
    {
        return None;
    }
    let amz = format!("{year}{month:02}{day}T{h}{m}{sec}Z");
    parse_amz_date(&amz).map(|_| amz)
}

/// RFC 3986 unreserved characters pass; everything else is %XX (upper-case hex).
pub fn uri_encode(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` decoded to bytes; `+` stays `+` (SigV4 query strings are RFC 3986, not forms).
pub fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The query string: each name and value decoded then encoded once, pairs sorted.
pub fn canonical_query(query: Option<&str>) -> String {
    let Some(q) = query else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The path for every service but S3: with `normalize`, empty and `.` segments dropped and `..`
/// resolved (what botocore, aws-sdk-js-v3 and aws-sdk-rust sign); then the path as sent is
/// encoded once more, so `%3D` becomes `%253D`.
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    if path.is_empty() {
        return "/".into();
    }
    if !normalize {
        return uri_encode(path.as_bytes(), true);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut normalized = String::from("/");
    normalized.push_str(&segments.join("/"));
    if !segments.is_empty() && path.ends_with('/') {
        normalized.push('/');
    }
    uri_encode(normalized.as_bytes(), true)
}

/// A header's canonical value: every value trimmed, inner runs of spaces folded to one, values
/// joined with `,` in the order sent. Bytes, not text: header values may be any octets.
pub fn canonical_header_value<'v>(values: impl Iterator<Item = &'v [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut words = value
            .split(|b| *b == b' ' || *b == b'\t')
            .filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            out.extend_from_slice(first);
        }
        for w in words {
            out.push(b' ');
            out.extend_from_slice(w);
        }
    }
    out
}

/// A signed header that the request does not carry.
#[derive(Debug, PartialEq, Eq)]
pub struct AbsentHeader(pub String);

/// The value SigV4 signs for a header: `host` falls back to the URI's authority (HTTP/2).
pub fn header_values(uri: &Uri, headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
    let values: Vec<&[u8]> = headers.get_all(name).iter().map(|v| v.as_bytes()).collect();
    if !values.is_empty() {
        return Some(canonical_header_value(values.into_iter()));
    }
    if name.eq_ignore_ascii_case("host") {
        return uri.authority().map(|a| a.as_str().as_bytes().to_vec());
    }
    None
}

/// The canonical request, as bytes. `signed_headers` are as the client listed them.
pub fn canonical_request(
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
    normalize: bool,
) -> Result<Vec<u8>, AbsentHeader> {
    canonical_request_of(
        method,
        &canonical_uri(uri.path(), normalize),
        &canonical_query(uri.query()),
        uri,
        headers,
        signed_headers,
        payload_hash,
    )
}

/// The canonical request from an already canonical URI and query (S3's single-encoded path,
/// a presigned URL's query without `X-Amz-Signature`).
pub fn canonical_request_of(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
) -> Result<Vec<u8>, AbsentHeader> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query.as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        let value =
            header_values(uri, headers, name).ok_or_else(|| AbsentHeader(name.to_string()))?;
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        out.extend_from_slice(&value);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    Ok(out)
}

/// S3's canonical URI: the path as sent, each byte encoded exactly once (`%2F`-style escapes
/// the client sent are decoded first so they are not encoded twice), no normalisation.
pub fn canonical_uri_s3(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    uri_encode(&percent_decode(path), true)
}

/// The canonical query of a presigned URL: every parameter but `X-Amz-Signature`.
pub fn canonical_query_presigned(query: Option<&str>) -> String {
    let rest: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(k, _)| k);
            name != "X-Amz-Signature"
        })
        .collect();
    canonical_query(Some(&rest.join("&")))
}

/// `date/region/service/aws4_request`.
pub struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    pub fn render(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

pub fn string_to_sign(amz_date: &str, scope: &Scope<'_>, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.render(),
        hex::encode(Sha256::digest(canonical_request))
    )
}

/// HMAC-SHA256 (any key length is valid for HMAC).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The hex signature of `string_to_sign` with the key derived from `secret` for `scope`.
pub fn signature(secret: &str, scope: &Scope<'_>, string_to_sign: &str) -> String {
    let k_signing = signing_key(secret, scope.date, scope.region, scope.service);
    hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()))
}

/// The key derived from `secret` for one day, region and service.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_paths_are_encoded_once_others_twice() {
        assert_eq!(canonical_uri_s3("/b/my%20file.txt"), "/b/my%20file.txt");
        assert_eq!(canonical_uri_s3("/b/a b"), "/b/a%20b");
        assert_eq!(
            canonical_uri_s3("/b/us-east-1%3Aabc/x"),
            "/b/us-east-1%3Aabc/x"
        );
        assert_eq!(canonical_uri_s3("/b//./x"), "/b//./x");
        assert_eq!(
            canonical_uri("/b/my%20file.txt", false),
            "/b/my%2520file.txt"
        );
    }

    #[test]
    fn presigned_query_leaves_out_the_signature() {
        assert_eq!(
            canonical_query_presigned(Some("X-Amz-Signature=abc&b=2&X-Amz-Date=1&a=%7E")),
            "X-Amz-Date=1&a=~&b=2"
        );
    }
}
