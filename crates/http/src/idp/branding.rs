//! CreateManagedLoginBranding, DescribeManagedLoginBranding,
//! DescribeManagedLoginBrandingByClient, UpdateManagedLoginBranding, DeleteManagedLoginBranding.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::branding::{BrandingAsset, BrandingChange, ManagedLoginBranding};
use tessera_wire::idp as wire;

fn asset_in(a: wire::AssetType) -> BrandingAsset {
    BrandingAsset {
        category: a.category.as_str().to_string(),
        color_mode: a.color_mode.as_str().to_string(),
        extension: a.extension.as_str().to_string(),
        bytes: a.bytes,
        resource_id: a.resource_id,
    }
}

fn asset_out(a: &BrandingAsset) -> ApiResult<wire::AssetType> {
    let bad = || DomainError::internal("stored asset is unreadable");
    Ok(wire::AssetType {
        bytes: a.bytes.clone(),
        category: wire::AssetCategoryType::parse(&a.category).ok_or_else(bad)?,
        color_mode: wire::ColorSchemeModeType::parse(&a.color_mode).ok_or_else(bad)?,
        extension: wire::AssetExtensionType::parse(&a.extension).ok_or_else(bad)?,
        resource_id: a.resource_id.clone(),
    })
}

fn change_in(
    use_cognito_provided_values: Option<bool>,
    settings: Option<serde_json::Value>,
    assets: Option<Vec<wire::AssetType>>,
) -> BrandingChange {
    BrandingChange {
        use_cognito_provided_values: use_cognito_provided_values.unwrap_or(false),
        // A JSON null Settings is no Settings.
        settings: settings.filter(|s| !s.is_null()),
        assets: assets.map(|a| a.into_iter().map(asset_in).collect()),
    }
}

fn style_out(s: &ManagedLoginBranding) -> ApiResult<wire::ManagedLoginBrandingType> {
    Ok(wire::ManagedLoginBrandingType {
        managed_login_branding_id: Some(s.id.to_string()),
        user_pool_id: Some(s.pool_id.to_string()),
        use_cognito_provided_values: Some(s.use_cognito_provided_values),
        settings: Some(
            s.settings
                .clone()
                .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
        ),
        assets: Some(s.assets.iter().map(asset_out).collect::<ApiResult<_>>()?),
        creation_date: Some(ts(s.created_at)),
        last_modified_date: Some(ts(s.modified_at)),
    })
}

pub async fn create_managed_login_branding(
    state: Arc<AppState>,
    req: wire::CreateManagedLoginBrandingRequest,
) -> ApiResult<wire::CreateManagedLoginBrandingResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let change = change_in(req.use_cognito_provided_values, req.settings, req.assets);
    let style = state
        .engine
        .create_managed_login_branding(&id, &req.client_id, change)
        .await?;
    Ok(wire::CreateManagedLoginBrandingResponse {
        managed_login_branding: Some(style_out(&style)?),
    })
}

pub async fn describe_managed_login_branding(
    state: Arc<AppState>,
    req: wire::DescribeManagedLoginBrandingRequest,
) -> ApiResult<wire::DescribeManagedLoginBrandingResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let style = state
        .engine
        .describe_managed_login_branding(
            &id,
            &req.managed_login_branding_id,
            req.return_merged_resources.unwrap_or(false),
        )
        .await?;
    Ok(wire::DescribeManagedLoginBrandingResponse {
        managed_login_branding: Some(style_out(&style)?),
    })
}

pub async fn describe_managed_login_branding_by_client(
    state: Arc<AppState>,
    req: wire::DescribeManagedLoginBrandingByClientRequest,
) -> ApiResult<wire::DescribeManagedLoginBrandingByClientResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let style = state
        .engine
        .describe_managed_login_branding_by_client(
            &id,
            &req.client_id,
            req.return_merged_resources.unwrap_or(false),
        )
        .await?;
    Ok(wire::DescribeManagedLoginBrandingByClientResponse {
        managed_login_branding: Some(style_out(&style)?),
    })
}

pub async fn update_managed_login_branding(
    state: Arc<AppState>,
    req: wire::UpdateManagedLoginBrandingRequest,
) -> ApiResult<wire::UpdateManagedLoginBrandingResponse> {
    // Optional in the model, but a style is only found by both.
    let (Some(pool), Some(style_id)) = (&req.user_pool_id, &req.managed_login_branding_id) else {
        return Err(DomainError::invalid_parameter(
            "UserPoolId and ManagedLoginBrandingId are required.",
        )
        .into());
    };
    let id = pool_id(pool)?;
    let change = change_in(req.use_cognito_provided_values, req.settings, req.assets);
    let style = state
        .engine
        .update_managed_login_branding(&id, style_id, change)
        .await?;
    Ok(wire::UpdateManagedLoginBrandingResponse {
        managed_login_branding: Some(style_out(&style)?),
    })
}

pub async fn delete_managed_login_branding(
    state: Arc<AppState>,
    req: wire::DeleteManagedLoginBrandingRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_managed_login_branding(&pool_id(&req.user_pool_id)?, &req.managed_login_branding_id)
        .await?;
    Ok(serde_json::json!({}))
}
