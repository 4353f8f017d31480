//! USER_SRP_AUTH with an independent client implementation (aws-cognito-srp), through the SDK.

use crate::support::*;
use aws_cognito_srp::{SrpClient, User};
use aws_sdk_cognitoidentityprovider::types::{
    AliasAttributeType, AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType,
    PreventUserExistenceErrorTypes,
};
use std::collections::HashMap;

/// A client that allows SRP (and password sign-in, for comparisons).
async fn srp_client(
    app: &TestApp,
    pool_id: &str,
    secret: bool,
    prevent: bool,
) -> (String, Option<String>) {
    let c = app
        .admin
        .create_user_pool_client()
        .user_pool_id(pool_id)
        .client_name("srp")
        .generate_secret(secret)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(if prevent {
            PreventUserExistenceErrorTypes::Enabled
        } else {
            PreventUserExistenceErrorTypes::Legacy
        })
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    (c.client_id.unwrap(), c.client_secret)
}

/// Runs both SRP round trips; Ok(access token) or Err((code, message)).
async fn srp_sign_in(
    app: &TestApp,
    pool_id: &str,
    client_id: &str,
    secret: Option<&str>,
    username: &str,
    password: &str,
) -> Result<String, (String, String)> {
    let late = std::time::Duration::ZERO;
    srp_sign_in_late(app, (pool_id, client_id, secret), username, password, late).await
}

/// The same, with the server's clock moved on by `late` before the claim arrives.
async fn srp_sign_in_late(
    app: &TestApp,
    (pool_id, client_id, secret): (&str, &str, Option<&str>),
    username: &str,
    password: &str,
    late: std::time::Duration,
) -> Result<String, (String, String)> {
    let srp = SrpClient::new(User::new(pool_id, username, password), client_id, secret);
    let auth = srp.get_auth_parameters();
    let mut init = app
        .public
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", &auth.username)
        .auth_parameters("SRP_A", &auth.a);
    if let Some(hash) = srp.get_secret_hash() {
        init = init.auth_parameters("SECRET_HASH", hash);
    }
    let challenge = init.send().await.map_err(|e| error_of(&e))?;
    assert_eq!(
        challenge.challenge_name,
        Some(ChallengeNameType::PasswordVerifier)
    );
    assert!(
        challenge.session.is_none(),
        "Cognito sends no Session with PASSWORD_VERIFIER"
    );
    let p: HashMap<String, String> = challenge.challenge_parameters.unwrap();
    let user_id = &p["USER_ID_FOR_SRP"];
    assert_eq!(&p["USERNAME"], user_id);
    let proof = srp
        .verify(&p["SECRET_BLOCK"], user_id, &p["SALT"], &p["SRP_B"])
        .unwrap();
    app.clock.advance(late);
    let mut respond = app
        .public
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", user_id)
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature);
    if let Some(secret) = secret {
        respond = respond.challenge_responses(
            "SECRET_HASH",
            crate::auth::secret_hash(secret, user_id, client_id),
        );
    }
    let done = respond.send().await.map_err(|e| error_of(&e))?;
    Ok(done.authentication_result.unwrap().access_token.unwrap())
}

fn incorrect() -> (String, String) {
    (
        "NotAuthorizedException".into(),
        "Incorrect username or password.".into(),
    )
}

#[tokio::test]
async fn srp_sign_in_with_a_real_client() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, _) = srp_client(&app, &f.pool_id, false, false).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let access = srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap();
    let me = app
        .public
        .get_user()
        .access_token(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.username, "ann");
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "wrong-Passw0rd").await,
        Err(incorrect())
    );
    // LEGACY names unknown users.
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &client_id, None, "nobody", "Passw0rd!").await,
        Err((
            "UserNotFoundException".into(),
            "User does not exist.".into()
        ))
    );
    // The default client (SRP, refresh, custom) allows SRP; the fixture's client does not.
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &f.client_id, None, "ann", "Passw0rd!").await,
        Err((
            "InvalidParameterException".into(),
            "USER_SRP_AUTH is not enabled for the client.".into()
        ))
    );
}

