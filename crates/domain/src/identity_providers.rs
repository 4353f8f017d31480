//! A user pool's external identity providers (CreateIdentityProvider and its siblings): social
//! providers (Google, Facebook, Login with Amazon, Sign in with Apple), any OpenID Connect
//! provider, and SAML 2.0.
//!
//! `ProviderDetails` is a bag of strings whose keys depend on the type; [`check_details`] holds
//! Cognito's rules for each. Keys Cognito derives and returns on Describe (`authorize_url`,
//! `token_url` …) are not stored: they are computed from the type and the deployment's endpoint
//! overrides ([`SocialEndpoints`]), so a request that sends Describe's output back (Terraform
//! does) is accepted and the derived values are recomputed. Secrets (`client_secret`,
//! `private_key`) are split off by the engine and sealed at rest.

use crate::error::{DomainError, DomainResult, ErrorKind};
use crate::ids::UserPoolId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProviderType {
    #[serde(rename = "SAML")]
    Saml,
    Facebook,
    Google,
    LoginWithAmazon,
    SignInWithApple,
    #[serde(rename = "OIDC")]
    Oidc,
}

impl ProviderType {
    pub const ALL: [ProviderType; 6] = [
        Self::Saml,
        Self::Facebook,
        Self::Google,
        Self::LoginWithAmazon,
        Self::SignInWithApple,
        Self::Oidc,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Saml => "SAML",
            Self::Facebook => "Facebook",
            Self::Google => "Google",
            Self::LoginWithAmazon => "LoginWithAmazon",
            Self::SignInWithApple => "SignInWithApple",
            Self::Oidc => "OIDC",
        }
    }

    /// Social providers must be registered under their type's own name.
    pub const fn is_social(self) -> bool {
        matches!(
            self,
            Self::Facebook | Self::Google | Self::LoginWithAmazon | Self::SignInWithApple
        )
    }

    /// The claim the federated username is made of (`{ProviderName}_{value}`); SAML uses the
    /// NameID instead.
    pub const fn subject_claim(self) -> &'static str {
        match self {
            Self::Facebook => "id",
            Self::LoginWithAmazon => "user_id",
            _ => "sub",
        }
    }
}

impl fmt::Display for ProviderType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `ProviderDetails` keys that hold secrets: sealed at rest; `private_key` is never returned.
pub const SECRET_KEYS: [&str; 2] = ["client_secret", "private_key"];

/// A pool holds at most this many providers (Cognito's quota).
pub const MAX_PROVIDERS: usize = 300;
/// A provider has at most this many IdpIdentifiers.
pub const MAX_IDENTIFIERS: usize = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityProvider {
    pub pool_id: UserPoolId,
    pub name: String,
    pub provider_type: ProviderType,
    /// ProviderDetails as given and normalised, without secrets and derived keys.
    pub details: BTreeMap<String, String>,
    /// The secret details, sealed with the master key by the engine (bound to pool, provider
    /// and key).
    pub sealed: BTreeMap<String, Vec<u8>>,
    pub attribute_mapping: BTreeMap<String, String>,
    pub idp_identifiers: Vec<String>,
    #[serde(default)]
    pub acr_mapping: Option<BTreeMap<String, String>>,
    /// SAML: the metadata document sign-ins are verified with (the MetadataFile, or what
    /// MetadataURL answered when the provider was created or updated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_metadata: Option<String>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

impl IdentityProvider {
    /// A `"true"`/`"false"` detail (SAML's IDPSignout, IDPInit, EncryptedResponses).
    pub fn flag(&self, key: &str) -> bool {
        self.details.get(key).is_some_and(|v| v == "true")
    }
}

/// A user pool's SAML service-provider key pairs (GetSigningCertificate's certificate and the
/// ActiveEncryptionCertificate), generated on first use. The private keys are sealed with the
/// master key by the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSpKeys {
    pub pool_id: UserPoolId,
    /// PEM.
    pub signing_certificate: String,
    pub sealed_signing_key: Vec<u8>,
    /// PEM.
    pub encryption_certificate: String,
    pub sealed_encryption_key: Vec<u8>,
    pub created_at: Timestamp,
}

