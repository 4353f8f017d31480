//! CreateUserPoolReplica, DeleteUserPoolReplica, ListUserPoolReplicas, UpdateUserPoolReplica:
//! regional replicas are AWS infrastructure, so each answers OperationNotEnabledException with
//! the reason (after the usual ResourceNotFoundException for an unknown pool).

use super::{ApiResult, pool_id};
use crate::AppState;
use serde_json::Value;
use std::sync::Arc;
use tessera_wire::idp as wire;

/// The operations routed only to answer an honest error (listed apart by `tessera operations`
/// and `cargo xtask coverage`): service, operation, what they answer.
pub const REFUSED_ON_PURPOSE: &[(&str, &str, &str)] = &[
    (
        "cognito-idp",
        "CreateUserPoolReplica",
        "OperationNotEnabledException: replicas are AWS infrastructure",
    ),
    (
        "cognito-idp",
        "DeleteUserPoolReplica",
        "OperationNotEnabledException: replicas are AWS infrastructure",
    ),
    (
        "cognito-idp",
        "ListUserPoolReplicas",
        "OperationNotEnabledException: replicas are AWS infrastructure",
    ),
    (
        "cognito-idp",
        "UpdateUserPoolReplica",
        "OperationNotEnabledException: replicas are AWS infrastructure",
    ),
];

async fn refuse(state: &AppState, pool: &str) -> ApiResult<Value> {
    state.engine.user_pool_replicas(&pool_id(pool)?).await?;
    Ok(Value::Object(Default::default()))
}

pub async fn create_user_pool_replica(
    state: Arc<AppState>,
    req: wire::CreateUserPoolReplicaRequest,
) -> ApiResult<Value> {
    refuse(&state, &req.user_pool_id).await
}

pub async fn delete_user_pool_replica(
    state: Arc<AppState>,
    req: wire::DeleteUserPoolReplicaRequest,
) -> ApiResult<Value> {
    refuse(&state, &req.user_pool_id).await
}

pub async fn list_user_pool_replicas(
    state: Arc<AppState>,
    req: wire::ListUserPoolReplicasRequest,
) -> ApiResult<Value> {
    refuse(&state, &req.user_pool_id).await
}

pub async fn update_user_pool_replica(
    state: Arc<AppState>,
    req: wire::UpdateUserPoolReplicaRequest,
) -> ApiResult<Value> {
    refuse(&state, &req.user_pool_id).await
}
