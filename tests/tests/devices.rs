//! Remembered devices with an independent client implementation of device SRP
//! (aws-cognito-srp's UntrackedDevice/TrackedDevice).

use crate::support::*;
use aws_cognito_srp::{SrpClient, TrackedDevice, UntrackedDevice, User};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, DeviceConfigurationType, DeviceRememberedStatusType,
    DeviceSecretVerifierConfigType, ExplicitAuthFlowsType, SoftwareTokenMfaConfigType,
    SoftwareTokenMfaSettingsType, UserPoolMfaType,
};
use std::collections::HashMap;
use std::time::Duration;
use tessera_engine::Clock;

struct Setup {
    app: TestApp,
    pool_id: String,
    client_id: String,
    totp_secret: String,
}

fn totp(app: &TestApp, secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .unwrap()
        .as_ref()
        .to_vec();
    totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .unwrap()
        .generate(app.clock.now().secs() as u64)
        .to_string()
}

/// A pool that tracks devices (remembering them without asking) and a user with TOTP MFA.
async fn setup() -> Setup {
    let app = spawn_app().await;
    let pool_id = app
        .admin
        .create_user_pool()
        .pool_name("devices")
        .device_configuration(
            DeviceConfigurationType::builder()
                .challenge_required_on_new_device(true)
                .device_only_remembered_on_user_prompt(false)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    app.admin
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .mfa_configuration(UserPoolMfaType::Optional)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .send()
        .await
        .unwrap();
    let client_id = app_client(
        &app,
        &pool_id,
        &[
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ],
    )
    .await;
    let f = Fixture {
        pool_id: pool_id.clone(),
        client_id: client_id.clone(),
    };
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let access = password_sign_in(&app, &f, "ann", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let totp_secret = app
        .public
        .associate_software_token()
        .access_token(&access)
        .send()
        .await
        .unwrap()
        .secret_code
        .unwrap();
    app.public
        .verify_software_token()
        .access_token(&access)
        .user_code(totp(&app, &totp_secret))
        .send()
        .await
        .unwrap();
    app.public
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Setup {
        app,
        pool_id,
        client_id,
        totp_secret,
    }
}

/// What an SRP sign-in ended with.
enum Ended {
    Tokens(aws_sdk_cognitoidentityprovider::types::AuthenticationResultType),
    Challenge(ChallengeNameType, String),
}

async fn srp_sign_in(s: &Setup, device: Option<&TrackedDevice>) -> Ended {
    try_srp_sign_in(s, device).await.unwrap()
}

/// USER_SRP_AUTH (+ DEVICE_KEY) through PASSWORD_VERIFIER; then, if asked, DEVICE_SRP_AUTH with
/// the tracked device; returns where the sign-in stopped, or the device step's error.
async fn try_srp_sign_in(
    s: &Setup,
    device: Option<&TrackedDevice>,
) -> Result<Ended, (String, String)> {
    let user = SrpClient::new(
        User::new(&s.pool_id, "ann", "Passw0rd!"),
        &s.client_id,
        None,
    );
    let auth = user.get_auth_parameters();
    let device_key = device.map(|d| {
        SrpClient::new(d.clone(), &s.client_id, None)
            .get_auth_parameters()
            .device_key
    });
    let mut init = s
        .app
        .public
        .initiate_auth()
        .client_id(&s.client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("SRP_A", &auth.a);
    if let Some(k) = &device_key {
        init = init.auth_parameters("DEVICE_KEY", k);
    }
    let c = init.send().await.unwrap();
    let p = c.challenge_parameters.unwrap();
    let proof = user
        .verify(
            &p["SECRET_BLOCK"],
            &p["USER_ID_FOR_SRP"],
            &p["SALT"],
            &p["SRP_B"],
        )
        .unwrap();
    let mut respond = s
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", &p["USER_ID_FOR_SRP"])
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature);
    if let Some(k) = &device_key {
        respond = respond.challenge_responses("DEVICE_KEY", k);
    }
    let r = respond.send().await.unwrap();
    let (Some(name), Some(session)) = (r.challenge_name.clone(), r.session.clone()) else {
        return Ok(Ended::Tokens(r.authentication_result.unwrap()));
    };
    if name != ChallengeNameType::DeviceSrpAuth {
        return Ok(Ended::Challenge(name, session));
    }
    // The device proves itself with its own secret.
    let device = device.unwrap();
    let dc = SrpClient::new(device.clone(), &s.client_id, None);
    let dauth = dc.get_auth_parameters();
    let r = s
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::DeviceSrpAuth)
        .session(&session)
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("DEVICE_KEY", &dauth.device_key)
        .challenge_responses("SRP_A", &dauth.a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.challenge_name,
        Some(ChallengeNameType::DevicePasswordVerifier)
    );
    let p = r.challenge_parameters.unwrap();
    assert_eq!(p["DEVICE_KEY"], dauth.device_key);
    let proof = dc
        .verify(&p["SECRET_BLOCK"], &p["SALT"], &p["SRP_B"])
        .unwrap();
    let r = s
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::DevicePasswordVerifier)
        .session(r.session.unwrap())
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("DEVICE_KEY", &dauth.device_key)
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature)
        .send()
        .await
        .map_err(|e| error_of(&e))?;
    Ok(match (r.challenge_name, r.session) {
        (Some(name), Some(session)) => Ended::Challenge(name, session),
        _ => Ended::Tokens(r.authentication_result.unwrap()),
    })
}

