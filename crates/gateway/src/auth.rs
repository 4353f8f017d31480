//! SigV4 as S3 and DynamoDB check it, for credentials Tessera issued: the header form and
//! (S3) the presigned-query form; S3's single-encoded paths, DynamoDB's double-encoded ones;
//! S3's `x-amz-content-sha256` modes (a hex digest, `UNSIGNED-PAYLOAD`, `STREAMING-…`);
//! ±15 minutes of clock skew; presigned URLs' `X-Amz-Expires`.
//!
//! [`parse`] does everything but the signature (which needs the key's secret, looked up by the
//! caller); [`Signed::check`] recomputes it.

use http::{HeaderMap, Method, Uri};
use tessera_sigv4::{
    AbsentHeader, Scope, TERMINATOR, canonical_query, canonical_query_presigned,
    canonical_request_of, canonical_uri, canonical_uri_s3, http_date_as_amz, parse_amz_date,
    parse_authorization, signature, string_to_sign,
};

pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// Presigned URLs last at most 7 days (S3's limit).
const MAX_PRESIGN_SECS: i64 = 7 * 24 * 3600;

/// The service a request is for; SigV4 differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    DynamoDb,
}

impl Service {
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::DynamoDb => "dynamodb",
        }
    }
}

/// Why a request's authentication failed, before the service-specific wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No Authorization header and no presigned query.
    Missing,
    /// The Authorization header or presigned query is malformed (the message says how).
    Malformed(String),
    /// S3 requires `x-amz-content-sha256` with SigV4.
    MissingContentSha,
    /// The `x-amz-content-sha256` value is none S3 knows.
    BadContentSha,
    /// Signed more than 15 minutes from now.
    Skewed,
    /// A presigned URL past its `X-Amz-Expires`.
    PresignExpired,
    UnknownKey,
    BadToken,
    ExpiredToken,
    /// The signature is not the one the key gives; what we signed, for S3's error body.
    SignatureMismatch(Option<Box<Mismatch>>),
    /// The body doesn't hash to the signed `x-amz-content-sha256`.
    ContentShaMismatch,
}

/// What S3 reports with `SignatureDoesNotMatch`: the key, the signature given, and the string to
/// sign and canonical request as the server computed them, so a client can see where they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub access_key: String,
    pub signature_provided: String,
    pub string_to_sign: String,
    pub canonical_request: String,
}

impl Mismatch {
    /// S3's elements, in its order (the `…Bytes` forms are the hex bytes, space-separated).
    pub fn s3_details(&self) -> Vec<(&'static str, String)> {
        let bytes = |s: &str| {
            s.bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        vec![
            ("AWSAccessKeyId", self.access_key.clone()),
            ("StringToSign", self.string_to_sign.clone()),
            ("SignatureProvided", self.signature_provided.clone()),
            ("StringToSignBytes", bytes(&self.string_to_sign)),
            ("CanonicalRequest", self.canonical_request.clone()),
            ("CanonicalRequestBytes", bytes(&self.canonical_request)),
        ]
    }
}

/// How the payload is bound to the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A hex SHA-256 of the body (S3's header; always for DynamoDB, computed from the body).
    Hex(String),
    Unsigned,
    /// An aws-chunked body: `STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` or `…-PAYLOAD-TRAILER`.
    Streaming(String),
}

impl Payload {
    pub fn as_str(&self) -> &str {
        match self {
            Payload::Hex(h) => h,
            Payload::Unsigned => "UNSIGNED-PAYLOAD",
            Payload::Streaming(s) => s,
        }
    }

    fn parse(value: &str) -> Option<Payload> {
        match value {
            "UNSIGNED-PAYLOAD" => Some(Payload::Unsigned),
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
            | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
            | "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" => {
                Some(Payload::Streaming(value.to_string()))
            }
            h if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Some(Payload::Hex(h.to_ascii_lowercase()))
            }
            _ => None,
        }
    }
}

/// A request whose signature is well formed and recent, waiting for its key's secret.
#[derive(Debug, Clone)]
pub struct Signed {
    pub access_key: String,
    pub session_token: Option<String>,
    pub region: String,
    pub presigned: bool,
    pub payload: Payload,
    amz_date: String,
    date: String,
    signed_headers: Vec<String>,
    signature: String,
    canonical_uri: String,
    canonical_query: String,
}

/// The request's method, URI and headers, as received.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub service: Service,
    /// Seconds since the epoch.
    pub now: i64,
}