/// The endpoints of one social provider type: Cognito's built-in ones, or the deployment's
/// `[federation.<Type>]` override (tests, mirrors, air-gapped deployments).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialEndpoints {
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub jwks_uri: Option<String>,
}

impl SocialEndpoints {
    /// Cognito's endpoints for a social type (reference §5.1); `api_version` is Facebook's.
    pub fn builtin(t: ProviderType, api_version: &str) -> Self {
        let s = |v: &str| Some(v.to_string());
        match t {
            ProviderType::Google => Self {
                issuer: s("https://accounts.google.com"),
                authorize_url: s("https://accounts.google.com/o/oauth2/v2/auth"),
                token_url: s("https://www.googleapis.com/oauth2/v4/token"),
                userinfo_url: s("https://people.googleapis.com/v1/people/me?personFields="),
                jwks_uri: s("https://www.googleapis.com/oauth2/v3/certs"),
            },
            ProviderType::Facebook => Self {
                issuer: None,
                authorize_url: Some(format!(
                    "https://www.facebook.com/{api_version}/dialog/oauth"
                )),
                token_url: Some(format!(
                    "https://graph.facebook.com/{api_version}/oauth/access_token"
                )),
                userinfo_url: Some(format!(
                    "https://graph.facebook.com/{api_version}/me?fields="
                )),
                jwks_uri: None,
            },
            ProviderType::LoginWithAmazon => Self {
                issuer: None,
                authorize_url: s("https://www.amazon.com/ap/oa"),
                token_url: s("https://api.amazon.com/auth/o2/token"),
                userinfo_url: s("https://api.amazon.com/user/profile"),
                jwks_uri: None,
            },
            ProviderType::SignInWithApple => Self {
                issuer: s("https://appleid.apple.com"),
                authorize_url: s("https://appleid.apple.com/auth/authorize"),
                token_url: s("https://appleid.apple.com/auth/token"),
                userinfo_url: None,
                jwks_uri: s("https://appleid.apple.com/auth/keys"),
            },
            ProviderType::Oidc | ProviderType::Saml => Self::default(),
        }
    }

    /// Each endpoint the override sets replaces the built-in one.
    pub fn overridden_by(self, o: Option<&SocialEndpoints>) -> Self {
        let Some(o) = o else { return self };
        Self {
            issuer: o.issuer.clone().or(self.issuer),
            authorize_url: o.authorize_url.clone().or(self.authorize_url),
            token_url: o.token_url.clone().or(self.token_url),
            userinfo_url: o.userinfo_url.clone().or(self.userinfo_url),
            jwks_uri: o.jwks_uri.clone().or(self.jwks_uri),
        }
    }
}

