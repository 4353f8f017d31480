use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, PreventUserExistenceErrorTypes};
use std::time::Duration;

async fn try_sign_in(
    app: &TestApp,
    client_id: &str,
    user: &str,
    password: &str,
) -> Result<(), (String, String)> {
    app.public
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", user)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| error_of(&e))
}

fn incorrect() -> (String, String) {
    (
        "NotAuthorizedException".into(),
        "Incorrect username or password.".into(),
    )
}

#[tokio::test]
async fn flows_must_be_enabled_per_client() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let srp_only = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("default-flows")
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    assert_eq!(
        try_sign_in(&app, &srp_only, "ann", "Passw0rd!").await,
        Err((
            "InvalidParameterException".into(),
            "USER_PASSWORD_AUTH flow not enabled for this client".into()
        ))
    );
    // ADMIN_USER_PASSWORD_AUTH is an admin flow: not through InitiateAuth.
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Missing required parameter PASSWORD".into()
        )
    );
}

#[tokio::test]
async fn unknown_users_follow_prevent_user_existence_errors() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    // LEGACY (the API default) names the problem.
    assert_eq!(
        try_sign_in(&app, &f.client_id, "nobody", "Passw0rd!").await,
        Err((
            "UserNotFoundException".into(),
            "User does not exist.".into()
        ))
    );
    app.admin
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .unwrap();
    // ENABLED makes an unknown user look exactly like a wrong password.
    assert_eq!(
        try_sign_in(&app, &f.client_id, "nobody", "Passw0rd!").await,
        Err(incorrect())
    );
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "wrong-Passw0rd").await,
        Err(incorrect())
    );
}

#[tokio::test]
async fn lockout_after_five_failures() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    for _ in 0..5 {
        assert_eq!(
            try_sign_in(&app, &f.client_id, "ann", "bad-Passw0rd").await,
            Err(incorrect())
        );
    }
    let locked = Err((
        "NotAuthorizedException".into(),
        "Password attempts exceeded".into(),
    ));
    // Locked: even the right password is refused, and refusals don't extend the lock.
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        locked
    );
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        locked
    );
    app.clock.advance(Duration::from_millis(1100));
    // One more failure (the 6th) locks for 2 s.
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "bad-Passw0rd").await,
        Err(incorrect())
    );
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        locked
    );
    app.clock.advance(Duration::from_millis(2100));
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        Ok(())
    );
    // A success resets the count: five more free failures.
    for _ in 0..5 {
        assert_eq!(
            try_sign_in(&app, &f.client_id, "ann", "bad-Passw0rd").await,
            Err(incorrect())
        );
    }
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        locked
    );
    // Fifteen quiet minutes forget everything.
    app.clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        Ok(())
    );
}

#[tokio::test]
async fn secret_hash_is_required_and_checked() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let created = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("confidential")
        .generate_secret(true)
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowRefreshTokenAuth,
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let (id, secret) = (created.client_id.unwrap(), created.client_secret.unwrap());
    let hash = |user: &str| secret_hash(&secret, user, &id);
    let err = app
        .public
        .sign_up()
        .client_id(&id)
        .username("ann")
        .password("Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            format!("Client {id} is configured for secret but secret was not received")
        )
    );
    app.public
        .sign_up()
        .client_id(&id)
        .username("ann")
        .password("Passw0rd!")
        .secret_hash(hash("ann"))
        .send()
        .await
        .unwrap();
    app.admin
        .admin_confirm_sign_up()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let sign_in = |h: String| {
        app.public
            .initiate_auth()
            .client_id(&id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "ann")
            .auth_parameters("PASSWORD", "Passw0rd!")
            .auth_parameters("SECRET_HASH", h)
            .send()
    };
    let err = sign_in(hash("bob")).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            format!("Unable to verify secret hash for client {id}")
        )
    );
    let ok = sign_in(hash("ann")).await.unwrap();
    let refresh = ok.authentication_result.unwrap().refresh_token.unwrap();
    // Refreshing with a secret client needs the hash over the user's username.
    let refreshed = app
        .public
        .initiate_auth()
        .client_id(&id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", &refresh)
        .auth_parameters("SECRET_HASH", hash("ann"))
        .send()
        .await
        .unwrap();
    assert!(
        refreshed
            .authentication_result
            .unwrap()
            .access_token
            .is_some()
    );
    let err = app
        .public
        .get_tokens_from_refresh_token()
        .client_id(&id)
        .refresh_token(&refresh)
        .client_secret("wrongwrongwrongwrongwrongwrong")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "NotAuthorizedException");
    app.public
        .get_tokens_from_refresh_token()
        .client_id(&id)
        .refresh_token(&refresh)
        .client_secret(&secret)
        .send()
        .await
        .unwrap();
}

/// SECRET_HASH as clients compute it (an independent implementation from the server's).
pub fn secret_hash(secret: &str, user: &str, client_id: &str) -> String {
    use base64::Engine;
    use hmac_sha256::HMAC;
    let mac = HMAC::mac(format!("{user}{client_id}").as_bytes(), secret.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac)
}

/// With PreventUserExistenceErrors ENABLED an unknown name locks out exactly like a real user,
/// so lockout can't be used to tell them apart either.
#[tokio::test]
async fn unknown_users_lock_out_like_real_ones() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    app.admin
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .unwrap();
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let locked = Err((
        "NotAuthorizedException".into(),
        "Password attempts exceeded".into(),
    ));
    for name in ["ann", "ghost"] {
        for _ in 0..5 {
            assert_eq!(
                try_sign_in(&app, &f.client_id, name, "bad-Passw0rd").await,
                Err(incorrect())
            );
        }
        assert_eq!(
            try_sign_in(&app, &f.client_id, name, "bad-Passw0rd").await,
            locked,
            "{name}"
        );
    }
    app.clock.advance(Duration::from_millis(1100));
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ghost", "bad-Passw0rd").await,
        Err(incorrect())
    );
    assert_eq!(
        try_sign_in(&app, &f.client_id, "ann", "Passw0rd!").await,
        Ok(())
    );
}