#[tokio::test]
async fn srp_with_secret_and_through_admin_calls() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, secret) = srp_client(&app, &f.pool_id, true, false).await;
    let secret = secret.unwrap();
    app.admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("bob")
        .temporary_password("Temp0rary!")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    app.admin
        .admin_set_user_password()
        .user_pool_id(&f.pool_id)
        .username("bob")
        .password("Passw0rd!")
        .permanent(true)
        .send()
        .await
        .unwrap();
    srp_sign_in(
        &app,
        &f.pool_id,
        &client_id,
        Some(&secret),
        "bob",
        "Passw0rd!",
    )
    .await
    .unwrap();
    // AdminInitiateAuth with USER_SRP_AUTH, answered by AdminRespondToAuthChallenge.
    let srp = SrpClient::new(
        User::new(&f.pool_id, "bob", "Passw0rd!"),
        &client_id,
        Some(&secret),
    );
    let auth = srp.get_auth_parameters();
    let challenge = app
        .admin
        .admin_initiate_auth()
        .user_pool_id(&f.pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", &auth.username)
        .auth_parameters("SRP_A", &auth.a)
        .auth_parameters("SECRET_HASH", srp.get_secret_hash().unwrap())
        .send()
        .await
        .unwrap();
    let p = challenge.challenge_parameters.unwrap();
    let proof = srp
        .verify(&p["SECRET_BLOCK"], "bob", &p["SALT"], &p["SRP_B"])
        .unwrap();
    let done = app
        .admin
        .admin_respond_to_auth_challenge()
        .user_pool_id(&f.pool_id)
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", "bob")
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature)
        .challenge_responses("SECRET_HASH", srp.get_secret_hash().unwrap())
        .send()
        .await
        .unwrap();
    assert!(done.authentication_result.is_some());

    // The same secret block a second time finds nothing: single use.
    let err = app
        .admin
        .admin_respond_to_auth_challenge()
        .user_pool_id(&f.pool_id)
        .client_id(&client_id)
        .challenge_name(ChallengeNameType::PasswordVerifier)
        .challenge_responses("USERNAME", "bob")
        .challenge_responses(
            "PASSWORD_CLAIM_SECRET_BLOCK",
            &proof.password_claim_secret_block,
        )
        .challenge_responses("TIMESTAMP", &proof.timestamp)
        .challenge_responses("PASSWORD_CLAIM_SIGNATURE", &proof.password_claim_signature)
        .challenge_responses("SECRET_HASH", srp.get_secret_hash().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), incorrect());
}

#[tokio::test]
async fn aliases_resolve_to_the_canonical_srp_user_id() {
    let app = spawn_app().await;
    let pool_id = app
        .admin
        .create_user_pool()
        .pool_name("aliases")
        .alias_attributes(AliasAttributeType::Email)
        .alias_attributes(AliasAttributeType::PreferredUsername)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let (client_id, _) = srp_client(&app, &pool_id, false, false).await;
    app.public
        .sign_up()
        .client_id(&client_id)
        .username("carol")
        .password("Passw0rd!")
        .user_attributes(attr("email", "carol@example.com"))
        .user_attributes(attr("preferred_username", "caz"))
        .send()
        .await
        .unwrap();
    app.admin
        .admin_confirm_sign_up()
        .user_pool_id(&pool_id)
        .username("carol")
        .send()
        .await
        .unwrap();
    // preferred_username is an alias at once; email only once verified.
    let srp = SrpClient::new(User::new(&pool_id, "caz", "Passw0rd!"), &client_id, None);
    let challenge = app
        .public
        .initiate_auth()
        .client_id(&client_id)
        .auth_flow(AuthFlowType::UserSrpAuth)
        .auth_parameters("USERNAME", "caz")
        .auth_parameters("SRP_A", srp.get_auth_parameters().a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.challenge_parameters.unwrap()["USER_ID_FOR_SRP"],
        "carol"
    );
    srp_sign_in(&app, &pool_id, &client_id, None, "caz", "Passw0rd!")
        .await
        .unwrap();
    assert_eq!(
        srp_sign_in(
            &app,
            &pool_id,
            &client_id,
            None,
            "carol@example.com",
            "Passw0rd!"
        )
        .await,
        Err((
            "UserNotFoundException".into(),
            "User does not exist.".into()
        ))
    );
    app.admin
        .admin_update_user_attributes()
        .user_pool_id(&pool_id)
        .username("carol")
        .user_attributes(attr("email_verified", "true"))
        .send()
        .await
        .unwrap();
    srp_sign_in(
        &app,
        &pool_id,
        &client_id,
        None,
        "carol@example.com",
        "Passw0rd!",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn unknown_users_get_a_stable_simulated_challenge() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, _) = srp_client(&app, &f.pool_id, false, true).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &client_id, None, "ghost", "Passw0rd!").await,
        Err(incorrect())
    );
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "wrong-Passw0rd").await,
        Err(incorrect())
    );
    let params = |name: &'static str| {
        let app = &app;
        let client_id = client_id.clone();
        async move {
            let srp = SrpClient::new(User::new("us-east-1_x", name, "p"), &client_id, None);
            app.public
                .initiate_auth()
                .client_id(&client_id)
                .auth_flow(AuthFlowType::UserSrpAuth)
                .auth_parameters("USERNAME", name)
                .auth_parameters("SRP_A", srp.get_auth_parameters().a)
                .send()
                .await
                .unwrap()
                .challenge_parameters
                .unwrap()
        }
    };
    let (first, second) = (params("ghost").await, params("ghost").await);
    // Same salt and user id every time (as for a real user), a fresh B each time.
    assert_eq!(first["SALT"], second["SALT"]);
    assert_eq!(first["USER_ID_FOR_SRP"], "ghost");
    assert_ne!(first["SRP_B"], second["SRP_B"]);
    let real = params("ann").await;
    assert_eq!(real.len(), first.len());
    assert_ne!(real["SALT"], first["SALT"]);
}

