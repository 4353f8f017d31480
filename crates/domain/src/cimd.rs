//! Client ID Metadata Document (CIMD) policies: an OAuth client names itself by an `https://`
//! URL, and the authorization server fetches the client's registration (a JSON document) from
//! that URL. A policy maps up to five URL patterns to one existing app client of the pool; a
//! URL matching a policy is admitted as a public client whose settings are the app client's,
//! narrowed by its document (redirect URIs, grant types, scopes).
//!
//! Where Cognito's documentation is silent, the IETF draft "OAuth Client ID Metadata Document"
//! decides: the URL is `https` with a path, no fragment, no credentials and no dot segments;
//! the document's `client_id` equals the URL; it declares `redirect_uris`; it authenticates
//! with `none` (Cognito: CIMD clients are public) and carries no secret.
//!
//! Patterns: `*` matches any run of characters other than `/`, so a wildcard never crosses the
//! host/path boundary or a path segment (`https://*.example.com/c.json` can't match
//! `https://evil.test/.example.com/c.json`).

use crate::{ClientId, DomainError, DomainResult, Timestamp, UserPoolId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// CacheDuration when a policy doesn't set one (one day), and its bounds.
pub const DEFAULT_CACHE_SECONDS: u32 = 86_400;
pub const MAX_CACHE_SECONDS: u32 = 31_556_952;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CimdPolicy {
    /// Lower-case letters and digits (the model's pattern).
    pub id: String,
    pub pool_id: UserPoolId,
    /// The app client the policy admits URLs as. The policy outlives the client (Describe then
    /// omits it, as Cognito does).
    pub client_id: ClientId,
    pub name: String,
    pub cache_seconds: u32,
    pub url_patterns: Vec<String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

pub fn policy_not_found() -> DomainError {
    DomainError::resource_not_found("CIMD policy not found.")
}

pub fn cached_url_not_found() -> DomainError {
    DomainError::new(
        crate::ErrorKind::CachedCimdUrlDoesNotExist,
        "No client metadata document is cached for this URL.",
    )
}

fn check_patterns(patterns: &[String]) -> DomainResult<()> {
    for p in patterns {
        if metadata_url_shape(&p.replace('*', "x")).is_err() {
            return Err(DomainError::invalid_parameter(
                "URLPatterns must be https URLs with a path, without credentials, query or fragment.",
            ));
        }
    }
    Ok(())
}

impl CimdPolicy {
    pub fn new(
        id: String,
        pool_id: UserPoolId,
        client_id: ClientId,
        name: String,
        cache_seconds: Option<u32>,
        url_patterns: Vec<String>,
        now: Timestamp,
    ) -> DomainResult<Self> {
        check_patterns(&url_patterns)?;
        Ok(Self {
            id,
            pool_id,
            client_id,
            name,
            cache_seconds: cache_seconds.unwrap_or(DEFAULT_CACHE_SECONDS),
            url_patterns,
            created_at: now,
            modified_at: now,
        })
    }

    /// UpdateCIMDPolicy: the client and patterns are replaced; name and cache duration when
    /// given.
    pub fn update(
        &mut self,
        client_id: ClientId,
        name: Option<String>,
        cache_seconds: Option<u32>,
        url_patterns: Vec<String>,
        now: Timestamp,
    ) -> DomainResult<()> {
        check_patterns(&url_patterns)?;
        self.client_id = client_id;
        if let Some(n) = name {
            self.name = n;
        }
        if let Some(c) = cache_seconds {
            self.cache_seconds = c;
        }
        self.url_patterns = url_patterns;
        self.modified_at = now;
        Ok(())
    }

    pub fn admits(&self, url: &str) -> bool {
        self.url_patterns.iter().any(|p| pattern_matches(p, url))
    }

    /// How long a fetched document stays cached: the answer's `Cache-Control: max-age` when it
    /// lies between one day and one year, else the policy's duration.
    pub fn cache_for(&self, max_age: Option<u64>) -> u64 {
        match max_age {
            Some(s)
                if (u64::from(DEFAULT_CACHE_SECONDS)..=u64::from(MAX_CACHE_SECONDS))
                    .contains(&s) =>
            {
                s
            }
            _ => u64::from(self.cache_seconds),
        }
    }
}

/// Whether `url` matches `pattern` (`*`: any run of characters other than `/`). Exact
/// comparison otherwise: URLs are case-sensitive in their paths, and a client id is compared
/// as a string by the draft.
pub fn pattern_matches(pattern: &str, url: &str) -> bool {
    fn go(p: &[u8], u: &[u8]) -> bool {
        match p.split_first() {
            None => u.is_empty(),
            Some((b'*', rest)) => {
                let mut i = 0;
                loop {
                    if go(rest, &u[i..]) {
                        return true;
                    }
                    if i == u.len() || u[i] == b'/' {
                        return false;
                    }
                    i += 1;
                }
            }
            Some((c, rest)) => u.first() == Some(c) && go(rest, &u[1..]),
        }
    }
    go(pattern.as_bytes(), url.as_bytes())
}

/// A client id URL as the draft allows it: `https`, a host, a path other than `/`, no
/// credentials, fragment or query, no `.`/`..` segments.
pub fn metadata_url_shape(url: &str) -> DomainResult<()> {
    let bad = || DomainError::invalid_parameter("Invalid client metadata document URL.");
    let rest = url.strip_prefix("https://").ok_or_else(bad)?;
    let (authority, path) = rest.split_once('/').ok_or_else(bad)?;
    if authority.is_empty()
        || authority.contains('@')
        || path.is_empty()
        || url.contains(['#', '?'])
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
        || path.split('/').any(|s| s == "." || s == "..")
    {
        return Err(bad());
    }
    Ok(())
}

/// The registration a metadata document gives, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    /// Space-separated scopes the client may ask for; `None`: no narrowing.
    pub scope: Option<String>,
}

impl ClientMetadata {
    /// Reads and checks the document fetched from `url`; the error says what is wrong.
    pub fn parse(url: &str, doc: &Value) -> Result<Self, String> {
        let obj = doc.as_object().ok_or("the document is not a JSON object")?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| -> Result<Option<Vec<String>>, String> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(Some)
                    .ok_or_else(|| format!("{k} must be an array of strings")),
                Some(_) => Err(format!("{k} must be an array of strings")),
            }
        };
        if text("client_id").as_deref() != Some(url) {
            return Err("client_id in the document is not the URL it was fetched from".into());
        }
        if obj.contains_key("client_secret") || obj.contains_key("client_secret_expires_at") {
            return Err("a client metadata document must not carry a client secret".into());
        }
        match text("token_endpoint_auth_method").as_deref() {
            None | Some("none") => {}
            Some(_) => return Err("token_endpoint_auth_method must be none".into()),
        }
        let redirect_uris = list("redirect_uris")?.unwrap_or_default();
        if redirect_uris.is_empty() {
            return Err("redirect_uris is required".into());
        }
        let grant_types = list("grant_types")?.unwrap_or_else(|| vec!["authorization_code".into()]);
        if grant_types.iter().any(|g| g == "client_credentials") {
            return Err("CIMD clients can't use the client_credentials grant".into());
        }
        Ok(Self {
            client_id: url.to_string(),
            client_name: text("client_name"),
            redirect_uris,
            grant_types,
            response_types: list("response_types")?.unwrap_or_else(|| vec!["code".into()]),
            scope: text("scope"),
        })
    }
}

