//! Lambda triggers through the AWS SDK for Rust, with the functions served by an Invoke-API
//! host in the test (tessera-lambda's LambdaHost): the events Tessera sends, and what it does
//! with the answers.

use crate::support::*;
use aws_cognito_srp::{SrpClient, User as SrpUser};
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, LambdaConfigType,
    PreTokenGenerationLambdaVersionType, PreTokenGenerationVersionConfigType,
    PreventUserExistenceErrorTypes,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tessera_lambda::testing::LambdaHost;

fn arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{name}")
}

struct Triggered {
    app: TestApp,
    host: Arc<LambdaHost>,
    f: Fixture,
}

/// A server whose function host is `host`, and a pool using `config` with a client allowing
/// password, SRP, custom and refresh sign-in.
async fn triggered(config: LambdaConfigType) -> Triggered {
    let host = Arc::new(LambdaHost::start().await);
    let endpoint = host.endpoint();
    let app = spawn_app_with(move |c| {
        c["lambda"] = json!({
            "endpoint": endpoint,
            "allow_private": true,
            "timeout_ms": 400,
            "attempts": 2
        });
        c["dev"] = true.into();
    })
    .await;
    let pool_id = app
        .admin
        .create_user_pool()
        .pool_name("triggered")
        .lambda_config(config)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client_id = app_client(
        &app,
        &pool_id,
        &[
            ExplicitAuthFlowsType::AllowUserPasswordAuth,
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        ],
    )
    .await;
    Triggered {
        app,
        host,
        f: Fixture { pool_id, client_id },
    }
}

type Failure = (String, String);

