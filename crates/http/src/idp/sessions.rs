//! User sessions: Set/GetUserPoolSessionConfiguration, Set/GetUserPoolClientSessionConfiguration,
//! ListUserSessions, AdminListUserSessions, RevokeUserSession, AdminRevokeUserSession; and
//! AdminDeleteSoftwareToken.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::sessions::PoolSessions;
use tessera_engine::{SessionKind, UserRef, UserSession};
use tessera_wire::idp as wire;

fn tracking_out(c: PoolSessions) -> wire::UserSessionTrackingType {
    if c.tracking {
        wire::UserSessionTrackingType::Enabled
    } else {
        wire::UserSessionTrackingType::Disabled
    }
}

fn token_session_out(c: PoolSessions) -> wire::UserPoolTokenSessionConfigType {
    wire::UserPoolTokenSessionConfigType {
        max_per_user: i64::from(c.max_per_user),
    }
}

fn session_out(s: UserSession, admin: bool) -> wire::SessionDescriptionType {
    wire::SessionDescriptionType {
        session_id: Some(s.session_id),
        session_type: Some(match s.kind {
            SessionKind::Token => wire::SessionTypeType::Token,
            SessionKind::Sso => wire::SessionTypeType::Sso,
        }),
        client_id: s.client_id.map(|c| c.to_string()),
        create_date: Some(ts(s.created_at)),
        last_active_date: Some(ts(s.last_active_at)),
        device_type: Some(s.device.unwrap_or_else(|| "unknown".into())),
        is_current_session: Some(!admin && s.current),
        ..Default::default()
    }
}

pub async fn set_user_pool_session_configuration(
    state: Arc<AppState>,
    req: wire::SetUserPoolSessionConfigurationRequest,
) -> ApiResult<wire::SetUserPoolSessionConfigurationResponse> {
    let config = PoolSessions {
        tracking: req.user_session_tracking == wire::UserSessionTrackingType::Enabled,
        max_per_user: u32::try_from(req.token_session.max_per_user).unwrap_or(0),
    };
    let c = state
        .engine
        .set_user_pool_session_configuration(&pool_id(&req.user_pool_id)?, config)
        .await?;
    Ok(wire::SetUserPoolSessionConfigurationResponse {
        user_pool_id: Some(req.user_pool_id),
        user_session_tracking: Some(tracking_out(c)),
        token_session: Some(token_session_out(c)),
    })
}

pub async fn get_user_pool_session_configuration(
    state: Arc<AppState>,
    req: wire::GetUserPoolSessionConfigurationRequest,
) -> ApiResult<wire::GetUserPoolSessionConfigurationResponse> {
    let c = state
        .engine
        .get_user_pool_session_configuration(&pool_id(&req.user_pool_id)?)
        .await?;
    Ok(wire::GetUserPoolSessionConfigurationResponse {
        user_pool_id: Some(req.user_pool_id),
        user_session_tracking: Some(tracking_out(c)),
        token_session: Some(token_session_out(c)),
    })
}

pub async fn set_user_pool_client_session_configuration(
    state: Arc<AppState>,
    req: wire::SetUserPoolClientSessionConfigurationRequest,
) -> ApiResult<wire::SetUserPoolClientSessionConfigurationResponse> {
    let minutes = state
        .engine
        .set_client_session_configuration(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            req.sso_session.max_validity_minutes,
        )
        .await?;
    Ok(wire::SetUserPoolClientSessionConfigurationResponse {
        user_pool_id: Some(req.user_pool_id),
        client_id: Some(req.client_id),
        sso_session: Some(wire::ClientSSOSessionConfigType {
            max_validity_minutes: minutes,
        }),
    })
}

pub async fn get_user_pool_client_session_configuration(
    state: Arc<AppState>,
    req: wire::GetUserPoolClientSessionConfigurationRequest,
) -> ApiResult<wire::GetUserPoolClientSessionConfigurationResponse> {
    let minutes = state
        .engine
        .get_client_session_configuration(&pool_id(&req.user_pool_id)?, &req.client_id)
        .await?;
    Ok(wire::GetUserPoolClientSessionConfigurationResponse {
        user_pool_id: Some(req.user_pool_id),
        client_id: Some(req.client_id),
        sso_session: minutes.map(|m| wire::ClientSSOSessionConfigType {
            max_validity_minutes: m,
        }),
    })
}

pub async fn list_user_sessions(
    state: Arc<AppState>,
    req: wire::ListUserSessionsRequest,
) -> ApiResult<wire::ListUserSessionsResponse> {
    let (sessions, next_token) = state
        .engine
        .list_user_sessions(
            UserRef::AccessToken(&req.access_token),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListUserSessionsResponse {
        sessions: Some(
            sessions
                .into_iter()
                .map(|s| session_out(s, false))
                .collect(),
        ),
        next_token,
    })
}

pub async fn admin_list_user_sessions(
    state: Arc<AppState>,
    req: wire::AdminListUserSessionsRequest,
) -> ApiResult<wire::AdminListUserSessionsResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    let who = UserRef::Admin {
        pool: &pool,
        username: &req.username,
    };
    let (sessions, next_token) = state
        .engine
        .list_user_sessions(who, req.next_token.as_deref())
        .await?;
    Ok(wire::AdminListUserSessionsResponse {
        sessions: Some(sessions.into_iter().map(|s| session_out(s, true)).collect()),
        next_token,
    })
}

pub async fn revoke_user_session(
    state: Arc<AppState>,
    req: wire::RevokeUserSessionRequest,
) -> ApiResult<wire::RevokeUserSessionResponse> {
    state
        .engine
        .revoke_user_session(UserRef::AccessToken(&req.access_token), &req.session_id)
        .await?;
    Ok(wire::RevokeUserSessionResponse::default())
}

pub async fn admin_revoke_user_session(
    state: Arc<AppState>,
    req: wire::AdminRevokeUserSessionRequest,
) -> ApiResult<wire::AdminRevokeUserSessionResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    let who = UserRef::Admin {
        pool: &pool,
        username: &req.username,
    };
    state
        .engine
        .revoke_user_session(who, &req.session_id)
        .await?;
    Ok(wire::AdminRevokeUserSessionResponse::default())
}

pub async fn admin_delete_software_token(
    state: Arc<AppState>,
    req: wire::AdminDeleteSoftwareTokenRequest,
) -> ApiResult<wire::AdminDeleteSoftwareTokenResponse> {
    state
        .engine
        .admin_delete_software_token(&pool_id(&req.user_pool_id)?, &req.username)
        .await?;
    Ok(wire::AdminDeleteSoftwareTokenResponse::default())
}