#[tokio::test]
async fn srp_can_be_turned_off_per_pool_and_verifiers_come_back() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, _) = srp_client(&app, &f.pool_id, false, false).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap();
    // Off: the verifiers are dropped and the flow refused.
    app.admin
        .update_user_pool()
        .user_pool_id(&f.pool_id)
        .user_pool_tags("tessera:srp", "disabled")
        .send()
        .await
        .unwrap();
    let err = srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap_err();
    assert_eq!(err.0, "InvalidParameterException");
    // On again: ann has no verifier until the server sees her password once.
    app.admin
        .update_user_pool()
        .user_pool_id(&f.pool_id)
        .send()
        .await
        .unwrap();
    let err = srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap_err();
    assert_eq!(err.0, "NotAuthorizedException");
    assert!(err.1.contains("no SRP verifier"), "{}", err.1);
    let g = Fixture {
        pool_id: f.pool_id.clone(),
        client_id: client_id.clone(),
    };
    password_sign_in(&app, &g, "ann", "Passw0rd!").await;
    srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap();
}

#[tokio::test]
async fn srp_counts_towards_lockout() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, _) = srp_client(&app, &f.pool_id, false, false).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    for _ in 0..5 {
        assert_eq!(
            srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "wrong-Passw0rd").await,
            Err(incorrect())
        );
    }
    assert_eq!(
        srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!").await,
        Err((
            "NotAuthorizedException".into(),
            "Password attempts exceeded".into()
        ))
    );
    app.clock.advance(std::time::Duration::from_secs(2));
    srp_sign_in(&app, &f.pool_id, &client_id, None, "ann", "Passw0rd!")
        .await
        .unwrap();
}

/// Fifty wrong guesses at once get no more checks than the lockout rule allows.
#[tokio::test]
async fn parallel_guesses_are_bounded_by_lockout() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let before = app.engine.password_checks();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = app.public.clone();
        let client_id = f.client_id.clone();
        tasks.push(tokio::spawn(async move {
            client
                .initiate_auth()
                .client_id(client_id)
                .auth_flow(AuthFlowType::UserPasswordAuth)
                .auth_parameters("USERNAME", "ann")
                .auth_parameters("PASSWORD", "wrong-Passw0rd")
                .send()
                .await
                .map_err(|e| error_of(&e).1)
        }));
    }
    let mut incorrect_count = 0;
    let mut locked = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(m) if m == "Incorrect username or password." => incorrect_count += 1,
            Err(m) if m == "Password attempts exceeded" => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let checked = app.engine.password_checks() - before;
    eprintln!("50 parallel wrong passwords: {checked} checked, {locked} refused by lockout");
    assert_eq!(checked, 5, "exactly the five free guesses were checked");
    assert_eq!(incorrect_count, 5);
    assert_eq!(locked, 45);
}

#[tokio::test]
async fn a_claim_outside_the_clock_skew_is_refused() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let (client_id, _) = srp_client(&app, &f.pool_id, false, false).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let target = (f.pool_id.as_str(), client_id.as_str(), None);
    // A minute late is within the window (the server's clock runs ahead of the client's).
    let late = std::time::Duration::from_secs(60);
    srp_sign_in_late(&app, target, "ann", "Passw0rd!", late)
        .await
        .unwrap();
    // Five more minutes and the claim is six minutes old.
    let late = std::time::Duration::from_secs(5 * 60);
    assert_eq!(
        srp_sign_in_late(&app, target, "ann", "Passw0rd!", late)
            .await
            .unwrap_err(),
        (
            "NotAuthorizedException".into(),
            "The TIMESTAMP of the password claim is outside the allowed clock skew.".into()
        )
    );
}
