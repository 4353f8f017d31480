//! GetCSVHeader, SetLogDeliveryConfiguration, GetLogDeliveryConfiguration, SetUICustomization,
//! GetUICustomization.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::pool_settings::{EventSource, LogConfiguration, LogDestination, LogLevel};
use tessera_engine::FoundUiCustomization;
use tessera_wire::idp as wire;

pub async fn get_csv_header(
    state: Arc<AppState>,
    req: wire::GetCSVHeaderRequest,
) -> ApiResult<wire::GetCSVHeaderResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let header = state.engine.csv_header(&id).await?;
    Ok(wire::GetCSVHeaderResponse {
        csv_header: Some(header),
        user_pool_id: Some(id.to_string()),
    })
}

fn log_configuration_in(c: wire::LogConfigurationType) -> ApiResult<LogConfiguration> {
    let destinations = [
        c.cloud_watch_logs_configuration
            .and_then(|d| d.log_group_arn)
            .map(LogDestination::CloudWatchLogs),
        c.s3_configuration
            .and_then(|d| d.bucket_arn)
            .map(LogDestination::S3),
        c.firehose_configuration
            .and_then(|d| d.stream_arn)
            .map(LogDestination::Firehose),
    ];
    let mut given = destinations.into_iter().flatten();
    let (Some(destination), None) = (given.next(), given.next()) else {
        return Err(DomainError::invalid_parameter(
            "Exactly one of CloudWatchLogsConfiguration, S3Configuration or \
             FirehoseConfiguration must be specified with its ARN.",
        )
        .into());
    };
    Ok(LogConfiguration {
        level: match c.log_level {
            wire::LogLevel::Error => LogLevel::Error,
            wire::LogLevel::Info => LogLevel::Info,
        },
        source: match c.event_source {
            wire::EventSourceName::UserNotification => EventSource::UserNotification,
            wire::EventSourceName::UserAuthEvents => EventSource::UserAuthEvents,
        },
        destination,
    })
}

fn log_configuration_out(c: LogConfiguration) -> wire::LogConfigurationType {
    let mut out = wire::LogConfigurationType {
        log_level: match c.level {
            LogLevel::Error => wire::LogLevel::Error,
            LogLevel::Info => wire::LogLevel::Info,
        },
        event_source: match c.source {
            EventSource::UserNotification => wire::EventSourceName::UserNotification,
            EventSource::UserAuthEvents => wire::EventSourceName::UserAuthEvents,
        },
        ..Default::default()
    };
    match c.destination {
        LogDestination::CloudWatchLogs(arn) => {
            out.cloud_watch_logs_configuration = Some(wire::CloudWatchLogsConfigurationType {
                log_group_arn: Some(arn),
            })
        }
        LogDestination::S3(arn) => {
            out.s3_configuration = Some(wire::S3ConfigurationType {
                bucket_arn: Some(arn),
            })
        }
        LogDestination::Firehose(arn) => {
            out.firehose_configuration = Some(wire::FirehoseConfigurationType {
                stream_arn: Some(arn),
            })
        }
    }
    out
}

fn log_delivery_out(
    id: &tessera_domain::UserPoolId,
    configs: Vec<LogConfiguration>,
) -> wire::LogDeliveryConfigurationType {
    wire::LogDeliveryConfigurationType {
        log_configurations: configs.into_iter().map(log_configuration_out).collect(),
        user_pool_id: id.to_string(),
    }
}

pub async fn set_log_delivery_configuration(
    state: Arc<AppState>,
    req: wire::SetLogDeliveryConfigurationRequest,
) -> ApiResult<wire::SetLogDeliveryConfigurationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let configs = req
        .log_configurations
        .into_iter()
        .map(log_configuration_in)
        .collect::<ApiResult<Vec<_>>>()?;
    let configs = state
        .engine
        .set_log_delivery_configuration(&id, configs)
        .await?;
    Ok(wire::SetLogDeliveryConfigurationResponse {
        log_delivery_configuration: Some(log_delivery_out(&id, configs)),
    })
}

pub async fn get_log_delivery_configuration(
    state: Arc<AppState>,
    req: wire::GetLogDeliveryConfigurationRequest,
) -> ApiResult<wire::GetLogDeliveryConfigurationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let configs = state.engine.log_delivery_configuration(&id).await?;
    Ok(wire::GetLogDeliveryConfigurationResponse {
        log_delivery_configuration: Some(log_delivery_out(&id, configs)),
    })
}

/// Where Tessera serves the logo of the customization stored under `key` (see [`ui_logo`]).
fn logo_url(state: &AppState, id: &tessera_domain::UserPoolId, key: &str) -> String {
    let base = &state.engine.settings().issuer_base;
    format!("{base}/_tessera/ui/{id}/{key}/logo")
}

fn ui_out(
    state: &AppState,
    id: &tessera_domain::UserPoolId,
    found: FoundUiCustomization,
) -> wire::UICustomizationType {
    let ui = found.customization;
    wire::UICustomizationType {
        user_pool_id: Some(id.to_string()),
        image_url: ui
            .logo
            .as_ref()
            .map(|_| logo_url(state, id, &found.client_id)),
        client_id: Some(found.client_id),
        css: ui.css,
        css_version: ui.css_version,
        creation_date: Some(ts(ui.created_at)),
        last_modified_date: Some(ts(ui.modified_at)),
    }
}

pub async fn set_ui_customization(
    state: Arc<AppState>,
    req: wire::SetUICustomizationRequest,
) -> ApiResult<wire::SetUICustomizationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let found = state
        .engine
        .set_ui_customization(&id, req.client_id.as_deref(), req.css, req.image_file)
        .await?;
    Ok(wire::SetUICustomizationResponse {
        ui_customization: ui_out(&state, &id, found),
    })
}

pub async fn get_ui_customization(
    state: Arc<AppState>,
    req: wire::GetUICustomizationRequest,
) -> ApiResult<wire::GetUICustomizationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let found = state
        .engine
        .ui_customization(&id, req.client_id.as_deref())
        .await?;
    Ok(wire::GetUICustomizationResponse {
        ui_customization: found.map(|f| ui_out(&state, &id, f)).unwrap_or_default(),
    })
}

/// `GET /_tessera/ui/{pool}/{client}/logo`: a hosted-UI logo set with SetUICustomization (the
/// ImageUrl GetUICustomization returns); 404 when there is none.
pub async fn ui_logo(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    axum::extract::Path((pool, key)): axum::extract::Path<(String, String)>,
) -> axum::response::Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let Ok(id) = tessera_domain::UserPoolId::parse(&pool) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.engine.ui_logo(&id, &key).await {
        Ok(Some((media_type, bytes))) => {
            let mut r = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&media_type) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
