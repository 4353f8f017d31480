//! Groups through the AWS SDK for Rust: administration, membership, and the group claims that
//! Cognito puts into ID and access tokens.

use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use serde_json::json;

const ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/admin";
const READER_ROLE: &str = "arn:aws:iam::123456789012:role/reader";

async fn create_group(
    app: &TestApp,
    f: &Fixture,
    name: &str,
    precedence: Option<i32>,
    role: Option<&str>,
) {
    app.admin
        .create_group()
        .user_pool_id(&f.pool_id)
        .group_name(name)
        .set_precedence(precedence)
        .set_role_arn(role.map(Into::into))
        .description(format!("the {name}"))
        .send()
        .await
        .unwrap();
}

async fn add(app: &TestApp, f: &Fixture, user: &str, group: &str) {
    app.admin
        .admin_add_user_to_group()
        .user_pool_id(&f.pool_id)
        .username(user)
        .group_name(group)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn groups_are_administered_as_cognito_does() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let created = app
        .admin
        .create_group()
        .user_pool_id(&f.pool_id)
        .group_name("admins")
        .description("Administrators")
        .role_arn(ADMIN_ROLE)
        .precedence(1)
        .send()
        .await
        .unwrap()
        .group
        .unwrap();
    assert_eq!(created.group_name(), Some("admins"));
    assert_eq!(created.user_pool_id(), Some(f.pool_id.as_str()));
    assert_eq!(created.precedence(), Some(1));
    assert!(created.creation_date().is_some());

    let err = app
        .admin
        .create_group()
        .user_pool_id(&f.pool_id)
        .group_name("admins")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "GroupExistsException".into(),
            "A group with the name admins already exists.".into()
        )
    );

    // UpdateGroup changes what it is given and keeps the rest.
    let updated = app
        .admin
        .update_group()
        .user_pool_id(&f.pool_id)
        .group_name("admins")
        .precedence(3)
        .send()
        .await
        .unwrap()
        .group
        .unwrap();
    assert_eq!(updated.precedence(), Some(3));
    assert_eq!(updated.role_arn(), Some(ADMIN_ROLE));
    assert_eq!(updated.description(), Some("Administrators"));
    let got = app
        .admin
        .get_group()
        .user_pool_id(&f.pool_id)
        .group_name("admins")
        .send()
        .await
        .unwrap()
        .group
        .unwrap();
    assert_eq!(got, updated);

    // Names are case-sensitive; ListGroups pages in name order.
    for name in ["Admins", "readers", "writers"] {
        create_group(&app, &f, name, None, None).await;
    }
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .admin
            .list_groups()
            .user_pool_id(&f.pool_id)
            .limit(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.groups()
                .iter()
                .map(|g| g.group_name().unwrap().to_string()),
        );
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["Admins", "admins", "readers", "writers"]);

    app.admin
        .delete_group()
        .user_pool_id(&f.pool_id)
        .group_name("writers")
        .send()
        .await
        .unwrap();
    for err in [
        app.admin
            .get_group()
            .user_pool_id(&f.pool_id)
            .group_name("writers")
            .send()
            .await
            .map(|_| ())
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        app.admin
            .delete_group()
            .user_pool_id(&f.pool_id)
            .group_name("writers")
            .send()
            .await
            .map(|_| ())
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ] {
        assert_eq!(err.code(), Some("ResourceNotFoundException"));
        assert_eq!(err.message(), Some("Group not found."));
    }

    // Membership errors name what is missing.
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let err = app
        .admin
        .admin_add_user_to_group()
        .user_pool_id(&f.pool_id)
        .username("nobody")
        .group_name("admins")
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
    let err = app
        .admin
        .admin_add_user_to_group()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .group_name("writers")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "ResourceNotFoundException".into(),
            "Group not found.".into()
        )
    );
    let err = app
        .admin
        .list_groups()
        .user_pool_id("us-east-1_NoSuchPool")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "ResourceNotFoundException");
}

