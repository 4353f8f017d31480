//! Lambda-style triggers: which function a pool names for each hook, the event Cognito sends
//! it, and what Tessera takes from the function's answer.
//!
//! Pure: events are built from domain values into JSON, and answers are parsed from JSON into
//! typed responses. Invoking the function is the engine's job (through its port).

use crate::error::{DomainError, ErrorKind};
use crate::user::User;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A hook in LambdaConfig. The name is LambdaConfig's key, which Cognito's error messages use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    PreSignUp,
    CustomMessage,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
    PreTokenGeneration,
    UserMigration,
    CustomSmsSender,
    CustomEmailSender,
    InboundFederation,
}

impl Trigger {
    pub const ALL: [Trigger; 13] = [
        Trigger::PreSignUp,
        Trigger::CustomMessage,
        Trigger::PostConfirmation,
        Trigger::PreAuthentication,
        Trigger::PostAuthentication,
        Trigger::DefineAuthChallenge,
        Trigger::CreateAuthChallenge,
        Trigger::VerifyAuthChallengeResponse,
        Trigger::PreTokenGeneration,
        Trigger::UserMigration,
        Trigger::CustomSmsSender,
        Trigger::CustomEmailSender,
        Trigger::InboundFederation,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Trigger::PreSignUp => "PreSignUp",
            Trigger::CustomMessage => "CustomMessage",
            Trigger::PostConfirmation => "PostConfirmation",
            Trigger::PreAuthentication => "PreAuthentication",
            Trigger::PostAuthentication => "PostAuthentication",
            Trigger::DefineAuthChallenge => "DefineAuthChallenge",
            Trigger::CreateAuthChallenge => "CreateAuthChallenge",
            Trigger::VerifyAuthChallengeResponse => "VerifyAuthChallengeResponse",
            Trigger::PreTokenGeneration => "PreTokenGeneration",
            Trigger::UserMigration => "UserMigration",
            Trigger::CustomSmsSender => "CustomSMSSender",
            Trigger::CustomEmailSender => "CustomEmailSender",
            Trigger::InboundFederation => "InboundFederation",
        }
    }

    /// The `response` a function receives to fill in, as Cognito sends it.
    fn blank_response(self, token_version: u8) -> Value {
        match self {
            Trigger::PreSignUp => {
                json!({"autoConfirmUser": false, "autoVerifyEmail": false, "autoVerifyPhone": false})
            }
            Trigger::CustomMessage => {
                json!({"smsMessage": null, "emailMessage": null, "emailSubject": null})
            }
            Trigger::DefineAuthChallenge => {
                json!({"challengeName": null, "issueTokens": null, "failAuthentication": null})
            }
            Trigger::CreateAuthChallenge => json!({
                "publicChallengeParameters": null,
                "privateChallengeParameters": null,
                "challengeMetadata": null
            }),
            Trigger::VerifyAuthChallengeResponse => json!({"answerCorrect": null}),
            // `{}` keeps the mapped attributes as they are.
            Trigger::InboundFederation => json!({"userAttributesToMap": {}}),
            Trigger::PreTokenGeneration if token_version == 1 => {
                json!({"claimsOverrideDetails": null})
            }
            Trigger::PreTokenGeneration => json!({"claimsAndScopeOverrideDetails": null}),
            Trigger::UserMigration => json!({
                "userAttributes": null,
                "finalUserStatus": null,
                "messageAction": null,
                "desiredDeliveryMediums": null,
                "forceAliasCreation": null,
                "enableSMSMFA": null
            }),
            _ => json!({}),
        }
    }
}

/// The functions a pool names, from the LambdaConfig it was created or updated with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LambdaConfig {
    functions: BTreeMap<Trigger, String>,
    /// PreTokenGeneration's event version: 1 (the plain ARN or V1_0), 2 or 3.
    pub token_version: u8,
}

impl LambdaConfig {
    pub fn of(settings: &BTreeMap<String, Value>) -> Self {
        let mut out = LambdaConfig {
            functions: BTreeMap::new(),
            token_version: 1,
        };
        let Some(config) = settings.get("LambdaConfig").and_then(Value::as_object) else {
            return out;
        };
        let arn = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        for t in Trigger::ALL {
            let f = match t {
                Trigger::CustomSmsSender
                | Trigger::CustomEmailSender
                | Trigger::InboundFederation => {
                    arn(config.get(t.name()).and_then(|c| c.get("LambdaArn")))
                }
                _ => arn(config.get(t.name())),
            };
            if let Some(f) = f {
                out.functions.insert(t, f);
            }
        }
        // PreTokenGenerationConfig (with its version) takes over from the plain ARN.
        if let Some(c) = config.get("PreTokenGenerationConfig")
            && let Some(f) = arn(c.get("LambdaArn"))
        {
            out.functions.insert(Trigger::PreTokenGeneration, f);
            out.token_version = match c.get("LambdaVersion").and_then(Value::as_str) {
                Some("V2_0") => 2,
                Some("V3_0") => 3,
                _ => 1,
            };
        }
        out
    }

