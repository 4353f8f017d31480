//! SigV4 for Invoke calls, as the AWS SDK signs them (service `lambda`, the path
//! double-encoded in the canonical request as for every service but S3, no payload-hash header).

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::SystemTime;

/// The headers to add to a request so it carries a signature: `authorization`, `x-amz-date`
/// and, with temporary credentials, `x-amz-security-token`.
///
/// `url` must be the exact (already percent-encoded) URL sent; `headers` are the request's own
/// headers to sign besides `host`, which is derived from `url` as the HTTP client will send it.
pub(crate) fn signature_headers(
    credentials: &Credentials,
    service: &str,
    region: &str,
    time: SystemTime,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let request = SignableRequest::new(
        "POST",
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect())
}

/// The SigV4 headers for a POST to another AWS-compatible service (Cognito Streams' Kinesis
/// PutRecord), signed as [`signature_headers`] signs Invoke calls.
pub fn sign_post(
    credentials: &crate::AwsCredentials,
    service: &str,
    region: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let credentials = Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        credentials.session_token.clone(),
        None,
        "tessera",
    );
    signature_headers(
        &credentials,
        service,
        region,
        SystemTime::now(),
        url,
        headers,
        body,
    )
}
