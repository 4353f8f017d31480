//! Identity pools (cognito-identity): pools, identities and the temporary credentials they are
//! given. Pure model; role mapping rules live in [`role_mapping`].

pub mod role_mapping;

use crate::error::{DomainError, DomainResult};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use role_mapping::{RoleChoice, RoleMapping};

/// `REGION:GUID`, the model's `[\w-]+:[0-9a-f-]+`, 1–55 characters. Identity pool ids and
/// identity ids share the shape.
fn id_shape(s: &str) -> bool {
    s.len() <= 55
        && s.split_once(':').is_some_and(|(region, guid)| {
            !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && !guid.is_empty()
                && guid
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c) || c == '-')
        })
}

macro_rules! region_guid_id {
    ($name:ident, $what:literal) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id in `region` from 16 random bytes (a version-4 UUID).
            pub fn generate(region: &str, random: [u8; 16]) -> Self {
                let guid = uuid::Builder::from_random_bytes(random).into_uuid();
                Self(format!("{region}:{}", guid.hyphenated()))
            }

            pub fn parse(s: &str) -> DomainResult<Self> {
                if id_shape(s) {
                    Ok(Self(s.to_string()))
                } else {
                    Err(DomainError::invalid_parameter(format!(
                        concat!("Invalid ", $what, ": {}"),
                        s
                    )))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn region(&self) -> &str {
                self.0.split_once(':').map(|(r, _)| r).unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

region_guid_id!(IdentityPoolId, "identity pool id");
region_guid_id!(IdentityId, "identity id");

/// A user pool as an identity pool's provider (`CognitoIdentityProviders`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CognitoProvider {
    #[serde(default)]
    pub provider_name: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub server_side_token_check: Option<bool>,
}

/// Where a principal tag's value comes from, per identity provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrincipalTagMap {
    pub use_defaults: bool,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
}

impl PrincipalTagMap {
    /// Cognito's defaults for user pools and OIDC providers: the client id and the subject
    /// (cognito-identity `SetPrincipalTagAttributeMap` docs: `aud` and `sub`).
    pub fn defaults() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("client".to_string(), "aud".to_string()),
            ("username".to_string(), "sub".to_string()),
        ])
    }

    /// The tag → claim map in force.
    pub fn effective(&self) -> BTreeMap<String, String> {
        if self.use_defaults {
            Self::defaults()
        } else {
            self.principal_tags.clone()
        }
    }

    /// Session tags from a token's claims: each mapped claim that is present and a string (or a
    /// number or boolean, written out).
    pub fn tags_from(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
    ) -> BTreeMap<String, String> {
        self.effective()
            .into_iter()
            .filter_map(|(tag, claim)| {
                let value = match claims.get(&claim)? {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    serde_json::Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((tag, value))
            })
            .collect()
    }
}

/// An identity pool's configuration, stored whole. Field names are Cognito's, so the stored
/// JSON reads like the API's `IdentityPool`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IdentityPoolConfig {
    pub allow_unauthenticated_identities: bool,
    pub allow_classic_flow: Option<bool>,
    pub supported_login_providers: BTreeMap<String, String>,
    pub developer_provider_name: Option<String>,
    #[serde(rename = "OpenIdConnectProviderARNs")]
    pub open_id_connect_provider_arns: Vec<String>,
    pub cognito_identity_providers: Vec<CognitoProvider>,
    #[serde(rename = "SamlProviderARNs")]
    pub saml_provider_arns: Vec<String>,
    pub identity_pool_tags: BTreeMap<String, String>,
    /// `authenticated` / `unauthenticated` → role ARN.
    pub roles: BTreeMap<String, String>,
    pub role_mappings: BTreeMap<String, RoleMapping>,
    /// Per identity provider name.
    pub principal_tag_maps: BTreeMap<String, PrincipalTagMap>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityPool {
    pub id: IdentityPoolId,
    pub name: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub config: IdentityPoolConfig,
}

impl IdentityPool {
    /// The client ids a user-pool provider of this name is configured with.
    pub fn clients_of(&self, provider: &str) -> Vec<&str> {
        self.config
            .cognito_identity_providers
            .iter()
            .filter(|p| p.provider_name.as_deref() == Some(provider))
            .filter_map(|p| p.client_id.as_deref())
            .collect()
    }
}

/// The message Cognito answers for an identity pool that doesn't exist.
pub fn pool_not_found(id: &str) -> DomainError {
    DomainError::resource_not_found(format!("IdentityPool '{id}' not found."))
}

pub fn identity_not_found(id: &str) -> DomainError {
    DomainError::resource_not_found(format!("Identity '{id}' not found."))
}

/// Developer-provider logins are stored under this prefix in an identity's login map, so they
/// never collide with a public provider's name.
pub const DEVELOPER_LOGIN: &str = "developer:";

/// An identity: an id in one pool, with the logins linked to it (provider name → the subject
/// that provider vouched for). Without logins it is a guest (unauthenticated) identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub id: IdentityId,
    pub pool_id: IdentityPoolId,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub logins: BTreeMap<String, String>,
    /// Merged into another identity (ListIdentities' HideDisabled hides these).
    #[serde(default)]
    pub disabled: bool,
}

