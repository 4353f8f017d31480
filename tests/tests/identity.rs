//! Identity pools against the engine with a clock the test moves: what real clients can't wait
//! for — expired login tokens and expired STS credentials.

use crate::support::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tessera_domain::identity::{CognitoProvider, IdentityPoolConfig};
use tessera_engine::identity::StsRefusal;

const PASSWORD: &str = "Correct-Horse-9";

async fn setup(app: &TestApp) -> (String, String, String) {
    let f = pool_with_client(app).await;
    confirmed_user(app, &f, "ada", PASSWORD).await;
    let id_token = password_sign_in(app, &f, "ada", PASSWORD)
        .await
        .id_token
        .unwrap();
    let key = app
        .engine
        .user_pool_login_key(&tessera_domain::UserPoolId::parse(&f.pool_id).unwrap());
    let pool = app
        .engine
        .create_identity_pool(
            "expiry".into(),
            IdentityPoolConfig {
                allow_unauthenticated_identities: true,
                cognito_identity_providers: vec![CognitoProvider {
                    provider_name: Some(key.clone()),
                    client_id: Some(f.client_id.clone()),
                    server_side_token_check: None,
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.engine
        .set_identity_pool_roles(
            pool.id.as_str(),
            BTreeMap::from([
                (
                    "authenticated".to_string(),
                    "arn:aws:iam::000000000000:role/Auth".to_string(),
                ),
                (
                    "unauthenticated".to_string(),
                    "arn:aws:iam::000000000000:role/Guest".to_string(),
                ),
            ]),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    // GetCredentialsForIdentity assumes these roles as STS would: they must exist in IAM and
    // trust the pool.
    for (name, amr) in [("Auth", "authenticated"), ("Guest", "unauthenticated")] {
        let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool.id.as_str()},
                          "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr}}}]});
        app.engine
            .create_role(tessera_engine::iam::NewRole {
                name: name.into(),
                trust_policy: trust.to_string(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    (pool.id.to_string(), key, id_token)
}

#[tokio::test]
async fn an_expired_id_token_is_refused_with_cognitos_message() {
    let app = spawn_app().await;
    let (pool, key, token) = setup(&app).await;
    let logins = BTreeMap::from([(key, token.clone())]);
    app.engine.get_id(&pool, &logins).await.unwrap();
    app.clock.advance(Duration::from_secs(2 * 3600));
    let exp = jwt_claims(&token)["exp"].as_i64().unwrap();
    let err = app.engine.get_id(&pool, &logins).await.unwrap_err();
    let tessera_engine::EngineError::Client(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!(e.kind.name(), "NotAuthorizedException");
    // The ID token lived an hour; the clock moved two past its issue.
    let now = exp + 3600;
    assert!(
        e.message
            .starts_with("Invalid login token. Token expired: ")
            && e.message.ends_with(&format!(" >= {exp}")),
        "{}",
        e.message
    );
    let said: i64 = e
        .message
        .trim_start_matches("Invalid login token. Token expired: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(said >= now - 5 && said <= now + 5, "{said} vs {now}");
}

#[tokio::test]
async fn sts_credentials_expire_after_an_hour() {
    let app = spawn_app().await;
    let (pool, _, _) = setup(&app).await;
    let identity = app.engine.get_id(&pool, &BTreeMap::new()).await.unwrap();
    let issued = app
        .engine
        .get_credentials_for_identity(identity.as_str(), &BTreeMap::new(), None)
        .await
        .unwrap();
    let check = |token: &str| {
        let engine = app.engine.clone();
        let (key, token) = (issued.access_key_id.clone(), token.to_string());
        async move { engine.sts_caller(&key, Some(&token)).await.unwrap() }
    };
    let caller = check(&issued.session_token).await.unwrap();
    assert_eq!(caller.secret.as_str(), issued.secret_key.as_str());
    assert_eq!(
        caller.grant.principal_arn,
        "arn:aws:sts::000000000000:assumed-role/Guest/CognitoIdentityCredentials"
    );
    assert!(
        caller.grant.session_policy.is_some(),
        "guests are scoped down"
    );
    assert!(matches!(check("forged").await, Err(StsRefusal::BadToken)));
    app.clock.advance(Duration::from_secs(3599));
    assert!(check(&issued.session_token).await.is_ok());
    app.clock.advance(Duration::from_secs(2));
    assert!(matches!(
        check(&issued.session_token).await,
        Err(StsRefusal::Expired)
    ));
}

/// The identity pools' OpenID signing key rotates: a new key is published an hour before it
/// signs, tokens signed by the old one keep verifying until they expire, the old key leaves the
/// JWKS a day after it stopped signing, and a revoked key's tokens fail at once.
#[tokio::test]
async fn identity_pool_signing_keys_rotate_and_revoke() {
    use tessera_engine::identity::{IDENTITY_KEY_GRACE, IDENTITY_KEY_PUBLISH_AHEAD};
    let app = spawn_app().await;
    let (pool, _, _) = setup(&app).await;
    // A guest identity: its OpenID tokens need no login that expires meanwhile.
    let logins = BTreeMap::new();
    let identity = app.engine.get_id(&pool, &logins).await.unwrap();
    let open_id = |app: &TestApp| {
        let (engine, logins, id) = (app.engine.clone(), logins.clone(), identity.clone());
        async move {
            engine
                .get_open_id_token(id.as_str(), &logins)
                .await
                .unwrap()
                .token
        }
    };
    let kid_of = |token: &str| {
        use base64::Engine;
        let header = token.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(header)
                .unwrap(),
        )
        .unwrap();
        header["kid"].as_str().unwrap().to_string()
    };
    let proves = |app: &TestApp, token: String| {
        let (engine, id) = (app.engine.clone(), identity.clone());
        async move {
            let own = BTreeMap::from([("cognito-identity.amazonaws.com".to_string(), token)]);
            engine
                .get_credentials_for_identity(id.as_str(), &own, None)
                .await
        }
    };
    let published = |app: &TestApp| {
        let engine = app.engine.clone();
        async move {
            let jwks = engine.identity_jwks().await.unwrap();
            jwks.into_iter().map(|k| k.kid).collect::<Vec<_>>()
        }
    };
    let day = Duration::from_secs(86_400);
    let ttl = Duration::from_secs(6); // past the nodes' 5-second key cache

    let first = open_id(&app).await;
    let k1 = kid_of(&first);
    assert!(proves(&app, first).await.is_ok());
    // Not due yet: nothing changes.
    assert!(
        !app.engine
            .identity_key_upkeep(Some(day), false)
            .await
            .unwrap()
    );

    // Due: a new key is published, the old one still signs.
    app.clock.advance(day);
    assert!(
        app.engine
            .identity_key_upkeep(Some(day), false)
            .await
            .unwrap()
    );
    assert!(
        !app.engine
            .identity_key_upkeep(Some(day), false)
            .await
            .unwrap()
    );
    app.clock.advance(ttl);
    let keys = published(&app).await;
    assert_eq!(keys.len(), 2);
    let k2 = keys.iter().find(|k| **k != k1).unwrap().clone();
    app.clock
        .advance(IDENTITY_KEY_PUBLISH_AHEAD - Duration::from_secs(300));
    let before = open_id(&app).await;
    assert_eq!(kid_of(&before), k1);

    // Published an hour: the new key signs, and the old key's unexpired tokens still verify.
    app.clock.advance(Duration::from_secs(300));
    let after = open_id(&app).await;
    assert_eq!(kid_of(&after), k2);
    assert!(proves(&app, before).await.is_ok());
    assert!(proves(&app, after).await.is_ok());

    // The old key stays published until every token it signed has expired, then goes.
    app.clock
        .advance(IDENTITY_KEY_GRACE - Duration::from_secs(60));
    assert!(!app.engine.identity_key_upkeep(None, false).await.unwrap());
    app.clock.advance(ttl);
    assert!(published(&app).await.contains(&k1));
    app.clock.advance(Duration::from_secs(60));
    assert!(app.engine.identity_key_upkeep(None, false).await.unwrap());
    app.clock.advance(ttl);
    assert_eq!(published(&app).await, vec![k2.clone()]);

    // A revoked key's tokens fail at once; a new key signs.
    let doomed = open_id(&app).await;
    assert_eq!(kid_of(&doomed), k2);
    assert!(app.engine.revoke_identity_key(&k2).await.unwrap());
    assert!(!app.engine.revoke_identity_key(&k2).await.unwrap());
    let Err(err) = proves(&app, doomed).await else {
        panic!("a revoked key's token still proves its identity")
    };
    assert_eq!(err.kind().name(), "NotAuthorizedException");
    let fresh = open_id(&app).await;
    assert_ne!(kid_of(&fresh), k2);
    assert!(proves(&app, fresh).await.is_ok());
}