/// What Describe adds to a provider's stored details: the derived keys of reference §5.1, from
/// the effective endpoints.
pub fn derived_details(p: &IdentityProvider, e: &SocialEndpoints) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            out.insert(k.to_string(), v.clone());
        }
    };
    match p.provider_type {
        ProviderType::Google => {
            put("attributes_url", e.userinfo_url.as_ref());
            put("attributes_url_add_attributes", Some(&"true".to_string()));
            put("authorize_url", e.authorize_url.as_ref());
            put("oidc_issuer", e.issuer.as_ref());
            put("token_request_method", Some(&"POST".to_string()));
            put("token_url", e.token_url.as_ref());
        }
        ProviderType::Facebook => {
            put("attributes_url", e.userinfo_url.as_ref());
            put("attributes_url_add_attributes", Some(&"true".to_string()));
            put("authorize_url", e.authorize_url.as_ref());
            put("token_request_method", Some(&"GET".to_string()));
            put("token_url", e.token_url.as_ref());
        }
        ProviderType::LoginWithAmazon => {
            put("attributes_url", e.userinfo_url.as_ref());
            put("attributes_url_add_attributes", Some(&"false".to_string()));
            put("authorize_url", e.authorize_url.as_ref());
            put("token_request_method", Some(&"POST".to_string()));
            put("token_url", e.token_url.as_ref());
        }
        ProviderType::SignInWithApple => {
            put("attributes_url_add_attributes", Some(&"false".to_string()));
            put("authorize_url", e.authorize_url.as_ref());
            put("oidc_issuer", e.issuer.as_ref());
            put("token_request_method", Some(&"POST".to_string()));
            put("token_url", e.token_url.as_ref());
        }
        ProviderType::Oidc => {
            put("attributes_url_add_attributes", Some(&"false".to_string()));
        }
        ProviderType::Saml => {}
    }
    out
}

/// A sign-in sent to an external provider and not yet back: stored under the hash of the
/// `state` handed to the provider, bound to the browser by a cookie holding the same value, and
/// taken once. Five minutes to complete, as Cognito cancels slower federated sign-ins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederationState {
    pub pool_id: UserPoolId,
    pub provider_name: String,
    /// The app's authorization request, resumed when the provider answers.
    pub request: crate::oauth::AuthorizeRequest,
    /// The nonce sent to the provider, which its ID token must carry.
    pub nonce: String,
    /// SAML: the ID of the AuthnRequest (or LogoutRequest) sent, which the answer must name
    /// in InResponseTo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_request_id: Option<String>,
    /// SAML single logout: where `/logout` sends the browser once the provider has answered
    /// (set only for a logout waiting for the provider; `request` then names the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_logout: Option<String>,
    pub expires_at: Timestamp,
}

/// Who a SAML provider said signed in, as its LogoutRequest must name them again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSignIn {
    pub provider_name: String,
    pub name_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    #[serde(default)]
    pub session_indexes: Vec<String>,
}

/// How long a federated sign-in may take.
pub const FEDERATION_STATE_TTL_MS: i64 = 5 * 60 * 1000;

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid_parameter(message)
}

/// The keys a request may send per type: `(required, optional, derived)`. Derived keys are
/// accepted and dropped.
fn keys_of(
    t: ProviderType,
) -> (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
) {
    const SOCIAL_DERIVED: &[&str] = &[
        "attributes_url",
        "attributes_url_add_attributes",
        "authorize_url",
        "oidc_issuer",
        "token_request_method",
        "token_url",
    ];
    match t {
        ProviderType::Google | ProviderType::LoginWithAmazon => (
            &["client_id", "client_secret", "authorize_scopes"],
            &[],
            SOCIAL_DERIVED,
        ),
        ProviderType::Facebook => (
            &["client_id", "client_secret", "authorize_scopes"],
            &["api_version"],
            SOCIAL_DERIVED,
        ),
        ProviderType::SignInWithApple => (
            &[
                "client_id",
                "team_id",
                "key_id",
                "private_key",
                "authorize_scopes",
            ],
            &[],
            SOCIAL_DERIVED,
        ),
        ProviderType::Oidc => (
            &[
                "client_id",
                "client_secret",
                "authorize_scopes",
                "attributes_request_method",
                "oidc_issuer",
            ],
            &["authorize_url", "token_url", "attributes_url", "jwks_uri"],
            &["attributes_url_add_attributes"],
        ),
        ProviderType::Saml => (
            &[],
            &[
                "MetadataFile",
                "MetadataURL",
                "IDPSignout",
                "IDPInit",
                "EncryptedResponses",
                "RequestSigningAlgorithm",
            ],
            &[
                "ActiveEncryptionCertificate",
                "SLORedirectBindingURI",
                "SSORedirectBindingURI",
                "SSOPostBindingURI",
            ],
        ),
    }
}

