//! Groups: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, AdminAddUserToGroup,
//! AdminRemoveUserFromGroup, AdminListGroupsForUser, ListUsersInGroup.

use super::{ApiResult, pool_id, ts, user_type};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::groups::{Group, GroupUpdate};
use tessera_engine::{GroupPage, NewGroup};
use tessera_wire::idp as wire;

fn group_out(g: &Group) -> wire::GroupType {
    wire::GroupType {
        group_name: Some(g.name.clone()),
        user_pool_id: Some(g.pool_id.to_string()),
        description: g.description.clone(),
        role_arn: g.role_arn.clone(),
        precedence: g.precedence.map(i64::from),
        creation_date: Some(ts(g.created_at)),
        last_modified_date: Some(ts(g.modified_at)),
    }
}

/// The model bounds Precedence below (0) but not above; we store an i32 as Cognito does.
fn precedence(p: Option<i64>) -> ApiResult<Option<i32>> {
    p.map(|p| {
        i32::try_from(p).map_err(|_| {
            DomainError::invalid_parameter(
                "1 validation error detected: Value at 'precedence' failed to satisfy constraint: \
                 Member must have value less than or equal to 2147483647",
            )
            .into()
        })
    })
    .transpose()
}

/// Page sizes: the model allows up to 60, and 0 or absent means the default (60).
fn limit(l: Option<i64>) -> usize {
    match l {
        Some(n) if n > 0 => n.min(60) as usize,
        _ => 60,
    }
}

fn groups_out(page: GroupPage) -> (Option<Vec<wire::GroupType>>, Option<String>) {
    (
        Some(page.groups.iter().map(group_out).collect()),
        page.next_token,
    )
}

pub async fn create_group(
    state: Arc<AppState>,
    req: wire::CreateGroupRequest,
) -> ApiResult<wire::CreateGroupResponse> {
    let new = NewGroup {
        description: req.description,
        role_arn: req.role_arn,
        precedence: precedence(req.precedence)?,
    };
    let group = state
        .engine
        .create_group(&pool_id(&req.user_pool_id)?, &req.group_name, new)
        .await?;
    Ok(wire::CreateGroupResponse {
        group: Some(group_out(&group)),
    })
}

pub async fn get_group(
    state: Arc<AppState>,
    req: wire::GetGroupRequest,
) -> ApiResult<wire::GetGroupResponse> {
    let group = state
        .engine
        .get_group(&pool_id(&req.user_pool_id)?, &req.group_name)
        .await?;
    Ok(wire::GetGroupResponse {
        group: Some(group_out(&group)),
    })
}

pub async fn update_group(
    state: Arc<AppState>,
    req: wire::UpdateGroupRequest,
) -> ApiResult<wire::UpdateGroupResponse> {
    let update = GroupUpdate {
        description: req.description,
        role_arn: req.role_arn,
        precedence: precedence(req.precedence)?,
    };
    let group = state
        .engine
        .update_group(&pool_id(&req.user_pool_id)?, &req.group_name, update)
        .await?;
    Ok(wire::UpdateGroupResponse {
        group: Some(group_out(&group)),
    })
}

pub async fn delete_group(
    state: Arc<AppState>,
    req: wire::DeleteGroupRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_group(&pool_id(&req.user_pool_id)?, &req.group_name)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_groups(
    state: Arc<AppState>,
    req: wire::ListGroupsRequest,
) -> ApiResult<wire::ListGroupsResponse> {
    let page = state
        .engine
        .list_groups(
            &pool_id(&req.user_pool_id)?,
            limit(req.limit),
            req.next_token.as_deref(),
        )
        .await?;
    let (groups, next_token) = groups_out(page);
    Ok(wire::ListGroupsResponse { groups, next_token })
}

pub async fn admin_add_user_to_group(
    state: Arc<AppState>,
    req: wire::AdminAddUserToGroupRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .admin_add_user_to_group(&pool_id(&req.user_pool_id)?, &req.username, &req.group_name)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn admin_remove_user_from_group(
    state: Arc<AppState>,
    req: wire::AdminRemoveUserFromGroupRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .admin_remove_user_from_group(&pool_id(&req.user_pool_id)?, &req.username, &req.group_name)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn admin_list_groups_for_user(
    state: Arc<AppState>,
    req: wire::AdminListGroupsForUserRequest,
) -> ApiResult<wire::AdminListGroupsForUserResponse> {
    let page = state
        .engine
        .admin_list_groups_for_user(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            limit(req.limit),
            req.next_token.as_deref(),
        )
        .await?;
    let (groups, next_token) = groups_out(page);
    Ok(wire::AdminListGroupsForUserResponse { groups, next_token })
}

pub async fn list_users_in_group(
    state: Arc<AppState>,
    req: wire::ListUsersInGroupRequest,
) -> ApiResult<wire::ListUsersInGroupResponse> {
    let page = state
        .engine
        .list_users_in_group(
            &pool_id(&req.user_pool_id)?,
            &req.group_name,
            limit(req.limit),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListUsersInGroupResponse {
        users: Some(page.users.iter().map(|u| user_type(u, None)).collect()),
        next_token: page.next_token,
    })
}
