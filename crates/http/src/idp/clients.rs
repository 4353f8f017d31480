//! CreateUserPoolClient, DescribeUserPoolClient, UpdateUserPoolClient, DeleteUserPoolClient,
//! ListUserPoolClients, AddUserPoolClientSecret, ListUserPoolClientSecrets,
//! DeleteUserPoolClientSecret.

use super::{ApiResult, pool_id, stored_settings, ts, with_settings};
use crate::AppState;
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::client::{
    AppClient, ClientConfig, RefreshTokenRotation, TimeUnit, TokenValidity, UserExistenceErrors,
    Validity,
};
use tessera_wire::idp as wire;

/// Client settings stored and returned as given (OAuth and analytics belong to later features).
const STORED: &[&str] = &[
    "AllowedOAuthFlows",
    "AllowedOAuthFlowsUserPoolClient",
    "AllowedOAuthScopes",
    "AnalyticsConfiguration",
    "CallbackURLs",
    "DefaultRedirectURI",
    "EnablePropagateAdditionalUserContextData",
    "LogoutURLs",
    "SupportedIdentityProviders",
];

/// The members CreateUserPoolClient and UpdateUserPoolClient share.
struct ClientFields<'a> {
    access: Option<i64>,
    id: Option<i64>,
    refresh: Option<i64>,
    units: Option<&'a wire::TokenValidityUnitsType>,
    read: Option<Vec<String>>,
    write: Option<Vec<String>>,
    flows: Option<&'a Vec<wire::ExplicitAuthFlowsType>>,
    prevent: Option<wire::PreventUserExistenceErrorTypes>,
    revocation: Option<bool>,
    session_validity: Option<i64>,
    rotation: Option<&'a wire::RefreshTokenRotationType>,
    settings: BTreeMap<String, serde_json::Value>,
}

macro_rules! client_fields {
    ($r:expr) => {
        ClientFields {
            access: $r.access_token_validity,
            id: $r.id_token_validity,
            refresh: $r.refresh_token_validity,
            units: $r.token_validity_units.as_ref(),
            read: $r.read_attributes.clone(),
            write: $r.write_attributes.clone(),
            flows: $r.explicit_auth_flows.as_ref(),
            prevent: $r.prevent_user_existence_errors,
            revocation: $r.enable_token_revocation,
            session_validity: $r.auth_session_validity,
            rotation: $r.refresh_token_rotation.as_ref(),
            settings: stored_settings(&$r, STORED)?,
        }
    };
}

fn unit_in(u: Option<wire::TimeUnitsType>, default: TimeUnit) -> TimeUnit {
    match u {
        Some(wire::TimeUnitsType::Seconds) => TimeUnit::Seconds,
        Some(wire::TimeUnitsType::Minutes) => TimeUnit::Minutes,
        Some(wire::TimeUnitsType::Hours) => TimeUnit::Hours,
        Some(wire::TimeUnitsType::Days) => TimeUnit::Days,
        None => default,
    }
}

fn unit_out(u: TimeUnit) -> wire::TimeUnitsType {
    match u {
        TimeUnit::Seconds => wire::TimeUnitsType::Seconds,
        TimeUnit::Minutes => wire::TimeUnitsType::Minutes,
        TimeUnit::Hours => wire::TimeUnitsType::Hours,
        TimeUnit::Days => wire::TimeUnitsType::Days,
    }
}