impl<'a> Incoming<'a> {
    /// A received request's parts, for `service`, at `now` (seconds since the epoch).
    pub fn of(parts: &'a http::request::Parts, service: Service, now: i64) -> Incoming<'a> {
        Incoming {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            service,
            now,
        }
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The decoded query parameters.
pub fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    form_urlencoded_pairs(uri.query().unwrap_or_default())
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (crate::percent_decode_str(k), crate::percent_decode_str(v))
        })
        .collect()
}

/// Everything but the signature itself.
pub fn parse(req: &Incoming<'_>) -> Result<Signed, AuthError> {
    let pairs = query_pairs(req.uri);
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let canonical_uri = match req.service {
        Service::S3 => canonical_uri_s3(req.uri.path()),
        Service::DynamoDb => canonical_uri(req.uri.path(), true),
    };
    if let Some(auth) = header(req.headers, "authorization") {
        let auth = parse_authorization(auth).map_err(AuthError::Malformed)?;
        let amz_date = match header(req.headers, "x-amz-date") {
            Some(d) => d.to_string(),
            None => header(req.headers, "date")
                .and_then(http_date_as_amz)
                .ok_or_else(|| {
                    AuthError::Malformed(
                        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
                    )
                })?,
        };
        let signed_headers: Vec<String> =
            auth.signed_headers.iter().map(|s| s.to_string()).collect();
        let payload = match req.service {
            Service::S3 => {
                let v = header(req.headers, "x-amz-content-sha256")
                    .ok_or(AuthError::MissingContentSha)?;
                Payload::parse(v).ok_or(AuthError::BadContentSha)?
            }
            // Computed from the body by the caller.
            Service::DynamoDb => Payload::Hex(String::new()),
        };
        let signed = Signed {
            access_key: auth.access_key.to_string(),
            session_token: header(req.headers, "x-amz-security-token").map(str::to_string),
            region: auth.region.to_string(),
            presigned: false,
            payload,
            amz_date,
            date: auth.date.to_string(),
            signed_headers,
            signature: auth.signature.to_string(),
            canonical_uri,
            canonical_query: canonical_query(req.uri.query()),
        };
        check_scope(&signed, auth.service, auth.terminator, req)?;
        // Host, the date and every x-amz-* header present must be covered.
        let date_header = if header(req.headers, "x-amz-date").is_some() {
            "x-amz-date"
        } else {
            "date"
        };
        let covered = |name: &str| {
            signed
                .signed_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
        };
        if !covered("host") || !covered(date_header) {
            return Err(AuthError::Malformed(
                "'Host' and the date must be SignedHeaders in the AWS Authorization.".into(),
            ));
        }
        if let Some(name) = req
            .headers
            .keys()
            .map(|k| k.as_str())
            .find(|n| n.starts_with("x-amz-") && !covered(n))
        {
            return Err(AuthError::Malformed(format!(
                "'{name}' must be a 'SignedHeader' in the AWS Authorization."
            )));
        }
        return Ok(signed);
    }
    if req.service == Service::S3 && param("X-Amz-Algorithm").is_some() {
        if param("X-Amz-Algorithm") != Some(tessera_sigv4::ALGORITHM) {
            return Err(AuthError::Malformed(
                "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".into(),
            ));
        }
        let (Some(credential), Some(amz_date), Some(expires), Some(signed), Some(sig)) = (
            param("X-Amz-Credential"),
            param("X-Amz-Date"),
            param("X-Amz-Expires"),
            param("X-Amz-SignedHeaders"),
            param("X-Amz-Signature"),
        ) else {
            return Err(AuthError::Malformed(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.".into(),
            ));
        };
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = scope.as_slice() else {
            return Err(AuthError::Malformed(
                "Error parsing the X-Amz-Credential parameter.".into(),
            ));
        };
        let expires: i64 = expires
            .parse()
            .ok()
            .filter(|e| (1..=MAX_PRESIGN_SECS).contains(e))
            .ok_or_else(|| {
                AuthError::Malformed("X-Amz-Expires must be between 1 and 604800 seconds.".into())
            })?;
        let signed = Signed {
            access_key: access_key.to_string(),
            session_token: param("X-Amz-Security-Token").map(str::to_string),
            region: region.to_string(),
            presigned: true,
            payload: Payload::Unsigned,
            amz_date: amz_date.to_string(),
            date: date.to_string(),
            signed_headers: signed.split(';').map(str::to_string).collect(),
            signature: sig.to_string(),
            canonical_uri,
            canonical_query: canonical_query_presigned(req.uri.query()),
        };
        let signed_at = parse_amz_date(&signed.amz_date).ok_or_else(|| {
            AuthError::Malformed(
                "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".into(),
            )
        })?;
        check_scope(&signed, service, terminator, req)?;
        if signed_at - req.now > MAX_SKEW_SECS {
            return Err(AuthError::Skewed);
        }
        if req.now > signed_at + expires {
            return Err(AuthError::PresignExpired);
        }
        if !signed.signed_headers.iter().any(|h| h == "host") {
            return Err(AuthError::Malformed(
                "'host' must be a signed header of a presigned request.".into(),
            ));
        }
        return Ok(signed);
    }
    Err(AuthError::Missing)
}

