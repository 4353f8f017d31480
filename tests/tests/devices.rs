//! Remembered devices with an independent client implementation of device SRP
//! (aws-cognito-srp's UntrackedDevice/TrackedDevice).

use crate::support::*;
use aws_cognito_srp::{SrpClient, TrackedDevice, UntrackedDevice, User};
use aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput;
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

/// How a client answers the device steps: with the Session the server returned (Amplify,
/// current amazon-cognito-identity-js) or without one (pycognito, amazon-cognito-identity-js
/// releases before it passed the Session).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sessions {
    Sent,
    Omitted,
}

type Answer = Result<RespondToAuthChallengeOutput, (String, String)>;

const MISSING_SESSION: (&str, &str) = (
    "InvalidParameterException",
    "Missing required parameter Session",
);
const EXPIRED_SESSION: (&str, &str) = (
    "NotAuthorizedException",
    "Invalid session for the user, session is expired.",
);

fn error(e: (&str, &str)) -> (String, String) {
    (e.0.to_string(), e.1.to_string())
}

async fn srp_sign_in(s: &Setup, device: Option<&TrackedDevice>) -> Ended {
    try_srp_sign_in(s, device, Sessions::Sent).await.unwrap()
}

/// A device the pool tracks, confirmed with a verifier only its secret satisfies.
struct Remembered {
    device: TrackedDevice,
    key: String,
    group: String,
    /// The access token of the sign-in that started tracking it.
    access: String,
}

/// The device a first sign-in (through TOTP MFA) starts tracking, confirmed as "laptop".
async fn remembered_device(s: &Setup) -> Remembered {
    let Ended::Challenge(name, session) = srp_sign_in(s, None).await else {
        panic!("MFA expected");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
    let tokens = answer_totp(s, &session).await;
    let meta = tokens.new_device_metadata.unwrap();
    let (key, group) = (meta.device_key.unwrap(), meta.device_group_key.unwrap());
    assert!(key.starts_with("us-east-1_"), "{key}");
    let access = tokens.access_token.unwrap();
    assert_eq!(jwt_claims(&access)["device_key"], key.as_str());
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
    Remembered {
        device: TrackedDevice::new(&s.pool_id, &group, &key, &secret.password),
        key,
        group,
        access,
    }
}

/// USER_SRP_AUTH (+ DEVICE_KEY) through PASSWORD_VERIFIER with `password`, on `client_id`.
async fn password_step(
    s: &Setup,
    client_id: &str,
    device_key: Option<&str>,
    password: &str,
) -> Answer {
    let user = SrpClient::new(User::new(&s.pool_id, "ann", password), client_id, None);
    let auth = user.get_auth_parameters();
    let mut init = s
        .app
        .public
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("SRP_A", &auth.a);
    if let Some(k) = device_key {
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
        .client_id(client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", &p["USER_ID_FOR_SRP"])
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature);
    if let Some(k) = device_key {
        respond = respond.challenge_responses("DEVICE_KEY", k);
    }
    respond.send().await.map_err(|e| error_of(&e))
}

/// DEVICE_SRP_AUTH: the device `dc` opens its proof (its SRP_A), with `session` if given.
async fn device_srp_auth(
    s: &Setup,
    client_id: &str,
    dc: &SrpClient<TrackedDevice>,
    session: Option<&str>,
) -> Answer {
    let auth = dc.get_auth_parameters();
    s.app
        .public
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::DeviceSrpAuth)
        .set_session(session.map(str::to_string))
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("DEVICE_KEY", &auth.device_key)
        .challenge_responses("SRP_A", &auth.a)
        .send()
        .await
        .map_err(|e| error_of(&e))
}

/// DEVICE_PASSWORD_VERIFIER: the device's proof over the `challenge` DEVICE_SRP_AUTH returned,
/// with `session` if given.
async fn device_password_verifier(
    s: &Setup,
    dc: &SrpClient<TrackedDevice>,
    challenge: &RespondToAuthChallengeOutput,
    session: Option<&str>,
) -> Answer {
    assert_eq!(
        challenge.challenge_name,
        Some(ChallengeNameType::DevicePasswordVerifier)
    );
    let p = challenge.challenge_parameters.as_ref().unwrap();
    let device_key = dc.get_auth_parameters().device_key;
    assert_eq!(p["DEVICE_KEY"], device_key);
    let proof = dc
        .verify(&p["SECRET_BLOCK"], &p["SALT"], &p["SRP_B"])
        .unwrap();
    s.app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::DevicePasswordVerifier)
        .set_session(session.map(str::to_string))
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("DEVICE_KEY", &device_key)
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature)
        .send()
        .await
        .map_err(|e| error_of(&e))
}

