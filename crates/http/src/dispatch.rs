//! AWS JSON 1.1: every operation is `POST` with `X-Amz-Target: <Service>.<Operation>`.
//!
//! The pipeline: find the operation in the model (UnknownOperationException), parse the body
//! (SerializationException), authenticate IAM-signed operations (SigV4), validate against the
//! model's constraints (InvalidParameterException), then run the handler from [`routes!`].

use crate::error::{ApiError, JSON_11};
use crate::{AdminAuth, AppState, sigv4};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;
use tessera_wire::model::{Auth, Service};

/// Runs a handler on a validated body: decode into the wire type, call, encode the result —
/// as JSON text directly: a response built as a `Value` tree first cost an allocation per
/// field (a ListUsers page of 60 users, about a thousand) for the text to be written from it.
async fn run<Req, Resp, F, Fut>(
    state: Arc<AppState>,
    body: Value,
    handler: F,
) -> Result<String, ApiError>
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Arc<AppState>, Req) -> Fut,
    Fut: Future<Output = Result<Resp, ApiError>>,
{
    let req: Req = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request("SerializationException", e.to_string()))?;
    let resp = handler(state, req).await?;
    serde_json::to_string(&resp).map_err(|e| {
        tracing::error!(error = %e, "response encoding failed");
        ApiError::internal()
    })
}

/// One table of every implemented operation: it is both the dispatcher and the list that
/// `tessera operations` prints, so coverage reports can't drift from what clients reach.
macro_rules! routes {
    ($($svc:literal $op:literal => $f:path;)+) => {
        /// Implemented operations as `(service, operation)`.
        pub const IMPLEMENTED: &[(&str, &str)] = &[$(($svc, $op)),+];

        async fn route(state: Arc<AppState>, svc: &str, op: &str, body: Value) -> Option<Result<String, ApiError>> {
            match (svc, op) {
                $(($svc, $op) => Some(run(state, body, $f).await),)+
                _ => None,
            }
        }
    };
}

