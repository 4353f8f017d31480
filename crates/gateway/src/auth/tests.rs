//! The verifier against an independent signer: requests signed by aws-sigv4 (the AWS SDK for
//! Rust's signer) as S3 and DynamoDB clients sign them, in header and presigned form.

use super::*;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use sha2::Digest;
use std::time::{Duration, UNIX_EPOCH};

const KEY: &str = "ASIAEXAMPLEEXAMPLE01";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const NOW: i64 = 1_800_000_000;

type Req = (Method, Uri, HeaderMap);

fn signed_request(
    service: Service,
    method: &str,
    url: &str,
    body: &[u8],
    presigned: bool,
    unsigned_payload: bool,
) -> Req {
    let creds =
        aws_credential_types::Credentials::new(KEY, SECRET, Some("TOKEN".into()), None, "t");
    let identity: aws_smithy_runtime_api::client::identity::Identity = creds.into();
    let mut settings = SigningSettings::default();
    if service == Service::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    if presigned {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
        settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name(service.signing_name())
        .time(UNIX_EPOCH + Duration::from_secs(NOW as u64))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = Uri::try_from(url).unwrap().authority().unwrap().to_string();
    let headers = [("host", host.as_str())];
    let body = if unsigned_payload || presigned {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body)
    };
    let req = SignableRequest::new(method, url, headers.into_iter(), body).unwrap();
    let (instructions, _) = sign(req, &params).unwrap().into_parts();
    let mut http_req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("host", &host)
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut http_req);
    let (parts, ()) = http_req.into_parts();
    (parts.method, parts.uri, parts.headers)
}

fn verify(
    service: Service,
    (method, uri, headers): &Req,
    body_hash: Option<&str>,
    now: i64,
) -> Result<Signed, AuthError> {
    let incoming = Incoming {
        method,
        uri,
        headers,
        service,
        now,
    };
    let signed = parse(&incoming)?;
    let hash = body_hash
        .map(str::to_string)
        .unwrap_or_else(|| signed.payload.as_str().to_string());
    signed.check(&incoming, SECRET, &hash)?;
    Ok(signed)
}

#[test]
fn s3_header_form_with_a_single_encoded_path_verifies() {
    let body = b"hello";
    let r = signed_request(
        Service::S3,
        "PUT",
        "http://127.0.0.1:9000/mybucket/us-east-1%3Aabc/my%20file%21.txt",
        body,
        false,
        false,
    );
    let s = verify(Service::S3, &r, None, NOW).unwrap();
    assert_eq!(s.access_key, KEY);
    assert_eq!(s.session_token.as_deref(), Some("TOKEN"));
    assert_eq!(
        s.payload,
        Payload::Hex(hex::encode(sha2::Sha256::digest(body)))
    );
    assert!(!s.presigned);
    let incoming = Incoming {
        method: &r.0,
        uri: &r.1,
        headers: &r.2,
        service: Service::S3,
        now: NOW,
    };
    let signed = parse(&incoming).unwrap();
    let Err(AuthError::SignatureMismatch(Some(m))) =
        signed.check(&incoming, "wrong", signed.payload.as_str())
    else {
        panic!("a wrong secret must not verify");
    };
    // What S3 reports back: the server's view of the request, for the client to compare.
    assert_eq!(m.signature_provided, signed.signature);
    assert!(m.string_to_sign.starts_with("AWS4-HMAC-SHA256\n"));
    assert!(
        m.canonical_request
            .starts_with("PUT\n/mybucket/us-east-1%3Aabc/my%20file%21.txt\n"),
        "{}",
        m.canonical_request
    );
}