async fn answer_totp(
    s: &Setup,
    session: &str,
) -> aws_sdk_cognitoidentityprovider::types::AuthenticationResultType {
    s.app.clock.advance(Duration::from_secs(30));
    s.app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::SoftwareTokenMfa)
        .session(session)
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("SOFTWARE_TOKEN_MFA_CODE", totp(&s.app, &s.totp_secret))
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap()
}

#[tokio::test]
async fn a_remembered_device_skips_mfa() {
    let s = setup().await;
    // First sign-in: MFA, and the pool starts tracking this device.
    let Ended::Challenge(name, session) = srp_sign_in(&s, None).await else {
        panic!("MFA expected");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
    let tokens = answer_totp(&s, &session).await;
    let meta = tokens.new_device_metadata.unwrap();
    let (key, group) = (meta.device_key.unwrap(), meta.device_group_key.unwrap());
    assert!(key.starts_with("us-east-1_"), "{key}");
    let access = tokens.access_token.unwrap();
    assert_eq!(jwt_claims(&access)["device_key"], key.as_str());

    // ConfirmDevice with a verifier only the device's secret can satisfy.
    let untracked = SrpClient::new(
        UntrackedDevice::new(&s.pool_id, &group, &key),
        &s.client_id,
        None,
    );
    let secret = untracked.get_password_verifier();
    let confirmed = s
        .app
        .public
        .confirm_device()
        .access_token(&access)
        .device_key(&key)
        .device_name("laptop")
        .device_secret_verifier_config(
            DeviceSecretVerifierConfigType::builder()
                .password_verifier(&secret.verifier)
                .salt(&secret.salt)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(!confirmed.user_confirmation_necessary);
    let device = TrackedDevice::new(&s.pool_id, &group, &key, &secret.password);

    // Next sign-in on this device: DEVICE_SRP_AUTH instead of MFA.
    let Ended::Tokens(tokens) = srp_sign_in(&s, Some(&device)).await else {
        panic!("a remembered device should skip MFA");
    };
    assert!(tokens.new_device_metadata.is_none());
    let refresh = tokens.refresh_token.unwrap();
    assert_eq!(
        jwt_claims(tokens.access_token.as_deref().unwrap())["device_key"],
        key.as_str()
    );

    // Its refresh token works only with its device key.
    let err = s
        .app
        .public
        .get_tokens_from_refresh_token()
        .client_id(&s.client_id)
        .refresh_token(&refresh)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Invalid Refresh Token".into()
        )
    );
    s.app
        .public
        .get_tokens_from_refresh_token()
        .client_id(&s.client_id)
        .refresh_token(&refresh)
        .device_key(&key)
        .send()
        .await
        .unwrap();

    // Listed and described, by the user and by an administrator.
    let listed = s
        .app
        .public
        .list_devices()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    let devices = listed.devices.unwrap();
    assert_eq!(devices.len(), 1);
    let attrs: HashMap<String, String> = devices[0]
        .device_attributes
        .clone()
        .unwrap()
        .into_iter()
        .map(|a| (a.name, a.value.unwrap_or_default()))
        .collect();
    assert_eq!(attrs["device_name"], "laptop");
    assert_eq!(attrs["dev:device_remembered_status"], "remembered");
    let admin = s
        .app
        .admin
        .admin_get_device()
        .user_pool_id(&s.pool_id)
        .username("ann")
        .device_key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        admin.device.unwrap().device_key.as_deref(),
        Some(key.as_str())
    );

    // Not remembered any more: the device still proves itself, and MFA is asked again.
    s.app
        .public
        .update_device_status()
        .access_token(&access)
        .device_key(&key)
        .device_remembered_status(DeviceRememberedStatusType::NotRemembered)
        .send()
        .await
        .unwrap();
    let Ended::Challenge(name, session) = srp_sign_in(&s, Some(&device)).await else {
        panic!("MFA expected for a device that isn't remembered");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
    answer_totp(&s, &session).await;

    // Forgotten: the key means nothing any more.
    s.app
        .admin
        .admin_forget_device()
        .user_pool_id(&s.pool_id)
        .username("ann")
        .device_key(&key)
        .send()
        .await
        .unwrap();
    let err = s
        .app
        .public
        .get_device()
        .access_token(&access)
        .device_key(&key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            "Device does not exist.".into()
        )
    );
    let Ended::Challenge(name, _) = srp_sign_in(&s, Some(&device)).await else {
        panic!("MFA expected on a forgotten device");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
}

#[tokio::test]
async fn a_wrong_device_secret_is_refused() {
    let s = setup().await;
    let Ended::Challenge(_, session) = srp_sign_in(&s, None).await else {
        panic!("MFA expected");
    };
    let tokens = answer_totp(&s, &session).await;
    let meta = tokens.new_device_metadata.unwrap();
    let (key, group) = (meta.device_key.unwrap(), meta.device_group_key.unwrap());
    let untracked = SrpClient::new(
        UntrackedDevice::new(&s.pool_id, &group, &key),
        &s.client_id,
        None,
    );
    let secret = untracked.get_password_verifier();
    s.app
        .public
        .confirm_device()
        .access_token(tokens.access_token.unwrap())
        .device_key(&key)
        .device_secret_verifier_config(
            DeviceSecretVerifierConfigType::builder()
                .password_verifier(&secret.verifier)
                .salt(&secret.salt)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let impostor = TrackedDevice::new(&s.pool_id, &group, &key, "not-the-device-password");
    let err = try_srp_sign_in(&s, Some(&impostor)).await.err().unwrap();
    assert_eq!(
        err,
        (
            "NotAuthorizedException".into(),
            "Incorrect username or password.".into()
        )
    );
}
