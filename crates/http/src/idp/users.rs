//! User operations: administrators' (Admin*, ListUsers) and users' own (SignUp, GetUser,
//! UpdateUserAttributes, DeleteUserAttributes, DeleteUser, ChangePassword).

use super::{
    ApiResult, attributes_in, attributes_out, delivery_out, pool_id, status_out, ts, user_type,
    validation_data,
};
use crate::AppState;
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_wire::idp as wire;

/// UserMFASettingList and PreferredMfaSetting (absent when empty, as Cognito omits them).
fn mfa_out(user: &tessera_domain::user::User) -> (Option<Vec<String>>, Option<String>) {
    let (list, preferred) = user.mfa.settings();
    (
        (!list.is_empty()).then(|| list.iter().map(|s| s.to_string()).collect()),
        preferred.map(String::from),
    )
}

/// The legacy MFAOptions: SMS to the phone number when SMS MFA is on.
fn mfa_options(user: &tessera_domain::user::User) -> Option<Vec<wire::MFAOptionType>> {
    user.mfa.sms.then(|| {
        vec![wire::MFAOptionType {
            delivery_medium: Some(wire::DeliveryMediumType::Sms),
            attribute_name: Some("phone_number".into()),
        }]
    })
}

fn empty() -> ApiResult<Value> {
    Ok(json!({}))
}

pub async fn sign_up(
    state: Arc<AppState>,
    req: wire::SignUpRequest,
) -> ApiResult<wire::SignUpResponse> {
    let password = req.password.clone();
    let signed = state
        .engine
        .sign_up(tessera_engine::SignUp {
            client_id: req.client_id,
            username: req.username,
            password,
            attributes: attributes_in(req.user_attributes.unwrap_or_default()),
            secret_hash: req.secret_hash,
            validation_data: req.validation_data.map(validation_data),
            client_metadata: req.client_metadata,
        })
        .await?;
    Ok(wire::SignUpResponse {
        user_confirmed: signed.confirmed,
        user_sub: signed.user.sub.to_string(),
        code_delivery_details: signed.delivery.as_ref().map(delivery_out),
        session: None,
    })
}

pub async fn admin_confirm_sign_up(
    state: Arc<AppState>,
    req: wire::AdminConfirmSignUpRequest,
) -> ApiResult<wire::AdminConfirmSignUpResponse> {
    state
        .engine
        .admin_confirm_sign_up(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::AdminConfirmSignUpResponse::default())
}

pub async fn admin_create_user(
    state: Arc<AppState>,
    req: wire::AdminCreateUserRequest,
) -> ApiResult<wire::AdminCreateUserResponse> {
    let user = state
        .engine
        .admin_create_user(
            &pool_id(&req.user_pool_id)?,
            tessera_engine::AdminCreateUser {
                username: req.username,
                attributes: attributes_in(req.user_attributes.unwrap_or_default()),
                temporary_password: req.temporary_password,
                resend: req.message_action == Some(wire::MessageActionType::Resend),
                suppress: req.message_action == Some(wire::MessageActionType::Suppress),
                mediums: req
                    .desired_delivery_mediums
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| match m {
                        wire::DeliveryMediumType::Email => tessera_domain::messages::Channel::Email,
                        wire::DeliveryMediumType::Sms => tessera_domain::messages::Channel::Sms,
                    })
                    .collect(),
                validation_data: req.validation_data.map(validation_data),
                client_metadata: req.client_metadata,
            },
        )
        .await?;
    Ok(wire::AdminCreateUserResponse {
        user: Some(user_type(&user, None)),
    })
}

pub async fn admin_get_user(
    state: Arc<AppState>,
    req: wire::AdminGetUserRequest,
) -> ApiResult<wire::AdminGetUserResponse> {
    let user = state
        .engine
        .admin_get_user(&pool_id(&req.user_pool_id)?, &req.username)
        .await?;
    let (mfa_setting_list, preferred) = mfa_out(&user);
    Ok(wire::AdminGetUserResponse {
        username: user.username.to_string(),
        user_attributes: Some(attributes_out(&user, None)),
        user_create_date: Some(ts(user.created_at)),
        user_last_modified_date: Some(ts(user.modified_at)),
        enabled: Some(user.enabled),
        user_status: status_out(&user),
        mfa_options: mfa_options(&user),
        user_mfa_setting_list: mfa_setting_list,
        preferred_mfa_setting: preferred,
    })
}

