//! MFA: SetUserPoolMfaConfig, GetUserPoolMfaConfig, SetUserMFAPreference,
//! AdminSetUserMFAPreference, SetUserSettings, AdminSetUserSettings, AssociateSoftwareToken,
//! VerifySoftwareToken.

use super::{ApiResult, pool_id};
use crate::AppState;
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_domain::DomainError;
use tessera_domain::mfa::PoolMfa;
use tessera_domain::pool::MfaMode;
use tessera_engine::{FactorPreference, MfaPreferences, PoolMfaConfig, TokenSetup, UserRef};
use tessera_wire::idp as wire;

fn mode_in(m: wire::UserPoolMfaType) -> MfaMode {
    match m {
        wire::UserPoolMfaType::Off => MfaMode::Off,
        wire::UserPoolMfaType::On => MfaMode::On,
        wire::UserPoolMfaType::Optional => MfaMode::Optional,
    }
}

fn mode_out(m: MfaMode) -> wire::UserPoolMfaType {
    match m {
        MfaMode::Off => wire::UserPoolMfaType::Off,
        MfaMode::On => wire::UserPoolMfaType::On,
        MfaMode::Optional => wire::UserPoolMfaType::Optional,
    }
}

/// The members SetUserPoolMfaConfig's response and GetUserPoolMfaConfig share.
fn config_out(c: &PoolMfaConfig) -> Value {
    let f = &c.factors;
    let mut out = json!({
        "MfaConfiguration": mode_out(c.mode).as_str(),
        "SoftwareTokenMfaConfiguration": { "Enabled": f.software_token },
    });
    if f.sms {
        out["SmsMfaConfiguration"] = json!({ "SmsAuthenticationMessage": f.sms_message() });
    }
    if f.email {
        out["EmailMfaConfiguration"] =
            json!({ "Message": f.email_message(), "Subject": f.email_subject() });
    }
    out["WebAuthnConfiguration"] = c.webauthn.to_setting();
    out
}

fn webauthn_in(
    w: Option<&wire::WebAuthnConfigurationType>,
) -> Option<tessera_domain::passkeys::WebAuthnConfig> {
    w.map(|w| tessera_domain::passkeys::WebAuthnConfig {
        relying_party_id: w.relying_party_id.clone(),
        user_verification: w
            .user_verification
            .as_ref()
            .and_then(|u| tessera_domain::passkeys::UserVerification::parse(u.as_str()))
            .unwrap_or_default(),
        factor_configuration: w
            .factor_configuration
            .as_ref()
            .map(|f| f.as_str().to_string()),
    })
}

pub async fn set_user_pool_mfa_config(
    state: Arc<AppState>,
    req: wire::SetUserPoolMfaConfigRequest,
) -> ApiResult<Value> {
    let factors = PoolMfa {
        sms: req.sms_mfa_configuration.is_some(),
        software_token: req
            .software_token_mfa_configuration
            .as_ref()
            .and_then(|s| s.enabled)
            .unwrap_or(false),
        email: req.email_mfa_configuration.is_some(),
        sms_message: req
            .sms_mfa_configuration
            .as_ref()
            .and_then(|s| s.sms_authentication_message.clone()),
        email_subject: req
            .email_mfa_configuration
            .as_ref()
            .and_then(|e| e.subject.clone()),
        email_message: req
            .email_mfa_configuration
            .as_ref()
            .and_then(|e| e.message.clone()),
    };
    let config = state
        .engine
        .set_user_pool_mfa_config(
            &pool_id(&req.user_pool_id)?,
            req.mfa_configuration.map(mode_in),
            factors,
            webauthn_in(req.web_authn_configuration.as_ref()),
        )
        .await?;
    Ok(config_out(&config))
}

pub async fn get_user_pool_mfa_config(
    state: Arc<AppState>,
    req: wire::GetUserPoolMfaConfigRequest,
) -> ApiResult<Value> {
    let config = state
        .engine
        .get_user_pool_mfa_config(&pool_id(&req.user_pool_id)?)
        .await?;
    Ok(config_out(&config))
}

fn pref(enabled: Option<bool>, preferred: Option<bool>) -> FactorPreference {
    FactorPreference { enabled, preferred }
}