#[test]
fn s3_unsigned_payload_and_presigned_urls_verify() {
    let r = signed_request(
        Service::S3,
        "PUT",
        "http://127.0.0.1:9000/b/k",
        b"x",
        false,
        true,
    );
    assert_eq!(
        verify(Service::S3, &r, None, NOW).unwrap().payload,
        Payload::Unsigned
    );
    let r = signed_request(
        Service::S3,
        "GET",
        "http://127.0.0.1:9000/b/a%20b.txt?versionId=1",
        b"",
        true,
        true,
    );
    let s = verify(Service::S3, &r, None, NOW + 200).unwrap();
    assert!(s.presigned);
    assert_eq!(s.session_token.as_deref(), Some("TOKEN"));
    assert_eq!(
        verify(Service::S3, &r, None, NOW + 301).unwrap_err(),
        AuthError::PresignExpired
    );
}

#[test]
fn dynamodb_double_encodes_and_binds_the_body() {
    let body = br#"{"TableName":"t"}"#;
    let r = signed_request(
        Service::DynamoDb,
        "POST",
        "http://127.0.0.1:9000/",
        body,
        false,
        false,
    );
    let hash = hex::encode(sha2::Sha256::digest(body));
    verify(Service::DynamoDb, &r, Some(&hash), NOW).unwrap();
    let other = hex::encode(sha2::Sha256::digest(b"{}"));
    assert!(matches!(
        verify(Service::DynamoDb, &r, Some(&other), NOW).unwrap_err(),
        AuthError::SignatureMismatch(_)
    ));
}

#[test]
fn skew_scope_and_missing_pieces_are_refused() {
    let r = signed_request(
        Service::S3,
        "GET",
        "http://127.0.0.1:9000/b/k",
        b"",
        false,
        false,
    );
    assert_eq!(
        verify(Service::S3, &r, None, NOW + 16 * 60).unwrap_err(),
        AuthError::Skewed
    );
    assert_eq!(
        verify(Service::S3, &r, None, NOW - 16 * 60).unwrap_err(),
        AuthError::Skewed
    );
    // Signed for s3, sent as DynamoDB.
    assert!(matches!(
        verify(Service::DynamoDb, &r, Some("x"), NOW),
        Err(AuthError::Malformed(_))
    ));
    let (m, u, mut h) = r.clone();
    h.remove("x-amz-content-sha256");
    assert!(matches!(
        verify(Service::S3, &(m, u, h), None, NOW),
        Err(AuthError::MissingContentSha)
    ));
    let (m, u, mut h) = r.clone();
    h.remove("authorization");
    assert_eq!(
        verify(Service::S3, &(m, u, h), None, NOW).unwrap_err(),
        AuthError::Missing
    );
    // An x-amz-* header the signature doesn't cover.
    let (m, u, mut h) = r;
    h.insert("x-amz-acl", "public-read".parse().unwrap());
    assert!(matches!(
        verify(Service::S3, &(m, u, h), None, NOW),
        Err(AuthError::Malformed(_))
    ));
}

#[test]
fn signed_chunks_chain_from_the_seed_signature() {
    // AWS's worked example (S3 API reference, "Signature Calculations for the Authorization
    // Header: Transferring Payload in Multiple Chunks"): 65536 + 1024 bytes of 'a', then the
    // final empty chunk.
    let signed = Signed {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        session_token: None,
        region: "us-east-1".into(),
        presigned: false,
        payload: Payload::Streaming("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".into()),
        amz_date: "20130524T000000Z".into(),
        date: "20130524".into(),
        signed_headers: vec![],
        signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9".into(),
        canonical_uri: String::new(),
        canonical_query: String::new(),
    };
    let mut chain = signed.chunk_context(SECRET, Service::S3);
    assert!(chain.verify_chunk(
        &[b'a'; 65536],
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    ));
    assert!(chain.verify_chunk(
        &[b'a'; 1024],
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    ));
    assert!(chain.verify_chunk(
        b"",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
    ));
    let mut wrong = signed.chunk_context("other", Service::S3);
    assert!(!wrong.verify_chunk(
        &[b'a'; 65536],
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    ));
}
