//! Verification of AWS Signature Version 4 on IAM-signed operations.
//!
//! We recompute the signature the client must have computed — canonical request, string to sign,
//! derived key — from exactly the headers it says it signed, and compare in constant time. Only
//! the configured credentials are accepted; requests more than 15 minutes from our clock are
//! refused, as AWS does.

use crate::error::ApiError;
use axum::http::{HeaderMap, Method, Uri};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

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

struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, ApiError> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256")
        .ok_or_else(|| incomplete("Unsupported authorization scheme; use AWS4-HMAC-SHA256."))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(incomplete(
            "Credential must be AKID/date/region/service/aws4_request.",
        ));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed.split(';').collect(),
        signature,
    })
}

/// Seconds since the epoch of an `x-amz-date` (`20240102T030405Z`).
fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.is_char_boundary(8) || &s[8..9] != "T" || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let year = i64::from(num(0..4)?);
    tessera_domain::Timestamp::from_civil(
        year,
        num(4..6)?,
        num(6..8)?,
        num(9..11)?,
        num(11..13)?,
        num(13..15)?,
    )
    .map(|t| t.secs())
}

/// RFC 3986 unreserved characters pass; everything else is %XX (upper-case hex).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
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

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn canonical_query(uri: &Uri) -> String {
    let Some(q) = uri.query() else {
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

/// Canonical URI for every service but S3: each segment of the path as sent, encoded once more.
fn canonical_uri(uri: &Uri) -> String {
    let path = uri.path();
    if path.is_empty() {
        return "/".into();
    }
    uri_encode(path, true)
}

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
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

pub fn verify(req: &Request<'_>, credentials: &[Credentials]) -> Result<Caller, ApiError> {
    let header = req
        .headers
        .get("authorization")
        .ok_or_else(missing_token)?
        .to_str()
        .map_err(|_| incomplete("Authorization header is not ASCII."))?;
    let auth = parse_authorization(header)?;
    if auth.service != req.service {
        return Err(invalid_signature(format!(
            "Credential should be scoped to correct service: '{}'.",
            req.service
        )));
    }
    let creds = credentials
        .iter()
        .find(|c| c.access_key_id == auth.access_key)
        .ok_or_else(unrecognized)?;
    let amz_date = req
        .headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| incomplete("Missing X-Amz-Date header."))?;
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| incomplete("Invalid X-Amz-Date."))?;
    if (req.now - signed_at).abs() > MAX_SKEW_SECS {
        return Err(invalid_signature(format!(
            "Signature expired: {amz_date} is now earlier or later than 15 minutes from the server's time."
        )));
    }
    if !amz_date.starts_with(auth.date) {
        return Err(invalid_signature(
            "Credential date does not match X-Amz-Date.",
        ));
    }
    if !auth.signed_headers.contains(&"host") {
        return Err(incomplete("'Host' must be a signed header."));
    }
    let mut canonical_headers = String::new();
    for name in &auth.signed_headers {
        let value = if *name == "host" {
            match req.headers.get("host").and_then(|v| v.to_str().ok()) {
                Some(h) => h.to_string(),
                None => req
                    .uri
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            }
        } else {
            let values: Vec<String> = req
                .headers
                .get_all(*name)
                .iter()
                .map(|v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            values.join(",")
        };
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let payload_hash = match req
        .headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(h) if auth.signed_headers.contains(&"x-amz-content-sha256") => h.to_string(),
        _ => hex::encode(Sha256::digest(req.body)),
    };
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.as_str(),
        canonical_uri(req.uri),
        canonical_query(req.uri),
        canonical_headers,
        auth.signed_headers.join(";"),
        payload_hash
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        auth.date.as_bytes(),
    );
    let k_region = hmac(&k_date, auth.region.as_bytes());
    let k_service = hmac(&k_region, auth.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    if tessera_crypto::constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) {
        Ok(Caller {
            access_key_id: creds.access_key_id.clone(),
        })
    } else {
        Err(invalid_signature(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_dates() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(parse_amz_date("2015-08-30"), None);
    }

    /// The AWS SigV4 test suite's "get-vanilla" case (credentials from the suite).
    #[test]
    fn aws_test_suite_get_vanilla() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        let uri: Uri = "/".parse().unwrap();
        let creds = [Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }];
        let req = Request {
            method: &Method::GET,
            uri: &uri,
            headers: &headers,
            body: b"",
            service: "service",
            now: 1_440_938_160,
        };
        assert_eq!(
            verify(&req, &creds).map(|c| c.access_key_id),
            Ok("AKIDEXAMPLE".to_string())
        );
        // Tampered signature, wrong secret, stale clock and wrong service are all refused.
        let wrong = [Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "other".into(),
        }];
        assert_eq!(
            verify(&req, &wrong).map_err(|e| e.code),
            Err("InvalidSignatureException".into())
        );
        let late = Request {
            now: 1_440_938_160 + 3600,
            ..req
        };
        assert!(verify(&late, &creds).is_err());
        let other = Request {
            service: "cognito-idp",
            now: 1_440_938_160,
            ..late
        };
        assert!(verify(&other, &creds).is_err());
        assert_eq!(
            verify(
                &Request {
                    now: 1_440_938_160,
                    service: "service",
                    ..other
                },
                &[]
            )
            .map_err(|e| e.code),
            Err("UnrecognizedClientException".into())
        );
    }

    /// The suite's "get-vanilla-query-order-key-case" case exercises query canonicalisation.
    #[test]
    fn aws_test_suite_query_order() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
                .parse()
                .unwrap(),
        );
        let uri: Uri = "/?Param2=value2&Param1=value1".parse().unwrap();
        let creds = [Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }];
        let req = Request {
            method: &Method::GET,
            uri: &uri,
            headers: &headers,
            body: b"",
            service: "service",
            now: 1_440_938_160,
        };
        assert!(verify(&req, &creds).is_ok());
    }
}
