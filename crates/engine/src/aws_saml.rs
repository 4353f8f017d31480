//! SAML assertions addressed to AWS: what STS AssumeRoleWithSAML and identity-pool SAML logins
//! accept (IAM user guide, "Configuring SAML assertions for the authentication response").
//!
//! The IdP is registered in IAM (CreateSAMLProvider); its metadata holds the keys. The
//! response is IdP-initiated, its audience `urn:amazon:webservices`, its recipient AWS's
//! sign-in endpoint (the identity provider is set up exactly as for AWS; Tessera plays AWS).
//! [`tessera_saml::verify_for_aws`] checks the XML; this module reads AWS's attributes:
//!
//! - `https://aws.amazon.com/SAML/Attributes/Role`: `roleArn,providerArn` pairs (either order);
//! - `…/RoleSessionName` (required by STS), `…/SessionDuration`, `…/SourceIdentity`;
//! - `…/PrincipalTag:{Key}`: session tags (the trust policy must then allow `sts:TagSession`);
//!
//! and the `SAML:*` condition keys a trust policy sees (`SAML:aud`, `:iss`, `:sub`,
//! `:sub_type`, `:namequalifier`, `:doc`, and the attributes IAM names by their friendly
//! names).

use crate::Engine;
use crate::error::EngineResult;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tessera_domain::iam::SamlProvider;

pub const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
pub const SESSION_NAME_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
pub const SESSION_DURATION_ATTRIBUTE: &str =
    "https://aws.amazon.com/SAML/Attributes/SessionDuration";
pub const SOURCE_IDENTITY_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";
const PRINCIPAL_TAG_PREFIX: &str = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:";
const NAME_ID_FORMAT_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

/// Attributes IAM exposes as `SAML:{name}` condition keys, by their `urn:oid:` names (IAM user
/// guide, "Available keys for SAML-based AWS STS federation").
const OID_KEYS: &[(&str, &str)] = &[
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", "edupersonaffiliation"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.2", "edupersonnickname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.3", "edupersonorgdn"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.4", "edupersonorgunitdn"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.5",
        "edupersonprimaryaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", "edupersonprincipalname"),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "edupersonentitlement"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.9",
        "edupersonscopedaffiliation",
    ),
    ("urn:oid:1.3.6.1.4.1.5923.1.1.1.10", "edupersontargetedid"),
    ("urn:oid:2.5.4.3", "cn"),
    ("urn:oid:2.5.4.4", "sn"),
    ("urn:oid:2.5.4.42", "givenName"),
    ("urn:oid:2.5.4.10", "o"),
    ("urn:oid:2.5.4.11", "ou"),
    ("urn:oid:0.9.2342.19200300.100.1.1", "uid"),
    ("urn:oid:0.9.2342.19200300.100.1.3", "mail"),
    ("urn:oid:2.16.840.1.113730.3.1.241", "displayName"),
    (
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.8",
        "edupersonprimaryorgunitdn",
    ),
];

/// Why an assertion for AWS was refused.
#[derive(Debug)]
pub enum AwsSamlRefusal {
    /// No SAML provider in IAM with that ARN.
    NoProvider,
    /// The provider's metadata `validUntil` has passed.
    ProviderExpired,
    /// The XML was refused (signature, audience, recipient, time window …).
    Refused(tessera_saml::Refusal),
}

/// A verified assertion for AWS, and what AWS reads from it.
#[derive(Debug)]
pub struct AwsAssertion {
    pub provider: SamlProvider,
    pub verified: tessera_saml::Verified,
    /// `(role ARN, provider ARN)` pairs from the Role attribute.
    pub roles: Vec<(String, String)>,
    pub session_name: Option<String>,
    pub session_duration: Option<String>,
    pub source_identity: Option<String>,
    /// Session tags from `PrincipalTag:{Key}` attributes.
    pub principal_tags: BTreeMap<String, String>,
}

impl AwsAssertion {
    /// `SubjectType`: the NameID format without SAML 2.0's prefix (`persistent`, `transient`),
    /// other formats whole.
    pub fn subject_type(&self) -> String {
        let format = self
            .verified
            .name_id_format
            .as_deref()
            .unwrap_or("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");
        format
            .strip_prefix(NAME_ID_FORMAT_PREFIX)
            .unwrap_or(format)
            .to_string()
    }

