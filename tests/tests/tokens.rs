use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ExplicitAuthFlowsType, FeatureType, RefreshTokenRotationType,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use serde_json::Value;
use std::time::Duration;

/// Verifies a token the way a relying party does: discovery → JWKS → RS256 signature + issuer.
async fn verify(app: &TestApp, pool_id: &str, token: &str) -> serde_json::Map<String, Value> {
    let discovery: Value = reqwest::get(format!(
        "{}/{pool_id}/.well-known/openid-configuration",
        app.endpoint
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let issuer = discovery["issuer"].as_str().unwrap().to_string();
    assert_eq!(issuer, format!("{}/{pool_id}", app.endpoint));
    let jwks: JwkSet = reqwest::get(discovery["jwks_uri"].as_str().unwrap())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<serde_json::Map<String, Value>>(
        token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

#[tokio::test]
async fn tokens_carry_cognito_claims_and_verify_with_the_jwks() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    app.admin
        .add_custom_attributes()
        .user_pool_id(&f.pool_id)
        .custom_attributes(
            aws_sdk_cognitoidentityprovider::types::SchemaAttributeType::builder()
                .name("level")
                .attribute_data_type(
                    aws_sdk_cognitoidentityprovider::types::AttributeDataType::Number,
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    app.admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .user_attributes(attr("email_verified", "true"))
        .user_attributes(attr("custom:level", "7"))
        .send()
        .await
        .unwrap();
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    assert_eq!(tokens.token_type.as_deref(), Some("Bearer"));
    assert_eq!(tokens.expires_in, 3600);
    let id = verify(&app, &f.pool_id, tokens.id_token.as_deref().unwrap()).await;
    let access = verify(&app, &f.pool_id, tokens.access_token.as_deref().unwrap()).await;

    assert_eq!(id["token_use"], "id");
    assert_eq!(id["aud"], f.client_id.as_str());
    assert_eq!(id["cognito:username"], "ann");
    assert_eq!(id["email_verified"], Value::Bool(true));
    assert_eq!(id["custom:level"], "7");
    assert_eq!(id["email"], "ann@example.com");
    for claim in [
        "sub",
        "origin_jti",
        "event_id",
        "jti",
        "auth_time",
        "iat",
        "exp",
    ] {
        assert!(id.contains_key(claim), "id token lacks {claim}");
        assert!(access.contains_key(claim), "access token lacks {claim}");
    }
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], f.client_id.as_str());
    assert_eq!(access["username"], "ann");
    assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
    assert!(!access.contains_key("aud"));
    assert_eq!(access["version"], 2);
    // jti, event_id and origin_jti are version-4 UUIDs (…-4xxx-[89ab]xxx-…).
    for claim in ["jti", "event_id", "origin_jti"] {
        let v = id[claim].as_str().unwrap();
        assert_eq!(&v[14..15], "4", "{claim} = {v}");
        assert!("89ab".contains(&v[19..20]), "{claim} = {v}");
    }
    assert_eq!(id["sub"], access["sub"]);
    assert_eq!(id["origin_jti"], access["origin_jti"]);
    assert_ne!(id["jti"], access["jti"]);
    assert_eq!(
        id["exp"].as_i64().unwrap() - id["iat"].as_i64().unwrap(),
        3600
    );

    // Refreshed tokens keep the authentication's identity and time.
    let refreshed = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", tokens.refresh_token.unwrap())
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    assert!(refreshed.refresh_token.is_none());
    let again = verify(&app, &f.pool_id, refreshed.access_token.as_deref().unwrap()).await;
    assert_eq!(again["origin_jti"], access["origin_jti"]);
    assert_eq!(again["auth_time"], access["auth_time"]);
    assert_ne!(again["jti"], access["jti"]);
}

#[tokio::test]
async fn access_tokens_expire_by_the_clock() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let access = tokens.access_token.unwrap();
    app.public
        .get_user()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(3601));
    let err = app
        .public
        .get_user()
        .access_token(&access)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Access Token has expired".into()
        )
    );
    // The refresh token still works until its own expiry (30 days).
    let refresh = tokens.refresh_token.unwrap();
    let renewed = app
        .public
        .get_tokens_from_refresh_token()
        .client_id(&f.client_id)
        .refresh_token(&refresh)
        .send()
        .await
        .unwrap();
    app.public
        .get_user()
        .access_token(renewed.authentication_result.unwrap().access_token.unwrap())
        .send()
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(31 * 86_400));
    let err = app
        .public
        .get_tokens_from_refresh_token()
        .client_id(&f.client_id)
        .refresh_token(&refresh)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Refresh Token has expired".into()
        )
    );
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let invalid = (
        "NotAuthorizedException".to_string(),
        "Invalid Access Token".to_string(),
    );
    // An ID token is not an access token.
    let err = app
        .public
        .get_user()
        .access_token(tokens.id_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), invalid);
    // A tampered payload fails the signature.
    let access = tokens.access_token.unwrap();
    let parts: Vec<&str> = access.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["username"] = "mallory".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let err = app
        .public
        .get_user()
        .access_token(forged)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), invalid);
    let unsigned = format!("{}.{}.", b64.encode(r#"{"alg":"none"}"#), parts[1]);
    let err = app
        .public
        .get_user()
        .access_token(unsigned)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), invalid);
}

