//! Verification of AWS Signature Version 4 on IAM-signed operations.
//!
//! Two layers, tested apart:
//! - **Canonicalisation and signing** ([`canonical_request`], [`string_to_sign`], [`signature`]):
//!   SigV4 as AWS specifies it for every service but S3, checked against AWS's published test suite.
//! - **The policy of the AWS JSON services** ([`verify`]): what a signature must cover so that it
//!   binds the whole request. The payload hash is always the hash of the body we received (the
//!   `UNSIGNED-PAYLOAD` and streaming modes are S3's and belong to a gateway that checks each
//!   chunk); `Host`, the date, `X-Amz-Target`, `Content-Type` and every `X-Amz-*` header present
//!   must be signed, as the AWS SDKs always do, so a captured signature can't be replayed with
//!   another body or as another operation. Only the configured credentials are accepted, and
//!   requests more than 15 minutes from our clock are refused, as AWS does.

use crate::error::ApiError;
use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use tessera_wire::echo;

/// Credentials allowed to call IAM-signed operations.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const MAX_SKEW_SECS: i64 = 15 * 60;

fn incomplete(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("IncompleteSignatureException", msg)
}

fn invalid_signature(msg: impl Into<String>) -> ApiError {
    ApiError::new(
        "InvalidSignatureException",
        msg,
        axum::http::StatusCode::FORBIDDEN,
    )
}

pub fn missing_token() -> ApiError {
    ApiError::new(
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
        axum::http::StatusCode::FORBIDDEN,
    )
}

fn unrecognized() -> ApiError {
    ApiError::new(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        axum::http::StatusCode::FORBIDDEN,
    )
}

