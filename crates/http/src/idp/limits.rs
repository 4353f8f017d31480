//! GetProvisionedLimit and UpdateProvisionedLimit: the deployment's request-rate quotas by
//! Cognito API category (see `tessera_engine::quotas`).

use super::ApiResult;
use crate::AppState;
use std::sync::Arc;
use tessera_engine::quotas::LimitView;
use tessera_wire::idp as wire;

fn limit_out(view: LimitView, definition: wire::LimitDefinitionType) -> wire::LimitType {
    let mut definition = definition;
    definition.attributes = [("Category".to_string(), view.category.name().to_string())]
        .into_iter()
        .collect();
    wire::LimitType {
        free_limit_value: i64::from(view.free),
        limit_definition: definition,
        provisioned_limit_value: i64::from(view.provisioned),
    }
}

pub async fn get_provisioned_limit(
    state: Arc<AppState>,
    req: wire::GetProvisionedLimitRequest,
) -> ApiResult<wire::GetProvisionedLimitResponse> {
    let d = req.limit_definition;
    let view = state
        .engine
        .get_provisioned_limit(d.limit_class.as_str(), &d.attributes)
        .await?;
    Ok(wire::GetProvisionedLimitResponse {
        limit: limit_out(view, d),
    })
}

pub async fn update_provisioned_limit(
    state: Arc<AppState>,
    req: wire::UpdateProvisionedLimitRequest,
) -> ApiResult<wire::UpdateProvisionedLimitResponse> {
    let d = req.limit_definition;
    let view = state
        .engine
        .update_provisioned_limit(
            d.limit_class.as_str(),
            &d.attributes,
            req.requested_limit_value,
        )
        .await?;
    Ok(wire::UpdateProvisionedLimitResponse {
        limit: limit_out(view, d),
    })
}
