use crate::auth::secret_hash;
use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, FeatureType, PreventUserExistenceErrorTypes, RefreshTokenRotationType,
    TimeUnitsType, TokenValidityUnitsType,
};

#[tokio::test]
async fn client_lifecycle_with_secret_and_validity() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let created = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("server")
        .generate_secret(true)
        .access_token_validity(30)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Minutes)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let id = created.client_id.unwrap();
    assert_eq!(id.len(), 26);
    let secret = created.client_secret.unwrap();
    assert!(secret.len() >= 40);
    assert_eq!(created.access_token_validity, Some(30));
    // Default flows when none are given.
    let flows = created.explicit_auth_flows.unwrap_or_default();
    assert!(flows.is_empty() || flows.contains(&ExplicitAuthFlowsType::AllowUserSrpAuth));

    let described = app
        .admin
        .describe_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert_eq!(described.client_secret.as_deref(), Some(secret.as_str()));
    assert_eq!(
        described.token_validity_units.unwrap().access_token,
        Some(TimeUnitsType::Minutes)
    );

    let updated = app
        .admin
        .update_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .client_name("renamed")
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
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
        .unwrap();
    assert_eq!(updated.client_name.as_deref(), Some("renamed"));
    assert_eq!(
        updated.prevent_user_existence_errors,
        Some(PreventUserExistenceErrorTypes::Enabled)
    );
    // Settings not in the update return to their defaults (60 minutes).
    assert_eq!(updated.access_token_validity, Some(60));

    let listed = app
        .admin
        .list_user_pool_clients()
        .user_pool_id(&f.pool_id)
        .send()
        .await
        .unwrap()
        .user_pool_clients
        .unwrap();
    assert_eq!(listed.len(), 2);

    app.admin
        .delete_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .describe_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            format!("User pool client {id} does not exist.")
        )
    );
}

#[tokio::test]
async fn token_validity_out_of_range_is_refused() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let err = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("bad")
        .access_token_validity(2)
        .token_validity_units(
            TokenValidityUnitsType::builder()
                .access_token(TimeUnitsType::Days)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Invalid range for token validity.".into()
        )
    );
}