macro_rules! preferences {
    ($r:expr) => {
        MfaPreferences {
            sms: $r
                .sms_mfa_settings
                .as_ref()
                .map(|s| pref(s.enabled, s.preferred_mfa)),
            software_token: $r
                .software_token_mfa_settings
                .as_ref()
                .map(|s| pref(s.enabled, s.preferred_mfa)),
            email: $r
                .email_mfa_settings
                .as_ref()
                .map(|s| pref(s.enabled, s.preferred_mfa)),
        }
    };
}

pub async fn set_user_mfa_preference(
    state: Arc<AppState>,
    req: wire::SetUserMFAPreferenceRequest,
) -> ApiResult<wire::SetUserMFAPreferenceResponse> {
    state
        .engine
        .set_user_mfa_preference(&req.access_token, preferences!(req))
        .await?;
    Ok(wire::SetUserMFAPreferenceResponse::default())
}

pub async fn admin_set_user_mfa_preference(
    state: Arc<AppState>,
    req: wire::AdminSetUserMFAPreferenceRequest,
) -> ApiResult<wire::AdminSetUserMFAPreferenceResponse> {
    state
        .engine
        .admin_set_user_mfa_preference(
            &pool_id(&req.user_pool_id)?,
            &req.username,
            preferences!(req),
        )
        .await?;
    Ok(wire::AdminSetUserMFAPreferenceResponse::default())
}

/// Legacy MFAOptions switch SMS MFA on (an SMS option) or off (none).
fn sms_option(options: &[wire::MFAOptionType]) -> ApiResult<bool> {
    if options
        .iter()
        .any(|o| o.delivery_medium == Some(wire::DeliveryMediumType::Email))
    {
        return Err(DomainError::invalid_parameter(
            "Only SMS can be set through MFAOptions; use SetUserMFAPreference for email.",
        )
        .into());
    }
    Ok(!options.is_empty())
}

pub async fn set_user_settings(
    state: Arc<AppState>,
    req: wire::SetUserSettingsRequest,
) -> ApiResult<wire::SetUserSettingsResponse> {
    state
        .engine
        .set_sms_mfa_option(
            UserRef::AccessToken(&req.access_token),
            sms_option(&req.mfa_options)?,
        )
        .await?;
    Ok(wire::SetUserSettingsResponse::default())
}

pub async fn admin_set_user_settings(
    state: Arc<AppState>,
    req: wire::AdminSetUserSettingsRequest,
) -> ApiResult<wire::AdminSetUserSettingsResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    state
        .engine
        .set_sms_mfa_option(
            UserRef::Admin {
                pool: &pool,
                username: &req.username,
            },
            sms_option(&req.mfa_options)?,
        )
        .await?;
    Ok(wire::AdminSetUserSettingsResponse::default())
}

fn setup<'a>(access_token: Option<&'a str>, session: Option<&'a str>) -> ApiResult<TokenSetup<'a>> {
    match (access_token, session) {
        (Some(t), _) => Ok(TokenSetup::AccessToken(t)),
        (None, Some(s)) => Ok(TokenSetup::Session(s)),
        (None, None) => {
            Err(DomainError::invalid_parameter("AccessToken or Session is required.").into())
        }
    }
}

pub async fn associate_software_token(
    state: Arc<AppState>,
    req: wire::AssociateSoftwareTokenRequest,
) -> ApiResult<wire::AssociateSoftwareTokenResponse> {
    let (secret, session) = state
        .engine
        .associate_software_token(setup(req.access_token.as_deref(), req.session.as_deref())?)
        .await?;
    Ok(wire::AssociateSoftwareTokenResponse {
        secret_code: Some(secret),
        session,
    })
}

pub async fn verify_software_token(
    state: Arc<AppState>,
    req: wire::VerifySoftwareTokenRequest,
) -> ApiResult<wire::VerifySoftwareTokenResponse> {
    let session = state
        .engine
        .verify_software_token(
            setup(req.access_token.as_deref(), req.session.as_deref())?,
            &req.user_code,
            req.friendly_device_name.clone(),
        )
        .await?;
    Ok(wire::VerifySoftwareTokenResponse {
        status: Some(wire::VerifySoftwareTokenResponseType::Success),
        session,
    })
}
