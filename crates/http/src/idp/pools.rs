//! CreateUserPool, DescribeUserPool, UpdateUserPool, DeleteUserPool, ListUserPools,
//! AddCustomAttributes.

use super::{ApiResult, pool_id, stored_settings, ts, with_settings};
use crate::AppState;
use crate::error::ApiError;
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::attributes::{AttributeDataType, RequestedAttribute, SchemaAttribute};
use tessera_domain::password::PasswordPolicy;
use tessera_domain::pool::{MfaMode, PoolConfig, SignInAttribute, SignInPolicy, UserPool};
use tessera_wire::idp as wire;

/// Pool settings stored and returned as given; the features that act on them read them there.
const STORED: &[&str] = &[
    "AccountRecoverySetting",
    "AcrConfiguration",
    "AdminCreateUserConfig",
    "DcrConfiguration",
    "DeviceConfiguration",
    "EmailConfiguration",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "IssuerConfiguration",
    "KeyConfiguration",
    "LambdaConfig",
    "SmsAuthenticationMessage",
    "SmsConfiguration",
    "SmsVerificationMessage",
    "UserAttributeUpdateSettings",
    "UserPoolAddOns",
    "UserPoolTags",
    "UserPoolTier",
    "VerificationMessageTemplate",
];

fn password_policy_in(p: Option<&wire::UserPoolPolicyType>) -> PasswordPolicy {
    let d = PasswordPolicy::default();
    let Some(p) = p.and_then(|p| p.password_policy.as_ref()) else {
        return d;
    };
    let days = p
        .temporary_password_validity_days
        .filter(|d| *d > 0)
        .map(|d| d as u32)
        .unwrap_or(d.temporary_password_validity_days);
    PasswordPolicy {
        minimum_length: p
            .minimum_length
            .map(|v| v as u32)
            .unwrap_or(d.minimum_length),
        require_uppercase: p.require_uppercase.unwrap_or(d.require_uppercase),
        require_lowercase: p.require_lowercase.unwrap_or(d.require_lowercase),
        require_numbers: p.require_numbers.unwrap_or(d.require_numbers),
        require_symbols: p.require_symbols.unwrap_or(d.require_symbols),
        password_history_size: p.password_history_size.map(|v| v as u32),
        temporary_password_validity_days: days,
    }
}

fn password_policy_out(p: &PasswordPolicy) -> wire::PasswordPolicyType {
    wire::PasswordPolicyType {
        minimum_length: Some(i64::from(p.minimum_length)),
        require_uppercase: Some(p.require_uppercase),
        require_lowercase: Some(p.require_lowercase),
        require_numbers: Some(p.require_numbers),
        require_symbols: Some(p.require_symbols),
        password_history_size: p.password_history_size.map(i64::from),
        temporary_password_validity_days: Some(i64::from(p.temporary_password_validity_days)),
    }
}

pub(crate) fn schema_in(a: &wire::SchemaAttributeType) -> RequestedAttribute {
    let s = a.string_attribute_constraints.as_ref();
    let n = a.number_attribute_constraints.as_ref();
    RequestedAttribute {
        name: a.name.clone().unwrap_or_default(),
        data_type: a.attribute_data_type.map(|t| match t {
            wire::AttributeDataType::String => AttributeDataType::String,
            wire::AttributeDataType::Number => AttributeDataType::Number,
            wire::AttributeDataType::DateTime => AttributeDataType::DateTime,
            wire::AttributeDataType::Boolean => AttributeDataType::Boolean,
        }),
        developer_only: a.developer_only_attribute,
        mutable: a.mutable,
        required: a.required,
        min_length: s.and_then(|s| s.min_length.clone()),
        max_length: s.and_then(|s| s.max_length.clone()),
        min_value: n.and_then(|n| n.min_value.clone()),
        max_value: n.and_then(|n| n.max_value.clone()),
    }
}