pub async fn admin_delete_user(
    state: Arc<AppState>,
    req: wire::AdminDeleteUserRequest,
) -> ApiResult<Value> {
    state
        .engine
        .admin_delete_user(&pool_id(&req.user_pool_id)?, &req.username)
        .await?;
    empty()
}

pub async fn admin_update_user_attributes(
    state: Arc<AppState>,
    req: wire::AdminUpdateUserAttributesRequest,
) -> ApiResult<wire::AdminUpdateUserAttributesResponse> {
    state
        .engine
        .admin_update_user_attributes(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            attributes_in(req.user_attributes),
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::AdminUpdateUserAttributesResponse::default())
}

pub async fn admin_delete_user_attributes(
    state: Arc<AppState>,
    req: wire::AdminDeleteUserAttributesRequest,
) -> ApiResult<wire::AdminDeleteUserAttributesResponse> {
    state
        .engine
        .admin_delete_user_attributes(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            req.user_attribute_names,
        )
        .await?;
    Ok(wire::AdminDeleteUserAttributesResponse::default())
}

pub async fn admin_disable_user(
    state: Arc<AppState>,
    req: wire::AdminDisableUserRequest,
) -> ApiResult<wire::AdminDisableUserResponse> {
    state
        .engine
        .admin_set_user_enabled(&pool_id(&req.user_pool_id)?, &req.username, false)
        .await?;
    Ok(wire::AdminDisableUserResponse::default())
}

pub async fn admin_enable_user(
    state: Arc<AppState>,
    req: wire::AdminEnableUserRequest,
) -> ApiResult<wire::AdminEnableUserResponse> {
    state
        .engine
        .admin_set_user_enabled(&pool_id(&req.user_pool_id)?, &req.username, true)
        .await?;
    Ok(wire::AdminEnableUserResponse::default())
}

pub async fn admin_set_user_password(
    state: Arc<AppState>,
    req: wire::AdminSetUserPasswordRequest,
) -> ApiResult<wire::AdminSetUserPasswordResponse> {
    state
        .engine
        .admin_set_user_password(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            &req.password,
            req.permanent.unwrap_or(false),
        )
        .await?;
    Ok(wire::AdminSetUserPasswordResponse::default())
}

pub async fn admin_user_global_sign_out(
    state: Arc<AppState>,
    req: wire::AdminUserGlobalSignOutRequest,
) -> ApiResult<wire::AdminUserGlobalSignOutResponse> {
    state
        .engine
        .admin_user_global_sign_out(&pool_id(&req.user_pool_id)?, &req.username)
        .await?;
    Ok(wire::AdminUserGlobalSignOutResponse::default())
}

pub async fn list_users(
    state: Arc<AppState>,
    req: wire::ListUsersRequest,
) -> ApiResult<wire::ListUsersResponse> {
    let limit = req.limit.unwrap_or(60).clamp(1, 60) as usize;
    let page = state
        .engine
        .list_users(
            &pool_id(&req.user_pool_id)?,
            req.filter.as_deref(),
            limit,
            req.pagination_token.as_deref(),
        )
        .await?;
    let only = req.attributes_to_get.as_deref();
    Ok(wire::ListUsersResponse {
        users: Some(page.users.iter().map(|u| user_type(u, only)).collect()),
        pagination_token: page.next_token,
    })
}

pub async fn get_user(
    state: Arc<AppState>,
    req: wire::GetUserRequest,
) -> ApiResult<wire::GetUserResponse> {
    let user = state.engine.get_user(&req.access_token).await?;
    let (mfa_setting_list, preferred) = mfa_out(&user);
    Ok(wire::GetUserResponse {
        username: user.username.to_string(),
        user_attributes: attributes_out(&user, None),
        mfa_options: mfa_options(&user),
        user_mfa_setting_list: mfa_setting_list,
        preferred_mfa_setting: preferred,
    })
}

pub async fn update_user_attributes(
    state: Arc<AppState>,
    req: wire::UpdateUserAttributesRequest,
) -> ApiResult<wire::UpdateUserAttributesResponse> {
    let sent = state
        .engine
        .update_user_attributes(
            &req.access_token,
            attributes_in(req.user_attributes),
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::UpdateUserAttributesResponse {
        code_delivery_details_list: Some(sent.iter().map(delivery_out).collect()),
    })
}

