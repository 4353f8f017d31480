//! STS role sessions against a controllable clock: an expired web identity token is
//! ExpiredTokenException, and issued credentials stop working when their session ends.

use crate::support::*;
use std::time::Duration;
use tessera_domain::ErrorKind;
use tessera_engine::EngineError;
use tessera_engine::iam::NewRole;
use tessera_engine::sts::{AssumeRoleInput, RoleSessionRefusal};

fn kind(e: EngineError) -> ErrorKind {
    e.kind()
}

#[tokio::test]
async fn web_identity_sessions_expire_with_the_clock() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let id_token = password_sign_in(&app, &f, "ann", "Passw0rd!")
        .await
        .id_token
        .unwrap();
    let pool = tessera_domain::UserPoolId::parse(&f.pool_id).unwrap();
    let issuer = app.engine.issuer(&pool);
    let provider = app
        .engine
        .create_oidc_provider(
            &issuer,
            vec![f.client_id.clone()],
            vec!["0".repeat(40)],
            vec![],
        )
        .await
        .unwrap();
    let host_path = tessera_domain::iam::issuer_host_path(&issuer).to_string();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider.arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{host_path}:sub"): jwt_claims(&id_token)["sub"]}}}]});
    let role = app
        .engine
        .create_role(NewRole {
            name: "web".into(),
            trust_policy: trust.to_string(),
            ..Default::default()
        })
        .await
        .unwrap();
    let input = || AssumeRoleInput {
        role_arn: role.arn.clone(),
        session_name: "s1".into(),
        duration_seconds: Some(900),
        ..Default::default()
    };
    let assumed = app
        .engine
        .assume_role_with_web_identity(input(), &id_token)
        .await
        .unwrap();
    let found = app
        .engine
        .role_session_caller(&assumed.access_key_id, Some(&assumed.session_token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.unwrap().1.role_arn, role.arn);
    // Another token for the same key is refused.
    let wrong = app
        .engine
        .role_session_caller(&assumed.access_key_id, Some("forged"))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(wrong, Err(RoleSessionRefusal::BadToken)));

    // The session ends after its 900 seconds; the ID token (an hour) is still good.
    app.clock.advance(Duration::from_secs(901));
    let ended = app
        .engine
        .role_session_caller(&assumed.access_key_id, Some(&assumed.session_token))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ended, Err(RoleSessionRefusal::Expired)));
    app.engine
        .assume_role_with_web_identity(input(), &id_token)
        .await
        .unwrap();

    // Past the ID token's expiry: ExpiredTokenException, not InvalidIdentityToken.
    app.clock.advance(Duration::from_secs(3600));
    let e = app
        .engine
        .assume_role_with_web_identity(input(), &id_token)
        .await
        .err()
        .unwrap();
    assert_eq!(kind(e), ErrorKind::IamExpiredToken);
    // The sweep removes ended role sessions.
    assert!(app.engine.sweep().await.unwrap() >= 2);
    assert!(
        app.engine
            .role_session_caller(&assumed.access_key_id, Some(&assumed.session_token))
            .await
            .unwrap()
            .is_none()
    );
}