routes! {
    "cognito-idp" "CreateUserPool" => crate::idp::pools::create_user_pool;
    "cognito-idp" "DescribeUserPool" => crate::idp::pools::describe_user_pool;
    "cognito-idp" "UpdateUserPool" => crate::idp::pools::update_user_pool;
    "cognito-idp" "DeleteUserPool" => crate::idp::pools::delete_user_pool;
    "cognito-idp" "ListUserPools" => crate::idp::pools::list_user_pools;
    "cognito-idp" "AddCustomAttributes" => crate::idp::pools::add_custom_attributes;
    "cognito-idp" "CreateUserPoolClient" => crate::idp::clients::create_user_pool_client;
    "cognito-idp" "DescribeUserPoolClient" => crate::idp::clients::describe_user_pool_client;
    "cognito-idp" "UpdateUserPoolClient" => crate::idp::clients::update_user_pool_client;
    "cognito-idp" "DeleteUserPoolClient" => crate::idp::clients::delete_user_pool_client;
    "cognito-idp" "ListUserPoolClients" => crate::idp::clients::list_user_pool_clients;
    "cognito-idp" "AddUserPoolClientSecret" => crate::idp::clients::add_user_pool_client_secret;
    "cognito-idp" "ListUserPoolClientSecrets" => crate::idp::clients::list_user_pool_client_secrets;
    "cognito-idp" "DeleteUserPoolClientSecret" => crate::idp::clients::delete_user_pool_client_secret;
    "cognito-idp" "SignUp" => crate::idp::users::sign_up;
    "cognito-idp" "ConfirmSignUp" => crate::idp::users::confirm_sign_up;
    "cognito-idp" "ResendConfirmationCode" => crate::idp::users::resend_confirmation_code;
    "cognito-idp" "ForgotPassword" => crate::idp::users::forgot_password;
    "cognito-idp" "ConfirmForgotPassword" => crate::idp::users::confirm_forgot_password;
    "cognito-idp" "AdminResetUserPassword" => crate::idp::users::admin_reset_user_password;
    "cognito-idp" "GetUserAttributeVerificationCode" => crate::idp::users::get_user_attribute_verification_code;
    "cognito-idp" "VerifyUserAttribute" => crate::idp::users::verify_user_attribute;
    "cognito-idp" "AdminConfirmSignUp" => crate::idp::users::admin_confirm_sign_up;
    "cognito-idp" "AdminCreateUser" => crate::idp::users::admin_create_user;
    "cognito-idp" "AdminGetUser" => crate::idp::users::admin_get_user;
    "cognito-idp" "AdminDeleteUser" => crate::idp::users::admin_delete_user;
    "cognito-idp" "AdminUpdateUserAttributes" => crate::idp::users::admin_update_user_attributes;
    "cognito-idp" "AdminDeleteUserAttributes" => crate::idp::users::admin_delete_user_attributes;
    "cognito-idp" "AdminDisableUser" => crate::idp::users::admin_disable_user;
    "cognito-idp" "AdminEnableUser" => crate::idp::users::admin_enable_user;
    "cognito-idp" "AdminSetUserPassword" => crate::idp::users::admin_set_user_password;
    "cognito-idp" "AdminUserGlobalSignOut" => crate::idp::users::admin_user_global_sign_out;
    "cognito-idp" "ListUsers" => crate::idp::users::list_users;
    "cognito-idp" "GetUser" => crate::idp::users::get_user;
    "cognito-idp" "UpdateUserAttributes" => crate::idp::users::update_user_attributes;
    "cognito-idp" "DeleteUserAttributes" => crate::idp::users::delete_user_attributes;
    "cognito-idp" "DeleteUser" => crate::idp::users::delete_user;
    "cognito-idp" "ChangePassword" => crate::idp::users::change_password;
    "cognito-idp" "InitiateAuth" => crate::idp::auth::initiate_auth;
    "cognito-idp" "AdminInitiateAuth" => crate::idp::auth::admin_initiate_auth;
    "cognito-idp" "RespondToAuthChallenge" => crate::idp::auth::respond_to_auth_challenge;
    "cognito-idp" "AdminRespondToAuthChallenge" => crate::idp::auth::admin_respond_to_auth_challenge;
    "cognito-idp" "GetTokensFromRefreshToken" => crate::idp::auth::get_tokens_from_refresh_token;
    "cognito-idp" "RevokeToken" => crate::idp::auth::revoke_token;
    "cognito-idp" "GlobalSignOut" => crate::idp::auth::global_sign_out;
    "cognito-idp" "SetUserPoolMfaConfig" => crate::idp::mfa::set_user_pool_mfa_config;
    "cognito-idp" "GetUserPoolMfaConfig" => crate::idp::mfa::get_user_pool_mfa_config;
    "cognito-idp" "SetUserMFAPreference" => crate::idp::mfa::set_user_mfa_preference;
    "cognito-idp" "AdminSetUserMFAPreference" => crate::idp::mfa::admin_set_user_mfa_preference;
    "cognito-idp" "SetUserSettings" => crate::idp::mfa::set_user_settings;
    "cognito-idp" "AdminSetUserSettings" => crate::idp::mfa::admin_set_user_settings;
    "cognito-idp" "AssociateSoftwareToken" => crate::idp::mfa::associate_software_token;
    "cognito-idp" "VerifySoftwareToken" => crate::idp::mfa::verify_software_token;
    "cognito-idp" "GetUserAuthFactors" => crate::idp::passkeys::get_user_auth_factors;
    "cognito-idp" "AdminGetUserAuthFactors" => crate::idp::passkeys::admin_get_user_auth_factors;
    "cognito-idp" "StartWebAuthnRegistration" => crate::idp::passkeys::start_web_authn_registration;
    "cognito-idp" "CompleteWebAuthnRegistration" => crate::idp::passkeys::complete_web_authn_registration;
    "cognito-idp" "ListWebAuthnCredentials" => crate::idp::passkeys::list_web_authn_credentials;
    "cognito-idp" "DeleteWebAuthnCredential" => crate::idp::passkeys::delete_web_authn_credential;
    "cognito-idp" "SetUserPoolSessionConfiguration" => crate::idp::sessions::set_user_pool_session_configuration;
    "cognito-idp" "GetUserPoolSessionConfiguration" => crate::idp::sessions::get_user_pool_session_configuration;
    "cognito-idp" "SetUserPoolClientSessionConfiguration" => crate::idp::sessions::set_user_pool_client_session_configuration;
    "cognito-idp" "GetUserPoolClientSessionConfiguration" => crate::idp::sessions::get_user_pool_client_session_configuration;
    "cognito-idp" "ListUserSessions" => crate::idp::sessions::list_user_sessions;
    "cognito-idp" "AdminListUserSessions" => crate::idp::sessions::admin_list_user_sessions;
    "cognito-idp" "RevokeUserSession" => crate::idp::sessions::revoke_user_session;
    "cognito-idp" "AdminRevokeUserSession" => crate::idp::sessions::admin_revoke_user_session;
    "cognito-idp" "AdminDeleteSoftwareToken" => crate::idp::sessions::admin_delete_software_token;
    "cognito-idp" "ConfirmDevice" => crate::idp::devices::confirm_device;
    "cognito-idp" "GetDevice" => crate::idp::devices::get_device;
    "cognito-idp" "AdminGetDevice" => crate::idp::devices::admin_get_device;
    "cognito-idp" "ListDevices" => crate::idp::devices::list_devices;
    "cognito-idp" "AdminListDevices" => crate::idp::devices::admin_list_devices;
    "cognito-idp" "ForgetDevice" => crate::idp::devices::forget_device;
    "cognito-idp" "AdminForgetDevice" => crate::idp::devices::admin_forget_device;
    "cognito-idp" "UpdateDeviceStatus" => crate::idp::devices::update_device_status;
    "cognito-idp" "AdminUpdateDeviceStatus" => crate::idp::devices::admin_update_device_status;
    "cognito-idp" "CreateGroup" => crate::idp::groups::create_group;
    "cognito-idp" "GetGroup" => crate::idp::groups::get_group;
    "cognito-idp" "UpdateGroup" => crate::idp::groups::update_group;
    "cognito-idp" "DeleteGroup" => crate::idp::groups::delete_group;
    "cognito-idp" "ListGroups" => crate::idp::groups::list_groups;
    "cognito-idp" "AdminAddUserToGroup" => crate::idp::groups::admin_add_user_to_group;
    "cognito-idp" "AdminRemoveUserFromGroup" => crate::idp::groups::admin_remove_user_from_group;
    "cognito-idp" "AdminListGroupsForUser" => crate::idp::groups::admin_list_groups_for_user;
    "cognito-idp" "ListUsersInGroup" => crate::idp::groups::list_users_in_group;
    "cognito-idp" "TagResource" => crate::idp::tags::tag_resource;
    "cognito-idp" "UntagResource" => crate::idp::tags::untag_resource;
    "cognito-idp" "ListTagsForResource" => crate::idp::tags::list_tags_for_resource;
    "cognito-idp" "CreateUserPoolDomain" => crate::idp::domains::create_user_pool_domain;
    "cognito-idp" "DescribeUserPoolDomain" => crate::idp::domains::describe_user_pool_domain;
    "cognito-idp" "UpdateUserPoolDomain" => crate::idp::domains::update_user_pool_domain;
    "cognito-idp" "DeleteUserPoolDomain" => crate::idp::domains::delete_user_pool_domain;
    "cognito-idp" "CreateResourceServer" => crate::idp::resource_servers::create_resource_server;
    "cognito-idp" "DescribeResourceServer" => crate::idp::resource_servers::describe_resource_server;
    "cognito-idp" "UpdateResourceServer" => crate::idp::resource_servers::update_resource_server;
    "cognito-idp" "DeleteResourceServer" => crate::idp::resource_servers::delete_resource_server;
    "cognito-idp" "ListResourceServers" => crate::idp::resource_servers::list_resource_servers;
    "cognito-idp" "GetCSVHeader" => crate::idp::pool_settings::get_csv_header;
    "cognito-idp" "CreateUserImportJob" => crate::idp::user_import::create_user_import_job;
    "cognito-idp" "DescribeUserImportJob" => crate::idp::user_import::describe_user_import_job;
    "cognito-idp" "StartUserImportJob" => crate::idp::user_import::start_user_import_job;
    "cognito-idp" "StopUserImportJob" => crate::idp::user_import::stop_user_import_job;
    "cognito-idp" "ListUserImportJobs" => crate::idp::user_import::list_user_import_jobs;
    "cognito-idp" "SetLogDeliveryConfiguration" => crate::idp::pool_settings::set_log_delivery_configuration;
    "cognito-idp" "SetRiskConfiguration" => crate::idp::threat::set_risk_configuration;
    "cognito-idp" "DescribeRiskConfiguration" => crate::idp::threat::describe_risk_configuration;
    "cognito-idp" "AdminListUserAuthEvents" => crate::idp::threat::admin_list_user_auth_events;
    "cognito-idp" "AdminUpdateAuthEventFeedback" => crate::idp::threat::admin_update_auth_event_feedback;
    "cognito-idp" "UpdateAuthEventFeedback" => crate::idp::threat::update_auth_event_feedback;
    "cognito-idp" "GetLogDeliveryConfiguration" => crate::idp::pool_settings::get_log_delivery_configuration;
    "cognito-idp" "SetUICustomization" => crate::idp::pool_settings::set_ui_customization;
    "cognito-idp" "GetUICustomization" => crate::idp::pool_settings::get_ui_customization;
    "cognito-idp" "CreateManagedLoginBranding" => crate::idp::branding::create_managed_login_branding;
    "cognito-idp" "DescribeManagedLoginBranding" => crate::idp::branding::describe_managed_login_branding;
    "cognito-idp" "DescribeManagedLoginBrandingByClient" => crate::idp::branding::describe_managed_login_branding_by_client;
    "cognito-idp" "UpdateManagedLoginBranding" => crate::idp::branding::update_managed_login_branding;
    "cognito-idp" "DeleteManagedLoginBranding" => crate::idp::branding::delete_managed_login_branding;
    "cognito-identity" "CreateIdentityPool" => crate::identity::pools::create_identity_pool;
    "cognito-identity" "DescribeIdentityPool" => crate::identity::pools::describe_identity_pool;
    "cognito-identity" "UpdateIdentityPool" => crate::identity::pools::update_identity_pool;
    "cognito-identity" "DeleteIdentityPool" => crate::identity::pools::delete_identity_pool;
    "cognito-identity" "ListIdentityPools" => crate::identity::pools::list_identity_pools;
    "cognito-identity" "TagResource" => crate::identity::pools::tag_resource;
    "cognito-identity" "UntagResource" => crate::identity::pools::untag_resource;
    "cognito-identity" "ListTagsForResource" => crate::identity::pools::list_tags_for_resource;
    "cognito-identity" "SetIdentityPoolRoles" => crate::identity::pools::set_identity_pool_roles;
    "cognito-identity" "GetIdentityPoolRoles" => crate::identity::pools::get_identity_pool_roles;
    "cognito-identity" "SetPrincipalTagAttributeMap" => crate::identity::pools::set_principal_tag_attribute_map;
    "cognito-identity" "GetPrincipalTagAttributeMap" => crate::identity::pools::get_principal_tag_attribute_map;
    "cognito-identity" "GetId" => crate::identity::identities::get_id;
    "cognito-identity" "GetCredentialsForIdentity" => crate::identity::identities::get_credentials_for_identity;
    "cognito-identity" "DescribeIdentity" => crate::identity::identities::describe_identity;
    "cognito-identity" "ListIdentities" => crate::identity::identities::list_identities;
    "cognito-identity" "DeleteIdentities" => crate::identity::identities::delete_identities;
    "cognito-identity" "UnlinkIdentity" => crate::identity::identities::unlink_identity;
    "cognito-identity" "GetOpenIdToken" => crate::identity::openid::get_open_id_token;
    "cognito-identity" "GetOpenIdTokenForDeveloperIdentity" => crate::identity::openid::get_open_id_token_for_developer_identity;
    "cognito-identity" "LookupDeveloperIdentity" => crate::identity::openid::lookup_developer_identity;
    "cognito-identity" "MergeDeveloperIdentities" => crate::identity::openid::merge_developer_identities;
    "cognito-identity" "UnlinkDeveloperIdentity" => crate::identity::openid::unlink_developer_identity;
    "cognito-idp" "CreateIdentityProvider" => crate::idp::identity_providers::create_identity_provider;
    "cognito-idp" "DescribeIdentityProvider" => crate::idp::identity_providers::describe_identity_provider;
    "cognito-idp" "UpdateIdentityProvider" => crate::idp::identity_providers::update_identity_provider;
    "cognito-idp" "DeleteIdentityProvider" => crate::idp::identity_providers::delete_identity_provider;
    "cognito-idp" "ListIdentityProviders" => crate::idp::identity_providers::list_identity_providers;
    "cognito-idp" "GetIdentityProviderByIdentifier" => crate::idp::identity_providers::get_identity_provider_by_identifier;
    "cognito-idp" "AdminLinkProviderForUser" => crate::idp::identity_providers::admin_link_provider_for_user;
    "cognito-idp" "AdminDisableProviderForUser" => crate::idp::identity_providers::admin_disable_provider_for_user;
    "cognito-idp" "GetSigningCertificate" => crate::idp::identity_providers::get_signing_certificate;
    "cognito-idp" "CreateTerms" => crate::idp::terms::create_terms;
    "cognito-idp" "DescribeTerms" => crate::idp::terms::describe_terms;
    "cognito-idp" "DescribeTermsByClient" => crate::idp::terms::describe_terms_by_client;
    "cognito-idp" "UpdateTerms" => crate::idp::terms::update_terms;
    "cognito-idp" "DeleteTerms" => crate::idp::terms::delete_terms;
    "cognito-idp" "ListTerms" => crate::idp::terms::list_terms;
    "cognito-idp" "GetClientToken" => crate::idp::client_tokens::get_client_token;
    "cognito-idp" "GetDerivedToken" => crate::idp::client_tokens::get_derived_token;
    "cognito-idp" "CreateCIMDPolicy" => crate::idp::cimd::create_cimd_policy;
    "cognito-idp" "DescribeCIMDPolicy" => crate::idp::cimd::describe_cimd_policy;
    "cognito-idp" "UpdateCIMDPolicy" => crate::idp::cimd::update_cimd_policy;
    "cognito-idp" "DeleteCIMDPolicy" => crate::idp::cimd::delete_cimd_policy;
    "cognito-idp" "ListCIMDPolicies" => crate::idp::cimd::list_cimd_policies;
    "cognito-idp" "ListClientMetadataURLs" => crate::idp::cimd::list_client_metadata_urls;
    "cognito-idp" "UpdateClientMetadataURLState" => crate::idp::cimd::update_client_metadata_url_state;
    "cognito-idp" "CreateUserPoolReplica" => crate::idp::replicas::create_user_pool_replica;
    "cognito-idp" "DeleteUserPoolReplica" => crate::idp::replicas::delete_user_pool_replica;
    "cognito-idp" "ListUserPoolReplicas" => crate::idp::replicas::list_user_pool_replicas;
    "cognito-idp" "UpdateUserPoolReplica" => crate::idp::replicas::update_user_pool_replica;
    "cognito-idp" "GetProvisionedLimit" => crate::idp::limits::get_provisioned_limit;
    "cognito-idp" "UpdateProvisionedLimit" => crate::idp::limits::update_provisioned_limit;
    "cognito-idp" "InitiatePointInTimeRecovery" => crate::idp::recovery::initiate_point_in_time_recovery;
    "cognito-idp" "DescribePointInTimeRecovery" => crate::idp::recovery::describe_point_in_time_recovery;
    "cognito-idp" "ListPointInTimeRecoveries" => crate::idp::recovery::list_point_in_time_recoveries;
    "cognito-idp" "StartPointInTimeRecovery" => crate::idp::recovery::start_point_in_time_recovery;
    "cognito-idp" "CancelPointInTimeRecovery" => crate::idp::recovery::cancel_point_in_time_recovery;
}