impl Identity {
    pub fn is_authenticated(&self) -> bool {
        !self.logins.is_empty()
    }

    /// Provider names for DescribeIdentity (developer logins under the provider's name).
    pub fn login_names(&self) -> Vec<String> {
        self.logins
            .keys()
            .map(|k| k.strip_prefix(DEVELOPER_LOGIN).unwrap_or(k).to_string())
            .collect()
    }
}

/// Temporary AWS credentials issued to an identity (GetCredentialsForIdentity), as stored: the
/// secret sealed with the master key, only the hash of the session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsSession {
    pub access_key_id: String,
    pub sealed_secret: Vec<u8>,
    pub token_hash: Vec<u8>,
    pub identity_id: IdentityId,
    pub pool_id: IdentityPoolId,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub grant: SessionGrant,
}

/// What a session may do and who it is: the role, the principal, the policy that scopes it down
/// and its session tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionGrant {
    pub role_arn: String,
    /// `arn:aws:sts::{account}:assumed-role/{roleName}/CognitoIdentityCredentials`.
    pub principal_arn: String,
    /// `AROA…:CognitoIdentityCredentials`.
    pub user_id: String,
    /// `authenticated` + provider names, or `unauthenticated`.
    pub amr: Vec<String>,
    pub session_policy: Option<String>,
    pub principal_tags: BTreeMap<String, String>,
}

/// The session name Cognito gives every enhanced-flow session.
pub const SESSION_NAME: &str = "CognitoIdentityCredentials";

/// The name part of a role ARN (`arn:aws:iam::123:role/path/Name` → `Name`).
pub fn role_name(role_arn: &str) -> &str {
    role_arn.rsplit('/').next().unwrap_or(role_arn)
}

/// Whether a string is an IAM role ARN (`arn:aws:iam::ACCOUNT:role/NAME`), as Cognito checks
/// the Roles and RoleARN values it is given.
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && !account.is_empty()
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty() && !n.ends_with('/')))
}

/// The scope-down policy Cognito attaches to guest sessions in the enhanced flow: only the
/// services its documentation lists (cognito `iam-roles` guide), so a guest role can never
/// reach IAM, STS and the like even if its own policy allows it.
pub fn guest_session_policy() -> String {
    const ACTIONS: &[&str] = &[
        "cognito-identity:*",
        "cognito-idp:*",
        "cognito-sync:*",
        "dynamodb:*",
        "s3:*",
        "sqs:*",
        "sns:*",
        "firehose:*",
        "kinesis:*",
        "kinesisanalytics:*",
        "lambda:*",
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "sdb:*",
        "appsync:*",
        "geo:*",
        "gamelift:*",
        "iot:*",
        "comprehend:*",
        "lex:*",
        "machinelearning:*",
        "personalize:*",
        "polly:*",
        "rekognition:*",
        "sagemaker:InvokeEndpoint",
        "textract:DetectDocumentText",
        "textract:AnalyzeDocument",
        "transcribe:*",
        "translate:*",
        "cloudwatch:*",
        "logs:*",
        "execute-api:*",
        "mobileanalytics:*",
        "ses:*",
        "sumerian:View*",
        "rum:PutRumEvents",
    ];
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Action": ACTIONS, "Resource": "*" }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_region_guid_shape() {
        let id = IdentityPoolId::generate("us-east-1", [7; 16]);
        assert!(id.as_str().starts_with("us-east-1:"));
        assert_eq!(IdentityPoolId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(id.region(), "us-east-1");
        for bad in ["us-east-1", "us-east-1:XYZ", ":abc", "us east:abc"] {
            assert!(IdentityId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/Cognito_Auth"));
        assert!(is_role_arn("arn:aws:iam::123456789012:role/path/Name"));
        assert!(!is_role_arn("arn:aws:iam::123456789012:user/bob"));
        assert!(!is_role_arn("arn:aws:s3:::bucket"));
        assert!(!is_role_arn("role/x"));
        assert_eq!(role_name("arn:aws:iam::1:role/path/Name"), "Name");
    }

    #[test]
    fn principal_tags_come_from_mapped_claims() {
        let claims = serde_json::json!({"aud": "client1", "sub": "abc", "n": 3})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let defaults = PrincipalTagMap {
            use_defaults: true,
            principal_tags: BTreeMap::new(),
        };
        assert_eq!(
            defaults.tags_from(&claims),
            BTreeMap::from([
                ("client".to_string(), "client1".to_string()),
                ("username".to_string(), "abc".to_string())
            ])
        );
        let custom = PrincipalTagMap {
            use_defaults: false,
            principal_tags: BTreeMap::from([
                ("num".to_string(), "n".to_string()),
                ("gone".to_string(), "missing".to_string()),
            ]),
        };
        assert_eq!(
            custom.tags_from(&claims),
            BTreeMap::from([("num".to_string(), "3".to_string())])
        );
    }
}