#[tokio::test]
async fn client_secrets_rotate_with_either_accepted() {
    use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let created = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&f.pool_id)
        .client_name("confidential")
        .generate_secret(true)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    let id = created.client_id.unwrap();
    let first = created.client_secret.unwrap();
    let created_ms = created.creation_date.unwrap().to_millis().unwrap();
    let list = || {
        app.admin
            .list_user_pool_client_secrets()
            .user_pool_id(&f.pool_id)
            .client_id(&id)
            .send()
    };
    let listed = list().await.unwrap();
    assert_eq!(listed.next_token, None);
    let listed = listed.client_secrets.unwrap();
    assert_eq!(listed.len(), 1);
    // The secret made with the client is dated and named after the client's creation.
    let first_id = listed[0].client_secret_id.clone().unwrap();
    // (Dates travel as fractional epoch seconds, so the SDK may read a millisecond less.)
    let near = |ms: i64| (ms - created_ms).abs() <= 1;
    let id_ms: i64 = first_id
        .strip_prefix(&format!("{id}--"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(near(id_ms), "{first_id} vs {created_ms}");
    assert!(near(
        listed[0]
            .client_secret_create_date
            .unwrap()
            .to_millis()
            .unwrap()
    ));
    assert_eq!(listed[0].client_secret_value, None);

    let added = app
        .admin
        .add_user_pool_client_secret()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .send()
        .await
        .unwrap()
        .client_secret_descriptor
        .unwrap();
    let second = added.client_secret_value.unwrap();
    let second_id = added.client_secret_id.unwrap();
    assert_ne!(second, first);
    assert_ne!(second_id, first_id);
    assert!(second_id.starts_with(&format!("{id}--")));
    // A third is over the limit.
    let err = app
        .admin
        .add_user_pool_client_secret()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .client_secret("a".repeat(30))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "LimitExceededException");
    let listed = list().await.unwrap().client_secrets.unwrap();
    let ids: Vec<_> = listed
        .iter()
        .map(|s| s.client_secret_id.clone().unwrap())
        .collect();
    assert_eq!(ids, vec![first_id.clone(), second_id.clone()]);
    assert!(listed.iter().all(|s| s.client_secret_value.is_none()));

    // Describe keeps returning the original secret while both are live.
    let describe = || async {
        app.admin
            .describe_user_pool_client()
            .user_pool_id(&f.pool_id)
            .client_id(&id)
            .send()
            .await
            .unwrap()
            .user_pool_client
            .unwrap()
            .client_secret
    };
    assert_eq!(describe().await.as_deref(), Some(first.as_str()));

    app.public
        .sign_up()
        .client_id(&id)
        .username("ann")
        .password("Passw0rd!")
        .secret_hash(secret_hash(&second, "ann", &id))
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
    let sign_in = |secret: String| {
        let hash = secret_hash(&secret, "ann", &id);
        app.public
            .initiate_auth()
            .client_id(&id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", "ann")
            .auth_parameters("PASSWORD", "Passw0rd!")
            .auth_parameters("SECRET_HASH", hash)
            .send()
    };
    let unverified = (
        "NotAuthorizedException".to_string(),
        format!("Unable to verify secret hash for client {id}"),
    );
    sign_in(first.clone()).await.unwrap();
    let refresh = sign_in(second.clone())
        .await
        .unwrap()
        .authentication_result
        .unwrap()
        .refresh_token
        .unwrap();
    let err = sign_in("x".repeat(51)).await.unwrap_err();
    assert_eq!(error_of(&err), unverified);
    // The client secret itself: either works too.
    for secret in [&first, &second] {
        app.public
            .get_tokens_from_refresh_token()
            .client_id(&id)
            .refresh_token(&refresh)
            .client_secret(secret)
            .send()
            .await
            .unwrap();
    }

    let delete = |secret_id: String| {
        app.admin
            .delete_user_pool_client_secret()
            .user_pool_id(&f.pool_id)
            .client_id(&id)
            .client_secret_id(secret_id)
            .send()
    };
    let err = delete(format!("{id}--1")).await.unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
    delete(first_id.clone()).await.unwrap();
    let err = sign_in(first.clone()).await.unwrap_err();
    assert_eq!(error_of(&err), unverified);
    sign_in(second.clone()).await.unwrap();
    assert_eq!(describe().await.as_deref(), Some(second.as_str()));
    // The last secret can't go.
    let err = delete(second_id.clone()).await.unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Cannot delete the last remaining client secret.".into()
        )
    );
    sign_in(second.clone()).await.unwrap();

    // A secret the caller chooses is not echoed back, and works.
    let chosen = "Chosen_secret_for_rotation_0123456789";
    let added = app
        .admin
        .add_user_pool_client_secret()
        .user_pool_id(&f.pool_id)
        .client_id(&id)
        .client_secret(chosen)
        .send()
        .await
        .unwrap()
        .client_secret_descriptor
        .unwrap();
    assert_eq!(added.client_secret_value, None);
    sign_in(chosen.to_string()).await.unwrap();
    delete(second_id).await.unwrap();
    let err = sign_in(second).await.unwrap_err();
    assert_eq!(error_of(&err), unverified);
    sign_in(chosen.to_string()).await.unwrap();
}

#[tokio::test]
async fn client_secret_rotation_needs_a_confidential_client() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let err = app
        .admin
        .add_user_pool_client_secret()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    let listed = app
        .admin
        .list_user_pool_client_secrets()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .send()
        .await
        .unwrap()
        .client_secrets
        .unwrap_or_default();
    assert!(listed.is_empty());
    // A chosen secret must meet the model's constraints (24 to 64 of [\w+]).
    let err = app
        .admin
        .add_user_pool_client_secret()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .client_secret("short")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    let err = app
        .admin
        .list_user_pool_client_secrets()
        .user_pool_id(&f.pool_id)
        .client_id("nosuchclient")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            "User pool client nosuchclient does not exist.".into()
        )
    );
}