fn mismatch() -> ApiError {
    invalid_signature(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
}

/// The `Authorization` header, taken apart.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    terminator: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, ApiError> {
    let value = value.trim();
    let (algorithm, rest) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(incomplete(format!(
            "Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 for now). ",
            echo(algorithm)
        )));
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
        return Err(incomplete(format!(
            "{missing}Authorization={}",
            echo(value)
        )));
    };
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{missing}Authorization={}",
            echo(value)
        )));
    }
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, terminator] = scope.as_slice() else {
        return Err(incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            echo(credential)
        )));
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
fn parse_amz_date(s: &str) -> Option<i64> {
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
fn http_date_as_amz(s: &str) -> Option<String> {
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
fn uri_encode(s: &[u8], keep_slash: bool) -> String {
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
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
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
pub(crate) fn canonical_query(query: Option<&str>) -> String {
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
pub(crate) fn canonical_uri(path: &str, normalize: bool) -> String {
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
fn canonical_header_value<'v>(values: impl Iterator<Item = &'v [u8]>) -> Vec<u8> {
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
pub(crate) struct AbsentHeader(pub String);

/// The value SigV4 signs for a header: `host` falls back to the URI's authority (HTTP/2).
fn header_values(uri: &Uri, headers: &HeaderMap, name: &str) -> Option<Vec<u8>> {
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
pub(crate) fn canonical_request(
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
    normalize: bool,
) -> Result<Vec<u8>, AbsentHeader> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(uri.path(), normalize).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(uri.query()).as_bytes());
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

/// `date/region/service/aws4_request`.
pub(crate) struct Scope<'a> {
    pub date: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

impl Scope<'_> {
    fn render(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

pub(crate) fn string_to_sign(
    amz_date: &str,
    scope: &Scope<'_>,
    canonical_request: &[u8],
) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.render(),
        hex::encode(Sha256::digest(canonical_request))
    )
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The hex signature of `string_to_sign` with the key derived from `secret` for `scope`.
pub(crate) fn signature(secret: &str, scope: &Scope<'_>, string_to_sign: &str) -> String {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    let k_signing = hmac(&k_service, TERMINATOR.as_bytes());
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// What a verified request proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
}

pub struct Request<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    /// The signing name the operation's service expects (`cognito-idp`, …).
    pub service: &'a str,
    /// Seconds since the epoch, now.
    pub now: i64,
}

/// `X-Amz-Target` from `x-amz-target`: how AWS names headers in its messages.
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Headers a JSON-service signature must cover whenever the request carries them (besides
/// `Host`, the date, `X-Amz-Target` and `Content-Type`, which it must always cover): anything
/// AWS-specific. `x-amzn-trace-id` is not `x-amz-`; the SDKs leave it unsigned.
fn must_be_signed(name: &str) -> bool {
    name.starts_with("x-amz-")
}

/// Verifies an AWS JSON 1.1 request's signature against `credentials`.
pub fn verify(req: &Request<'_>, credentials: &[Credentials]) -> Result<Caller, ApiError> {
    let pending = prepare(req, &["x-amz-target", "content-type"])?;
    let creds = credentials
        .iter()
        .find(|c| c.access_key_id == pending.access_key())
        .ok_or_else(unrecognized)?;
    pending.check(&creds.secret_access_key)?;
    Ok(Caller {
        access_key_id: creds.access_key_id.clone(),
    })
}

/// A request whose signature is well-formed, covers what it must and is recent, waiting for
/// the secret of its access key (which the caller may have to look up in the store).
pub struct Pending<'a> {
    req: &'a Request<'a>,
    auth: Authorization<'a>,
    amz_date: String,
}

impl Pending<'_> {
    /// The access key id the request was signed with.
    pub fn access_key(&self) -> &str {
        self.auth.access_key
    }

    /// Recomputes the signature with `secret` and compares it in constant time.
    pub fn check(&self, secret: &str) -> Result<(), ApiError> {
        let (req, auth) = (self.req, &self.auth);
        // Always the body we received: a signed `x-amz-content-sha256` is only a header here.
        let payload_hash = hex::encode(Sha256::digest(req.body));
        let canonical = canonical_request(
            req.method.as_str(),
            req.uri,
            req.headers,
            &auth.signed_headers,
            &payload_hash,
            true,
        )
        .map_err(|AbsentHeader(name)| {
            incomplete(format!(
                "'{}' is named as a SignedHeader, but it does not exist in the HTTP request.",
                echo(&name)
            ))
        })?;
        let scope = Scope {
            date: auth.date,
            region: auth.region,
            service: auth.service,
        };
        let expected = signature(
            secret,
            &scope,
            &string_to_sign(&self.amz_date, &scope, &canonical),
        );
        if tessera_crypto::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
            Ok(())
        } else {
            Err(mismatch())
        }
    }
}

/// Everything but the signature itself: the Authorization header parsed, the date present and
/// within 15 minutes, the scope's service and terminator right, and `Host`, the date, `required`
/// and every `X-Amz-*` header present signed.
pub fn prepare<'a>(
    req: &'a Request<'a>,
    required: &[&'static str],
) -> Result<Pending<'a>, ApiError> {
    let header = req
        .headers
        .get("authorization")
        .ok_or_else(missing_token)?
        .to_str()
        .map_err(|_| incomplete("Authorization header is not ASCII."))?;
    let auth = parse_authorization(header)?;

    let (date_header, amz_date) = match req.headers.get("x-amz-date") {
        Some(v) => ("x-amz-date", v.to_str().unwrap_or_default().to_string()),
        None => match req.headers.get("date") {
            Some(v) => (
                "date",
                http_date_as_amz(v.to_str().unwrap_or_default()).unwrap_or_default(),
            ),
            None => {
                return Err(incomplete(format!(
                    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                    echo(header)
                )));
            }
        },
    };
    let signed_at = parse_amz_date(&amz_date).ok_or_else(|| {
        let got = req
            .headers
            .get(date_header)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
            echo(&got)
        ))
    })?;
    if (req.now - signed_at).abs() > MAX_SKEW_SECS {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier or later than 15 minutes from the server's time."
        )));
    }

    let signed = |name: &str| {
        auth.signed_headers
            .iter()
            .any(|s| s.eq_ignore_ascii_case(name))
    };
    if !signed("host") {
        return Err(invalid_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }

    let mut scope_errors = String::new();
    if auth.service != req.service {
        scope_errors.push_str(&format!(
            "Credential should be scoped to correct service: '{}'. ",
            req.service
        ));
    }
    if auth.terminator != TERMINATOR {
        scope_errors.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{}'. ",
            echo(auth.terminator)
        ));
    }
    if amz_date.get(..8) != Some(auth.date) {
        scope_errors.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            echo(auth.date),
            amz_date.get(..8).unwrap_or_default()
        ));
    }
    if !scope_errors.is_empty() {
        return Err(invalid_signature(scope_errors.trim_end().to_string()));
    }

    // A signature must bind the operation and everything AWS-specific, or it can be replayed
    // as another operation (a `host;x-amz-date` signature says nothing about X-Amz-Target).
    let mut present: Vec<&str> = req
        .headers
        .keys()
        .map(|k| k.as_str())
        .filter(|name| must_be_signed(name))
        .collect();
    present.sort_unstable();
    for name in required.iter().copied().chain([date_header]).chain(present) {
        if !signed(name) {
            return Err(invalid_signature(format!(
                "'{}' must be a 'SignedHeader' in the AWS Authorization.",
                display_name(name)
            )));
        }
    }

    Ok(Pending {
        req,
        auth,
        amz_date,
    })
}

#[cfg(test)]
mod tests;