fn config_in(f: ClientFields<'_>) -> ClientConfig {
    let d = TokenValidity::default();
    let validity = |amount: Option<i64>,
                    unit: Option<wire::TimeUnitsType>,
                    default: Validity,
                    default_unit| {
        match amount.filter(|a| *a > 0) {
            Some(a) => Validity {
                amount: a as u64,
                unit: unit_in(unit, default_unit),
            },
            None => default,
        }
    };
    let units = f.units;
    ClientConfig {
        explicit_auth_flows: f
            .flows
            .iter()
            .flat_map(|v| v.iter())
            .map(|x| x.as_str().to_string())
            .collect(),
        validity: TokenValidity {
            access: validity(
                f.access,
                units.and_then(|u| u.access_token),
                d.access,
                TimeUnit::Hours,
            ),
            id: validity(f.id, units.and_then(|u| u.id_token), d.id, TimeUnit::Hours),
            refresh: validity(
                f.refresh,
                units.and_then(|u| u.refresh_token),
                d.refresh,
                TimeUnit::Days,
            ),
        },
        units_given: units.is_some(),
        read_attributes: f.read,
        write_attributes: f.write,
        prevent_user_existence_errors: match f.prevent {
            Some(wire::PreventUserExistenceErrorTypes::Enabled) => UserExistenceErrors::Enabled,
            _ => UserExistenceErrors::Legacy,
        },
        enable_token_revocation: f.revocation.unwrap_or(true),
        auth_session_validity_minutes: f.session_validity.map(|v| v as u32).unwrap_or(3),
        refresh_token_rotation: f
            .rotation
            .map(|r| RefreshTokenRotation {
                enabled: r.feature == wire::FeatureType::Enabled,
                retry_grace_seconds: r.retry_grace_period_seconds.unwrap_or(0) as u32,
            })
            .unwrap_or_default(),
        settings: f.settings,
    }
}

fn client_type(c: &AppClient, secret: Option<String>) -> ApiResult<wire::UserPoolClientType> {
    let cfg = &c.config;
    let v = &cfg.validity;
    let base = wire::UserPoolClientType {
        user_pool_id: Some(c.pool_id.to_string()),
        client_name: Some(c.name.clone()),
        client_id: Some(c.client_id.to_string()),
        client_secret: secret,
        creation_date: Some(ts(c.created_at)),
        last_modified_date: Some(ts(c.modified_at)),
        access_token_validity: Some(v.access.amount as i64),
        id_token_validity: Some(v.id.amount as i64),
        refresh_token_validity: Some(v.refresh.amount as i64),
        token_validity_units: Some(wire::TokenValidityUnitsType {
            access_token: Some(unit_out(v.access.unit)),
            id_token: Some(unit_out(v.id.unit)),
            refresh_token: Some(unit_out(v.refresh.unit)),
        }),
        read_attributes: cfg.read_attributes.clone(),
        write_attributes: cfg.write_attributes.clone(),
        explicit_auth_flows: (!cfg.explicit_auth_flows.is_empty()).then(|| {
            cfg.explicit_auth_flows
                .iter()
                .filter_map(|f| wire::ExplicitAuthFlowsType::parse(f))
                .collect()
        }),
        prevent_user_existence_errors: Some(match cfg.prevent_user_existence_errors {
            UserExistenceErrors::Enabled => wire::PreventUserExistenceErrorTypes::Enabled,
            UserExistenceErrors::Legacy => wire::PreventUserExistenceErrorTypes::Legacy,
        }),
        enable_token_revocation: Some(cfg.enable_token_revocation),
        auth_session_validity: Some(i64::from(cfg.auth_session_validity_minutes)),
        refresh_token_rotation: cfg.refresh_token_rotation.enabled.then(|| {
            wire::RefreshTokenRotationType {
                feature: wire::FeatureType::Enabled,
                retry_grace_period_seconds: Some(i64::from(
                    cfg.refresh_token_rotation.retry_grace_seconds,
                )),
            }
        }),
        ..Default::default()
    };
    with_settings(base, &cfg.settings)
}

pub async fn create_user_pool_client(
    state: Arc<AppState>,
    req: wire::CreateUserPoolClientRequest,
) -> ApiResult<wire::CreateUserPoolClientResponse> {
    let config = config_in(client_fields!(req));
    let (client, secret) = state
        .engine
        .create_user_pool_client(
            &pool_id(&req.user_pool_id)?,
            tessera_engine::NewClient {
                name: req.client_name.clone(),
                generate_secret: req.generate_secret.unwrap_or(false),
                secret: req.client_secret.clone(),
                config,
            },
        )
        .await?;
    Ok(wire::CreateUserPoolClientResponse {
        user_pool_client: Some(client_type(&client, secret)?),
    })
}

