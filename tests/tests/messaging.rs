//! Codes and invitations delivered through a real SMTP server and an SMS webhook.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, AuthFlowType, ChallengeNameType,
    DeliveryMediumType, ExplicitAuthFlowsType, MessageActionType, MessageTemplateType,
    PreventUserExistenceErrorTypes, RecoveryOptionNameType, RecoveryOptionType,
    UserAttributeUpdateSettingsType, VerificationMessageTemplateType, VerifiedAttributeType,
};
use std::time::Duration;
use tessera_messaging::testing::{SmtpSink, WebhookSink};

const WAIT: Duration = Duration::from_secs(10);

/// The six-digit code in a message.
/// The six-digit code standing alone (not inside a longer run of letters or digits) in `text`.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
}

struct Mailroom {
    app: TestApp,
    smtp: SmtpSink,
    sms: WebhookSink,
}

async fn mailroom() -> Mailroom {
    let smtp = SmtpSink::start().await;
    let sms = WebhookSink::start().await;
    let (smtp_url, sms_url) = (smtp.url(), sms.url());
    let app = spawn_app_with(move |c| {
        c["smtp_url"] = smtp_url.into();
        c["sms_webhook"] = sms_url.into();
        c["allow_private_webhooks"] = true.into();
        c["email_from"] = "Tessera Tests <tests@tessera.test>".into();
    })
    .await;
    Mailroom { app, smtp, sms }
}

/// A pool that auto-verifies email (and phone) with a client allowing password sign-in.
async fn verifying_pool(
    app: &TestApp,
    extra: impl FnOnce(
    aws_sdk_cognitoidentityprovider::operation::create_user_pool::builders::CreateUserPoolFluentBuilder,
) -> aws_sdk_cognitoidentityprovider::operation::create_user_pool::builders::CreateUserPoolFluentBuilder,
) -> Fixture {
    let pool_id = extra(
        app.admin
            .create_user_pool()
            .pool_name("verifying")
            .auto_verified_attributes(VerifiedAttributeType::Email),
    )
    .send()
    .await
    .unwrap()
    .user_pool
    .unwrap()
    .id
    .unwrap();
    let client_id = app_client(
        app,
        &pool_id,
        &[
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ],
    )
    .await;
    Fixture { pool_id, client_id }
}

#[tokio::test]
async fn sign_up_confirmation_by_email() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| b).await;
    let signed = m
        .app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("ann")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ann@example.com"))
        .send()
        .await
        .unwrap();
    let details = signed.code_delivery_details.unwrap();
    assert_eq!(details.destination.as_deref(), Some("a***@e***"));
    assert_eq!(details.delivery_medium, Some(DeliveryMediumType::Email));
    assert_eq!(details.attribute_name.as_deref(), Some("email"));

    let mail = m.smtp.wait_for(1, WAIT).await;
    assert_eq!(mail[0].to, vec!["ann@example.com".to_string()]);
    assert_eq!(mail[0].subject().as_deref(), Some("Your verification code"));
    assert!(
        mail[0].from.contains("tests@tessera.test"),
        "{}",
        mail[0].from
    );
    let body = mail[0].text_body().unwrap();
    let code = code_in(&body);
    // Cognito's default message, with the code itself (CONFIRM_WITH_CODE is the default).
    assert_eq!(
        body.trim_end(),
        format!("Your verification code is {code}.")
    );

    let confirm = |c: String| {
        m.app
            .public
            .confirm_sign_up()
            .client_id(&f.client_id)
            .username("ann")
            .confirmation_code(c)
            .send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = confirm(wrong.into()).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "CodeMismatchException".into(),
            "Invalid verification code provided, please try again.".into()
        )
    );
    confirm(code.clone()).await.unwrap();
    let err = confirm(code).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "User cannot be confirmed. Current status is CONFIRMED".into()
        )
    );
    let user = m
        .app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let verified = user
        .user_attributes
        .unwrap()
        .into_iter()
        .find(|a| a.name == "email_verified")
        .and_then(|a| a.value);
    assert_eq!(verified.as_deref(), Some("true"));
    password_sign_in(&m.app, &f, "ann", "Passw0rd!").await;
}

