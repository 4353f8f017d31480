//! Fuzz entry points: each takes arbitrary bytes, runs one of Tessera's parsers of untrusted
//! input, and checks invariants that must hold for every input. A panic is a finding.
//!
//! The cargo-fuzz targets in `fuzz/` (nightly, libFuzzer; `scripts/fuzz`) call these, and
//! `tests/regressions.rs` replays every input kept in `regressions/{target}/` on stable, so a
//! crash once found stays fixed in CI.
#![allow(clippy::unwrap_used, clippy::expect_used)] // invariants are checked by panicking

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::sync::OnceLock;
use tessera_crypto::jwt::{Jwk, SigningKey};
use tessera_domain::filter::UserFilter;
use tessera_policy::{Policy, PolicyKind, RequestContext, SourcedPolicy};

/// A fuzz target: bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name, for the regression runner.
pub const TARGETS: &[(&str, Target)] = &[
    ("aws_json_request", aws_json_request),
    ("user_filter", user_filter),
    ("jwt", jwt),
    ("iam_policy", iam_policy),
    ("branding_css", branding_css),
    ("sigv4_request", sigv4_request),
    ("user_import_csv", user_import_csv),
    ("imported_hash", imported_hash),
    ("saml", saml),
    ("srp_public", srp_public),
    ("webauthn_registration", webauthn_registration),
];

/// An AWS JSON request body against the model: the first two bytes choose the service and the
/// operation, the rest is the body. Decoding and validation never panic, and a refusal always
/// says something.
pub fn aws_json_request(data: &[u8]) {
    let [s, o, body @ ..] = data else { return };
    let services = &tessera_wire::SERVICES;
    let service = services[usize::from(*s) % services.len()];
    let ops = service.operations;
    if ops.is_empty() {
        return;
    }
    let op = &ops[usize::from(*o) % ops.len()];
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    if let Err(rejection) = service.validate_input(op, &value) {
        assert!(!rejection.message().is_empty());
    }
}

/// ListUsers' filter: a parsed filter matches its own value.
pub fn user_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(filter)) = UserFilter::parse(text) {
        assert!(filter.matches(&filter.value));
    }
}

fn our_key() -> &'static Jwk {
    static KEY: OnceLock<Jwk> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().unwrap().0.jwk().clone())
}

/// A token as the API receives it: reading its claims and kid never panics, and no input made
/// without our private key verifies with our key, whatever its header claims (alg `none`,
/// HS256 with the public key as secret, another kid…).
pub fn jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tessera_crypto::jwt::unverified_claims(token);
    let _ = tessera_crypto::jwt::kid_of(token);
    let key = our_key();
    // Name our kid so the check reaches the signature rather than stopping at the kid.
    let forged = match token.split_once('.') {
        Some((_, rest)) => {
            let header = serde_json::json!({"alg": "RS256", "kid": key.kid});
            format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
        }
        None => token.to_string(),
    };
    assert!(tessera_crypto::jwt::verify(token, key).is_err());
    assert!(tessera_crypto::jwt::verify(&forged, key).is_err());
}

/// An IAM policy document of any kind: parsing never panics, and a parsed policy evaluates the
/// same way twice against requests with and without context keys and principals.
pub fn iam_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let requests = [
        RequestContext::new(
            "s3:GetObject",
            "arn:aws:s3:::mybucket/assets/my_picture.jpg",
        ),
        RequestContext::new("s3:ListBucket", "arn:aws:s3:::mybucket")
            .with_key("s3:prefix", "us-east-1:1234/")
            .with_key("cognito-identity.amazonaws.com:sub", "us-east-1:1234")
            .with_request_time(1_796_000_000_000),
        RequestContext::new(
            "dynamodb:PutItem",
            "arn:aws:dynamodb:us-east-1:000000000000:table/t",
        )
        .with_multi_key("dynamodb:LeadingKeys", ["us-east-1:1234"])
        .with_key("aws:SourceIp", "10.1.2.3")
        .with_bool("aws:SecureTransport", true),
        RequestContext::cognito_web_identity("us-east-1:pool", "us-east-1:id", &["authenticated"]),
    ];
    for kind in [
        PolicyKind::Identity,
        PolicyKind::Trust,
        PolicyKind::Resource,
    ] {
        let Ok(policy) = Policy::parse(text, kind) else {
            continue;
        };
        let sourced = [SourcedPolicy::new("fuzzed", &policy)];
        for request in &requests {
            let first = tessera_policy::evaluate(request, &sourced, None);
            let again = tessera_policy::evaluate(request, &sourced, Some(&sourced));
            assert_eq!(
                first.outcome,
                tessera_policy::evaluate(request, &sourced, None).outcome
            );
            // Identity ∩ the same policy as session policy can't allow more than the identity.
            if first.outcome != tessera_policy::Outcome::Allow {
                assert_ne!(again.outcome, tessera_policy::Outcome::Allow);
            }
        }
    }
}