    /// `NameQualifier`: base64(SHA-1(issuer + account id + "/" + provider name)), which with
    /// the subject names a user uniquely.
    pub fn name_qualifier(&self, account_id: &str) -> String {
        let input = format!(
            "{}{account_id}/{}",
            self.verified.issuer, self.provider.name
        );
        base64::engine::general_purpose::STANDARD.encode(tessera_crypto::sha1(input.as_bytes()))
    }

    /// The roles this assertion offers through `provider_arn`.
    pub fn roles_for(&self, provider_arn: &str) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, p)| p == provider_arn)
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// The `SAML:*` condition keys of a trust policy, single- and multi-valued.
    pub fn condition_keys(&self, account_id: &str) -> Vec<(String, Vec<String>)> {
        let v = &self.verified;
        let mut keys = vec![
            ("SAML:aud".to_string(), vec![v.recipient.clone()]),
            ("SAML:iss".to_string(), vec![v.issuer.clone()]),
            ("SAML:sub".to_string(), vec![v.name_id.clone()]),
            ("SAML:sub_type".to_string(), vec![self.subject_type()]),
            (
                "SAML:namequalifier".to_string(),
                vec![self.name_qualifier(account_id)],
            ),
            (
                "SAML:doc".to_string(),
                vec![format!("{account_id}/{}", self.provider.name)],
            ),
        ];
        for (name, values) in &v.attributes {
            if let Some((_, key)) = OID_KEYS.iter().find(|(oid, _)| oid == name) {
                keys.push((format!("SAML:{key}"), values.clone()));
            }
        }
        keys
    }

    /// The assertion as claims for identity-pool role mapping rules and principal tags: each
    /// attribute by its name (one value as a string, several as a list), `sub` (the NameID),
    /// `iss`, `aud` (the recipient), and `cognito:roles` / `cognito:preferred_role` from the
    /// Role attribute so that a `Token` mapping picks among them as for user-pool groups.
    pub fn claims(&self, provider_arn: &str) -> Map<String, Value> {
        let v = &self.verified;
        let mut claims = Map::new();
        for (name, values) in &v.attributes {
            let value = match values.as_slice() {
                [one] => Value::String(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::String).collect()),
            };
            claims.insert(name.clone(), value);
        }
        claims.insert("sub".into(), Value::String(v.name_id.clone()));
        claims.insert("iss".into(), Value::String(v.issuer.clone()));
        claims.insert("aud".into(), Value::String(v.recipient.clone()));
        let roles = self.roles_for(provider_arn);
        if let [only] = roles.as_slice() {
            claims.insert("cognito:preferred_role".into(), Value::String(only.clone()));
        }
        claims.insert(
            "cognito:roles".into(),
            Value::Array(roles.into_iter().map(Value::String).collect()),
        );
        claims
    }
}

/// `roleArn,providerArn` in either order (IdPs are documented with both).
fn role_pair(value: &str) -> Option<(String, String)> {
    let (a, b) = value.split_once(',')?;
    let (a, b) = (a.trim(), b.trim());
    let is_role = |s: &str| s.starts_with("arn:") && s.contains(":role/");
    let is_provider = |s: &str| s.starts_with("arn:") && s.contains(":saml-provider/");
    if is_role(a) && is_provider(b) {
        Some((a.to_string(), b.to_string()))
    } else if is_provider(a) && is_role(b) {
        Some((b.to_string(), a.to_string()))
    } else {
        None
    }
}

fn first_value(verified: &tessera_saml::Verified, name: &str) -> Option<String> {
    verified
        .attributes
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.first().cloned())
}

/// Reads AWS's attributes from a verified assertion.
pub fn read_assertion(provider: SamlProvider, verified: tessera_saml::Verified) -> AwsAssertion {
    let roles = verified
        .attributes
        .iter()
        .filter(|(n, _)| n == ROLE_ATTRIBUTE)
        .flat_map(|(_, values)| values.iter().filter_map(|v| role_pair(v)))
        .collect();
    let principal_tags = verified
        .attributes
        .iter()
        .filter_map(|(n, values)| {
            let key = n.strip_prefix(PRINCIPAL_TAG_PREFIX)?;
            Some((key.to_string(), values.first()?.clone()))
        })
        .collect();
    AwsAssertion {
        session_name: first_value(&verified, SESSION_NAME_ATTRIBUTE),
        session_duration: first_value(&verified, SESSION_DURATION_ATTRIBUTE),
        source_identity: first_value(&verified, SOURCE_IDENTITY_ATTRIBUTE),
        roles,
        principal_tags,
        provider,
        verified,
    }
}