#[tokio::test]
async fn resends_replace_codes_and_are_rate_limited() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| b).await;
    m.app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("bob")
        .password("Passw0rd!")
        .user_attributes(attr("email", "bob@example.com"))
        .send()
        .await
        .unwrap();
    let first = code_in(&m.smtp.wait_for(1, WAIT).await[0].text_body().unwrap());
    let resend = || {
        m.app
            .public
            .resend_confirmation_code()
            .client_id(&f.client_id)
            .username("bob")
            .send()
    };
    resend().await.unwrap();
    let second = code_in(&m.smtp.wait_for(2, WAIT).await[1].text_body().unwrap());
    // Only the newest code works.
    if first != second {
        let err = m
            .app
            .public
            .confirm_sign_up()
            .client_id(&f.client_id)
            .username("bob")
            .confirmation_code(&first)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_of(&err).0, "CodeMismatchException");
    }
    // Five sends an hour (the sign-up's counts).
    for _ in 0..3 {
        resend().await.unwrap();
    }
    let err = resend().await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "LimitExceededException".into(),
            "Attempt limit exceeded, please try after some time.".into()
        )
    );
    m.app.clock.advance(Duration::from_secs(3601));
    resend().await.unwrap();
}

#[tokio::test]
async fn forgot_password_by_sms_with_attempt_limit_and_expiry() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| b).await;
    confirmed_user(&m.app, &f, "cat", "Passw0rd!").await;
    m.app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("cat")
        .user_attributes(attr("phone_number", "+15555550123"))
        .user_attributes(attr("phone_number_verified", "true"))
        .send()
        .await
        .unwrap();
    let old = password_sign_in(&m.app, &f, "cat", "Passw0rd!").await;
    let forgot = || {
        m.app
            .public
            .forgot_password()
            .client_id(&f.client_id)
            .username("cat")
            .send()
    };
    // Legacy recovery order: a verified phone first.
    let details = forgot().await.unwrap().code_delivery_details.unwrap();
    assert_eq!(details.destination.as_deref(), Some("+*******0123"));
    assert_eq!(details.delivery_medium, Some(DeliveryMediumType::Sms));
    let sms = m.sms.wait_for(1, WAIT).await;
    assert_eq!(sms[0]["destination"], "+15555550123");
    let code = code_in(sms[0]["message"].as_str().unwrap());

    let confirm = |c: &str, pw: &str| {
        m.app
            .public
            .confirm_forgot_password()
            .client_id(&f.client_id)
            .username("cat")
            .confirmation_code(c)
            .password(pw)
            .send()
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            error_of(&confirm(wrong, "N3w-Passw0rd").await.unwrap_err()).0,
            "CodeMismatchException"
        );
    }
    // Spent: even the right code is refused now.
    assert_eq!(
        error_of(&confirm(&code, "N3w-Passw0rd").await.unwrap_err()).0,
        "LimitExceededException"
    );
    forgot().await.unwrap();
    let code = code_in(
        m.sms.wait_for(2, WAIT).await[1]["message"]
            .as_str()
            .unwrap(),
    );
    // Reset codes live an hour.
    m.app.clock.advance(Duration::from_secs(3601));
    assert_eq!(
        error_of(&confirm(&code, "N3w-Passw0rd").await.unwrap_err()),
        (
            "ExpiredCodeException".into(),
            "Invalid code provided, please request a code again.".into()
        )
    );
    forgot().await.unwrap();
    let code = code_in(
        m.sms.wait_for(3, WAIT).await[2]["message"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        error_of(&confirm(&code, "weak").await.unwrap_err()).0,
        "InvalidPasswordException"
    );
    confirm(&code, "N3w-Passw0rd").await.unwrap();
    password_sign_in(&m.app, &f, "cat", "N3w-Passw0rd").await;
    // The reset ended the sessions from before it.
    let err = m
        .app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", old.refresh_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).1, "Refresh Token has been revoked");
}