/// An absolute `http(s)` URL. Whether plain HTTP may be used is the outbound guard's call
/// (only with private addresses allowed), made when the URL is fetched.
fn check_url(key: &str, url: &str) -> DomainResult<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !url.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(invalid(format!("{key} must be an absolute https URL."))),
    }
}

/// Checks and normalises a request's ProviderDetails for `t`: required keys present and
/// non-empty, no keys foreign to the type, values in range. Returns the details to keep
/// (derived keys dropped; secrets still in, the engine seals them).
pub fn check_details(
    t: ProviderType,
    details: &BTreeMap<String, String>,
) -> DomainResult<BTreeMap<String, String>> {
    let (required, optional, derived) = keys_of(t);
    let mut kept = BTreeMap::new();
    for (k, v) in details {
        if required.contains(&k.as_str()) || optional.contains(&k.as_str()) {
            kept.insert(k.clone(), v.trim().to_string());
        } else if !derived.contains(&k.as_str()) {
            return Err(invalid(format!(
                "{k} is not a valid provider detail for provider type {t}."
            )));
        }
    }
    let missing = required
        .iter()
        .any(|k| kept.get(*k).is_none_or(|v| v.is_empty()));
    if missing {
        return Err(invalid(match t {
            ProviderType::SignInWithApple => {
                "client_id, team_id, key_id, private_key and authorize_scopes are all required idp details".to_string()
            }
            ProviderType::Oidc => {
                "client_id, client_secret, authorize_scopes, attributes_request_method and oidc_issuer are all required idp details".to_string()
            }
            _ => "client_id, client_secret and authorize_scopes are all required idp details"
                .to_string(),
        }));
    }
    match t {
        ProviderType::Oidc => {
            let method = kept
                .get("attributes_request_method")
                .map(String::as_str)
                .unwrap_or_default();
            if method != "GET" && method != "POST" {
                return Err(invalid(
                    "attributes_request_method must be either GET or POST.",
                ));
            }
            let issuer = kept.get("oidc_issuer").cloned().unwrap_or_default();
            check_url("oidc_issuer", &issuer)?;
            if issuer.ends_with('/') {
                return Err(invalid("oidc_issuer must not end with a slash."));
            }
            for k in ["authorize_url", "token_url", "attributes_url", "jwks_uri"] {
                if let Some(u) = kept.get(k) {
                    check_url(k, u)?;
                }
            }
            let scopes = kept.get("authorize_scopes").cloned().unwrap_or_default();
            if !scopes.split(' ').any(|s| s == "openid") {
                return Err(invalid("authorize_scopes must contain openid."));
            }
        }
        ProviderType::Facebook => {
            if let Some(v) = kept.get("api_version") {
                let ok = v.strip_prefix('v').is_some_and(|n| {
                    !n.is_empty()
                        && n.split('.')
                            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                });
                if !ok {
                    return Err(invalid(format!("Invalid api_version {v}.")));
                }
            }
        }
        ProviderType::SignInWithApple => {
            let key = kept.get("private_key").cloned().unwrap_or_default();
            if !key.contains("BEGIN PRIVATE KEY") {
                return Err(invalid(
                    "private_key must be the PEM of a PKCS#8 EC private key.",
                ));
            }
        }
        ProviderType::Saml => {
            let file = kept.get("MetadataFile").filter(|v| !v.is_empty());
            let url = kept.get("MetadataURL").filter(|v| !v.is_empty());
            match (file, url) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(invalid(
                        "Exactly one of MetadataFile and MetadataURL must be provided.",
                    ));
                }
                (Some(f), None) => {
                    if f.chars().count() > 131_072 || !f.contains("EntityDescriptor") {
                        return Err(invalid("MetadataFile is not valid SAML metadata."));
                    }
                }
                (None, Some(u)) => check_url("MetadataURL", u)?,
            }
            for k in ["IDPSignout", "IDPInit", "EncryptedResponses"] {
                if let Some(v) = kept.get(k)
                    && v != "true"
                    && v != "false"
                {
                    return Err(invalid(format!("{k} must be true or false.")));
                }
            }
            if let Some(v) = kept.get("RequestSigningAlgorithm")
                && v != "rsa-sha256"
            {
                return Err(invalid("RequestSigningAlgorithm must be rsa-sha256."));
            }
        }
        ProviderType::Google | ProviderType::LoginWithAmazon => {}
    }
    Ok(kept)
}