#[tokio::test]
async fn revoke_token_and_global_sign_out() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let first = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let second = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let revoked = (
        "NotAuthorizedException".to_string(),
        "Access Token has been revoked".to_string(),
    );

    // RevokeToken ends one session: its refresh token and its access tokens.
    app.public
        .revoke_token()
        .client_id(&f.client_id)
        .token(first.refresh_token.clone().unwrap())
        .send()
        .await
        .unwrap();
    let err = app
        .public
        .get_user()
        .access_token(first.access_token.clone().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), revoked);
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", first.refresh_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Refresh Token has been revoked".into()
        )
    );
    // The other session is untouched …
    let access2 = second.access_token.unwrap();
    app.public
        .get_user()
        .access_token(&access2)
        .send()
        .await
        .unwrap();
    // … until a global sign-out.
    app.public
        .global_sign_out()
        .access_token(&access2)
        .send()
        .await
        .unwrap();
    let err = app
        .public
        .get_user()
        .access_token(&access2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), revoked);

    let third = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    app.admin
        .admin_user_global_sign_out()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let err = app
        .public
        .get_user()
        .access_token(third.access_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err), revoked);
}

#[tokio::test]
async fn refresh_token_rotation() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let rotating = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("rotating")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .refresh_token_rotation(
            RefreshTokenRotationType::builder()
                .feature(FeatureType::Enabled)
                .retry_grace_period_seconds(10)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let g = Fixture {
        pool_id: f.pool_id.clone(),
        client_id: rotating.clone(),
    };
    let original = password_sign_in(&app, &g, "ann", "Passw0rd!")
        .await
        .refresh_token
        .unwrap();
    let refresh = |token: &str| {
        app.public
            .get_tokens_from_refresh_token()
            .client_id(&rotating)
            .refresh_token(token)
            .send()
    };
    let next = refresh(&original)
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .refresh_token
        .unwrap();
    assert_ne!(next, original);
    // Within the grace period the old token still works (a client retrying a lost response) …
    app.clock.advance(Duration::from_secs(5));
    refresh(&original).await.unwrap();
    // … after it, reuse is refused, and it ends the whole family: the newest refresh token and
    // the access tokens issued from the family are refused too.
    let latest = refresh(&next).await.unwrap().authentication_result.unwrap();
    app.public
        .get_user()
        .access_token(latest.access_token.clone().unwrap())
        .send()
        .await
        .unwrap();
    app.clock.advance(Duration::from_secs(10));
    let err = refresh(&original).await.unwrap_err();
    assert_eq!(error_of(&err).0, "RefreshTokenReuseException");
    let err = refresh(&latest.refresh_token.unwrap()).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".to_string(),
            "Refresh Token has been revoked".to_string()
        )
    );
    let err = app
        .public
        .get_user()
        .access_token(latest.access_token.unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "NotAuthorizedException");
    // A family that was never reused is untouched: a fresh sign-in refreshes as before.
    let fresh = password_sign_in(&app, &g, "ann", "Passw0rd!")
        .await
        .refresh_token
        .unwrap();
    refresh(&fresh).await.unwrap();
}