/// Operations the model leaves signed but whose caller is an app client proving itself with its
/// secret: Cognito doesn't evaluate IAM for GetClientToken, and takes the client's id and secret
/// instead of IAM credentials for GetDerivedToken. Tessera always asks for the secret (of a
/// client that has one) and checks no signature for them.
const CLIENT_AUTHENTICATED: &[(&str, &str)] = &[
    ("cognito-idp", "GetClientToken"),
    ("cognito-idp", "GetDerivedToken"),
];

/// The model's names for a target's service and operation, if it names one.
pub(crate) fn operation_of(target: &str) -> Option<(&'static str, &'static str)> {
    let (service, op) = service_for(target)?;
    Some((service.name, service.operation(op)?.name))
}

fn service_for(target: &str) -> Option<(&'static Service, &str)> {
    let (prefix, op) = target.split_once('.')?;
    tessera_wire::SERVICES
        .iter()
        .copied()
        .find(|s| s.target_prefix == Some(prefix))
        .map(|s| (s, op))
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `POST` on any path: botocore with `endpoint_url=http://host/prefix` posts to `/prefix/`.
pub async fn aws_json(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if crate::query::is_query_request(&headers) {
        return crate::query::handle(state, &method, &uri, &headers, &body).await;
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let started = std::time::Instant::now();
    let result = handle(state, &method, &uri, &headers, &body, &target).await;
    crate::metrics::request(&target, &result, started.elapsed());
    match result {
        Ok(value) => {
            let mut response = (StatusCode::OK, value).into_response();
            let h = response.headers_mut();
            h.insert("content-type", HeaderValue::from_static(JSON_11));
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                h.insert("x-amzn-requestid", v);
            }
            tracing::debug!(target = %tessera_wire::echo(&target), %request_id, "ok");
            response
        }
        Err(e) => {
            // The target and message are request input: cut short, and the message (which may
            // repeat a value the client sent) only at debug.
            let target = tessera_wire::echo(&target);
            if e.status.is_server_error() {
                tracing::error!(%target, %request_id, code = %e.code, "request failed");
            } else {
                tracing::info!(%target, %request_id, code = %e.code, "request refused");
                tracing::debug!(%request_id, message = %tessera_wire::echo(&e.message), "refusal message");
            }
            e.into_response_with(&request_id)
        }
    }
}

/// A call signed with credentials Tessera issued (an STS role session, or an identity's
/// from GetCredentialsForIdentity): the signature is checked with the session's secret, then
/// the role's and session's policies must allow `{service}:{Operation}` on the pool the call
/// names (its ARN), as IAM decides for AWS's own APIs.
async fn authorize_session(
    state: &AppState,
    req: &sigv4::Request<'_>,
    service: &str,
    operation: &str,
    input: &Value,
) -> Result<(), ApiError> {
    let pending = sigv4::prepare(req, &["x-amz-target", "content-type"])?;
    let key = pending.access_key().to_string();
    let token = req
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    let unrecognized = || {
        ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            StatusCode::FORBIDDEN,
        )
    };
    let session = match state.engine.gateway_session(&key, token).await? {
        Ok(s) => s,
        Err(tessera_engine::identity::StsRefusal::Expired) => {
            return Err(ApiError::bad_request(
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ));
        }
        Err(_) => return Err(unrecognized()),
    };
    pending.check(&session.secret)?;
    let settings = state.engine.settings();
    let field = |k: &str| {
        input
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let resource = match (service, field("UserPoolId"), field("IdentityPoolId")) {
        ("cognito-idp", Some(pool), _) => format!(
            "arn:aws:cognito-idp:{}:{}:userpool/{pool}",
            settings.region, settings.account_id
        ),
        ("cognito-identity", _, Some(pool)) => format!(
            "arn:aws:cognito-identity:{}:{}:identitypool/{pool}",
            settings.region, settings.account_id
        ),
        _ => "*".to_string(),
    };
    let action = format!("{service}:{operation}");
    if state
        .engine
        .session_may_call(&session, &action, &resource, None)
        .await?
    {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "AccessDeniedException",
        tessera_engine::gateway::not_authorized_message(
            &session.grant.principal_arn,
            &action,
            &resource,
        ),
    ))
}