#[tokio::test]
async fn memberships_list_both_ways_and_go_with_the_user() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    create_group(&app, &f, "team", None, None).await;
    create_group(&app, &f, "other", None, None).await;
    for u in ["cy", "ann", "bob"] {
        confirmed_user(&app, &f, u, "Passw0rd!").await;
        add(&app, &f, u, "team").await;
    }
    // Adding twice is harmless.
    add(&app, &f, "ann", "team").await;
    add(&app, &f, "ann", "other").await;

    let first = app
        .admin
        .list_users_in_group()
        .user_pool_id(&f.pool_id)
        .group_name("team")
        .limit(2)
        .send()
        .await
        .unwrap();
    let second = app
        .admin
        .list_users_in_group()
        .user_pool_id(&f.pool_id)
        .group_name("team")
        .limit(2)
        .set_next_token(first.next_token.clone())
        .send()
        .await
        .unwrap();
    assert!(second.next_token.is_none());
    let members: Vec<_> = first
        .users()
        .iter()
        .chain(second.users())
        .map(|u| u.username().unwrap().to_string())
        .collect();
    assert_eq!(members, ["ann", "bob", "cy"]);
    let ann = &first.users()[0];
    assert!(ann.enabled);
    assert!(ann.attributes().iter().any(|a| a.name == "sub"));

    let groups_of = |user: &'static str| {
        let app = &app;
        let f = &f;
        async move {
            app.admin
                .admin_list_groups_for_user()
                .user_pool_id(&f.pool_id)
                .username(user)
                .send()
                .await
                .unwrap()
                .groups()
                .iter()
                .map(|g| g.group_name().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(groups_of("ann").await, ["other", "team"]);
    app.admin
        .admin_remove_user_from_group()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .group_name("team")
        .send()
        .await
        .unwrap();
    assert_eq!(groups_of("ann").await, ["other"]);

    app.admin
        .admin_delete_user()
        .user_pool_id(&f.pool_id)
        .username("bob")
        .send()
        .await
        .unwrap();
    let left: Vec<_> = app
        .admin
        .list_users_in_group()
        .user_pool_id(&f.pool_id)
        .group_name("team")
        .send()
        .await
        .unwrap()
        .users()
        .iter()
        .map(|u| u.username().unwrap().to_string())
        .collect();
    assert_eq!(left, ["cy"]);
    // A user re-created under the same name starts with no groups.
    confirmed_user(&app, &f, "bob", "Passw0rd!").await;
    assert!(groups_of("bob").await.is_empty());
}

#[tokio::test]
async fn tokens_carry_groups_roles_and_the_preferred_role() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    // No groups, no group claims.
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let id = jwt_claims(tokens.id_token().unwrap());
    assert!(id.get("cognito:groups").is_none());
    assert!(id.get("cognito:roles").is_none());

    create_group(&app, &f, "readers", Some(5), Some(READER_ROLE)).await;
    create_group(&app, &f, "admins", Some(1), Some(ADMIN_ROLE)).await;
    create_group(&app, &f, "plain", Some(0), None).await;
    for g in ["readers", "admins", "plain"] {
        add(&app, &f, "ann", g).await;
    }
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let id = jwt_claims(tokens.id_token().unwrap());
    assert_eq!(id["cognito:groups"], json!(["plain", "admins", "readers"]));
    assert_eq!(id["cognito:roles"], json!([ADMIN_ROLE, READER_ROLE]));
    assert_eq!(id["cognito:preferred_role"], json!(ADMIN_ROLE));
    let access = jwt_claims(tokens.access_token().unwrap());
    assert_eq!(
        access["cognito:groups"],
        json!(["plain", "admins", "readers"])
    );
    assert!(access.get("cognito:roles").is_none());
    assert!(access.get("cognito:preferred_role").is_none());

    // A tie between two roles at the best precedence leaves no preferred role.
    app.admin
        .update_group()
        .user_pool_id(&f.pool_id)
        .group_name("readers")
        .precedence(1)
        .send()
        .await
        .unwrap();
    // Refreshed tokens see group changes made since sign-in.
    let refreshed = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::RefreshTokenAuth)
        .auth_parameters("REFRESH_TOKEN", tokens.refresh_token().unwrap())
        .send()
        .await
        .unwrap()
        .authentication_result
        .unwrap();
    let id = jwt_claims(refreshed.id_token().unwrap());
    assert_eq!(id["cognito:groups"], json!(["plain", "admins", "readers"]));
    assert!(id.get("cognito:preferred_role").is_none(), "{id}");

    // Deleting a group takes it out of the next tokens.
    app.admin
        .delete_group()
        .user_pool_id(&f.pool_id)
        .group_name("admins")
        .send()
        .await
        .unwrap();
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let id = jwt_claims(tokens.id_token().unwrap());
    assert_eq!(id["cognito:groups"], json!(["plain", "readers"]));
    assert_eq!(id["cognito:roles"], json!([READER_ROLE]));
    assert_eq!(id["cognito:preferred_role"], json!(READER_ROLE));
}