/// Hosted-UI CSS through the allow-list: what passes comes out normalised, and normalising that
/// again changes nothing.
pub fn branding_css(data: &[u8]) {
    let Ok(css) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(clean) = tessera_domain::ui_css::sanitize(css) {
        assert_eq!(
            tessera_domain::ui_css::sanitize(&clean).ok().as_deref(),
            Some(clean.as_str())
        );
    }
}

/// A SigV4-signed request as the gateway receives it, written as text: the first line
/// `METHOD target`, then `name: value` header lines. Parsing the signature (header or
/// presigned form, S3 or DynamoDB) and recomputing it never panic; the canonical path and query
/// are fixed points of their own canonicalisation (a canonical form canonicalised again is
/// itself, so a client and the server can't drift apart by one re-encoding).
pub fn sigv4_request(data: &[u8]) {
    use tessera_gateway::auth::{Incoming, Service, parse};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let Some((method, target)) = lines.next().and_then(|l| l.split_once(' ')) else {
        return;
    };
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim_start());
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let path = parts.uri.path();
    let s3 = tessera_sigv4::canonical_uri_s3(path);
    assert_eq!(tessera_sigv4::canonical_uri_s3(&s3), s3, "{path:?}");
    assert!(s3.is_ascii());
    let query = tessera_sigv4::canonical_query(parts.uri.query());
    assert_eq!(
        tessera_sigv4::canonical_query((!query.is_empty()).then_some(query.as_str())),
        query
    );
    for service in [Service::S3, Service::DynamoDb] {
        let incoming = Incoming::of(&parts, service, 1_700_000_000);
        if let Ok(signed) = parse(&incoming) {
            let payload = signed.payload.as_str().to_string();
            // Whatever the signature says, a made-up secret doesn't verify it.
            let _ = signed.check(&incoming, "fuzz-secret", &payload);
        }
    }
}

/// A user-import CSV upload: the parser either refuses it with a message or yields rows of the
/// header's width (blank rows dropped); each row is read or refused with a message, and a row
/// read has the username its `cognito:username` column holds.
pub fn user_import_csv(data: &[u8]) {
    use tessera_domain::user_import::{PASSWORD_HASH_COLUMN, parse_csv, read_row};
    let expected: Vec<String> = [
        "name",
        "email",
        "email_verified",
        "phone_number",
        "phone_number_verified",
        "cognito:mfa_enabled",
        "cognito:username",
        PASSWORD_HASH_COLUMN,
    ]
    .map(str::to_string)
    .to_vec();
    match parse_csv(data.to_vec(), &expected) {
        Err(message) => assert!(!message.is_empty()),
        Ok(csv) => {
            for i in 0..csv.len() {
                let row = csv.row(i).unwrap();
                match read_row(&csv.header, &row) {
                    Err(message) => assert!(!message.is_empty()),
                    Ok(read) => {
                        let at = csv
                            .header
                            .iter()
                            .position(|h| h == "cognito:username")
                            .unwrap();
                        assert_eq!(read.username, row[at]);
                    }
                }
            }
        }
    }
}

/// A password hash from another system, as an import row carries it: the form and cost check
/// never panics, accepts only `$`-delimited strings within its size cap, and a hash it refuses
/// never verifies. (Verifying an accepted one costs what its parameters say — up to a GiB of
/// scrypt — so it isn't run here.)
pub fn imported_hash(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match tessera_crypto::imported::check(text) {
        // Every form accepted is a `$`-delimited hash string, and the check is a pure function.
        Some(algorithm) => {
            assert!(text.starts_with('$') && text.len() <= 1024);
            assert_eq!(tessera_crypto::imported::check(text), Some(algorithm));
        }
        None => assert!(!tessera_crypto::imported::verify("password", text)),
    }
}