impl Engine {
    /// Verifies a base64 `SAMLResponse` for AWS against the IAM SAML provider `provider_arn`.
    pub(crate) async fn verify_aws_saml(
        &self,
        provider_arn: &str,
        saml_response: &str,
    ) -> EngineResult<Result<AwsAssertion, AwsSamlRefusal>> {
        let provider = {
            let mut tx = self.inner.store.read().await?;
            tx.get_saml_provider(provider_arn).await?
        };
        let Some(provider) = provider else {
            return Ok(Err(AwsSamlRefusal::NoProvider));
        };
        let now = self.now();
        if provider.valid_until.is_some_and(|until| until <= now) {
            return Ok(Err(AwsSamlRefusal::ProviderExpired));
        }
        let verified = match tessera_saml::verify_for_aws(
            &provider.metadata_document,
            saml_response,
            &self.inner.settings.region,
            now.millis(),
        ) {
            Ok(v) => v,
            Err(e) => {
                tracing::info!(target: "audit", provider = %provider.arn, refusal = %e, "SAML assertion for AWS refused");
                return Ok(Err(AwsSamlRefusal::Refused(e)));
            }
        };
        Ok(Ok(read_assertion(provider, verified)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_domain::Timestamp;

    fn assertion(attributes: Vec<(&str, Vec<&str>)>) -> AwsAssertion {
        let provider = SamlProvider {
            arn: "arn:aws:iam::123456789012:saml-provider/Corp".into(),
            name: "Corp".into(),
            metadata_document: String::new(),
            created_at: Timestamp::from_millis(0),
            valid_until: None,
            tags: vec![],
        };
        let verified = tessera_saml::Verified {
            assertion_id: "_a".into(),
            issuer: "https://example.com/saml".into(),
            name_id: "alice".into(),
            name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()),
            session_indexes: vec![],
            attributes: attributes
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.into_iter().map(str::to_string).collect()))
                .collect(),
            keep_until_ms: 0,
            recipient: tessera_saml::AWS_SIGNIN_ACS.into(),
        };
        read_assertion(provider, verified)
    }

    #[test]
    fn role_pairs_read_in_either_order_and_others_are_ignored() {
        let p = "arn:aws:iam::123456789012:saml-provider/Corp";
        let a = assertion(vec![(
            ROLE_ATTRIBUTE,
            vec![
                "arn:aws:iam::123456789012:role/A,arn:aws:iam::123456789012:saml-provider/Corp",
                "arn:aws:iam::123456789012:saml-provider/Corp, arn:aws:iam::123456789012:role/B",
                "arn:aws:iam::123456789012:role/C,arn:aws:iam::123456789012:saml-provider/Other",
                "not a pair",
            ],
        )]);
        assert_eq!(
            a.roles_for(p),
            vec![
                "arn:aws:iam::123456789012:role/A".to_string(),
                "arn:aws:iam::123456789012:role/B".to_string()
            ]
        );
        let claims = a.claims(p);
        assert_eq!(claims["cognito:roles"].as_array().map(Vec::len), Some(2));
        assert!(!claims.contains_key("cognito:preferred_role"));
    }

    #[test]
    fn subject_type_name_qualifier_and_condition_keys_follow_iam() {
        let a = assertion(vec![
            ("urn:oid:2.5.4.3", vec!["Alice A"]),
            (SESSION_NAME_ATTRIBUTE, vec!["alice@example.com"]),
            (
                "https://aws.amazon.com/SAML/Attributes/PrincipalTag:team",
                vec!["blue"],
            ),
        ]);
        assert_eq!(a.subject_type(), "persistent");
        assert_eq!(a.session_name.as_deref(), Some("alice@example.com"));
        assert_eq!(
            a.principal_tags.get("team").map(String::as_str),
            Some("blue")
        );
        // base64(SHA-1("https://example.com/saml" + "123456789012" + "/Corp")), computed
        // independently with `printf %s … | openssl sha1 -binary | base64`.
        assert_eq!(
            a.name_qualifier("123456789012"),
            "6z3tcfHN3SZB6gXLBVDd1/C8NUk="
        );
        let keys = a.condition_keys("123456789012");
        let get = |k: &str| keys.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("SAML:cn"), Some(vec!["Alice A".to_string()]));
        assert_eq!(
            get("SAML:aud"),
            Some(vec!["https://signin.aws.amazon.com/saml".to_string()])
        );
        assert_eq!(get("SAML:doc"), Some(vec!["123456789012/Corp".to_string()]));
    }
}