fn ended(r: RespondToAuthChallengeOutput) -> Ended {
    match (r.challenge_name, r.session) {
        (Some(name), Some(session)) => Ended::Challenge(name, session),
        _ => Ended::Tokens(r.authentication_result.unwrap()),
    }
}

/// USER_SRP_AUTH (+ DEVICE_KEY) through PASSWORD_VERIFIER; then, if asked, DEVICE_SRP_AUTH and
/// DEVICE_PASSWORD_VERIFIER with the tracked device, passing the Sessions or not; returns where
/// the sign-in stopped, or the device steps' error.
async fn try_srp_sign_in(
    s: &Setup,
    device: Option<&TrackedDevice>,
    sessions: Sessions,
) -> Result<Ended, (String, String)> {
    let dc = device.map(|d| SrpClient::new(d.clone(), &s.client_id, None));
    let device_key = dc.as_ref().map(|d| d.get_auth_parameters().device_key);
    let r = password_step(s, &s.client_id, device_key.as_deref(), "Passw0rd!")
        .await
        .unwrap();
    if r.challenge_name != Some(ChallengeNameType::DeviceSrpAuth) {
        return Ok(ended(r));
    }
    // The device proves itself with its own secret.
    let dc = dc.unwrap();
    let pass = |r: &RespondToAuthChallengeOutput| match sessions {
        Sessions::Sent => Some(r.session.clone().unwrap()),
        Sessions::Omitted => None,
    };
    let challenge = device_srp_auth(s, &s.client_id, &dc, pass(&r).as_deref()).await?;
    let r = device_password_verifier(s, &dc, &challenge, pass(&challenge).as_deref()).await?;
    Ok(ended(r))
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

/// Amplify and current amazon-cognito-identity-js pass the Session to the device steps.
#[tokio::test]
async fn a_remembered_device_skips_mfa() {
    a_remembered_device_skips_mfa_when(Sessions::Sent).await;
}

/// pycognito and amazon-cognito-identity-js releases before it passed the Session answer
/// DEVICE_SRP_AUTH and DEVICE_PASSWORD_VERIFIER without one; the sign-in they continue is found
/// by pool, client, user and device key.
#[tokio::test]
async fn a_remembered_device_skips_mfa_without_sessions() {
    a_remembered_device_skips_mfa_when(Sessions::Omitted).await;
}

async fn a_remembered_device_skips_mfa_when(sessions: Sessions) {
    let s = setup().await;
    // First sign-in: MFA, and the pool starts tracking this device; ConfirmDevice with a
    // verifier only the device's secret can satisfy.
    let Remembered {
        device,
        key,
        access,
        ..
    } = remembered_device(&s).await;

    // Next sign-in on this device: DEVICE_SRP_AUTH instead of MFA.
    let Ended::Tokens(tokens) = try_srp_sign_in(&s, Some(&device), sessions).await.unwrap() else {
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
    let Ended::Challenge(name, session) =
        try_srp_sign_in(&s, Some(&device), sessions).await.unwrap()
    else {
        panic!("MFA expected for a device that isn't remembered");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
    answer_totp(&s, &session).await;

    // Forgotten: the key means nothing any more.
    admin_forget_device(&s, &key).await;
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
    let Ended::Challenge(name, _) = try_srp_sign_in(&s, Some(&device), sessions).await.unwrap()
    else {
        panic!("MFA expected on a forgotten device");
    };
    assert_eq!(name, ChallengeNameType::SoftwareTokenMfa);
}

async fn admin_forget_device(s: &Setup, key: &str) {
    s.app
        .admin
        .admin_forget_device()
        .user_pool_id(&s.pool_id)
        .username("ann")
        .device_key(key)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_device_secret_is_refused() {
    let s = setup().await;
    let Remembered { key, group, .. } = remembered_device(&s).await;
    let impostor = TrackedDevice::new(&s.pool_id, &group, &key, "not-the-device-password");
    for sessions in [Sessions::Sent, Sessions::Omitted] {
        let err = try_srp_sign_in(&s, Some(&impostor), sessions)
            .await
            .err()
            .unwrap();
        assert_eq!(
            err,
            (
                "NotAuthorizedException".into(),
                "Incorrect username or password.".into()
            ),
            "{sessions:?}"
        );
    }
}

/// Someone holding only the device's key and secret, not the password: the device steps never
/// stand in for the password step, with or without a Session.
#[tokio::test]
async fn the_device_secret_alone_signs_no_one_in() {
    let s = setup().await;
    let Remembered { device, key, .. } = remembered_device(&s).await;
    let dc = SrpClient::new(device.clone(), &s.client_id, None);

    // Nothing pending: no Session, or one the server never issued.
    let err = device_srp_auth(&s, &s.client_id, &dc, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));
    let forged = "AYABeB".repeat(40);
    let err = device_srp_auth(&s, &s.client_id, &dc, Some(&forged))
        .await
        .unwrap_err();
    assert_eq!(err, error(EXPIRED_SESSION));

    // A DEVICE_PASSWORD_VERIFIER out of nowhere, likewise.
    let err = s
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&s.client_id)
        .challenge_name(ChallengeNameType::DevicePasswordVerifier)
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("DEVICE_KEY", &key)
        .challenge_responses("PASSWORD_CLAIM_SECRET_BLOCK", "AAAA")
        .challenge_responses("TIMESTAMP", "Wed Sep 5 21:08:03 UTC 2018")
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", "AAAA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), error(MISSING_SESSION));

    // A wrong password presenting the device leaves nothing pending either.
    let err = password_step(&s, &s.client_id, Some(&key), "Wr0ng!pass")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (
            "NotAuthorizedException".into(),
            "Incorrect username or password.".into()
        )
    );
    let err = device_srp_auth(&s, &s.client_id, &dc, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));

    // Nor does a password step that presented no device: a device can't join it afterwards.
    let r = password_step(&s, &s.client_id, None, "Passw0rd!")
        .await
        .unwrap();
    assert_eq!(r.challenge_name, Some(ChallengeNameType::SoftwareTokenMfa));
    let err = device_srp_auth(&s, &s.client_id, &dc, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));
    // And its Session is for the second factor, not for the device.
    let err = device_srp_auth(&s, &s.client_id, &dc, r.session.as_deref())
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (
            "InvalidParameterException".into(),
            "The session was issued for SOFTWARE_TOKEN_MFA, not DEVICE_SRP_AUTH".into()
        )
    );

    // The real user on that device still signs in.
    let Ended::Tokens(_) = try_srp_sign_in(&s, Some(&device), Sessions::Omitted)
        .await
        .unwrap()
    else {
        panic!("tokens expected");
    };
}

