//! Token families and the claims Cognito puts in ID and access tokens.
//!
//! One successful authentication starts a *family*, identified by `origin_jti`: every token issued
//! from it (and from its refreshes) carries that id, so revoking the family — RevokeToken,
//! GlobalSignOut — reaches access tokens as well as the refresh token.

use crate::attributes::{EMAIL_VERIFIED, PHONE_NUMBER_VERIFIED};
use crate::client::AppClient;
use crate::groups::GroupClaims;
use crate::ids::{ClientId, Sub, UserPoolId};
use crate::time::Timestamp;
use crate::user::User;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// The scope of tokens issued through the user-pool API (not OAuth).
pub const ADMIN_SCOPE: &str = "aws.cognito.signin.user.admin";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenFamily {
    pub origin_jti: Uuid,
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub sub: Sub,
    pub auth_time: Timestamp,
    pub created_at: Timestamp,
    /// When the refresh token of this family stops working.
    pub refresh_expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    pub device_key: Option<String>,
}

impl TokenFamily {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && now < self.refresh_expires_at
    }
}

/// A refresh token as stored: only its SHA-256, never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    pub hash: Vec<u8>,
    pub origin_jti: Uuid,
    pub pool_id: UserPoolId,
    pub issued_at: Timestamp,
    /// Set when rotation replaced this token; it keeps working for the client's grace period.
    pub superseded_at: Option<Timestamp>,
}

/// Everything that goes into one pair of ID and access tokens.
pub struct TokenRequest<'a> {
    pub issuer: &'a str,
    pub client: &'a AppClient,
    pub user: &'a User,
    pub family: &'a TokenFamily,
    pub groups: &'a GroupClaims,
    pub event_id: Uuid,
    pub id_jti: Uuid,
    pub access_jti: Uuid,
    pub now: Timestamp,
}

fn base(
    req: &TokenRequest<'_>,
    token_use: &str,
    lifetime_secs: u64,
    jti: Uuid,
) -> Map<String, Value> {
    let iat = req.now.secs();
    let mut m = Map::new();
    m.insert("sub".into(), json!(req.user.sub.to_string()));
    m.insert("iss".into(), json!(req.issuer));
    m.insert(
        "origin_jti".into(),
        json!(req.family.origin_jti.to_string()),
    );
    m.insert("event_id".into(), json!(req.event_id.to_string()));
    m.insert("token_use".into(), json!(token_use));
    m.insert("auth_time".into(), json!(req.family.auth_time.secs()));
    m.insert("iat".into(), json!(iat));
    m.insert("exp".into(), json!(iat + lifetime_secs as i64));
    m.insert("jti".into(), json!(jti.to_string()));
    if !req.groups.groups.is_empty() {
        m.insert("cognito:groups".into(), json!(req.groups.groups));
    }
    m
}

/// A federated user's `identities` attribute (a JSON string whose `primary` is a boolean and
/// `dateCreated` a number) as the ID token carries it: an array with both as strings, as
/// Cognito writes them.
fn identities_claim(attribute: &str) -> Value {
    let Ok(Value::Array(list)) = serde_json::from_str::<Value>(attribute) else {
        return json!(attribute);
    };
    let list: Vec<Value> = list
        .into_iter()
        .map(|mut v| {
            if let Value::Object(o) = &mut v {
                for k in ["primary", "dateCreated"] {
                    if let Some(x) = o.get(k).filter(|x| !x.is_string()) {
                        let text = x.to_string();
                        o.insert(k.into(), json!(text));
                    }
                }
            }
            v
        })
        .collect();
    Value::Array(list)
}

impl TokenRequest<'_> {
    /// ID token claims: identity plus every attribute the client may read, typed as Cognito
    /// types them (booleans for `*_verified`, a number for `updated_at`, strings otherwise).
    pub fn id_claims(&self) -> Map<String, Value> {
        let lifetime = self.client.config.validity.id.duration().as_secs();
        let mut m = base(self, "id", lifetime, self.id_jti);
        m.insert("aud".into(), json!(self.client.client_id.as_str()));
        m.insert(
            "cognito:username".into(),
            json!(self.user.username.as_str()),
        );
        if !self.groups.roles.is_empty() {
            m.insert("cognito:roles".into(), json!(self.groups.roles));
        }
        if let Some(role) = &self.groups.preferred_role {
            m.insert("cognito:preferred_role".into(), json!(role));
        }
        if let Some(identities) = self.user.attributes.get("identities") {
            m.insert("identities".into(), identities_claim(identities));
        }
        for (name, value) in &self.user.attributes {
            if !self.client.config.may_read(name) || name == "identities" {
                continue;
            }
            let v = match name.as_str() {
                EMAIL_VERIFIED | PHONE_NUMBER_VERIFIED => json!(value == "true"),
                "updated_at" => value
                    .parse::<i64>()
                    .map(|n| json!(n))
                    .unwrap_or_else(|_| json!(value)),
                "address" => json!({ "formatted": value }),
                _ => json!(value),
            };
            m.insert(name.clone(), v);
        }
        m
    }

    /// Access token claims: no `aud`; `client_id`, `username` and the granted `scope`.
    pub fn access_claims(&self) -> Map<String, Value> {
        let lifetime = self.client.config.validity.access.duration().as_secs();
        let mut m = base(self, "access", lifetime, self.access_jti);
        m.insert("client_id".into(), json!(self.client.client_id.as_str()));
        m.insert("scope".into(), json!(self.family.scopes.join(" ")));
        m.insert("username".into(), json!(self.user.username.as_str()));
        m.insert("version".into(), json!(2));
        if let Some(device) = &self.family.device_key {
            m.insert("device_key".into(), json!(device));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_become_an_array_of_strings_in_the_token() {
        let attr = r#"[{"userId":"u1","providerName":"Corp","providerType":"OIDC","issuer":null,"primary":true,"dateCreated":1565669081099}]"#;
        assert_eq!(
            identities_claim(attr),
            json!([{"userId":"u1","providerName":"Corp","providerType":"OIDC","issuer":null,
                    "primary":"true","dateCreated":"1565669081099"}])
        );
        assert_eq!(identities_claim("not json"), json!("not json"));
    }
}
