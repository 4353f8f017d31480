//! MFA with real codes: TOTP computed from the secret the server hands out, SMS and email codes
//! read from the delivered messages, the clock moved by hand.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, EmailMfaConfigType, EmailMfaSettingsType,
    ExplicitAuthFlowsType, SmsMfaConfigType, SmsMfaSettingsType, SoftwareTokenMfaConfigType,
    SoftwareTokenMfaSettingsType, UserPoolMfaType,
};
use std::collections::HashMap;
use std::time::Duration;
use tessera_engine::Clock;
use tessera_messaging::testing::{SmtpSink, WebhookSink};

const WAIT: Duration = Duration::from_secs(10);

fn code_in(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .find(|w| w.iter().all(|c| c.is_ascii_digit()))
        .map(|w| w.iter().collect())
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

/// The current code of an authenticator holding `secret` (base32), by the app's clock.
fn totp(app: &TestApp, secret: &str) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret)
        .unwrap()
        .as_ref()
        .to_vec();
    let t = totp_rs::Builder::new()
        .with_secret(bytes)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .build()
        .unwrap();
    t.generate(app.clock.now().secs() as u64).to_string()
}

struct Mfa {
    app: TestApp,
    f: Fixture,
    smtp: SmtpSink,
    sms: WebhookSink,
}

/// A pool with MFA in `mode`, all three factors, SMTP and SMS delivery.
async fn mfa_pool(mode: UserPoolMfaType, totp_only: bool) -> Mfa {
    let smtp = SmtpSink::start().await;
    let sms = WebhookSink::start().await;
    let (smtp_url, sms_url) = (smtp.url(), sms.url());
    let app = spawn_app_with(move |c| {
        c["smtp_url"] = smtp_url.into();
        c["sms_webhook"] = sms_url.into();
        c["allow_private_webhooks"] = true.into();
    })
    .await;
    let f = pool_with_client(&app).await;
    let mut config = app
        .admin
        .set_user_pool_mfa_config()
        .user_pool_id(&f.pool_id)
        .mfa_configuration(mode)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        );
    if !totp_only {
        config = config
            .sms_mfa_configuration(
                SmsMfaConfigType::builder()
                    .sms_authentication_message("Sign-in code {####}")
                    .build(),
            )
            .email_mfa_configuration(
                EmailMfaConfigType::builder()
                    .subject("Sign-in code")
                    .message("Your sign-in code is {####}")
                    .build(),
            );
    }
    config.send().await.unwrap();
    Mfa { app, f, smtp, sms }
}

async fn start(
    app: &TestApp,
    f: &Fixture,
    user: &str,
    password: &str,
) -> (
    Option<ChallengeNameType>,
    HashMap<String, String>,
    Option<String>,
) {
    let r = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap();
    (
        r.challenge_name,
        r.challenge_parameters.unwrap_or_default(),
        r.session,
    )
}

async fn answer(
    app: &TestApp,
    f: &Fixture,
    name: ChallengeNameType,
    session: &str,
    responses: &[(&str, &str)],
) -> Result<aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput, (String, String)>{
    let mut r = app
        .public
        .respond_to_auth_challenge()
        .client_id(&f.client_id)
        .challenge_name(name)
        .session(session);
    for (k, v) in responses {
        r = r.challenge_responses(*k, *v);
    }
    r.send().await.map_err(|e| error_of(&e))
}

/// Associates and verifies a TOTP app for a signed-in user; returns its secret.
async fn enrol_totp(m: &Mfa, access: &str) -> String {
    let secret = m
        .app
        .public
        .associate_software_token()
        .access_token(access)
        .send()
        .await
        .unwrap()
        .secret_code
        .unwrap();
    assert!(secret.len() >= 16 && secret.chars().all(|c| c.is_ascii_alphanumeric()));
    let err = m
        .app
        .public
        .verify_software_token()
        .access_token(access)
        .user_code(if totp(&m.app, &secret) == "000000" {
            "111111"
        } else {
            "000000"
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "EnableSoftwareTokenMFAException".into(),
            "Code mismatch and fail enable Software Token MFA".into()
        )
    );
    let verified = m
        .app
        .public
        .verify_software_token()
        .access_token(access)
        .user_code(totp(&m.app, &secret))
        .friendly_device_name("phone")
        .send()
        .await
        .unwrap();
    assert_eq!(
        verified.status.map(|s| s.as_str().to_string()).as_deref(),
        Some("SUCCESS")
    );
    secret
}