pub async fn describe_user_pool_client(
    state: Arc<AppState>,
    req: wire::DescribeUserPoolClientRequest,
) -> ApiResult<wire::DescribeUserPoolClientResponse> {
    let (client, secret) = state
        .engine
        .describe_user_pool_client(&pool_id(&req.user_pool_id)?, &req.client_id)
        .await?;
    Ok(wire::DescribeUserPoolClientResponse {
        user_pool_client: Some(client_type(&client, secret)?),
    })
}

pub async fn update_user_pool_client(
    state: Arc<AppState>,
    req: wire::UpdateUserPoolClientRequest,
) -> ApiResult<wire::UpdateUserPoolClientResponse> {
    let config = config_in(client_fields!(req));
    let (client, secret) = state
        .engine
        .update_user_pool_client(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            tessera_engine::ClientUpdate {
                name: req.client_name.clone(),
                config,
            },
        )
        .await?;
    Ok(wire::UpdateUserPoolClientResponse {
        user_pool_client: Some(client_type(&client, secret)?),
    })
}

pub async fn delete_user_pool_client(
    state: Arc<AppState>,
    req: wire::DeleteUserPoolClientRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_user_pool_client(&pool_id(&req.user_pool_id)?, &req.client_id)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_user_pool_clients(
    state: Arc<AppState>,
    req: wire::ListUserPoolClientsRequest,
) -> ApiResult<wire::ListUserPoolClientsResponse> {
    let max = req.max_results.unwrap_or(60) as usize;
    let (clients, next) = state
        .engine
        .list_user_pool_clients(&pool_id(&req.user_pool_id)?, max, req.next_token.as_deref())
        .await?;
    Ok(wire::ListUserPoolClientsResponse {
        user_pool_clients: Some(
            clients
                .iter()
                .map(|c| wire::UserPoolClientDescription {
                    client_id: Some(c.client_id.to_string()),
                    client_name: Some(c.name.clone()),
                    user_pool_id: Some(c.pool_id.to_string()),
                })
                .collect(),
        ),
        next_token: next,
    })
}

fn secret_descriptor(d: tessera_engine::SecretDescriptor) -> wire::ClientSecretDescriptorType {
    wire::ClientSecretDescriptorType {
        client_secret_id: Some(d.id),
        client_secret_value: d.value,
        client_secret_create_date: Some(ts(d.created_at)),
    }
}

pub async fn add_user_pool_client_secret(
    state: Arc<AppState>,
    req: wire::AddUserPoolClientSecretRequest,
) -> ApiResult<wire::AddUserPoolClientSecretResponse> {
    let descriptor = state
        .engine
        .add_user_pool_client_secret(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            req.client_secret.clone(),
        )
        .await?;
    Ok(wire::AddUserPoolClientSecretResponse {
        client_secret_descriptor: Some(secret_descriptor(descriptor)),
    })
}

/// All of a client's (at most two) secrets in one page: Cognito returns no NextToken here.
pub async fn list_user_pool_client_secrets(
    state: Arc<AppState>,
    req: wire::ListUserPoolClientSecretsRequest,
) -> ApiResult<wire::ListUserPoolClientSecretsResponse> {
    let secrets = state
        .engine
        .list_user_pool_client_secrets(&pool_id(&req.user_pool_id)?, &req.client_id)
        .await?;
    Ok(wire::ListUserPoolClientSecretsResponse {
        client_secrets: Some(secrets.into_iter().map(secret_descriptor).collect()),
        next_token: None,
    })
}

pub async fn delete_user_pool_client_secret(
    state: Arc<AppState>,
    req: wire::DeleteUserPoolClientSecretRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_user_pool_client_secret(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            &req.client_secret_id,
        )
        .await?;
    Ok(serde_json::json!({}))
}
