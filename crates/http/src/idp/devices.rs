//! Devices: ConfirmDevice, GetDevice, ListDevices, ForgetDevice, UpdateDeviceStatus and the
//! Admin forms of the last four.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::devices::Device;
use tessera_engine::UserRef;
use tessera_wire::idp as wire;

fn device_out(d: &Device) -> wire::DeviceType {
    wire::DeviceType {
        device_key: Some(d.key.clone()),
        device_attributes: Some(
            d.attributes()
                .into_iter()
                .map(|(name, value)| wire::AttributeType {
                    name,
                    value: Some(value),
                })
                .collect(),
        ),
        device_create_date: Some(ts(d.created_at)),
        device_last_modified_date: Some(ts(d.modified_at)),
        device_last_authenticated_date: d.last_authenticated_at.map(ts),
    }
}

fn token(t: &Option<String>) -> ApiResult<UserRef<'_>> {
    t.as_deref()
        .map(UserRef::AccessToken)
        .ok_or_else(|| DomainError::invalid_parameter("AccessToken is required.").into())
}

fn remembered(s: Option<wire::DeviceRememberedStatusType>) -> bool {
    s == Some(wire::DeviceRememberedStatusType::Remembered)
}

pub async fn confirm_device(
    state: Arc<AppState>,
    req: wire::ConfirmDeviceRequest,
) -> ApiResult<wire::ConfirmDeviceResponse> {
    let config = req.device_secret_verifier_config.unwrap_or_default();
    let necessary = state
        .engine
        .confirm_device(
            &req.access_token,
            &req.device_key,
            config.password_verifier.as_deref().unwrap_or_default(),
            config.salt.as_deref().unwrap_or_default(),
            req.device_name,
        )
        .await?;
    Ok(wire::ConfirmDeviceResponse {
        user_confirmation_necessary: Some(necessary),
    })
}

pub async fn get_device(
    state: Arc<AppState>,
    req: wire::GetDeviceRequest,
) -> ApiResult<wire::GetDeviceResponse> {
    let d = state
        .engine
        .get_device(token(&req.access_token)?, &req.device_key)
        .await?;
    Ok(wire::GetDeviceResponse {
        device: device_out(&d),
    })
}

pub async fn admin_get_device(
    state: Arc<AppState>,
    req: wire::AdminGetDeviceRequest,
) -> ApiResult<wire::AdminGetDeviceResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    let who = UserRef::Admin {
        pool: &pool,
        username: &req.username,
    };
    let d = state.engine.get_device(who, &req.device_key).await?;
    Ok(wire::AdminGetDeviceResponse {
        device: device_out(&d),
    })
}

pub async fn list_devices(
    state: Arc<AppState>,
    req: wire::ListDevicesRequest,
) -> ApiResult<wire::ListDevicesResponse> {
    let page = state
        .engine
        .list_devices(
            UserRef::AccessToken(&req.access_token),
            req.limit.unwrap_or(60).clamp(1, 60) as usize,
            req.pagination_token.as_deref(),
        )
        .await?;
    Ok(wire::ListDevicesResponse {
        devices: Some(page.devices.iter().map(device_out).collect()),
        pagination_token: page.next_token,
    })
}

pub async fn admin_list_devices(
    state: Arc<AppState>,
    req: wire::AdminListDevicesRequest,
) -> ApiResult<wire::AdminListDevicesResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    let page = state
        .engine
        .list_devices(
            UserRef::Admin {
                pool: &pool,
                username: &req.username,
            },
            req.limit.unwrap_or(60).clamp(1, 60) as usize,
            req.pagination_token.as_deref(),
        )
        .await?;
    Ok(wire::AdminListDevicesResponse {
        devices: Some(page.devices.iter().map(device_out).collect()),
        pagination_token: page.next_token,
    })
}

pub async fn forget_device(
    state: Arc<AppState>,
    req: wire::ForgetDeviceRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .forget_device(token(&req.access_token)?, &req.device_key)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn admin_forget_device(
    state: Arc<AppState>,
    req: wire::AdminForgetDeviceRequest,
) -> ApiResult<serde_json::Value> {
    let pool = pool_id(&req.user_pool_id)?;
    state
        .engine
        .forget_device(
            UserRef::Admin {
                pool: &pool,
                username: &req.username,
            },
            &req.device_key,
        )
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn update_device_status(
    state: Arc<AppState>,
    req: wire::UpdateDeviceStatusRequest,
) -> ApiResult<wire::UpdateDeviceStatusResponse> {
    state
        .engine
        .update_device_status(
            UserRef::AccessToken(&req.access_token),
            &req.device_key,
            remembered(req.device_remembered_status),
        )
        .await?;
    Ok(wire::UpdateDeviceStatusResponse::default())
}

pub async fn admin_update_device_status(
    state: Arc<AppState>,
    req: wire::AdminUpdateDeviceStatusRequest,
) -> ApiResult<wire::AdminUpdateDeviceStatusResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    state
        .engine
        .update_device_status(
            UserRef::Admin {
                pool: &pool,
                username: &req.username,
            },
            &req.device_key,
            remembered(req.device_remembered_status),
        )
        .await?;
    Ok(wire::AdminUpdateDeviceStatusResponse::default())
}