/// Cognito echoes the constraint block of the attribute's own type only: for String attributes
/// always when custom (possibly empty), otherwise when there are bounds.
fn schema_out(a: &SchemaAttribute) -> wire::SchemaAttributeType {
    let custom = tessera_domain::attributes::is_custom(&a.name);
    let data_type = match a.data_type {
        AttributeDataType::String => wire::AttributeDataType::String,
        AttributeDataType::Number => wire::AttributeDataType::Number,
        AttributeDataType::DateTime => wire::AttributeDataType::DateTime,
        AttributeDataType::Boolean => wire::AttributeDataType::Boolean,
    };
    let strings = (a.data_type == AttributeDataType::String
        && (custom || a.min_length.is_some() || a.max_length.is_some()))
    .then(|| wire::StringAttributeConstraintsType {
        min_length: a.min_length.map(|v| v.to_string()),
        max_length: a.max_length.map(|v| v.to_string()),
    });
    let numbers = (a.data_type == AttributeDataType::Number
        && (a.min_value.is_some() || a.max_value.is_some()))
    .then(|| wire::NumberAttributeConstraintsType {
        min_value: a.min_value.map(|v| v.to_string()),
        max_value: a.max_value.map(|v| v.to_string()),
    });
    wire::SchemaAttributeType {
        name: Some(a.name.clone()),
        attribute_data_type: Some(data_type),
        developer_only_attribute: Some(a.developer_only),
        mutable: Some(a.mutable),
        required: Some(a.required),
        string_attribute_constraints: strings,
        number_attribute_constraints: numbers,
    }
}

fn mfa_in(m: Option<wire::UserPoolMfaType>) -> MfaMode {
    match m {
        Some(wire::UserPoolMfaType::On) => MfaMode::On,
        Some(wire::UserPoolMfaType::Optional) => MfaMode::Optional,
        _ => MfaMode::Off,
    }
}

fn mfa_out(m: MfaMode) -> wire::UserPoolMfaType {
    match m {
        MfaMode::Off => wire::UserPoolMfaType::Off,
        MfaMode::On => wire::UserPoolMfaType::On,
        MfaMode::Optional => wire::UserPoolMfaType::Optional,
    }
}

fn sign_in_attr(s: &str) -> ApiResult<SignInAttribute> {
    SignInAttribute::parse(s).ok_or_else(|| {
        DomainError::invalid_parameter(format!("Invalid sign-in attribute: {s}")).into()
    })
}

fn auto_verified_in(v: &Option<Vec<wire::VerifiedAttributeType>>) -> Vec<String> {
    v.iter().flatten().map(|a| a.as_str().to_string()).collect()
}

fn deletion_protection_in(d: Option<wire::DeletionProtectionType>) -> bool {
    d == Some(wire::DeletionProtectionType::Active)
}

/// Settings stored as given, plus the sign-in policy (which lives inside `Policies`).
fn settings_in<T: serde::Serialize>(
    req: &T,
    policies: Option<&wire::UserPoolPolicyType>,
) -> ApiResult<std::collections::BTreeMap<String, serde_json::Value>> {
    let mut settings = stored_settings(req, STORED)?;
    mirror_verification_messages(&mut settings);
    if let Some(sip) = policies.and_then(|p| p.sign_in_policy.as_ref()) {
        settings.insert(
            "SignInPolicy".into(),
            serde_json::to_value(sip).map_err(|_| ApiError::internal())?,
        );
    }
    Ok(settings)
}

/// VerificationMessageTemplate and the older EmailVerificationMessage, EmailVerificationSubject
/// and SmsVerificationMessage describe the same messages: Cognito fills each from the other, so
/// clients reading either see what was set. Given both, each keeps what was given.
fn mirror_verification_messages(
    settings: &mut std::collections::BTreeMap<String, serde_json::Value>,
) {
    const PAIRS: [(&str, &str); 3] = [
        ("EmailVerificationMessage", "EmailMessage"),
        ("EmailVerificationSubject", "EmailSubject"),
        ("SmsVerificationMessage", "SmsMessage"),
    ];
    let mut template = match settings.get("VerificationMessageTemplate") {
        Some(serde_json::Value::Object(t)) => t.clone(),
        _ => serde_json::Map::new(),
    };
    let had_template = !template.is_empty();
    for (legacy, key) in PAIRS {
        match (settings.get(legacy).cloned(), template.get(key).cloned()) {
            (None, Some(v)) => {
                settings.insert(legacy.into(), v);
            }
            (Some(v), None) => {
                template.insert(key.into(), v);
            }
            _ => {}
        }
    }
    if !template.is_empty() {
        if !had_template {
            template.insert("DefaultEmailOption".into(), "CONFIRM_WITH_CODE".into());
        }
        settings.insert(
            "VerificationMessageTemplate".into(),
            serde_json::Value::Object(template),
        );
    }
}