    pub fn function(&self, t: Trigger) -> Option<&str> {
        self.functions.get(&t).map(String::as_str)
    }
}

/// Who is calling, for `callerContext`.
#[derive(Clone, Debug)]
pub struct Caller<'a> {
    pub region: &'a str,
    pub pool_id: &'a str,
    pub client_id: Option<&'a str>,
}

/// One event, ready to send: Cognito's envelope around a trigger-specific `request`.
#[derive(Clone, Debug)]
pub struct Event {
    pub trigger: Trigger,
    pub source: String,
    pub user_name: String,
    pub request: Map<String, Value>,
    version: u8,
}

impl Event {
    pub fn new(trigger: Trigger, source: impl Into<String>, user_name: impl Into<String>) -> Self {
        Event {
            trigger,
            source: source.into(),
            user_name: user_name.into(),
            request: Map::new(),
            version: 1,
        }
    }

    /// The event `version` ("1"; "2" or "3" for PreTokenGeneration V2/V3).
    pub fn versioned(mut self, version: u8) -> Self {
        self.version = version;
        self
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.request.insert(key.to_string(), value);
        self
    }

    /// Adds a string map (clientMetadata, validationData) when there is one: Cognito leaves
    /// out what the caller didn't send.
    pub fn with_map(self, key: &str, map: Option<&BTreeMap<String, String>>) -> Self {
        match map {
            Some(m) => self.with(key, string_map(m)),
            None => self,
        }
    }

    pub fn to_json(&self, caller: &Caller<'_>) -> Value {
        json!({
            "version": self.version.to_string(),
            "triggerSource": self.source,
            "region": caller.region,
            "userPoolId": caller.pool_id,
            "userName": self.user_name,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": caller.client_id.unwrap_or("CLIENT_ID_NOT_APPLICABLE"),
            },
            "request": self.request,
            "response": self.trigger.blank_response(self.version),
        })
    }
}

pub fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// `request.userAttributes` for a user: every attribute as a string, `sub`, the status, and the
/// verified aliases the pool uses.
pub fn user_attributes(user: &User, alias_attributes: &[&str]) -> Value {
    let mut m = Map::new();
    m.insert("sub".into(), json!(user.sub.to_string()));
    for (k, v) in &user.attributes {
        if k.starts_with("dev:") {
            continue;
        }
        m.insert(k.clone(), json!(v));
    }
    m.insert("cognito:user_status".into(), json!(user.status.as_str()));
    for a in alias_attributes {
        let verified = user.attribute(&format!("{a}_verified")) == Some("true");
        if let Some(v) = user.attribute(a).filter(|v| !v.is_empty())
            && verified
        {
            m.insert(format!("cognito:{a}_alias"), json!(v));
        }
    }
    Value::Object(m)
}

/// The errors Cognito reports for trigger failures.
pub fn function_failed(t: Trigger, message: &str) -> DomainError {
    DomainError::new(
        ErrorKind::UserLambdaValidation,
        format!("{} failed with error {message}.", t.name()),
    )
}

pub fn unrecognizable() -> DomainError {
    DomainError::new(
        ErrorKind::InvalidLambdaResponse,
        "Unrecognizable lambda output",
    )
}

pub fn unexpected(t: Trigger, detail: &str) -> DomainError {
    DomainError::new(
        ErrorKind::UnexpectedLambda,
        format!("{} invocation failed due to error {detail}.", t.name()),
    )
}

