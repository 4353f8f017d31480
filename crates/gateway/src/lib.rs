//! Tessera's SigV4 policy gateway: one listener in front of an S3-compatible and a
//! DynamoDB-compatible store that verifies the credentials Tessera issued (identity-pool and
//! STS role sessions, and the root keys), evaluates the role's policies with the request's
//! context, and forwards what is allowed re-signed with the backend's own key. Denied requests
//! get the service's own error and never reach the backend.
//!
//! - [`auth`]: SigV4 as S3 and DynamoDB check it (header and presigned forms, payload modes).
//! - [`chunked`]: aws-chunked bodies decoded as they stream, chunk signatures and trailing
//!   checksums verified.
//! - [`s3`], [`dynamodb`]: request → action, resource and condition keys (pure, table-tested).
//! - [`proxy`]: the request's way through, and the re-signed forward to the backend.
//!
//! Requests are told apart by `X-Amz-Target: DynamoDB_20120810.*` (DynamoDB's JSON 1.0);
//! everything else is S3 REST, path-style or virtual-host style under `s3_domain`.

pub mod auth;
pub mod chunked;
pub mod dynamodb;
mod errors;
mod proxy;
pub mod s3;

pub use proxy::{Gateway, router};

/// One authorization a request needs: an action on a resource, with the request's own
/// condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub action: String,
    pub resource: String,
    pub keys: Vec<(String, String)>,
    /// `dynamodb:LeadingKeys` (multivalued), when the operation has one.
    pub leading_keys: Option<Vec<String>>,
}

impl Check {
    pub fn new(action: &str, resource: &str) -> Check {
        Check {
            action: action.to_string(),
            resource: resource.to_string(),
            keys: Vec::new(),
            leading_keys: None,
        }
    }
}

/// A backend: where to forward, and the static key to sign with.
#[derive(Clone)]
pub struct Backend {
    /// `http(s)://host[:port]`, no trailing slash.
    pub endpoint: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The gateway's settings.
#[derive(Clone, Debug, Default)]
pub struct GatewaySettings {
    pub s3: Option<Backend>,
    pub dynamodb: Option<Backend>,
    /// Virtual-host style: `{bucket}.{s3_domain}`.
    pub s3_domain: Option<String>,
    /// In DynamoDB ARNs and the root principal.
    pub account_id: String,
    /// The deployment's root credentials (administrator: everything allowed).
    pub root_credentials: Option<(String, String)>,
    /// `aws:SecureTransport`: the listener serves TLS.
    pub tls: bool,
}

/// `%XX` decoded (`+` stays `+`), as UTF-8 (lossy).
pub fn percent_decode_str(s: &str) -> String {
    String::from_utf8_lossy(&tessera_sigv4::percent_decode(s)).into_owned()
}