#[tokio::test]
async fn unknown_users_and_unrecoverable_ones() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| {
        b.account_recovery_setting(
            AccountRecoverySettingType::builder()
                .recovery_mechanisms(
                    RecoveryOptionType::builder()
                        .name(RecoveryOptionNameType::VerifiedEmail)
                        .priority(1)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
    })
    .await;
    let err = m
        .app
        .public
        .forgot_password()
        .client_id(&f.client_id)
        .username("nobody")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "UserNotFoundException".into(),
            "User does not exist.".into()
        )
    );
    m.app
        .admin
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .unwrap();
    let fake = m
        .app
        .public
        .forgot_password()
        .client_id(&f.client_id)
        .username("nobody")
        .send()
        .await
        .unwrap()
        .code_delivery_details
        .unwrap();
    let again = m
        .app
        .public
        .forgot_password()
        .client_id(&f.client_id)
        .username("nobody")
        .send()
        .await
        .unwrap()
        .code_delivery_details
        .unwrap();
    assert_eq!(fake, again, "a simulated destination is stable");
    assert_eq!(fake.delivery_medium, Some(DeliveryMediumType::Email));
    // An unknown name meets the hourly send limit exactly as a real user would.
    let forgot = || {
        m.app
            .public
            .forgot_password()
            .client_id(&f.client_id)
            .username("nobody")
            .send()
    };
    for _ in 2..5 {
        forgot().await.unwrap();
    }
    let limited = forgot().await.unwrap_err();
    assert_eq!(
        error_of(&limited),
        (
            "LimitExceededException".into(),
            "Attempt limit exceeded, please try after some time.".into()
        )
    );
    m.app.clock.advance(Duration::from_secs(3601));
    forgot().await.unwrap();
    // A real user without a verified email can't recover by email.
    m.app
        .admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("unverified")
        .temporary_password("Temp0rary!")
        .message_action(MessageActionType::Suppress)
        .user_attributes(attr("email", "u@example.com"))
        .send()
        .await
        .unwrap();
    let err = m
        .app
        .public
        .forgot_password()
        .client_id(&f.client_id)
        .username("unverified")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Cannot reset password for the user as there is no registered/verified email or phone_number".into()
        )
    );
}

#[tokio::test]
async fn attribute_changes_wait_for_verification_when_the_pool_says_so() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| {
        b.user_attribute_update_settings(
            UserAttributeUpdateSettingsType::builder()
                .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                .build(),
        )
    })
    .await;
    confirmed_user(&m.app, &f, "dee", "Passw0rd!").await;
    m.app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("dee")
        .user_attributes(attr("email_verified", "true"))
        .send()
        .await
        .unwrap();
    let access = password_sign_in(&m.app, &f, "dee", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let sent = m
        .app
        .public
        .update_user_attributes()
        .access_token(&access)
        .user_attributes(attr("email", "dee.new@example.com"))
        .send()
        .await
        .unwrap()
        .code_delivery_details_list
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination.as_deref(), Some("d***@e***"));
    let email_of = || async {
        let me = m
            .app
            .public
            .get_user()
            .access_token(&access)
            .send()
            .await
            .unwrap();
        let get = |n: &str| {
            me.user_attributes
                .iter()
                .find(|a| a.name == n)
                .and_then(|a| a.value.clone())
        };
        (get("email"), get("email_verified"))
    };
    // The old, verified address stands until the new one is proven.
    assert_eq!(
        email_of().await,
        (Some("dee@example.com".into()), Some("true".into()))
    );
    // (The first message was the sign-up confirmation.)
    let mail = m.smtp.wait_for(2, WAIT).await;
    assert_eq!(mail[1].to, vec!["dee.new@example.com".to_string()]);
    m.app
        .public
        .verify_user_attribute()
        .access_token(&access)
        .attribute_name("email")
        .code(code_in(&mail[1].text_body().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        email_of().await,
        (Some("dee.new@example.com".into()), Some("true".into()))
    );
    // And a verification code on request.
    m.app
        .public
        .get_user_attribute_verification_code()
        .access_token(&access)
        .attribute_name("email")
        .send()
        .await
        .unwrap();
    assert_eq!(m.smtp.wait_for(3, WAIT).await.len(), 3);
}