/// The `response` member of a function's answer, parsed as `T`.
pub fn response<T: DeserializeOwned>(answer: &Value) -> Result<T, DomainError> {
    match answer.get("response").ok_or_else(unrecognizable)? {
        Value::Null => serde_json::from_value(json!({})),
        other => serde_json::from_value(other.clone()),
    }
    .map_err(|_| unrecognizable())
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PreSignUpResponse {
    #[serde(default)]
    pub auto_confirm_user: Option<bool>,
    #[serde(default)]
    pub auto_verify_email: Option<bool>,
    #[serde(default)]
    pub auto_verify_phone: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CustomMessageResponse {
    #[serde(default)]
    pub sms_message: Option<String>,
    #[serde(default)]
    pub email_message: Option<String>,
    #[serde(default)]
    pub email_subject: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DefineAuthChallengeResponse {
    #[serde(default)]
    pub challenge_name: Option<String>,
    #[serde(default)]
    pub issue_tokens: Option<bool>,
    #[serde(default)]
    pub fail_authentication: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CreateAuthChallengeResponse {
    #[serde(default)]
    pub public_challenge_parameters: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub private_challenge_parameters: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub challenge_metadata: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VerifyAuthChallengeResponse {
    #[serde(default)]
    pub answer_correct: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserMigrationResponse {
    #[serde(default)]
    pub user_attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub final_user_status: Option<String>,
    #[serde(default)]
    pub message_action: Option<String>,
    #[serde(default)]
    pub desired_delivery_mediums: Option<Vec<String>>,
    #[serde(default)]
    pub force_alias_creation: Option<bool>,
    #[serde(default, rename = "enableSMSMFA")]
    pub enable_sms_mfa: Option<bool>,
}

/// One round of a custom authentication, as DefineAuthChallenge sees it in `request.session`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct ChallengeResult {
    #[serde(rename = "challengeName")]
    pub challenge_name: String,
    #[serde(rename = "challengeResult")]
    pub challenge_result: bool,
    #[serde(
        rename = "challengeMetadata",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub challenge_metadata: Option<String>,
}

/// The group claims a PreTokenGeneration function may replace.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct GroupOverride {
    #[serde(default)]
    pub groups_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub iam_roles_to_override: Option<Vec<String>>,
    #[serde(default)]
    pub preferred_role: Option<String>,
}

/// Changes to one token's claims (and, for access tokens in V2/V3, scopes).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClaimChanges {
    #[serde(default)]
    pub claims_to_add_or_override: Option<Map<String, Value>>,
    #[serde(default)]
    pub claims_to_suppress: Option<Vec<String>>,
    #[serde(default)]
    pub scopes_to_add: Option<Vec<String>>,
    #[serde(default)]
    pub scopes_to_suppress: Option<Vec<String>>,
}

/// What a PreTokenGeneration function asked for, in either version's shape.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TokenOverrides {
    pub id: ClaimChanges,
    pub access: ClaimChanges,
    /// Present (even empty) when the function overrode the group claims.
    pub groups: Option<GroupOverride>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Details {
    #[serde(default)]
    claims_to_add_or_override: Option<BTreeMap<String, String>>,
    #[serde(default)]
    claims_to_suppress: Option<Vec<String>>,
    #[serde(default)]
    group_override_details: Option<GroupOverride>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Details {
    #[serde(default)]
    id_token_generation: Option<ClaimChanges>,
    #[serde(default)]
    access_token_generation: Option<ClaimChanges>,
    #[serde(default)]
    group_override_details: Option<GroupOverride>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1Response {
    #[serde(default)]
    claims_override_details: Option<V1Details>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct V2Response {
    #[serde(default)]
    claims_and_scope_override_details: Option<V2Details>,
}

/// Claims no function may add, change or suppress.
const PROTECTED: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "at_hash",
    "auth_time",
    "azp",
    "cognito:username",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "sub",
    "token_use",
];

/// Claims of the access token that no function may change, beyond [`PROTECTED`].
const PROTECTED_ACCESS: &[&str] = &[
    "client_id",
    "scope",
    "username",
    "version",
    "event_id",
    "device_key",
];

/// The group claims, which only groupOverrideDetails may change.
const GROUP_CLAIMS: &[&str] = &["cognito:groups", "cognito:roles", "cognito:preferred_role"];

/// ID-token claims whose type V2 may not change from a string.
const STRING_ONLY: &[&str] = &[
    "phone_number_verified",
    "email_verified",
    "updated_at",
    "address",
];

impl TokenOverrides {
    pub fn parse(answer: &Value, version: u8) -> Result<Self, DomainError> {
        if version == 1 {
            let r: V1Response = response(answer)?;
            let Some(d) = r.claims_override_details else {
                return Ok(Self::default());
            };
            Ok(TokenOverrides {
                id: ClaimChanges {
                    claims_to_add_or_override: d
                        .claims_to_add_or_override
                        .map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
                    claims_to_suppress: d.claims_to_suppress,
                    ..Default::default()
                },
                access: ClaimChanges::default(),
                groups: d.group_override_details,
            })
        } else {
            let r: V2Response = response(answer)?;
            let Some(d) = r.claims_and_scope_override_details else {
                return Ok(Self::default());
            };
            Ok(TokenOverrides {
                id: d.id_token_generation.unwrap_or_default(),
                access: d.access_token_generation.unwrap_or_default(),
                groups: d.group_override_details,
            })
        }
    }

    /// Applies the changes to an ID token's claims. Suppression beats addition; protected and
    /// group claims are left alone.
    pub fn apply_to_id(&self, claims: &mut Map<String, Value>) -> Result<(), DomainError> {
        apply(&self.id, claims, &[], true)
    }

    pub fn apply_to_access(&self, claims: &mut Map<String, Value>) -> Result<(), DomainError> {
        apply(&self.access, claims, PROTECTED_ACCESS, false)?;
        // Scopes: added then suppressed, space-separated as `scope` carries them.
        if self.access.scopes_to_add.is_some() || self.access.scopes_to_suppress.is_some() {
            let mut scopes: Vec<String> = claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_string)
                .collect();
            for s in self.access.scopes_to_add.iter().flatten() {
                if !scopes.contains(s) {
                    scopes.push(s.clone());
                }
            }
            let suppress = self.access.scopes_to_suppress.clone().unwrap_or_default();
            scopes.retain(|s| !suppress.contains(s));
            claims.insert("scope".into(), json!(scopes.join(" ")));
        }
        Ok(())
    }
}

fn apply(
    changes: &ClaimChanges,
    claims: &mut Map<String, Value>,
    also_protected: &[&str],
    id_token: bool,
) -> Result<(), DomainError> {
    let untouchable = |k: &str| {
        PROTECTED.contains(&k) || also_protected.contains(&k) || GROUP_CLAIMS.contains(&k)
    };
    let suppress = changes.claims_to_suppress.clone().unwrap_or_default();
    if let Some(add) = &changes.claims_to_add_or_override {
        for (k, v) in add {
            if untouchable(k) || suppress.contains(k) {
                continue;
            }
            if id_token && STRING_ONLY.contains(&k.as_str()) && !v.is_string() {
                return Err(unrecognizable());
            }
            claims.insert(k.clone(), v.clone());
        }
    }
    for k in &suppress {
        if !untouchable(k) {
            claims.remove(k);
        }
    }
    Ok(())
}

/// The CUSTOM_AUTH state machine's next move, from DefineAuthChallenge's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomStep {
    IssueTokens,
    Fail,
    Challenge(String),
}

impl DefineAuthChallengeResponse {
    pub fn step(&self) -> Result<CustomStep, DomainError> {
        if self.fail_authentication == Some(true) {
            return Ok(CustomStep::Fail);
        }
        if self.issue_tokens == Some(true) {
            return Ok(CustomStep::IssueTokens);
        }
        match self.challenge_name.as_deref() {
            Some(c @ ("CUSTOM_CHALLENGE" | "PASSWORD_VERIFIER")) => {
                Ok(CustomStep::Challenge(c.to_string()))
            }
            Some(_) | None => Err(unrecognizable()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(v: Value) -> BTreeMap<String, Value> {
        BTreeMap::from([("LambdaConfig".to_string(), v)])
    }

    #[test]
    fn reads_lambda_config_and_token_versions() {
        let c = LambdaConfig::of(&settings(json!({
            "PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:pre",
            "PreTokenGeneration": "arn:aws:lambda:us-east-1:123456789012:function:v1",
            "PreTokenGenerationConfig": {
                "LambdaVersion": "V2_0",
                "LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:v2"
            },
            "CustomEmailSender": {
                "LambdaVersion": "V1_0",
                "LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:mail"
            }
        })));
        assert_eq!(
            c.function(Trigger::PreSignUp),
            Some("arn:aws:lambda:us-east-1:123456789012:function:pre")
        );
        assert_eq!(
            c.function(Trigger::PreTokenGeneration),
            Some("arn:aws:lambda:us-east-1:123456789012:function:v2")
        );
        assert_eq!(c.token_version, 2);
        assert_eq!(
            c.function(Trigger::CustomEmailSender),
            Some("arn:aws:lambda:us-east-1:123456789012:function:mail")
        );
        assert_eq!(c.function(Trigger::UserMigration), None);
        assert_eq!(
            LambdaConfig::of(&BTreeMap::new()).function(Trigger::PreSignUp),
            None
        );
    }

    #[test]
    fn events_have_cognitos_envelope() {
        let e = Event::new(Trigger::PreSignUp, "PreSignUp_SignUp", "ann")
            .with("userAttributes", json!({"email": "a@b.c"}))
            .with_map("clientMetadata", None);
        let v = e.to_json(&Caller {
            region: "us-east-1",
            pool_id: "us-east-1_abc",
            client_id: Some("client"),
        });
        assert_eq!(v["version"], "1");
        assert_eq!(v["triggerSource"], "PreSignUp_SignUp");
        assert_eq!(v["userName"], "ann");
        assert_eq!(v["callerContext"]["clientId"], "client");
        assert_eq!(v["request"], json!({"userAttributes": {"email": "a@b.c"}}));
        assert_eq!(v["response"]["autoConfirmUser"], false);
    }

    #[test]
    fn responses_parse_or_are_unrecognizable() {
        let ok: PreSignUpResponse =
            response(&json!({"response": {"autoConfirmUser": true, "autoVerifyEmail": null}}))
                .unwrap();
        assert_eq!(ok.auto_confirm_user, Some(true));
        assert_eq!(ok.auto_verify_email, None);
        let bad = response::<PreSignUpResponse>(&json!({"response": {"autoConfirmUser": "yes"}}));
        assert_eq!(bad.unwrap_err().kind, ErrorKind::InvalidLambdaResponse);
        assert!(response::<PreSignUpResponse>(&json!("nope")).is_err());
        let empty: VerifyAuthChallengeResponse = response(&json!({"response": null})).unwrap();
        assert_eq!(empty.answer_correct, None);
    }

    #[test]
    fn v1_overrides_touch_only_the_id_token() {
        let o = TokenOverrides::parse(
            &json!({"response": {"claimsOverrideDetails": {
                "claimsToAddOrOverride": {"tenant": "t1", "sub": "evil"},
                "claimsToSuppress": ["email", "tenant", "iss"]
            }}}),
            1,
        )
        .unwrap();
        let mut id = Map::new();
        id.insert("sub".into(), json!("s"));
        id.insert("email".into(), json!("a@b.c"));
        id.insert("iss".into(), json!("i"));
        o.apply_to_id(&mut id).unwrap();
        // Suppression beats addition; protected claims stay.
        assert_eq!(id.get("tenant"), None);
        assert_eq!(id.get("email"), None);
        assert_eq!(id["sub"], "s");
        assert_eq!(id["iss"], "i");
        assert_eq!(o.access, ClaimChanges::default());
    }

    #[test]
    fn v2_overrides_claims_and_scopes() {
        let o = TokenOverrides::parse(
            &json!({"response": {"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"roles": ["a", "b"]}},
                "accessTokenGeneration": {
                    "claimsToAddOrOverride": {"tier": {"level": 2}, "client_id": "x"},
                    "scopesToAdd": ["api/read"],
                    "scopesToSuppress": ["aws.cognito.signin.user.admin"]
                },
                "groupOverrideDetails": {"groupsToOverride": []}
            }}}),
            2,
        )
        .unwrap();
        let mut id = Map::new();
        o.apply_to_id(&mut id).unwrap();
        assert_eq!(id["roles"], json!(["a", "b"]));
        let mut access = Map::new();
        access.insert("client_id".into(), json!("c"));
        access.insert("scope".into(), json!("aws.cognito.signin.user.admin"));
        o.apply_to_access(&mut access).unwrap();
        assert_eq!(access["tier"], json!({"level": 2}));
        assert_eq!(access["client_id"], "c");
        assert_eq!(access["scope"], "api/read");
        assert_eq!(o.groups.unwrap().groups_to_override, Some(vec![]));
        // email_verified must stay a string in V2.
        let typed = TokenOverrides::parse(
            &json!({"response": {"claimsAndScopeOverrideDetails": {
                "idTokenGeneration": {"claimsToAddOrOverride": {"email_verified": true}}
            }}}),
            2,
        )
        .unwrap();
        assert!(typed.apply_to_id(&mut Map::new()).is_err());
    }

    #[test]
    fn define_auth_challenge_decides() {
        let r = |v: Value| {
            response::<DefineAuthChallengeResponse>(&json!({ "response": v }))
                .unwrap()
                .step()
        };
        assert_eq!(
            r(json!({"issueTokens": true, "failAuthentication": false})).unwrap(),
            CustomStep::IssueTokens
        );
        assert_eq!(
            r(json!({"issueTokens": true, "failAuthentication": true})).unwrap(),
            CustomStep::Fail
        );
        assert_eq!(
            r(json!({"challengeName": "CUSTOM_CHALLENGE"})).unwrap(),
            CustomStep::Challenge("CUSTOM_CHALLENGE".into())
        );
        assert!(r(json!({"challengeName": "SMS_MFA"})).is_err());
        assert!(r(json!({})).is_err());
    }

    #[test]
    fn errors_read_as_cognitos() {
        let e = function_failed(Trigger::PreSignUp, "Domain not allowed");
        assert_eq!(e.kind, ErrorKind::UserLambdaValidation);
        assert_eq!(e.message, "PreSignUp failed with error Domain not allowed.");
    }
}
