//! STS role assumption over the Query protocol: AssumeRoleWithWebIdentity and
//! AssumeRoleWithSAML (unsigned: the web identity token or the SAML assertion is the
//! credential) and AssumeRole (signed by the root credentials or by a
//! role session). GetCallerIdentity lives in [`super::sts`].

use super::iam::iso8601;
use super::{Form, Principal, QueryError, elements};
use crate::AppState;
use axum::http::StatusCode;
use tessera_engine::sts::{
    AssumeRoleInput, AssumeRoleWithSamlInput, AssumedRole, StsCallerIdentity,
};

/// The STS actions served here.
pub const ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
    "AssumeRoleWithSAML",
];
/// Those that are not signed.
pub const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

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

fn duration_seconds(form: &Form) -> Result<Option<i64>, QueryError> {
    form
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
        .transpose()
}

fn policy_arns(form: &Form) -> Vec<String> {
    (1..)
        .map_while(|i| {
            form.get(&format!("PolicyArns.member.{i}.arn"))
                .map(str::to_string)
        })
        .collect()
}

fn input(form: &Form) -> Result<AssumeRoleInput, QueryError> {
    Ok(AssumeRoleInput {
        role_arn: required(form, "RoleArn")?.to_string(),
        session_name: required(form, "RoleSessionName")?.to_string(),
        duration_seconds: duration_seconds(form)?,
        policy: form.get("Policy").map(str::to_string),
        policy_arns: policy_arns(form),
        external_id: form.get("ExternalId").map(str::to_string),
    })
}

fn saml_input(form: &Form) -> Result<AssumeRoleWithSamlInput, QueryError> {
    Ok(AssumeRoleWithSamlInput {
        role_arn: required(form, "RoleArn")?.to_string(),
        principal_arn: required(form, "PrincipalArn")?.to_string(),
        saml_assertion: required(form, "SAMLAssertion")?.to_string(),
        duration_seconds: duration_seconds(form)?,
        policy: form.get("Policy").map(str::to_string),
        policy_arns: policy_arns(form),
    })
}

fn assumed_xml(a: &AssumedRole) -> String {
    let mut out = String::new();
    if let Some(saml) = &a.saml {
        out.push_str(&elements(&[
            ("Subject", a.subject.as_deref().unwrap_or_default()),
            ("SubjectType", &saml.subject_type),
            ("Issuer", &saml.issuer),
            ("NameQualifier", &saml.name_qualifier),
        ]));
        if let Some(s) = &saml.source_identity {
            out.push_str(&elements(&[("SourceIdentity", s)]));
        }
    } else if let Some(s) = &a.subject {
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

/// Runs AssumeRole (`principal` is the signer), AssumeRoleWithWebIdentity or
/// AssumeRoleWithSAML (`None`).
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
        ("AssumeRoleWithSAML", _) => engine.assume_role_with_saml(saml_input(form)?).await?,
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
