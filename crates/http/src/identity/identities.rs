//! GetId, GetCredentialsForIdentity, DescribeIdentity, ListIdentities, DeleteIdentities,
//! UnlinkIdentity.

use super::{ApiResult, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::identity::Identity;
use tessera_wire::identity as wire;

fn description(identity: Identity) -> wire::IdentityDescription {
    wire::IdentityDescription {
        identity_id: Some(identity.id.to_string()),
        logins: Some(identity.login_names()),
        creation_date: Some(ts(identity.created_at)),
        last_modified_date: Some(ts(identity.modified_at)),
    }
}

pub async fn get_id(state: Arc<AppState>, req: wire::GetIdInput) -> ApiResult<wire::GetIdResponse> {
    let id = state
        .engine
        .get_id(&req.identity_pool_id, &req.logins.unwrap_or_default())
        .await?;
    Ok(wire::GetIdResponse {
        identity_id: Some(id.to_string()),
    })
}

pub async fn get_credentials_for_identity(
    state: Arc<AppState>,
    req: wire::GetCredentialsForIdentityInput,
) -> ApiResult<wire::GetCredentialsForIdentityResponse> {
    let issued = state
        .engine
        .get_credentials_for_identity(
            &req.identity_id,
            &req.logins.unwrap_or_default(),
            req.custom_role_arn.as_deref(),
        )
        .await?;
    Ok(wire::GetCredentialsForIdentityResponse {
        identity_id: Some(issued.identity_id),
        credentials: Some(wire::Credentials {
            access_key_id: Some(issued.access_key_id),
            secret_key: Some(issued.secret_key.to_string()),
            session_token: Some(issued.session_token.to_string()),
            // Whole seconds, as Cognito sends it (SDKs compare it with their clocks).
            expiration: Some(tessera_wire::Timestamp::from_millis(
                issued.expiration.secs() * 1000,
            )),
        }),
    })
}

pub async fn describe_identity(
    state: Arc<AppState>,
    req: wire::DescribeIdentityInput,
) -> ApiResult<wire::IdentityDescription> {
    Ok(description(
        state.engine.describe_identity(&req.identity_id).await?,
    ))
}

pub async fn list_identities(
    state: Arc<AppState>,
    req: wire::ListIdentitiesInput,
) -> ApiResult<wire::ListIdentitiesResponse> {
    let page = state
        .engine
        .list_identities(
            &req.identity_pool_id,
            req.max_results.clamp(1, 60) as usize,
            req.next_token.as_deref(),
            req.hide_disabled.unwrap_or(false),
        )
        .await?;
    Ok(wire::ListIdentitiesResponse {
        identity_pool_id: Some(req.identity_pool_id),
        identities: Some(page.identities.into_iter().map(description).collect()),
        next_token: page.next.map(|n| n.to_string()),
    })
}

pub async fn delete_identities(
    state: Arc<AppState>,
    req: wire::DeleteIdentitiesInput,
) -> ApiResult<wire::DeleteIdentitiesResponse> {
    let unprocessed = state
        .engine
        .delete_identities(&req.identity_ids_to_delete)
        .await?;
    Ok(wire::DeleteIdentitiesResponse {
        unprocessed_identity_ids: Some(
            unprocessed
                .into_iter()
                .map(|id| wire::UnprocessedIdentityId {
                    identity_id: Some(id),
                    error_code: Some(wire::ErrorCode::AccessDenied),
                })
                .collect(),
        ),
    })
}

pub async fn unlink_identity(
    state: Arc<AppState>,
    req: wire::UnlinkIdentityInput,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .unlink_identity(&req.identity_id, &req.logins, &req.logins_to_remove)
        .await?;
    Ok(serde_json::json!({}))
}