pub(crate) fn pool_type(
    pool: &UserPool,
    users: Option<u64>,
    settings: &tessera_engine::EngineSettings,
) -> ApiResult<wire::UserPoolType> {
    let c = &pool.config;
    let sign_in_policy = c
        .settings
        .get("SignInPolicy")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let base = wire::UserPoolType {
        id: Some(pool.id.to_string()),
        name: Some(pool.name.clone()),
        arn: Some(format!(
            "arn:aws:cognito-idp:{}:{}:userpool/{}",
            settings.region, settings.account_id, pool.id
        )),
        creation_date: Some(ts(pool.created_at)),
        last_modified_date: Some(ts(pool.modified_at)),
        policies: Some(wire::UserPoolPolicyType {
            password_policy: Some(password_policy_out(&c.password_policy)),
            sign_in_policy,
        }),
        deletion_protection: Some(if c.deletion_protection {
            wire::DeletionProtectionType::Active
        } else {
            wire::DeletionProtectionType::Inactive
        }),
        schema_attributes: Some(c.schema.iter().map(schema_out).collect()),
        auto_verified_attributes: (!c.auto_verified_attributes.is_empty()).then(|| {
            c.auto_verified_attributes
                .iter()
                .filter_map(|a| wire::VerifiedAttributeType::parse(a))
                .collect()
        }),
        alias_attributes: (!c.sign_in.alias_attributes.is_empty()).then(|| {
            c.sign_in
                .alias_attributes
                .iter()
                .filter_map(|a| wire::AliasAttributeType::parse(a.attribute()))
                .collect()
        }),
        username_attributes: (!c.sign_in.username_attributes.is_empty()).then(|| {
            c.sign_in
                .username_attributes
                .iter()
                .filter_map(|a| wire::UsernameAttributeType::parse(a.attribute()))
                .collect()
        }),
        username_configuration: Some(wire::UsernameConfigurationType {
            case_sensitive: c.sign_in.case_sensitive,
        }),
        mfa_configuration: Some(mfa_out(c.mfa)),
        estimated_number_of_users: users.map(|n| n as i64),
        lambda_config: Some(lambda_config_out(&c.settings)),
        ..Default::default()
    };
    with_settings(base, &c.settings)
}