#[tokio::test]
async fn totp_enrolment_and_sign_in() {
    let m = mfa_pool(UserPoolMfaType::Optional, true).await;
    confirmed_user(&m.app, &m.f, "ann", "Passw0rd!").await;
    // Optional MFA and no factor yet: straight to tokens.
    let access = password_sign_in(&m.app, &m.f, "ann", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let secret = enrol_totp(&m, &access).await;
    // Verified, but not on until the preference says so.
    assert!(
        password_sign_in(&m.app, &m.f, "ann", "Passw0rd!")
            .await
            .access_token
            .is_some()
    );
    m.app
        .public
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
    let user = m
        .app
        .admin
        .admin_get_user()
        .user_pool_id(&m.f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    assert_eq!(
        user.user_mfa_setting_list,
        Some(vec!["SOFTWARE_TOKEN_MFA".to_string()])
    );
    assert_eq!(
        user.preferred_mfa_setting.as_deref(),
        Some("SOFTWARE_TOKEN_MFA")
    );

    m.app.clock.advance(Duration::from_secs(30));
    let (name, params, session) = start(&m.app, &m.f, "ann", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::SoftwareTokenMfa));
    assert_eq!(
        params.get("FRIENDLY_DEVICE_NAME").map(String::as_str),
        Some("phone")
    );
    let session = session.unwrap();
    let code = totp(&m.app, &secret);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // A wrong code keeps the session usable…
    assert_eq!(
        answer(
            &m.app,
            &m.f,
            ChallengeNameType::SoftwareTokenMfa,
            &session,
            &[("USERNAME", "ann"), ("SOFTWARE_TOKEN_MFA_CODE", wrong)]
        )
        .await
        .unwrap_err(),
        (
            "CodeMismatchException".into(),
            "Invalid code or auth state for the user.".into()
        )
    );
    // … and answering as another challenge is refused.
    assert_eq!(
        answer(
            &m.app,
            &m.f,
            ChallengeNameType::SmsMfa,
            &session,
            &[("USERNAME", "ann"), ("SMS_MFA_CODE", &code)]
        )
        .await
        .unwrap_err()
        .0,
        "InvalidParameterException"
    );
    let done = answer(
        &m.app,
        &m.f,
        ChallengeNameType::SoftwareTokenMfa,
        &session,
        &[("USERNAME", "ann"), ("SOFTWARE_TOKEN_MFA_CODE", &code)],
    )
    .await
    .unwrap();
    assert!(done.authentication_result.unwrap().access_token.is_some());
    // The same code (same time step) never works twice: Cognito's ExpiredCodeException.
    let (_, _, session) = start(&m.app, &m.f, "ann", "Passw0rd!").await;
    assert_eq!(
        answer(
            &m.app,
            &m.f,
            ChallengeNameType::SoftwareTokenMfa,
            &session.unwrap(),
            &[("USERNAME", "ann"), ("SOFTWARE_TOKEN_MFA_CODE", &code)]
        )
        .await
        .unwrap_err(),
        (
            "ExpiredCodeException".into(),
            "Your software token has already been used once.".into()
        )
    );
    m.app.clock.advance(Duration::from_secs(30));
    let (_, _, session) = start(&m.app, &m.f, "ann", "Passw0rd!").await;
    answer(
        &m.app,
        &m.f,
        ChallengeNameType::SoftwareTokenMfa,
        &session.unwrap(),
        &[
            ("USERNAME", "ann"),
            ("SOFTWARE_TOKEN_MFA_CODE", &totp(&m.app, &secret)),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn required_sms_mfa_and_session_expiry() {
    let m = mfa_pool(UserPoolMfaType::On, false).await;
    confirmed_user(&m.app, &m.f, "bob", "Passw0rd!").await;
    m.app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&m.f.pool_id)
        .username("bob")
        .user_attributes(attr("phone_number", "+15555550199"))
        .send()
        .await
        .unwrap();
    // Required MFA with a phone on file: SMS codes go there.
    let (name, params, session) = start(&m.app, &m.f, "bob", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::SmsMfa));
    assert_eq!(params["CODE_DELIVERY_DELIVERY_MEDIUM"], "SMS");
    assert_eq!(params["CODE_DELIVERY_DESTINATION"], "+*******0199");
    let sms = m.sms.wait_for(1, WAIT).await;
    assert!(
        sms[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Sign-in code ")
    );
    let code = code_in(sms[0]["message"].as_str().unwrap());
    answer(
        &m.app,
        &m.f,
        ChallengeNameType::SmsMfa,
        &session.unwrap(),
        &[("USERNAME", "bob"), ("SMS_MFA_CODE", &code)],
    )
    .await
    .unwrap();
    // Codes last as long as the session (3 minutes by default).
    let (_, _, session) = start(&m.app, &m.f, "bob", "Passw0rd!").await;
    let code = code_in(
        m.sms.wait_for(2, WAIT).await[1]["message"]
            .as_str()
            .unwrap(),
    );
    m.app.clock.advance(Duration::from_secs(181));
    assert_eq!(
        answer(
            &m.app,
            &m.f,
            ChallengeNameType::SmsMfa,
            &session.unwrap(),
            &[("USERNAME", "bob"), ("SMS_MFA_CODE", &code)]
        )
        .await
        .unwrap_err(),
        (
            "NotAuthorizedException".into(),
            "Invalid session for the user, session is expired.".into()
        )
    );
    // Three wrong answers end a session.
    let (_, _, session) = start(&m.app, &m.f, "bob", "Passw0rd!").await;
    let session = session.unwrap();
    let code = code_in(
        m.sms.wait_for(3, WAIT).await[2]["message"]
            .as_str()
            .unwrap(),
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..3 {
        assert_eq!(
            answer(
                &m.app,
                &m.f,
                ChallengeNameType::SmsMfa,
                &session,
                &[("USERNAME", "bob"), ("SMS_MFA_CODE", wrong)]
            )
            .await
            .unwrap_err()
            .0,
            "CodeMismatchException"
        );
    }
    assert_eq!(
        answer(
            &m.app,
            &m.f,
            ChallengeNameType::SmsMfa,
            &session,
            &[("USERNAME", "bob"), ("SMS_MFA_CODE", &code)]
        )
        .await
        .unwrap_err()
        .0,
        "NotAuthorizedException"
    );
}

#[tokio::test]
async fn several_factors_are_chosen_from() {
    let m = mfa_pool(UserPoolMfaType::Optional, false).await;
    confirmed_user(&m.app, &m.f, "cat", "Passw0rd!").await;
    m.app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&m.f.pool_id)
        .username("cat")
        .user_attributes(attr("phone_number", "+15555550142"))
        .send()
        .await
        .unwrap();
    m.app
        .admin
        .admin_set_user_mfa_preference()
        .user_pool_id(&m.f.pool_id)
        .username("cat")
        .sms_mfa_settings(SmsMfaSettingsType::builder().enabled(true).build())
        .email_mfa_settings(EmailMfaSettingsType::builder().enabled(true).build())
        .send()
        .await
        .unwrap();
    let (name, params, session) = start(&m.app, &m.f, "cat", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::SelectMfaType));
    let choices: Vec<String> = serde_json::from_str(&params["MFAS_CAN_CHOOSE"]).unwrap();
    assert_eq!(
        choices,
        vec!["SMS_MFA".to_string(), "EMAIL_OTP".to_string()]
    );
    let next = answer(
        &m.app,
        &m.f,
        ChallengeNameType::SelectMfaType,
        &session.unwrap(),
        &[("USERNAME", "cat"), ("ANSWER", "EMAIL_OTP")],
    )
    .await
    .unwrap();
    assert_eq!(next.challenge_name, Some(ChallengeNameType::EmailOtp));
    let p = next.challenge_parameters.unwrap();
    assert_eq!(p["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
    // (The first email is the sign-up's; confirmed_user doesn't auto-verify here, so none.)
    let mail = m.smtp.wait_for(1, WAIT).await;
    let last = mail.last().unwrap();
    assert_eq!(last.subject().as_deref(), Some("Sign-in code"));
    let code = code_in(&last.text_body().unwrap());
    answer(
        &m.app,
        &m.f,
        ChallengeNameType::EmailOtp,
        &next.session.unwrap(),
        &[("USERNAME", "cat"), ("EMAIL_OTP_CODE", &code)],
    )
    .await
    .unwrap();
    // A preference skips the choice.
    m.app
        .admin
        .admin_set_user_mfa_preference()
        .user_pool_id(&m.f.pool_id)
        .username("cat")
        .sms_mfa_settings(
            SmsMfaSettingsType::builder()
                .enabled(true)
                .preferred_mfa(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (name, _, _) = start(&m.app, &m.f, "cat", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::SmsMfa));
}

#[tokio::test]
async fn required_mfa_walks_through_setup() {
    let m = mfa_pool(UserPoolMfaType::On, true).await;
    confirmed_user(&m.app, &m.f, "dan", "Passw0rd!").await;
    let (name, params, session) = start(&m.app, &m.f, "dan", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::MfaSetup));
    assert_eq!(params["MFAS_CAN_SETUP"], "[\"SOFTWARE_TOKEN_MFA\"]");
    let session = session.unwrap();
    let associated = m
        .app
        .public
        .associate_software_token()
        .session(&session)
        .send()
        .await
        .unwrap();
    let secret = associated.secret_code.unwrap();
    let session = associated.session.unwrap();
    let setup_code = totp(&m.app, &secret);
    let verified = m
        .app
        .public
        .verify_software_token()
        .session(&session)
        .user_code(&setup_code)
        .send()
        .await
        .unwrap();
    let session = verified.session.unwrap();
    let done = answer(
        &m.app,
        &m.f,
        ChallengeNameType::MfaSetup,
        &session,
        &[("USERNAME", "dan")],
    )
    .await
    .unwrap();
    assert!(done.authentication_result.unwrap().access_token.is_some());
    // From now on the app is asked for, and the code that set it up is spent.
    let (name, _, session) = start(&m.app, &m.f, "dan", "Passw0rd!").await;
    assert_eq!(name, Some(ChallengeNameType::SoftwareTokenMfa));
    let replay = answer(
        &m.app,
        &m.f,
        ChallengeNameType::SoftwareTokenMfa,
        session.as_deref().unwrap(),
        &[
            ("USERNAME", "dan"),
            ("SOFTWARE_TOKEN_MFA_CODE", &setup_code),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(
        replay,
        (
            "ExpiredCodeException".into(),
            "Your software token has already been used once.".into()
        )
    );
    m.app.clock.advance(Duration::from_secs(30));
    answer(
        &m.app,
        &m.f,
        ChallengeNameType::SoftwareTokenMfa,
        &session.unwrap(),
        &[
            ("USERNAME", "dan"),
            ("SOFTWARE_TOKEN_MFA_CODE", &totp(&m.app, &secret)),
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn preferences_need_what_they_enable() {
    let m = mfa_pool(UserPoolMfaType::Optional, true).await;
    confirmed_user(&m.app, &m.f, "eve", "Passw0rd!").await;
    let access = password_sign_in(&m.app, &m.f, "eve", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let err = m
        .app
        .public
        .set_user_mfa_preference()
        .access_token(&access)
        .software_token_mfa_settings(
            SoftwareTokenMfaSettingsType::builder()
                .enabled(true)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "User has not verified software token mfa".into()
        )
    );
    // A pool without TOTP refuses it outright.
    let app2 = spawn_app().await;
    let f2 = pool_with_client(&app2).await;
    confirmed_user(&app2, &f2, "eve", "Passw0rd!").await;
    let access2 = password_sign_in(&app2, &f2, "eve", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let err = app2
        .public
        .associate_software_token()
        .access_token(&access2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "SoftwareTokenMFANotFoundException".into(),
            "Software Token MFA has not been enabled by the userPool".into()
        )
    );
    let config = m
        .app
        .admin
        .get_user_pool_mfa_config()
        .user_pool_id(&m.f.pool_id)
        .send()
        .await
        .unwrap();
    assert_eq!(config.mfa_configuration, Some(UserPoolMfaType::Optional));
    assert!(config.software_token_mfa_configuration.unwrap().enabled);
    let _ = ExplicitAuthFlowsType::AllowUserSrpAuth;
}