/// The pool a cognito-idp call counts against for its quota: the UserPoolId it names, else the
/// pool of the ClientId it names, else the issuer of the AccessToken it carries — read without
/// verifying, since the operation verifies it next; a forged one spends only the allowance of
/// the pool it names, as any caller of that pool's public operations can — else `*`.
async fn quota_pool(state: &AppState, input: &Value) -> Result<String, ApiError> {
    let field = |k: &str| {
        input
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if let Some(pool) = field("UserPoolId") {
        return Ok(pool.to_string());
    }
    if let Some(client) = field("ClientId")
        && let Some(pool) = state.engine.pool_of_client(client).await?
    {
        return Ok(pool);
    }
    if let Some(token) = field("AccessToken")
        && let Some(claims) = tessera_crypto::jwt::unverified_claims(token)
        && let Some(pool) = claims
            .get("iss")
            .and_then(Value::as_str)
            .and_then(|iss| iss.rsplit('/').next())
    {
        return Ok(pool.to_string());
    }
    Ok("*".to_string())
}

async fn handle(
    state: Arc<AppState>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    target: &str,
) -> Result<String, ApiError> {
    if method != Method::POST {
        return Err(ApiError::new(
            "UnknownOperationException",
            "Only POST is supported on this path.",
            StatusCode::NOT_FOUND,
        ));
    }
    let unknown = || ApiError::bad_request("UnknownOperationException", "");
    let (service, op_name) = service_for(target).ok_or_else(unknown)?;
    let op = service.operation(op_name).ok_or_else(unknown)?;

    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "SerializationException",
            "The request body must be a JSON object.",
        ));
    }

    if op.auth == Auth::SigV4 && !CLIENT_AUTHENTICATED.contains(&(service.name, op.name)) {
        let req = sigv4::Request {
            method,
            uri,
            headers,
            body,
            service: service.signing_name,
            now: now_secs(),
        };
        // A session token means credentials Tessera issued; without one, the deployment's
        // own (root) credentials.
        let session = headers.contains_key("x-amz-security-token");
        match &state.admin {
            _ if session => {
                authorize_session(&state, &req, service.name, op.name, &value).await?;
            }
            AdminAuth::AnyCredentials => {}
            AdminAuth::SigV4(credentials) => {
                sigv4::verify(&req, credentials)?;
            }
        }
    }

    validate_and_run(state, service, op, value).await
}