/// USER_PASSWORD_AUTH, with the outcome as the client sees it.
async fn sign_in(
    t: &Triggered,
    name: &str,
    password: &str,
) -> Result<aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput, Failure>
{
    t.app
        .public
        .initiate_auth()
        .client_id(&t.f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", name)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map_err(|e| error_of(&e))
}

async fn admin_get(
    t: &Triggered,
    name: &str,
) -> Result<aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserOutput, Failure>
{
    t.app
        .admin
        .admin_get_user()
        .user_pool_id(&t.f.pool_id)
        .username(name)
        .send()
        .await
        .map_err(|e| error_of(&e))
}

fn rejected(message: &str) -> Failure {
    ("UserLambdaValidationException".into(), message.into())
}

fn events(host: &LambdaHost, name: &str) -> Vec<Value> {
    host.invocations_of(&arn(name))
        .into_iter()
        .map(|i| i.event)
        .collect()
}

#[tokio::test]
async fn pre_sign_up_refuses_confirms_and_verifies() {
    let t = triggered(
        LambdaConfigType::builder()
            .pre_sign_up(arn("pre-sign-up"))
            .post_confirmation(arn("post-confirmation"))
            .build(),
    )
    .await;
    t.host
        .register(&arn("pre-sign-up"), |mut event| async move {
            let email = event["request"]["userAttributes"]["email"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if email.ends_with("@blocked.test") {
                return Err("Registration from this domain is not allowed".into());
            }
            event["response"]["autoConfirmUser"] = json!(true);
            event["response"]["autoVerifyEmail"] = json!(true);
            Ok(event)
        });
    t.host
        .register(&arn("post-confirmation"), |event| async move { Ok(event) });
    // The pool shows its functions, so describe-edit-update tools keep them.
    let described = t
        .app
        .admin
        .describe_user_pool()
        .user_pool_id(&t.f.pool_id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let config = described.lambda_config.unwrap();
    assert_eq!(config.pre_sign_up, Some(arn("pre-sign-up")));
    assert_eq!(config.post_confirmation, Some(arn("post-confirmation")));
    let listed = t
        .app
        .admin
        .list_user_pools()
        .max_results(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.user_pools()[0]
            .lambda_config
            .as_ref()
            .unwrap()
            .pre_sign_up,
        Some(arn("pre-sign-up"))
    );

    let err = t
        .app
        .public
        .sign_up()
        .client_id(&t.f.client_id)
        .username("mallory")
        .password("Passw0rd!")
        .user_attributes(attr("email", "mallory@blocked.test"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        rejected("PreSignUp failed with error Registration from this domain is not allowed.")
    );
    // Nothing half-done: the refused user doesn't exist.
    assert_eq!(
        admin_get(&t, "mallory").await.unwrap_err().0,
        "UserNotFoundException"
    );

    let signed = t
        .app
        .public
        .sign_up()
        .client_id(&t.f.client_id)
        .username("ann")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ann@example.com"))
        .validation_data(attr("captcha", "ok"))
        .client_metadata("source", "web")
        .send()
        .await
        .unwrap();
    assert!(signed.user_confirmed);
    assert!(signed.code_delivery_details.is_none());
    let user = admin_get(&t, "ann").await.unwrap();
    assert_eq!(user.user_status().unwrap().as_str(), "CONFIRMED");
    assert!(
        user.user_attributes()
            .iter()
            .any(|a| a.name == "email_verified" && a.value.as_deref() == Some("true"))
    );

    let pre = events(&t.host, "pre-sign-up");
    let e = &pre[1];
    assert_eq!(e["version"], "1");
    assert_eq!(e["triggerSource"], "PreSignUp_SignUp");
    assert_eq!(e["region"], "us-east-1");
    assert_eq!(e["userPoolId"], t.f.pool_id.as_str());
    assert_eq!(e["userName"], "ann");
    assert_eq!(e["callerContext"]["clientId"], t.f.client_id.as_str());
    assert_eq!(e["request"]["userAttributes"]["email"], "ann@example.com");
    assert_eq!(e["request"]["validationData"], json!({"captcha": "ok"}));
    assert_eq!(e["request"]["clientMetadata"], json!({"source": "web"}));
    // The auto-confirmed user is welcomed by PostConfirmation, as Cognito does.
    let post = events(&t.host, "post-confirmation");
    assert_eq!(post.len(), 1);
    assert_eq!(post[0]["triggerSource"], "PostConfirmation_ConfirmSignUp");
    assert_eq!(
        post[0]["request"]["userAttributes"]["cognito:user_status"],
        "CONFIRMED"
    );
    assert!(post[0]["request"]["userAttributes"]["sub"].is_string());

    // AdminCreateUser goes through PreSignUp too, with its own source.
    t.app
        .admin
        .admin_create_user()
        .user_pool_id(&t.f.pool_id)
        .username("bob")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    assert_eq!(
        events(&t.host, "pre-sign-up")[2]["triggerSource"],
        "PreSignUp_AdminCreateUser"
    );
}

#[tokio::test]
async fn authentication_hooks_and_token_customisation() {
    let t = triggered(
        LambdaConfigType::builder()
            .pre_authentication(arn("pre-auth"))
            .post_authentication(arn("post-auth"))
            .pre_token_generation_config(
                PreTokenGenerationVersionConfigType::builder()
                    .lambda_version(PreTokenGenerationLambdaVersionType::V20)
                    .lambda_arn(arn("pre-token"))
                    .build()
                    .unwrap(),
            )
            .build(),
    )
    .await;
    t.host.register(&arn("pre-auth"), |event| async move {
        if event["userName"] == "blocked" {
            return Err("Sign-in is suspended".into());
        }
        Ok(event)
    });
    t.host
        .register(&arn("post-auth"), |event| async move { Ok(event) });
    t.host.register(&arn("pre-token"), |mut event| async move {
        event["response"]["claimsAndScopeOverrideDetails"] = json!({
            "idTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": "acme", "tiers": ["gold"], "sub": "forged"},
                "claimsToSuppress": ["email"]
            },
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": "acme"},
                "scopesToAdd": ["api/read"]
            },
            "groupOverrideDetails": {"groupsToOverride": ["vip"]}
        });
        Ok(event)
    });
    confirmed_user(&t.app, &t.f, "ann", "Passw0rd!").await;
    confirmed_user(&t.app, &t.f, "blocked", "Passw0rd!").await;

    assert_eq!(
        sign_in(&t, "blocked", "Passw0rd!").await.unwrap_err(),
        rejected("PreAuthentication failed with error Sign-in is suspended.")
    );

    let tokens = t
        .app
        .public
        .initiate_auth()
        .client_id(&t.f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Passw0rd!")
        .client_metadata("app", "web")
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    let id = jwt_claims(tokens.id_token().unwrap());
    assert_eq!(id["tenant"], "acme");
    assert_eq!(id["tiers"], json!(["gold"]));
    assert!(id.get("email").is_none(), "suppressed");
    assert_ne!(id["sub"], "forged", "protected claims stay");
    assert_eq!(id["cognito:groups"], json!(["vip"]));
    let access = jwt_claims(tokens.access_token().unwrap());
    assert_eq!(access["tenant"], "acme");
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin api/read");
    assert_eq!(access["cognito:groups"], json!(["vip"]));

    let pre = events(&t.host, "pre-auth");
    let e = pre.iter().find(|e| e["userName"] == "ann").unwrap();
    assert_eq!(e["triggerSource"], "PreAuthentication_Authentication");
    assert_eq!(e["request"]["validationData"], json!({"app": "web"}));
    let post = events(&t.host, "post-auth");
    assert_eq!(post.len(), 1);
    assert_eq!(
        post[0]["triggerSource"],
        "PostAuthentication_Authentication"
    );
    assert_eq!(post[0]["request"]["newDeviceUsed"], false);
    // InitiateAuth's ClientMetadata isn't forwarded past PreAuthentication.
    assert!(post[0]["request"].get("clientMetadata").is_none());
    let minted = events(&t.host, "pre-token");
    assert_eq!(minted[0]["version"], "2");
    assert_eq!(minted[0]["triggerSource"], "TokenGeneration_Authentication");
    assert_eq!(
        minted[0]["request"]["scopes"],
        json!(["aws.cognito.signin.user.admin"])
    );
    assert_eq!(
        minted[0]["request"]["groupConfiguration"]["groupsToOverride"],
        json!([])
    );

    let refreshed = t
        .app
        .public
        .initiate_auth()
        .client_id(&t.f.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", tokens.refresh_token().unwrap())
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert_eq!(jwt_claims(refreshed.id_token().unwrap())["tenant"], "acme");
    assert_eq!(
        events(&t.host, "pre-token")[1]["triggerSource"],
        "TokenGeneration_RefreshTokens"
    );
}

#[tokio::test]
async fn users_migrate_at_sign_in_and_at_forgot_password() {
    let t = triggered(
        LambdaConfigType::builder()
            .user_migration(arn("migrate"))
            .build(),
    )
    .await;
    t.host.register(&arn("migrate"), |mut event| async move {
        let name = event["userName"].as_str().unwrap_or_default().to_string();
        if !name.starts_with("legacy") {
            return Ok(event);
        }
        let source = event["triggerSource"].as_str().unwrap_or_default();
        if source == "UserMigration_Authentication"
            && event["request"]["password"] != "OldPassw0rd!"
        {
            return Err("Bad password".into());
        }
        event["response"]["userAttributes"] = json!({
            "email": format!("{name}@old.example"),
            "email_verified": "true",
        });
        if name.ends_with("-sms") {
            event["response"]["userAttributes"]["phone_number"] = json!("+15555550100");
            event["response"]["enableSMSMFA"] = json!(true);
        }
        event["response"]["messageAction"] = json!("SUPPRESS");
        Ok(event)
    });
    assert_eq!(
        sign_in(&t, "legacy1", "Wrong0ne!").await.unwrap_err(),
        rejected("UserMigration failed with error Bad password.")
    );
    let tokens = sign_in(&t, "legacy1", "OldPassw0rd!")
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert_eq!(
        jwt_claims(tokens.id_token().unwrap())["email"],
        "legacy1@old.example"
    );
    let e = &events(&t.host, "migrate")[1];
    assert_eq!(e["triggerSource"], "UserMigration_Authentication");
    assert_eq!(e["userName"], "legacy1");
    assert!(e["request"].get("userAttributes").is_none());
    // Migrated once: the next sign-in is ours alone.
    sign_in(&t, "legacy1", "OldPassw0rd!").await.unwrap();
    assert_eq!(events(&t.host, "migrate").len(), 2);

    // A name the function doesn't vouch for stays unknown (LEGACY client).
    assert_eq!(
        sign_in(&t, "stranger", "Whatever1!").await.unwrap_err(),
        (
            "UserNotFoundException".into(),
            format!("Exception migrating user in app client {}", t.f.client_id)
        )
    );

    // ForgotPassword migrates too; the user must then reset.
    let sent = t
        .app
        .public
        .forgot_password()
        .client_id(&t.f.client_id)
        .username("legacy2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.code_delivery_details.unwrap().destination.as_deref(),
        Some("l***@o***")
    );
    let user = admin_get(&t, "legacy2").await.unwrap();
    assert_eq!(user.user_status().unwrap().as_str(), "RESET_REQUIRED");
    assert_eq!(
        events(&t.host, "migrate").last().unwrap()["triggerSource"],
        "UserMigration_ForgotPassword"
    );
    // enableSMSMFA turns SMS MFA on for the migrated user.
    t.app
        .public
        .forgot_password()
        .client_id(&t.f.client_id)
        .username("legacy3-sms")
        .send()
        .await
        .unwrap();
    let user = admin_get(&t, "legacy3-sms").await.unwrap();
    assert_eq!(user.user_mfa_setting_list(), ["SMS_MFA"]);
}

/// Define/Create/Verify for a one-question challenge ("what is 6 × 7?"), three tries.
fn register_custom_auth(host: &LambdaHost) {
    host.register(&arn("define"), |mut event| async move {
        let session = event["request"]["session"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let last = session.last();
        let r = &mut event["response"];
        if last.is_some_and(|l| l["challengeName"] == "SRP_A") {
            r["challengeName"] = json!("PASSWORD_VERIFIER");
        } else if last.is_some_and(|l| {
            l["challengeName"] == "CUSTOM_CHALLENGE" && l["challengeResult"] == true
        }) {
            r["issueTokens"] = json!(true);
            r["failAuthentication"] = json!(false);
        } else if session
            .iter()
            .filter(|s| s["challengeName"] == "CUSTOM_CHALLENGE")
            .count()
            >= 3
        {
            r["issueTokens"] = json!(false);
            r["failAuthentication"] = json!(true);
        } else {
            r["challengeName"] = json!("CUSTOM_CHALLENGE");
            r["issueTokens"] = json!(false);
            r["failAuthentication"] = json!(false);
        }
        Ok(event)
    });
    host.register(&arn("create"), |mut event| async move {
        event["response"]["publicChallengeParameters"] = json!({"question": "6 x 7"});
        event["response"]["privateChallengeParameters"] = json!({"answer": "42"});
        event["response"]["challengeMetadata"] = json!("ARITHMETIC");
        Ok(event)
    });
    host.register(&arn("verify"), |mut event| async move {
        let correct = event["request"]["challengeAnswer"]
            == event["request"]["privateChallengeParameters"]["answer"];
        event["response"]["answerCorrect"] = json!(correct);
        Ok(event)
    });
}

fn custom_config() -> LambdaConfigType {
    LambdaConfigType::builder()
        .define_auth_challenge(arn("define"))
        .create_auth_challenge(arn("create"))
        .verify_auth_challenge_response(arn("verify"))
        .build()
}

async fn answer(
    t: &Triggered,
    session: &str,
    answer: &str,
) -> Result<
    aws_sdk_cognitoidentityprovider::operation::respond_to_auth_challenge::RespondToAuthChallengeOutput,
    (String, String),
>{
    t.app
        .public
        .respond_to_auth_challenge()
        .client_id(&t.f.client_id)
        .challenge_name(ChallengeNameType::CustomChallenge)
        .session(session)
        .challenge_responses("USERNAME", "ann")
        .challenge_responses("ANSWER", answer)
        .send()
        .await
        .map_err(|e| error_of(&e))
}

#[tokio::test]
async fn custom_auth_asks_until_define_decides() {
    let t = triggered(custom_config()).await;
    register_custom_auth(&t.host);
    confirmed_user(&t.app, &t.f, "ann", "Passw0rd!").await;
    let start = || {
        t.app
            .public
            .initiate_auth()
            .client_id(&t.f.client_id)
            .auth_flow(AuthFlowType::CustomAuth)
            .auth_parameters("USERNAME", "ann")
            .send()
    };
    let c = start().await.unwrap();
    assert_eq!(c.challenge_name, Some(ChallengeNameType::CustomChallenge));
    let p = c.challenge_parameters.unwrap();
    assert_eq!(p["question"], "6 x 7");
    assert_eq!(p["USERNAME"], "ann");
    assert!(!p.contains_key("answer"), "private parameters stay private");
    // A wrong answer: Define asks again, with a new session.
    let again = answer(&t, c.session.as_deref().unwrap(), "41")
        .await
        .unwrap();
    assert_eq!(
        again.challenge_name,
        Some(ChallengeNameType::CustomChallenge)
    );
    // The spent session can't be answered twice.
    let replay = answer(&t, c.session.as_deref().unwrap(), "42")
        .await
        .unwrap_err();
    assert_eq!(replay.0, "NotAuthorizedException");
    let done = answer(&t, again.session.as_deref().unwrap(), "42")
        .await
        .unwrap();
    let tokens = done.authentication_result.unwrap();
    assert_eq!(
        jwt_claims(tokens.access_token().unwrap())["username"],
        "ann"
    );
    let defines = events(&t.host, "define");
    let last = &defines.last().unwrap()["request"]["session"];
    assert_eq!(
        last,
        &json!([
            {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": "ARITHMETIC"},
            {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": true, "challengeMetadata": "ARITHMETIC"}
        ])
    );
    let verify = events(&t.host, "verify");
    assert_eq!(verify[0]["request"]["challengeAnswer"], "41");
    assert_eq!(
        verify[0]["request"]["privateChallengeParameters"],
        json!({"answer": "42"})
    );

    // Three wrong answers and Define fails the sign-in.
    let mut session = start().await.unwrap().session.unwrap();
    for _ in 0..2 {
        session = answer(&t, &session, "0").await.unwrap().session.unwrap();
    }
    let failed = answer(&t, &session, "0").await.unwrap_err();
    assert_eq!(
        failed,
        (
            "NotAuthorizedException".into(),
            "Incorrect username or password.".into()
        )
    );
}

#[tokio::test]
async fn custom_auth_can_begin_with_an_srp_password_proof() {
    let t = triggered(custom_config()).await;
    register_custom_auth(&t.host);
    confirmed_user(&t.app, &t.f, "ann", "Passw0rd!").await;
    let srp = SrpClient::new(
        SrpUser::new(&t.f.pool_id, "ann", "Passw0rd!"),
        &t.f.client_id,
        None,
    );
    let auth = srp.get_auth_parameters();
    let c = t
        .app
        .public
        .initiate_auth()
        .client_id(&t.f.client_id)
        .auth_flow(AuthFlowType::CustomAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("SRP_A", &auth.a)
        .auth_parameters("CHALLENGE_NAME", "SRP_A")
        .send()
        .await
        .unwrap();
    assert_eq!(c.challenge_name, Some(ChallengeNameType::PasswordVerifier));
    let p = c.challenge_parameters.unwrap();
    let proof = srp
        .verify(
            &p["SECRET_BLOCK"],
            &p["USER_ID_FOR_SRP"],
            &p["SALT"],
            &p["SRP_B"],
        )
        .unwrap();
    let r = t
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&t.f.client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", "ann")
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature)
        .send()
        .await
        .unwrap();
    assert_eq!(r.challenge_name, Some(ChallengeNameType::CustomChallenge));
    let done = answer(&t, r.session.as_deref().unwrap(), "42")
        .await
        .unwrap();
    assert!(done.authentication_result.is_some());
    let sessions: Vec<Value> = events(&t.host, "define")
        .into_iter()
        .map(|e| e["request"]["session"].clone())
        .collect();
    assert_eq!(
        sessions[1],
        json!([
            {"challengeName": "SRP_A", "challengeResult": true},
            {"challengeName": "PASSWORD_VERIFIER", "challengeResult": true}
        ])
    );
}

#[tokio::test]
async fn custom_auth_hides_unknown_users_when_asked() {
    let t = triggered(custom_config()).await;
    register_custom_auth(&t.host);
    t.app
        .admin
        .update_user_pool_client()
        .user_pool_id(&t.f.pool_id)
        .client_id(&t.f.client_id)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .unwrap();
    let c = t
        .app
        .public
        .initiate_auth()
        .client_id(&t.f.client_id)
        .auth_flow(AuthFlowType::CustomAuth)
        .auth_parameters("USERNAME", "nobody")
        .send()
        .await
        .unwrap();
    assert_eq!(c.challenge_name, Some(ChallengeNameType::CustomChallenge));
    assert_eq!(
        events(&t.host, "define")[0]["request"]["userNotFound"],
        true
    );
    let err = t
        .app
        .public
        .respond_to_auth_challenge()
        .client_id(&t.f.client_id)
        .challenge_name(ChallengeNameType::CustomChallenge)
        .session(c.session.unwrap())
        .challenge_responses("USERNAME", "nobody")
        .challenge_responses("ANSWER", "42")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Incorrect username or password.".into()
        )
    );
    // The answer went through the functions like a real one; only the end differs.
    let verify = events(&t.host, "verify");
    assert_eq!(verify.len(), 1);
    assert_eq!(verify[0]["request"]["userNotFound"], true);
    assert_eq!(verify[0]["userName"], "nobody");
    assert_eq!(events(&t.host, "define").len(), 2);
}

#[tokio::test]
async fn custom_messages_word_what_is_sent() {
    let t = triggered(
        LambdaConfigType::builder()
            .custom_message(arn("words"))
            .build(),
    )
    .await;
    t.host.register(&arn("words"), |mut event| async move {
        let source = event["triggerSource"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let code = event["request"]["codeParameter"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        event["response"]["emailSubject"] = json!(format!("[{source}]"));
        event["response"]["emailMessage"] = json!(format!(
            "Hello {}, your code is {code}",
            event["userName"].as_str().unwrap_or_default()
        ));
        Ok(event)
    });
    t.app
        .admin
        .update_user_pool()
        .user_pool_id(&t.f.pool_id)
        .auto_verified_attributes(
            aws_sdk_cognitoidentityprovider::types::VerifiedAttributeType::Email,
        )
        .lambda_config(
            LambdaConfigType::builder()
                .custom_message(arn("words"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    t.app
        .public
        .sign_up()
        .client_id(&t.f.client_id)
        .username("ann")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ann@example.com"))
        .send()
        .await
        .unwrap();
    // --dev holds the message in the outbox, where we read it.
    let held = {
        let mut tx = t.app.engine.store().read().await.unwrap();
        tx.list_outbox(None, 10).await.unwrap()
    };
    let message = &held[0].message;
    assert_eq!(message.subject.as_deref(), Some("[CustomMessage_SignUp]"));
    assert!(
        message.body.starts_with("Hello ann, your code is "),
        "{}",
        message.body
    );
    let code = &message.body["Hello ann, your code is ".len()..];
    assert_eq!(code.len(), 6);
    let e = &events(&t.host, "words")[0];
    assert_eq!(e["request"]["codeParameter"], "{####}");
    t.app
        .public
        .confirm_sign_up()
        .client_id(&t.f.client_id)
        .username("ann")
        .confirmation_code(code)
        .send()
        .await
        .unwrap();
    // A changed email is worded for UpdateUserAttribute, with the call's ClientMetadata.
    let access = sign_in(&t, "ann", "Passw0rd!")
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .access_token
        .unwrap();
    t.app
        .public
        .update_user_attributes()
        .access_token(access)
        .user_attributes(attr("email", "ann@new.example"))
        .client_metadata("reason", "moved")
        .send()
        .await
        .unwrap();
    let e = events(&t.host, "words").pop().unwrap();
    assert_eq!(e["triggerSource"], "CustomMessage_UpdateUserAttribute");
    assert_eq!(e["request"]["clientMetadata"], json!({"reason": "moved"}));
}

#[tokio::test]
async fn function_failures_are_cognitos_errors() {
    let t = triggered(
        LambdaConfigType::builder()
            .pre_sign_up(arn("pre-sign-up"))
            .build(),
    )
    .await;
    let sign_up = |name: &'static str| {
        let app = &t.app;
        let client_id = t.f.client_id.clone();
        async move {
            app.public
                .sign_up()
                .client_id(client_id)
                .username(name)
                .password("Passw0rd!")
                .send()
                .await
                .map_err(|e| error_of(&e))
        }
    };
    // Not JSON.
    t.host
        .register_raw(&arn("pre-sign-up"), 200, None, "<html>oops</html>");
    assert_eq!(
        sign_up("a1").await.unwrap_err(),
        (
            "InvalidLambdaResponseException".into(),
            "Unrecognizable lambda output".into()
        )
    );
    // A response of the wrong shape.
    t.host
        .register(&arn("pre-sign-up"), |mut event| async move {
            event["response"]["autoConfirmUser"] = json!("yes please");
            Ok(event)
        });
    assert_eq!(
        sign_up("a2").await.unwrap_err().0,
        "InvalidLambdaResponseException"
    );
    // Too slow, every attempt.
    t.host
        .register(&arn("pre-sign-up"), |event| async move { Ok(event) });
    t.host
        .respond_after(&arn("pre-sign-up"), Duration::from_secs(2));
    assert_eq!(
        sign_up("a3").await.unwrap_err(),
        (
            "UnexpectedLambdaException".into(),
            "PreSignUp invocation failed due to error Socket timeout while invoking Lambda function."
                .into()
        )
    );
    // None of them left a user behind.
    for name in ["a1", "a2", "a3"] {
        assert_eq!(
            admin_get(&t, name).await.unwrap_err().0,
            "UserNotFoundException"
        );
    }
    // An unreachable host.
    t.host.stop().await;
    let (code, message) = sign_up("a4").await.unwrap_err();
    assert_eq!(code, "UnexpectedLambdaException");
    assert!(!message.contains("127.0.0.1"), "no internals: {message}");
}

#[tokio::test]
async fn a_custom_email_sender_delivers_codes() {
    use aws_sdk_cognitoidentityprovider::types::{
        CustomEmailLambdaVersionConfigType, CustomEmailSenderLambdaVersionType,
        VerifiedAttributeType,
    };
    let t = triggered(LambdaConfigType::builder().build()).await;
    t.host
        .register(&arn("mailer"), |event| async move { Ok(event) });
    t.app
        .admin
        .update_user_pool()
        .user_pool_id(&t.f.pool_id)
        .auto_verified_attributes(VerifiedAttributeType::Email)
        .lambda_config(
            LambdaConfigType::builder()
                .custom_email_sender(
                    CustomEmailLambdaVersionConfigType::builder()
                        .lambda_version(CustomEmailSenderLambdaVersionType::V10)
                        .lambda_arn(arn("mailer"))
                        .build()
                        .unwrap(),
                )
                .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/tessera-test")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let signed = t
        .app
        .public
        .sign_up()
        .client_id(&t.f.client_id)
        .username("ann")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ann@example.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        signed.code_delivery_details.unwrap().destination.as_deref(),
        Some("a***@e***")
    );
    // The outbox hands the message to the function, asynchronously.
    let calls = t.host.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].invocation_type,
        tessera_lambda::InvocationType::Event
    );
    let e = &calls[0].event;
    assert_eq!(e["triggerSource"], "CustomEmailSender_SignUp");
    assert_eq!(e["request"]["type"], "customEmailSenderRequestV1");
    assert_eq!(e["request"]["userAttributes"]["email"], "ann@example.com");
    let code = e["request"]["code"].as_str().unwrap();
    t.app
        .public
        .confirm_sign_up()
        .client_id(&t.f.client_id)
        .username("ann")
        .confirmation_code(code)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_custom_sms_sender_delivers_invitations() {
    use aws_sdk_cognitoidentityprovider::types::{
        CustomSmsLambdaVersionConfigType, CustomSmsSenderLambdaVersionType, DeliveryMediumType,
    };
    let t = triggered(
        LambdaConfigType::builder()
            .custom_sms_sender(
                CustomSmsLambdaVersionConfigType::builder()
                    .lambda_version(CustomSmsSenderLambdaVersionType::V10)
                    .lambda_arn(arn("texter"))
                    .build()
                    .unwrap(),
            )
            .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/tessera-test")
            .build(),
    )
    .await;
    t.host
        .register(&arn("texter"), |event| async move { Ok(event) });
    t.app
        .admin
        .admin_create_user()
        .user_pool_id(&t.f.pool_id)
        .username("bob")
        .temporary_password("Temp0rary!")
        .user_attributes(attr("phone_number", "+15555550123"))
        .desired_delivery_mediums(DeliveryMediumType::Sms)
        .send()
        .await
        .unwrap();
    let calls = t.host.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(calls.len(), 1);
    let e = &calls[0].event;
    assert_eq!(e["triggerSource"], "CustomSMSSender_AdminCreateUser");
    assert_eq!(e["request"]["type"], "customSMSSenderRequestV1");
    assert_eq!(e["request"]["code"], "Temp0rary!");
    assert_eq!(
        e["request"]["userAttributes"]["phone_number"],
        "+15555550123"
    );
}