/// The provider name rules beyond the model's pattern: social types use their own name.
pub fn check_name(name: &str, t: ProviderType) -> DomainResult<()> {
    if t.is_social() && name != t.as_str() {
        return Err(invalid(format!(
            "ProviderName must be {t} for provider type {t}."
        )));
    }
    if !t.is_social() && ProviderType::parse(name).is_some_and(ProviderType::is_social) {
        return Err(invalid(format!("ProviderName {name} is reserved.")));
    }
    if name == "COGNITO" || name == "Cognito" {
        return Err(invalid(format!("ProviderName {name} is reserved.")));
    }
    Ok(())
}

/// The mapping a provider gets when the request gives none for `username`: the type's subject.
pub fn default_mapping(
    t: ProviderType,
    mut given: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    if t != ProviderType::Saml {
        given
            .entry("username".to_string())
            .or_insert_with(|| t.subject_claim().to_string());
    }
    given
}

/// Attribute-mapping keys must be attributes of the pool (or `username`); values at most 2048.
pub fn check_mapping(
    mapping: &BTreeMap<String, String>,
    is_pool_attribute: impl Fn(&str) -> bool,
) -> DomainResult<()> {
    for (k, v) in mapping {
        if k != "username" && !is_pool_attribute(k) {
            return Err(invalid(format!(
                "Attribute {k} in AttributeMapping is not part of the user pool schema."
            )));
        }
        if v.is_empty() || v.chars().count() > 2048 {
            return Err(invalid(format!("Invalid attribute mapping for {k}.")));
        }
    }
    Ok(())
}

/// IdpIdentifiers: at most 50, none repeated.
pub fn check_identifiers(ids: &[String]) -> DomainResult<()> {
    if ids.len() > MAX_IDENTIFIERS {
        return Err(invalid(format!(
            "A provider can have at most {MAX_IDENTIFIERS} identifiers."
        )));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return Err(invalid(format!("Duplicate identifier {id}.")));
        }
    }
    Ok(())
}

pub fn provider_not_found(name: &str) -> DomainError {
    DomainError::resource_not_found(format!("Identity provider {name} does not exist."))
}

pub fn identifier_not_found(id: &str) -> DomainError {
    DomainError::resource_not_found(format!(
        "Identity provider with identifier {id} does not exist."
    ))
}

pub fn duplicate_provider(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::DuplicateProvider,
        format!("A provider with the name {name} already exists in this user pool."),
    )
}