pub async fn delete_user_attributes(
    state: Arc<AppState>,
    req: wire::DeleteUserAttributesRequest,
) -> ApiResult<wire::DeleteUserAttributesResponse> {
    state
        .engine
        .delete_user_attributes(&req.access_token, req.user_attribute_names)
        .await?;
    Ok(wire::DeleteUserAttributesResponse::default())
}

pub async fn delete_user(state: Arc<AppState>, req: wire::DeleteUserRequest) -> ApiResult<Value> {
    state.engine.delete_user(&req.access_token).await?;
    empty()
}

pub async fn change_password(
    state: Arc<AppState>,
    req: wire::ChangePasswordRequest,
) -> ApiResult<wire::ChangePasswordResponse> {
    let previous = req.previous_password.clone().ok_or_else(|| {
        DomainError::invalid_parameter("PreviousPassword is required to change a password.")
    })?;
    state
        .engine
        .change_password(&req.access_token, &previous, &req.proposed_password)
        .await?;
    Ok(wire::ChangePasswordResponse::default())
}

pub async fn confirm_sign_up(
    state: Arc<AppState>,
    req: wire::ConfirmSignUpRequest,
) -> ApiResult<wire::ConfirmSignUpResponse> {
    let session = state
        .engine
        .confirm_sign_up(tessera_engine::ConfirmSignUp {
            client_id: req.client_id,
            username: req.username,
            code: req.confirmation_code,
            secret_hash: req.secret_hash,
            force_alias_creation: req.force_alias_creation.unwrap_or(false),
            client_metadata: req.client_metadata,
        })
        .await?;
    Ok(wire::ConfirmSignUpResponse { session })
}

pub async fn resend_confirmation_code(
    state: Arc<AppState>,
    req: wire::ResendConfirmationCodeRequest,
) -> ApiResult<wire::ResendConfirmationCodeResponse> {
    let d = state
        .engine
        .resend_confirmation_code(
            &req.client_id,
            &req.username,
            req.secret_hash.as_deref(),
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::ResendConfirmationCodeResponse {
        code_delivery_details: Some(delivery_out(&d)),
    })
}

pub async fn forgot_password(
    state: Arc<AppState>,
    req: wire::ForgotPasswordRequest,
) -> ApiResult<wire::ForgotPasswordResponse> {
    let d = state
        .engine
        .forgot_password(
            &req.client_id,
            &req.username,
            req.secret_hash.as_deref(),
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::ForgotPasswordResponse {
        code_delivery_details: Some(delivery_out(&d)),
    })
}

pub async fn confirm_forgot_password(
    state: Arc<AppState>,
    req: wire::ConfirmForgotPasswordRequest,
) -> ApiResult<wire::ConfirmForgotPasswordResponse> {
    state
        .engine
        .confirm_forgot_password(tessera_engine::ConfirmForgotPassword {
            client_id: req.client_id,
            username: req.username,
            code: req.confirmation_code,
            password: req.password,
            secret_hash: req.secret_hash,
            client_metadata: req.client_metadata,
        })
        .await?;
    Ok(wire::ConfirmForgotPasswordResponse::default())
}

pub async fn admin_reset_user_password(
    state: Arc<AppState>,
    req: wire::AdminResetUserPasswordRequest,
) -> ApiResult<wire::AdminResetUserPasswordResponse> {
    state
        .engine
        .admin_reset_user_password(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::AdminResetUserPasswordResponse::default())
}

pub async fn get_user_attribute_verification_code(
    state: Arc<AppState>,
    req: wire::GetUserAttributeVerificationCodeRequest,
) -> ApiResult<wire::GetUserAttributeVerificationCodeResponse> {
    let d = state
        .engine
        .get_user_attribute_verification_code(
            &req.access_token,
            &req.attribute_name,
            req.client_metadata.as_ref(),
        )
        .await?;
    Ok(wire::GetUserAttributeVerificationCodeResponse {
        code_delivery_details: Some(delivery_out(&d)),
    })
}

pub async fn verify_user_attribute(
    state: Arc<AppState>,
    req: wire::VerifyUserAttributeRequest,
) -> ApiResult<wire::VerifyUserAttributeResponse> {
    state
        .engine
        .verify_user_attribute(&req.access_token, &req.attribute_name, &req.code)
        .await?;
    Ok(wire::VerifyUserAttributeResponse::default())
}
