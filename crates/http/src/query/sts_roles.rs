//! STS role assumption over the Query protocol: AssumeRoleWithWebIdentity (unsigned: the web
//! identity token is the credential) and AssumeRole (signed by the root credentials or by a
//! role session). GetCallerIdentity lives in [`super::sts`].

use super::iam::iso8601;
use super::{Form, Principal, QueryError, elements};
use crate::AppState;
use axum::http::StatusCode;
use tessera_engine::sts::{AssumeRoleInput, AssumedRole, StsCallerIdentity};

/// The STS actions served here.
pub const ACTIONS: &[&str] = &["AssumeRole", "AssumeRoleWithWebIdentity"];
/// Those that are not signed.
pub const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity"];

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, QueryError> {
    form.get(name).ok_or_else(|| {
        let mut c = name.chars();
        let member: String = c
            .next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default();
        QueryError::new(
            "ValidationError",
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
            StatusCode::BAD_REQUEST,
        )
    })
}

fn input(form: &Form) -> Result<AssumeRoleInput, QueryError> {
    let duration_seconds = form
        .get("DurationSeconds")
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                QueryError::new(
                    "ValidationError",
                    format!(
                        "1 validation error detected: Value '{}' at 'durationSeconds' failed to satisfy constraint: Member must be a number",
                        tessera_wire::echo(v)
                    ),
                    StatusCode::BAD_REQUEST,
                )
            })
        })
        .transpose()?;
    let policy_arns = (1..)
        .map_while(|i| {
            form.get(&format!("PolicyArns.member.{i}.arn"))
                .map(str::to_string)
        })
        .collect();
    Ok(AssumeRoleInput {
        role_arn: required(form, "RoleArn")?.to_string(),
        session_name: required(form, "RoleSessionName")?.to_string(),
        duration_seconds,
        policy: form.get("Policy").map(str::to_string),
        policy_arns,
        external_id: form.get("ExternalId").map(str::to_string),
    })
}

fn assumed_xml(a: &AssumedRole) -> String {
    let mut out = String::new();
    if let Some(s) = &a.subject {
        out.push_str(&elements(&[("SubjectFromWebIdentityToken", s)]));
    }
    if let Some(aud) = &a.audience {
        out.push_str(&elements(&[("Audience", aud)]));
    }
    out.push_str(&format!(
        "<AssumedRoleUser>{}</AssumedRoleUser><Credentials>{}</Credentials>",
        elements(&[
            ("Arn", &a.assumed_role_arn),
            ("AssumedRoleId", &a.assumed_role_id)
        ]),
        elements(&[
            ("AccessKeyId", &a.access_key_id),
            ("SecretAccessKey", &a.secret_access_key),
            ("SessionToken", &a.session_token),
            ("Expiration", &iso8601(a.expiration)),
        ])
    ));
    if let Some(p) = &a.provider {
        out.push_str(&elements(&[("Provider", p)]));
    }
    if let Some(n) = a.packed_policy_size {
        out.push_str(&elements(&[("PackedPolicySize", &n.to_string())]));
    }
    out
}

/// Runs AssumeRole (`principal` is the signer) or AssumeRoleWithWebIdentity (`None`).
pub async fn call(
    state: &AppState,
    action: &str,
    form: &Form,
    principal: Option<&Principal>,
) -> Result<String, QueryError> {
    let engine = &state.engine;
    let assumed = match (action, principal) {
        ("AssumeRoleWithWebIdentity", _) => {
            let input = input(form)?;
            let token = required(form, "WebIdentityToken")?;
            engine.assume_role_with_web_identity(input, token).await?
        }
        ("AssumeRole", Some(principal)) => {
            let caller = match principal {
                Principal::Root => StsCallerIdentity::Root,
                Principal::Session(session) => StsCallerIdentity::Session(session.grant.clone()),
            };
            engine.assume_role(&caller, input(form)?).await?
        }
        (other, _) => {
            return Err(QueryError::new(
                "InvalidAction",
                format!(
                    "Could not find operation {} for version 2011-06-15",
                    tessera_wire::echo(other)
                ),
                StatusCode::BAD_REQUEST,
            ));
        }
    };
    Ok(assumed_xml(&assumed))
}
