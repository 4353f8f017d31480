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
