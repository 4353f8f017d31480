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
use sha2::{Digest, Sha256};
#[cfg(test)]
use tessera_sigv4::canonical_uri;
use tessera_sigv4::{
    AbsentHeader, Scope, TERMINATOR, canonical_request, http_date_as_amz, parse_amz_date,
    signature, string_to_sign,
};
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

const MAX_SKEW_SECS: i64 = 15 * 60;

pub(crate) fn incomplete(msg: impl Into<String>) -> ApiError {
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
    auth: tessera_sigv4::Authorization<'a>,
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
    let auth = tessera_sigv4::parse_authorization(header).map_err(incomplete)?;

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
