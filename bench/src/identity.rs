//! The identity-pool operation: GetId then GetCredentialsForIdentity (the enhanced flow, as
//! `fromCognitoIdentityPool` makes it) for a signed-in user, the user pool's ID token as login.
//! Setup (identity pool, IAM role, pool roles) is signed with SigV4 as an administrator would.

use anyhow::{Context, Result};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

pub struct IdentitySetup {
    http: reqwest::Client,
    endpoint: String,
    pool_id: String,
    /// `{host}/{userPoolId}`: the user pool's issuer without the scheme.
    login_key: String,
}

/// A SigV4-signed POST; `Err` on a non-2xx answer.
async fn signed(
    http: &reqwest::Client,
    endpoint: &str,
    service: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<String> {
    let credentials = Credentials::new(super::KEY, super::SECRET, None, None, "bench");
    let identity: Identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()?
        .into();
    let url = format!("{endpoint}/");
    let request = SignableRequest::new(
        "POST",
        url.as_str(),
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )?;
    let (instructions, _) = sign(request, &params)?.into_parts();
    let mut req = http.post(&url).body(body.to_vec());
    for (name, value) in headers.iter().copied().chain(instructions.headers()) {
        req = req.header(name, value);
    }
    let r = req.send().await?;
    let status = r.status();
    let text = r.text().await?;
    anyhow::ensure!(status.is_success(), "{service}: {status}: {text}");
    Ok(text)
}

async fn cognito_identity(
    http: &reqwest::Client,
    endpoint: &str,
    op: &str,
    body: &Value,
) -> Result<Value> {
    let target = format!("AWSCognitoIdentityService.{op}");
    let body = body.to_string();
    let text = signed(
        http,
        endpoint,
        "cognito-identity",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
        ],
        body.as_bytes(),
    )
    .await?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An identity pool trusting the user pool's `client_id`, and the IAM role it hands out.
pub async fn setup(endpoint: &str, user_pool: &str, client_id: &str) -> Result<IdentitySetup> {
    let http = reqwest::Client::new();
    let login_key = format!(
        "{}/{user_pool}",
        endpoint
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(endpoint)
    );
    let pool = cognito_identity(
        &http,
        endpoint,
        "CreateIdentityPool",
        &json!({
            "IdentityPoolName": "bench",
            "AllowUnauthenticatedIdentities": false,
            "CognitoIdentityProviders": [{"ProviderName": login_key, "ClientId": client_id}],
        }),
    )
    .await?;
    let pool_id = pool["IdentityPoolId"]
        .as_str()
        .context("identity pool id")?
        .to_string();
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool_id}},
        }],
    });
    let form = reqwest::Url::parse_with_params(
        "http://form/",
        &[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", "BenchAuth"),
            ("AssumeRolePolicyDocument", &trust.to_string()),
        ],
    )?;
    signed(
        &http,
        endpoint,
        "iam",
        &[("content-type", "application/x-www-form-urlencoded")],
        form.query().unwrap_or_default().as_bytes(),
    )
    .await?;
    cognito_identity(
        &http,
        endpoint,
        "SetIdentityPoolRoles",
        &json!({
            "IdentityPoolId": pool_id,
            "Roles": {"authenticated": format!("arn:aws:iam::{ACCOUNT}:role/BenchAuth")},
        }),
    )
    .await?;
    Ok(IdentitySetup {
        http,
        endpoint: endpoint.to_string(),
        pool_id,
        login_key,
    })
}

impl IdentitySetup {
    async fn unsigned(&self, op: &str, body: Value) -> Result<Value> {
        let r = self
            .http
            .post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AWSCognitoIdentityService.{op}"))
            .body(body.to_string())
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        anyhow::ensure!(status.is_success(), "{op}: {status}: {v}");
        Ok(v)
    }

    /// GetId, then GetCredentialsForIdentity, with the user's ID token; Ok once credentials came.
    pub async fn credentials(&self, id_token: &str) -> Result<()> {
        self.identity_credentials(id_token).await.map(|_| ())
    }

    /// The identity of the user's ID token and the credentials issued to it: `(identity id,
    /// access key id, secret, session token)`.
    pub async fn identity_credentials(&self, id_token: &str) -> Result<[String; 4]> {
        let logins = json!({ self.login_key.as_str(): id_token });
        let id = self
            .unsigned(
                "GetId",
                json!({"IdentityPoolId": self.pool_id, "Logins": logins}),
            )
            .await?;
        let identity = id["IdentityId"].as_str().context("identity id")?;
        let creds = self
            .unsigned(
                "GetCredentialsForIdentity",
                json!({"IdentityId": identity, "Logins": logins}),
            )
            .await?;
        let c = &creds["Credentials"];
        let field = |k: &str| -> Result<String> {
            Ok(c[k].as_str().context("no credentials")?.to_string())
        };
        Ok([
            identity.to_string(),
            field("AccessKeyId")?,
            field("SecretKey")?,
            field("SessionToken")?,
        ])
    }

    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }
}