/// The IdP metadata document (a SAML identity provider's XML) and the SAML response an
/// identity pool or STS receives: the metadata parser never panics, and no response made of
/// arbitrary bytes verifies against a real IdP key — half the input is tried as the response's
/// XML (base64-encoded here), half as it comes.
pub fn saml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = tessera_saml::parse_idp_metadata(text);
    let metadata = idp_metadata();
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    for response in [b64.as_str(), text] {
        assert!(
            tessera_saml::verify_for_aws(metadata, response, "us-east-1", 1_700_000_000_000)
                .is_err()
        );
    }
}

fn idp_metadata() -> &'static str {
    static METADATA: OnceLock<String> = OnceLock::new();
    METADATA.get_or_init(|| {
        let keys = tessera_saml::generate_sp_keys("us-east-1_fuzz", 1_700_000_000).unwrap();
        let cert = tessera_saml::pem_body(&keys.signing_certificate);
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.fuzz.test"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.fuzz.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
        )
    })
}

/// A client's SRP_A (hex of any length): parsing never panics, refuses what reduces to zero,
/// and yields the canonical hex of a number below N that parses to itself; the server's
/// session key from it never panics.
pub fn srp_public(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(a) = tessera_crypto::srp::parse_client_public(text) else {
        return;
    };
    assert!(!a.is_empty() && a.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(tessera_crypto::srp::parse_client_public(&a).unwrap(), a);
    let (verifier, b_secret) = srp_fixture();
    let exchange = tessera_crypto::srp::server_start(verifier, b_secret).unwrap();
    let _ = tessera_crypto::srp::server_session_key(text, &exchange.b_pub_hex, b_secret, verifier);
}

fn srp_fixture() -> (&'static [u8], &'static [u8]) {
    static FIXTURE: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    let (v, b) = FIXTURE.get_or_init(|| {
        let verifier =
            tessera_crypto::srp::verifier("us-east-1_fuzz", "user", "Passw0rd!", &[7; 16]).unwrap();
        (verifier, vec![9; 32])
    });
    (v, b)
}

/// A passkey registration response (RegistrationResponseJSON) against a real registration
/// state. The first byte picks the shape: the rest as the whole response JSON, or as the
/// `attestationObject` (CBOR) beside a clientDataJSON that passes its checks (right type,
/// challenge and origin), so the attestation and authenticator-data parsers are reached.
/// Nothing panics; a response that verifies yields a credential that round-trips.
pub fn webauthn_registration(data: &[u8]) {
    let [mode, rest @ ..] = data else { return };
    let (rp, options, state) = webauthn_fixture();
    let response = if mode % 2 == 0 {
        match serde_json::from_slice::<Value>(rest) {
            Ok(v) => v,
            Err(_) => return,
        }
    } else {
        let client_data = serde_json::json!({
            "type": "webauthn.create",
            "challenge": options["challenge"],
            "origin": "https://auth.example.com",
            "crossOrigin": false,
        });
        let id = URL_SAFE_NO_PAD.encode([*mode; 16]);
        serde_json::json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.to_string()),
                "attestationObject": URL_SAFE_NO_PAD.encode(rest),
            },
            "clientExtensionResults": {},
        })
    };
    let _ = tessera_crypto::webauthn::response_credential_id(&response);
    if let Ok(registered) = rp.finish_registration(&response, state) {
        assert!(!registered.credential_id.is_empty());
        let again: Value = serde_json::from_str(&registered.credential).unwrap();
        assert!(again.is_object());
    }
}

fn webauthn_fixture() -> &'static (tessera_crypto::webauthn::RelyingParty, Value, String) {
    static FIXTURE: OnceLock<(tessera_crypto::webauthn::RelyingParty, Value, String)> =
        OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rp = tessera_crypto::webauthn::RelyingParty::new(
            "auth.example.com",
            &["https://auth.example.com".to_string()],
            std::time::Duration::from_secs(300),
        )
        .unwrap();
        let (options, state) = rp
            .start_registration(&[1; 16], "user", "User", false, &[])
            .unwrap();
        (rp, options, state)
    })
}