/// The pool's LambdaConfig as it was set (Cognito answers `{}` when none is).
fn lambda_config_out(
    settings: &std::collections::BTreeMap<String, serde_json::Value>,
) -> wire::LambdaConfigType {
    settings
        .get("LambdaConfig")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

pub async fn create_user_pool(
    state: Arc<AppState>,
    req: wire::CreateUserPoolRequest,
) -> ApiResult<wire::CreateUserPoolResponse> {
    let requested: Vec<RequestedAttribute> = req.schema.iter().flatten().map(schema_in).collect();
    let sign_in = SignInPolicy {
        username_attributes: req
            .username_attributes
            .iter()
            .flatten()
            .map(|a| sign_in_attr(a.as_str()))
            .collect::<ApiResult<_>>()?,
        alias_attributes: req
            .alias_attributes
            .iter()
            .flatten()
            .map(|a| sign_in_attr(a.as_str()))
            .collect::<ApiResult<_>>()?,
        case_sensitive: req
            .username_configuration
            .as_ref()
            .map(|u| u.case_sensitive)
            .unwrap_or(true),
    };
    let mfa = mfa_in(req.mfa_configuration);
    let config = PoolConfig {
        // MFA configured at creation sends SMS codes (Cognito's only factor there);
        // SetUserPoolMfaConfig chooses others.
        mfa_factors: tessera_domain::mfa::PoolMfa {
            sms: mfa != MfaMode::Off,
            sms_message: req.sms_authentication_message.clone(),
            ..Default::default()
        },
        password_policy: password_policy_in(req.policies.as_ref()),
        sign_in,
        schema: tessera_domain::attributes::build_schema(&requested)?,
        auto_verified_attributes: auto_verified_in(&req.auto_verified_attributes),
        mfa,
        deletion_protection: deletion_protection_in(req.deletion_protection),
        srp_enabled: tessera_domain::pool::srp_enabled_by_tags(req.user_pool_tags.as_ref()),
        settings: settings_in(&req, req.policies.as_ref())?,
    };
    let pool = state
        .engine
        .create_user_pool(req.pool_name.clone(), config)
        .await?;
    Ok(wire::CreateUserPoolResponse {
        user_pool: Some(pool_type(&pool, Some(0), state.engine.settings())?),
    })
}

pub async fn describe_user_pool(
    state: Arc<AppState>,
    req: wire::DescribeUserPoolRequest,
) -> ApiResult<wire::DescribeUserPoolResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let (pool, users) = state.engine.describe_user_pool(&id).await?;
    let mut user_pool = pool_type(&pool, Some(users), state.engine.settings())?;
    let domains = state.engine.pool_domains(&id).await?;
    super::domains::pool_domains_out(&mut user_pool, &domains);
    Ok(wire::DescribeUserPoolResponse {
        user_pool: Some(user_pool),
    })
}

pub async fn update_user_pool(
    state: Arc<AppState>,
    req: wire::UpdateUserPoolRequest,
) -> ApiResult<wire::UpdateUserPoolResponse> {
    let update = tessera_engine::PoolUpdate {
        name: req.pool_name.clone(),
        password_policy: password_policy_in(req.policies.as_ref()),
        auto_verified_attributes: auto_verified_in(&req.auto_verified_attributes),
        mfa: mfa_in(req.mfa_configuration),
        deletion_protection: deletion_protection_in(req.deletion_protection),
        srp_enabled: tessera_domain::pool::srp_enabled_by_tags(req.user_pool_tags.as_ref()),
        settings: settings_in(&req, req.policies.as_ref())?,
    };
    state
        .engine
        .update_user_pool(&pool_id(&req.user_pool_id)?, update)
        .await?;
    Ok(wire::UpdateUserPoolResponse::default())
}

pub async fn delete_user_pool(
    state: Arc<AppState>,
    req: wire::DeleteUserPoolRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_user_pool(&pool_id(&req.user_pool_id)?)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_user_pools(
    state: Arc<AppState>,
    req: wire::ListUserPoolsRequest,
) -> ApiResult<wire::ListUserPoolsResponse> {
    let page = state
        .engine
        .list_user_pools(req.max_results as usize, req.next_token.as_deref())
        .await?;
    Ok(wire::ListUserPoolsResponse {
        user_pools: Some(
            page.pools
                .iter()
                .map(|p| wire::UserPoolDescriptionType {
                    id: Some(p.id.to_string()),
                    name: Some(p.name.clone()),
                    creation_date: Some(ts(p.created_at)),
                    last_modified_date: Some(ts(p.modified_at)),
                    lambda_config: Some(lambda_config_out(&p.config.settings)),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

pub async fn add_custom_attributes(
    state: Arc<AppState>,
    req: wire::AddCustomAttributesRequest,
) -> ApiResult<wire::AddCustomAttributesResponse> {
    let attrs: Vec<RequestedAttribute> = req.custom_attributes.iter().map(schema_in).collect();
    state
        .engine
        .add_custom_attributes(&pool_id(&req.user_pool_id)?, attrs)
        .await?;
    Ok(wire::AddCustomAttributesResponse::default())
}
