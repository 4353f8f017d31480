use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, DeletionProtectionType, PasswordPolicyType, SchemaAttributeType,
    UserPoolPolicyType, UsernameAttributeType,
};

#[tokio::test]
async fn create_describe_update_list_delete() {
    let app = spawn_app().await;
    let created = app
        .admin
        .create_user_pool()
        .pool_name("first")
        .username_attributes(UsernameAttributeType::Email)
        .schema(
            SchemaAttributeType::builder()
                .name("tier")
                .attribute_data_type(AttributeDataType::String)
                .build(),
        )
        .sms_verification_message("Your code is {####}")
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let id = created.id.clone().unwrap();
    assert!(id.starts_with("us-east-1_"), "{id}");
    assert_eq!(id.len(), "us-east-1_".len() + 9);

    let described = app
        .admin
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    assert_eq!(described.name.as_deref(), Some("first"));
    assert_eq!(described.estimated_number_of_users, 0);
    assert_eq!(
        described.sms_verification_message.as_deref(),
        Some("Your code is {####}")
    );
    let schema = described.schema_attributes.unwrap();
    assert!(
        schema
            .iter()
            .any(|s| s.name.as_deref() == Some("custom:tier"))
    );
    assert!(schema.iter().any(|s| s.name.as_deref() == Some("email")));
    let policy = described.policies.unwrap().password_policy.unwrap();
    assert_eq!(policy.minimum_length, Some(8));
    assert!(policy.require_symbols);

    // UpdateUserPool replaces settings: what isn't given returns to its default.
    app.admin
        .update_user_pool()
        .user_pool_id(&id)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(PasswordPolicyType::builder().minimum_length(12).build())
                .build(),
        )
        .deletion_protection(DeletionProtectionType::Active)
        .send()
        .await
        .unwrap();
    let updated = app
        .admin
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    assert_eq!(
        updated
            .policies
            .unwrap()
            .password_policy
            .unwrap()
            .minimum_length,
        Some(12)
    );
    assert_eq!(updated.sms_verification_message, None);
    assert_eq!(
        updated.deletion_protection,
        Some(DeletionProtectionType::Active)
    );

    // Deletion protection holds until lifted.
    let err = app
        .admin
        .delete_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    app.admin
        .update_user_pool()
        .user_pool_id(&id)
        .deletion_protection(DeletionProtectionType::Inactive)
        .send()
        .await
        .unwrap();
    app.admin
        .delete_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .describe_user_pool()
        .user_pool_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            format!("User pool {id} does not exist.")
        )
    );
}

#[tokio::test]
async fn list_user_pools_pages() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.admin
            .create_user_pool()
            .pool_name(format!("p{n}"))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .admin
            .list_user_pools()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        let pools = page.user_pools.unwrap();
        assert!(pools.len() <= 2);
        seen.extend(pools.into_iter().map(|p| p.name.unwrap()));
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, vec!["p0", "p1", "p2", "p3", "p4"]);
}

#[tokio::test]
async fn alias_and_username_attributes_are_exclusive() {
    let app = spawn_app().await;
    let err = app
        .admin
        .create_user_pool()
        .pool_name("both")
        .username_attributes(UsernameAttributeType::Email)
        .alias_attributes(aws_sdk_cognitoidentityprovider::types::AliasAttributeType::PhoneNumber)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Only one of AliasAttributes or UsernameAttributes can be set in a User Pool.".into()
        )
    );
}

#[tokio::test]
async fn custom_attributes_are_added_once() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let tier = SchemaAttributeType::builder()
        .name("tier")
        .attribute_data_type(AttributeDataType::Number)
        .build();
    app.admin
        .add_custom_attributes()
        .user_pool_id(&f.pool_id)
        .custom_attributes(tier.clone())
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .add_custom_attributes()
        .user_pool_id(&f.pool_id)
        .custom_attributes(tier)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    // The new attribute can be written, with its type enforced.
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    app.admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .user_attributes(attr("custom:tier", "3"))
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .user_attributes(attr("custom:tier", "gold"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
}