/// A document fetched for a URL that a policy admits, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedDocument {
    pub pool_id: UserPoolId,
    pub policy_id: String,
    pub url: String,
    pub metadata: ClientMetadata,
    pub cached_at: Timestamp,
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards_stay_within_a_segment() {
        let p = "https://*.example.com/clients/*.json";
        assert!(pattern_matches(p, "https://app.example.com/clients/a.json"));
        assert!(!pattern_matches(
            p,
            "https://evil.test/.example.com/clients/a.json"
        ));
        assert!(!pattern_matches(
            p,
            "https://app.example.com/clients/x/a.json"
        ));
        assert!(!pattern_matches(
            p,
            "https://app.example.com/clients/a.json.evil"
        ));
        assert!(pattern_matches(
            "https://c.example/m.json",
            "https://c.example/m.json"
        ));
        assert!(!pattern_matches(
            "https://c.example/m.json",
            "https://c.example/m.jsonx"
        ));
    }

    #[test]
    fn urls_follow_the_draft() {
        assert!(metadata_url_shape("https://c.example/m.json").is_ok());
        for bad in [
            "http://c.example/m.json",
            "https://c.example",
            "https://c.example/",
            "https://u:p@c.example/m",
            "https://c.example/m#f",
            "https://c.example/m?q",
            "https://c.example/a/../m",
        ] {
            assert!(metadata_url_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn documents_must_name_their_url_and_be_public() {
        let url = "https://c.example/m.json";
        let ok = json!({"client_id": url, "redirect_uris": ["https://c.example/cb"]});
        let m = ClientMetadata::parse(url, &ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.grant_types, vec!["authorization_code"]);
        for bad in [
            json!({"client_id": "https://other.example/m.json", "redirect_uris": ["https://c.example/cb"]}),
            json!({"client_id": url}),
            json!({"client_id": url, "redirect_uris": ["https://c.example/cb"], "token_endpoint_auth_method": "client_secret_basic"}),
            json!({"client_id": url, "redirect_uris": ["https://c.example/cb"], "client_secret": "s"}),
            json!({"client_id": url, "redirect_uris": ["https://c.example/cb"], "grant_types": ["client_credentials"]}),
            json!([1]),
        ] {
            assert!(ClientMetadata::parse(url, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cache_control_wins_only_within_bounds() {
        let p = CimdPolicy::new(
            "p1".into(),
            UserPoolId::parse("us-east-1_abc").unwrap_or_else(|e| panic!("{e}")),
            ClientId::parse("client1").unwrap_or_else(|e| panic!("{e}")),
            "n".into(),
            Some(200_000),
            vec!["https://c.example/*".into()],
            Timestamp::from_millis(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.cache_for(None), 200_000);
        assert_eq!(p.cache_for(Some(60)), 200_000);
        assert_eq!(p.cache_for(Some(100_000)), 100_000);
        assert!(p.admits("https://c.example/m.json"));
    }
}