#[tokio::test]
async fn invitations_carry_the_temporary_password() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| {
        b.admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .invite_message_template(
                    MessageTemplateType::builder()
                        .email_subject("Welcome")
                        .email_message("Hello {username}, your password is {####}")
                        .build(),
                )
                .build(),
        )
    })
    .await;
    m.app
        .admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("eve")
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .user_attributes(attr("email", "eve@example.com"))
        .send()
        .await
        .unwrap();
    let mail = m.smtp.wait_for(1, WAIT).await;
    assert_eq!(mail[0].subject().as_deref(), Some("Welcome"));
    let body = mail[0].text_body().unwrap();
    let password = body
        .strip_prefix("Hello eve, your password is ")
        .unwrap_or_else(|| panic!("{body:?}"))
        .trim()
        .to_string();
    let challenge = m
        .app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "eve")
        .auth_parameters("PASSWORD", &password)
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.challenge_name,
        Some(ChallengeNameType::NewPasswordRequired)
    );
    // RESEND issues a new temporary password; the old one stops working.
    m.app
        .admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("eve")
        .message_action(MessageActionType::Resend)
        .desired_delivery_mediums(DeliveryMediumType::Email)
        .send()
        .await
        .unwrap();
    assert_eq!(m.smtp.wait_for(2, WAIT).await.len(), 2);
    let err = m
        .app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "eve")
        .auth_parameters("PASSWORD", &password)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "NotAuthorizedException");

    // A template without {username} is refused when the pool is configured.
    let err = m
        .app
        .admin
        .update_user_pool()
        .user_pool_id(&f.pool_id)
        .admin_create_user_config(
            AdminCreateUserConfigType::builder()
                .invite_message_template(
                    MessageTemplateType::builder()
                        .email_message("Your password is {####}")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
}

#[tokio::test]
async fn admin_reset_requires_a_new_password() {
    let m = mailroom().await;
    let f = verifying_pool(&m.app, |b| b).await;
    confirmed_user(&m.app, &f, "fay", "Passw0rd!").await;
    m.app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("fay")
        .user_attributes(attr("email_verified", "true"))
        .send()
        .await
        .unwrap();
    m.app
        .admin
        .admin_reset_user_password()
        .user_pool_id(&f.pool_id)
        .username("fay")
        .send()
        .await
        .unwrap();
    let err = m
        .app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "fay")
        .auth_parameters("PASSWORD", "Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "PasswordResetRequiredException".into(),
            "Password reset required for the user".into()
        )
    );
    // (The first message was the sign-up confirmation.)
    let code = code_in(&m.smtp.wait_for(2, WAIT).await[1].text_body().unwrap());
    m.app
        .public
        .confirm_forgot_password()
        .client_id(&f.client_id)
        .username("fay")
        .confirmation_code(code)
        .password("Fr3sh-Passw0rd")
        .send()
        .await
        .unwrap();
    password_sign_in(&m.app, &f, "fay", "Fr3sh-Passw0rd").await;
}

/// SMTP down when the user signs up: the user exists at once, the code arrives once SMTP is back.
#[tokio::test]
async fn an_smtp_outage_delays_but_loses_nothing() {
    let smtp = SmtpSink::start().await;
    let port = smtp.port();
    let smtp_url = smtp.url();
    smtp.stop().await;
    let app = spawn_app_with(move |c| c["smtp_url"] = smtp_url.into()).await;
    let f = verifying_pool(&app, |b| b).await;
    app.public
        .sign_up()
        .client_id(&f.client_id)
        .username("gus")
        .password("Passw0rd!")
        .user_attributes(attr("email", "gus@example.com"))
        .send()
        .await
        .unwrap();
    // The first attempt fails against the closed port and is scheduled again.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let smtp = SmtpSink::start_on(port).await;
    assert!(smtp.messages().is_empty());
    app.clock.advance(Duration::from_secs(5));
    let mail = smtp.wait_for(1, WAIT).await;
    assert_eq!(mail.len(), 1, "delivered exactly once");
    app.public
        .confirm_sign_up()
        .client_id(&f.client_id)
        .username("gus")
        .confirmation_code(code_in(&mail[0].text_body().unwrap()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn without_a_channel_nothing_half_done_is_left() {
    let app = spawn_app().await;
    let f = verifying_pool(&app, |b| b).await;
    let err = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("hal")
        .password("Passw0rd!")
        .user_attributes(attr("email", "hal@example.com"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "CodeDeliveryFailureException");
    let err = app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("hal")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "UserNotFoundException");
}

#[tokio::test]
async fn dev_mode_holds_messages_for_reading() {
    let app = spawn_app_with(|c| {
        c["dev"] = true.into();
        c["outbox_http"] = true.into();
    })
    .await;
    let f = verifying_pool(&app, |b| {
        b.verification_message_template(
            VerificationMessageTemplateType::builder()
                .email_message("Code: {####}")
                .email_subject("Dev code")
                .build(),
        )
    })
    .await;
    app.public
        .sign_up()
        .client_id(&f.client_id)
        .username("ivy")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ivy@example.com"))
        .send()
        .await
        .unwrap();
    let listed: serde_json::Value = reqwest::get(format!("{}/_tessera/outbox", app.endpoint))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = &listed[0];
    assert_eq!(message["status"], "held");
    assert_eq!(message["to"], "ivy@example.com");
    assert_eq!(message["subject"], "Dev code");
    let code = code_in(message["body"].as_str().unwrap());
    app.public
        .confirm_sign_up()
        .client_id(&f.client_id)
        .username("ivy")
        .confirmation_code(code)
        .send()
        .await
        .unwrap();
}