/// A pending device step is bound to its client and used once, however it is found.
#[tokio::test]
async fn a_pending_device_step_is_used_once() {
    let s = setup().await;
    let Remembered { device, key, .. } = remembered_device(&s).await;
    let other_client = app_client(
        &s.app,
        &s.pool_id,
        &[
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ],
    )
    .await;
    let dc = SrpClient::new(device.clone(), &s.client_id, None);
    let r = password_step(&s, &s.client_id, Some(&key), "Passw0rd!")
        .await
        .unwrap();
    assert_eq!(r.challenge_name, Some(ChallengeNameType::DeviceSrpAuth));
    let issued = r.session.unwrap();

    // Another client of the pool finds nothing to continue.
    let err = device_srp_auth(&s, &other_client, &dc, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));

    // Two answers race for the pending step: exactly one continues the sign-in.
    let (a, b) = tokio::join!(
        device_srp_auth(&s, &s.client_id, &dc, None),
        device_srp_auth(&s, &s.client_id, &dc, None)
    );
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("exactly one answer should win: {other:?}"),
    };
    assert!(
        lost == error(MISSING_SESSION) || lost == error(EXPIRED_SESSION),
        "{lost:?}"
    );
    // Used up, whether found by the Session or without it.
    let err = device_srp_auth(&s, &s.client_id, &dc, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));
    let err = device_srp_auth(&s, &s.client_id, &dc, Some(&issued))
        .await
        .unwrap_err();
    assert_eq!(err, error(EXPIRED_SESSION));

    // The winner finishes; its verifier step can't be replayed either.
    let r = device_password_verifier(&s, &dc, &won, None).await.unwrap();
    let Ended::Tokens(_) = ended(r) else {
        panic!("tokens expected");
    };
    let err = device_password_verifier(&s, &dc, &won, None)
        .await
        .unwrap_err();
    assert_eq!(err, error(MISSING_SESSION));
    let err = device_password_verifier(&s, &dc, &won, won.session.as_deref())
        .await
        .unwrap_err();
    assert_eq!(err, error(EXPIRED_SESSION));
}

/// A device forgotten between the password step and its own proof gets Cognito's answer, with
/// or without the Session.
#[tokio::test]
async fn a_device_forgotten_mid_sign_in_does_not_exist() {
    let s = setup().await;
    let Remembered { device, key, .. } = remembered_device(&s).await;
    let dc = SrpClient::new(device, &s.client_id, None);
    let mut pending = Vec::new();
    for _ in 0..2 {
        let r = password_step(&s, &s.client_id, Some(&key), "Passw0rd!")
            .await
            .unwrap();
        assert_eq!(r.challenge_name, Some(ChallengeNameType::DeviceSrpAuth));
        pending.push(r.session.unwrap());
    }
    admin_forget_device(&s, &key).await;
    for session in [Some(pending[0].as_str()), None] {
        let err = device_srp_auth(&s, &s.client_id, &dc, session)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            (
                "ResourceNotFoundException".into(),
                "Device does not exist.".into()
            )
        );
    }
}