fn check_scope(
    signed: &Signed,
    service: &str,
    terminator: &str,
    req: &Incoming<'_>,
) -> Result<(), AuthError> {
    if service != req.service.signing_name() || terminator != TERMINATOR {
        return Err(AuthError::Malformed(format!(
            "Credential should be scoped to correct service: '{}'.",
            req.service.signing_name()
        )));
    }
    if signed.amz_date.get(..8) != Some(signed.date.as_str()) {
        return Err(AuthError::Malformed(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.".into(),
        ));
    }
    if !signed.presigned {
        let at = parse_amz_date(&signed.amz_date).ok_or_else(|| {
            AuthError::Malformed("Date must be in ISO-8601 'basic format'.".into())
        })?;
        if (req.now - at).abs() > MAX_SKEW_SECS {
            return Err(AuthError::Skewed);
        }
    }
    Ok(())
}

impl Signed {
    fn scope(&self) -> Scope<'_> {
        Scope {
            date: &self.date,
            region: &self.region,
            service: "",
        }
    }

    /// Recomputes the signature with `secret` (`payload_hash` is what the canonical request
    /// carries: the signed header's value, or DynamoDB's body hash) and compares in constant
    /// time.
    pub fn check(
        &self,
        req: &Incoming<'_>,
        secret: &str,
        payload_hash: &str,
    ) -> Result<(), AuthError> {
        let names: Vec<&str> = self.signed_headers.iter().map(String::as_str).collect();
        let canonical = canonical_request_of(
            req.method.as_str(),
            &self.canonical_uri,
            &self.canonical_query,
            req.uri,
            req.headers,
            &names,
            payload_hash,
        )
        .map_err(|AbsentHeader(name)| {
            AuthError::Malformed(format!(
                "'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            ))
        })?;
        let scope = Scope {
            service: req.service.signing_name(),
            ..self.scope()
        };
        let to_sign = string_to_sign(&self.amz_date, &scope, &canonical);
        let expected = signature(secret, &scope, &to_sign);
        if tessera_crypto::constant_time_eq(expected.as_bytes(), self.signature.as_bytes()) {
            Ok(())
        } else {
            Err(AuthError::SignatureMismatch(Some(Box::new(Mismatch {
                access_key: self.access_key.clone(),
                signature_provided: self.signature.clone(),
                string_to_sign: to_sign,
                canonical_request: String::from_utf8_lossy(&canonical).into_owned(),
            }))))
        }
    }

    /// The seed signature of an aws-chunked body, its date and scope (for chunk signatures).
    pub fn chunk_context(&self, secret: &str, service: Service) -> ChunkSigner {
        ChunkSigner {
            key: tessera_sigv4::signing_key(
                secret,
                &self.date,
                &self.region,
                service.signing_name(),
            ),
            amz_date: self.amz_date.clone(),
            scope: format!(
                "{}/{}/{}/{TERMINATOR}",
                self.date,
                self.region,
                service.signing_name()
            ),
            previous: self.signature.clone(),
        }
    }
}

/// Verifies the chain of chunk signatures of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body.
pub struct ChunkSigner {
    key: Vec<u8>,
    amz_date: String,
    scope: String,
    previous: String,
}

/// SHA-256 of the empty string, hex.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl ChunkSigner {
    /// Checks one chunk's signature and moves the chain on.
    pub fn verify_chunk(&mut self, data: &[u8], given: &str) -> bool {
        use sha2::{Digest, Sha256};
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{EMPTY_SHA256}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            hex::encode(Sha256::digest(data))
        );
        let expected = hex::encode(tessera_sigv4::hmac_sha256(&self.key, sts.as_bytes()));
        let ok = tessera_crypto::constant_time_eq(expected.as_bytes(), given.as_bytes());
        if ok {
            self.previous = expected;
        }
        ok
    }

    /// Checks the trailer's signature (`x-amz-trailer-signature`) over the trailing headers.
    pub fn verify_trailer(&self, trailer: &[u8], given: &str) -> bool {
        use sha2::{Digest, Sha256};
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            self.previous,
            hex::encode(Sha256::digest(trailer))
        );
        let expected = hex::encode(tessera_sigv4::hmac_sha256(&self.key, sts.as_bytes()));
        tessera_crypto::constant_time_eq(expected.as_bytes(), given.as_bytes())
    }
}

#[cfg(test)]
mod tests;