pub fn duplicate_identifier(id: &str) -> DomainError {
    DomainError::new(
        ErrorKind::DuplicateProvider,
        format!("The identifier {id} is already used by another provider in this user pool."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn msg(r: DomainResult<BTreeMap<String, String>>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn social_providers_need_id_secret_and_scopes() {
        let ok = check_details(
            ProviderType::Google,
            &details(&[
                ("client_id", "c"),
                ("client_secret", "s"),
                ("authorize_scopes", "email profile openid"),
                ("authorize_url", "https://echoed.back/by/terraform"),
            ]),
        );
        let kept = ok.unwrap_or_default();
        assert_eq!(kept.len(), 3, "derived keys are dropped: {kept:?}");
        assert_eq!(
            msg(check_details(
                ProviderType::Google,
                &details(&[("client_id", "c"), ("authorize_scopes", "email")])
            )),
            "client_id, client_secret and authorize_scopes are all required idp details"
        );
        assert!(
            msg(check_details(
                ProviderType::Google,
                &details(&[
                    ("client_id", "c"),
                    ("client_secret", "s"),
                    ("authorize_scopes", "email"),
                    ("team_id", "x")
                ])
            ))
            .contains("team_id is not a valid provider detail")
        );
    }

    #[test]
    fn oidc_rules() {
        let base = [
            ("client_id", "c"),
            ("client_secret", "s"),
            ("authorize_scopes", "openid email"),
            ("attributes_request_method", "GET"),
            ("oidc_issuer", "https://login.example.com"),
        ];
        assert!(check_details(ProviderType::Oidc, &details(&base)).is_ok());
        let with = |k: &'static str, v: &'static str| {
            let mut d = details(&base);
            d.insert(k.into(), v.into());
            check_details(ProviderType::Oidc, &d)
        };
        assert!(msg(with("attributes_request_method", "PUT")).contains("GET or POST"));
        assert!(msg(with("oidc_issuer", "https://login.example.com/")).contains("slash"));
        assert!(msg(with("oidc_issuer", "ftp://x")).contains("absolute https URL"));
        assert!(msg(with("authorize_scopes", "email")).contains("openid"));
        assert!(msg(with("jwks_uri", "/relative")).contains("jwks_uri"));
        assert!(with("jwks_uri", "http://127.0.0.1:3900/jwks").is_ok());
    }

    #[test]
    fn saml_needs_one_metadata_source_and_boolean_flags() {
        let md = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>";
        assert!(check_details(ProviderType::Saml, &details(&[("MetadataFile", md)])).is_ok());
        assert!(msg(check_details(ProviderType::Saml, &details(&[]))).contains("Exactly one"));
        assert!(
            msg(check_details(
                ProviderType::Saml,
                &details(&[("MetadataFile", md), ("MetadataURL", "https://x/md")])
            ))
            .contains("Exactly one")
        );
        assert!(
            msg(check_details(
                ProviderType::Saml,
                &details(&[("MetadataFile", md), ("IDPSignout", "yes")])
            ))
            .contains("true or false")
        );
        assert!(
            msg(check_details(
                ProviderType::Saml,
                &details(&[
                    ("MetadataFile", md),
                    ("RequestSigningAlgorithm", "rsa-sha1")
                ])
            ))
            .contains("rsa-sha256")
        );
    }

    #[test]
    fn names_and_identifiers() {
        assert!(check_name("Google", ProviderType::Google).is_ok());
        assert!(check_name("MyGoogle", ProviderType::Google).is_err());
        assert!(check_name("Google", ProviderType::Oidc).is_err());
        assert!(check_name("COGNITO", ProviderType::Oidc).is_err());
        assert!(check_name("Corp", ProviderType::Saml).is_ok());
        assert!(check_identifiers(&["a".into(), "b".into()]).is_ok());
        assert!(check_identifiers(&["a".into(), "a".into()]).is_err());
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        assert!(check_identifiers(&many).is_err());
    }

    #[test]
    fn defaults_and_overrides() {
        let m = default_mapping(ProviderType::Facebook, BTreeMap::new());
        assert_eq!(m.get("username").map(String::as_str), Some("id"));
        assert!(default_mapping(ProviderType::Saml, BTreeMap::new()).is_empty());
        let local = SocialEndpoints {
            authorize_url: Some("http://127.0.0.1:3900/auth".into()),
            ..Default::default()
        };
        let e = SocialEndpoints::builtin(ProviderType::Google, "v17.0").overridden_by(Some(&local));
        assert_eq!(
            e.authorize_url.as_deref(),
            Some("http://127.0.0.1:3900/auth")
        );
        assert_eq!(e.issuer.as_deref(), Some("https://accounts.google.com"));
    }
}