/// What every caller's input goes through once the caller is known: the model's constraints,
/// then the operation's handler.
async fn validate_and_run(
    state: Arc<AppState>,
    service: &'static Service,
    op: &'static tessera_wire::model::Operation,
    value: Value,
) -> Result<String, ApiError> {
    service.validate_input(op, &value).map_err(|rejection| {
        let code = match rejection {
            tessera_wire::model::Rejection::Serialization(_) => "SerializationException",
            tessera_wire::model::Rejection::Constraints(_) => "InvalidParameterException",
        };
        ApiError::bad_request(code, rejection.message())
    })?;

    if service.name == "cognito-idp" {
        let pool = quota_pool(&state, &value).await?;
        state.engine.admit(op.name, &pool).await?;
    }

    match route(state, service.name, op.name, value).await {
        Some(result) => result,
        None => Err(ApiError::bad_request(
            "UnsupportedOperationException",
            format!("Tessera does not implement {} yet.", op.name),
        )),
    }
}

/// Runs `service`'s `operation` (model names, e.g. `cognito-idp`, `AdminCreateUser`) for a
/// caller authenticated some other way than SigV4 — the console's operator — exactly as
/// [`handle`] runs a signed call after checking its signature: the same validation, handler and
/// errors. The operation is noted for the audit line (the action a request runs names it, else
/// its first read) and counted in the metrics like an API call.
pub(crate) async fn run_as_operator(
    state: Arc<AppState>,
    service: &str,
    operation: &str,
    input: Value,
) -> Result<Value, ApiError> {
    let unknown = || ApiError::bad_request("UnknownOperationException", "");
    let svc = tessera_wire::SERVICES
        .iter()
        .copied()
        .find(|s| s.name == service)
        .ok_or_else(unknown)?;
    let op = svc.operation(operation).ok_or_else(unknown)?;
    if !input.is_object() {
        return Err(ApiError::bad_request(
            "SerializationException",
            "The request body must be a JSON object.",
        ));
    }
    // A page reads before and after it acts: the action names the audit line, else the
    // first read does.
    let name = format!("{}.{}", svc.name, op.name);
    let reads = ["Describe", "List", "Get", "AdminGet", "AdminList"]
        .iter()
        .any(|p| op.name.starts_with(p));
    let named = if reads {
        tessera_engine::audit::note_first_operation(name)
    } else {
        tessera_engine::audit::note_operation(name);
        true
    };
    let target = format!("{}.{}", svc.target_prefix.unwrap_or(svc.name), op.name);
    let started = std::time::Instant::now();
    let result = validate_and_run(state, svc, op, input).await;
    crate::metrics::request(&target, &result, started.elapsed());
    if named && let Err(e) = &result {
        tessera_engine::audit::note_refusal(&e.code);
    }
    // The console reads the response as data; the API writes the text as it is.
    result.and_then(|text| {
        serde_json::from_str(&text).map_err(|e| {
            tracing::error!(error = %e, "response decoding failed");
            ApiError::internal()
        })
    })
}
