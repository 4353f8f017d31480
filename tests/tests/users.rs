use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, MessageActionType, UserStatusType, UsernameAttributeType,
};

#[tokio::test]
async fn sign_up_rules() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let signed = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("ann")
        .password("Passw0rd!")
        .user_attributes(attr("email", "ann@example.com"))
        .send()
        .await
        .unwrap();
    assert!(!signed.user_confirmed);
    assert_eq!(signed.user_sub.len(), 36);

    let cases: &[(&str, &str, (&str, &str))] = &[
        (
            "ann",
            "Passw0rd!",
            ("UsernameExistsException", "User already exists"),
        ),
        (
            "bob",
            "short1!",
            (
                "InvalidPasswordException",
                "Password did not conform with policy: Password not long enough",
            ),
        ),
        (
            "bob",
            "password1!",
            (
                "InvalidPasswordException",
                "Password did not conform with policy: Password must have uppercase characters",
            ),
        ),
    ];
    for (username, password, expected) in cases {
        let err = app
            .public
            .sign_up()
            .client_id(&f.client_id)
            .username(*username)
            .password(*password)
            .send()
            .await
            .unwrap_err();
        assert_eq!(error_of(&err), (expected.0.into(), expected.1.into()));
    }
    let err = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("carl")
        .password("Passw0rd!")
        .user_attributes(attr("nickname_typo", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidParameterException");
    let err = app
        .public
        .sign_up()
        .client_id("nosuchclient")
        .username("carl")
        .password("Passw0rd!")
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

    // Unconfirmed users can't sign in, even with the right password.
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "UserNotConfirmedException".into(),
            "User is not confirmed.".into()
        )
    );
}

#[tokio::test]
async fn email_as_username() {
    let app = spawn_app().await;
    let pool_id = app
        .admin
        .create_user_pool()
        .pool_name("email")
        .username_attributes(UsernameAttributeType::Email)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    let client_id = app
        .admin
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("app")
        .explicit_auth_flows(
            aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType::AllowUserPasswordAuth,
        )
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let f = Fixture { pool_id, client_id };
    let err = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("not-an-email")
        .password("Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Username should be an email.".into()
        )
    );
    let sub = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("Ann@Example.com")
        .password("Passw0rd!")
        .send()
        .await
        .unwrap()
        .user_sub;
    app.admin
        .admin_confirm_sign_up()
        .user_pool_id(&f.pool_id)
        .username("ann@example.com")
        .send()
        .await
        .unwrap();
    // The username is the sub; the email identifies the user.
    let user = app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("ann@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(user.username, sub);
    let err = app
        .public
        .sign_up()
        .client_id(&f.client_id)
        .username("ann@example.com")
        .password("Passw0rd!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "UsernameExistsException".into(),
            "An account with the given email already exists.".into()
        )
    );
    let tokens = password_sign_in(&app, &f, "ANN@example.com", "Passw0rd!").await;
    let me = app
        .public
        .get_user()
        .access_token(tokens.access_token.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.username, sub);
}

#[tokio::test]
async fn attributes_update_and_delete() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    app.admin
        .admin_update_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .user_attributes(attr("email_verified", "true"))
        .user_attributes(attr("name", "Ann"))
        .send()
        .await
        .unwrap();
    let tokens = password_sign_in(&app, &f, "ann", "Passw0rd!").await;
    let access = tokens.access_token.unwrap();
    // A user changing their email loses its verification.
    app.public
        .update_user_attributes()
        .access_token(&access)
        .user_attributes(attr("email", "new@example.com"))
        .send()
        .await
        .unwrap();
    let me = app
        .public
        .get_user()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    let get = |n: &str| {
        me.user_attributes
            .iter()
            .find(|a| a.name == n)
            .and_then(|a| a.value.clone())
    };
    assert_eq!(get("email").as_deref(), Some("new@example.com"));
    assert_eq!(get("email_verified").as_deref(), Some("false"));
    // Users can't verify themselves.
    let err = app
        .public
        .update_user_attributes()
        .access_token(&access)
        .user_attributes(attr("email_verified", "true"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "A client attempted to write unauthorized attribute".into()
        )
    );
    app.public
        .delete_user_attributes()
        .access_token(&access)
        .user_attribute_names("name")
        .send()
        .await
        .unwrap();
    app.admin
        .admin_delete_user_attributes()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .user_attribute_names("email")
        .send()
        .await
        .unwrap();
    let user = app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let names: Vec<String> = user
        .user_attributes
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, vec!["sub".to_string()]);
}

#[tokio::test]
async fn list_users_filters_and_pages() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    for name in ["dora", "dan", "eve", "ann"] {
        confirmed_user(&app, &f, name, "Passw0rd!").await;
    }
    app.admin
        .admin_disable_user()
        .user_pool_id(&f.pool_id)
        .username("eve")
        .send()
        .await
        .unwrap();
    let names = |users: Vec<aws_sdk_cognitoidentityprovider::types::UserType>| {
        users
            .into_iter()
            .map(|u| u.username.unwrap())
            .collect::<Vec<_>>()
    };
    let page = app
        .admin
        .list_users()
        .user_pool_id(&f.pool_id)
        .filter("username ^= \"d\"")
        .send()
        .await
        .unwrap();
    assert_eq!(names(page.users.unwrap()), vec!["dan", "dora"]);
    let page = app
        .admin
        .list_users()
        .user_pool_id(&f.pool_id)
        .filter("status = \"Disabled\"")
        .send()
        .await
        .unwrap();
    assert_eq!(names(page.users.unwrap()), vec!["eve"]);
    let page = app
        .admin
        .list_users()
        .user_pool_id(&f.pool_id)
        .filter("email = \"ann@example.com\"")
        .attributes_to_get("email")
        .send()
        .await
        .unwrap();
    let users = page.users.unwrap();
    assert_eq!(users.len(), 1);
    let attrs = users[0].attributes.clone().unwrap();
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs[0].name, "email");

    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = app
            .admin
            .list_users()
            .user_pool_id(&f.pool_id)
            .limit(1)
            .set_pagination_token(token)
            .send()
            .await
            .unwrap();
        all.extend(names(page.users.unwrap()));
        token = page.pagination_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all, vec!["ann", "dan", "dora", "eve"]);

    let err = app
        .admin
        .list_users()
        .user_pool_id(&f.pool_id)
        .filter("email = ann")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "InvalidParameterException".into(),
            "Error while parsing filter.".into()
        )
    );
}

#[tokio::test]
async fn admin_create_user_and_new_password_challenge() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    let created = app
        .admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("newbie")
        .temporary_password("Temp0rary!")
        .message_action(MessageActionType::Suppress)
        .user_attributes(attr("email", "newbie@example.com"))
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    assert_eq!(
        created.user_status,
        Some(UserStatusType::ForceChangePassword)
    );
    let err = app
        .admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("newbie")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "UsernameExistsException".into(),
            "User account already exists".into()
        )
    );

    let challenge = app
        .admin
        .admin_initiate_auth()
        .user_pool_id(&f.pool_id)
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "newbie")
        .auth_parameters("PASSWORD", "Temp0rary!")
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.challenge_name.as_ref().map(|c| c.as_str()),
        Some("NEW_PASSWORD_REQUIRED")
    );
    let params = challenge.challenge_parameters.unwrap();
    let attrs: serde_json::Value = serde_json::from_str(&params["userAttributes"]).unwrap();
    assert_eq!(attrs["email"], "newbie@example.com");
    let required: Vec<String> = serde_json::from_str(&params["requiredAttributes"]).unwrap();
    assert!(required.is_empty());
    let session = challenge.session.unwrap();
    assert!(session.len() >= 20);

    // A password the policy refuses costs an attempt but keeps the session.
    let respond = |password: &str| {
        app.public
            .respond_to_auth_challenge()
            .client_id(&f.client_id)
            .challenge_name(
                aws_sdk_cognitoidentityprovider::types::ChallengeNameType::NewPasswordRequired,
            )
            .session(&session)
            .challenge_responses("USERNAME", "newbie")
            .challenge_responses("NEW_PASSWORD", password)
            .send()
    };
    let err = respond("weak").await.unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidPasswordException");
    let done = respond("Chosen-Passw0rd").await.unwrap();
    assert!(done.authentication_result.unwrap().access_token.is_some());
    // The session was single use.
    let err = respond("Chosen-Passw0rd").await.unwrap_err();
    assert_eq!(error_of(&err).0, "NotAuthorizedException");

    let user = app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("newbie")
        .send()
        .await
        .unwrap();
    assert_eq!(user.user_status, Some(UserStatusType::Confirmed));
    password_sign_in(&app, &f, "newbie", "Chosen-Passw0rd").await;
}

#[tokio::test]
async fn temporary_passwords_expire() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    app.admin
        .admin_create_user()
        .user_pool_id(&f.pool_id)
        .username("late")
        .temporary_password("Temp0rary!")
        .message_action(MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    app.clock
        .advance(std::time::Duration::from_secs(8 * 86_400));
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "late")
        .auth_parameters("PASSWORD", "Temp0rary!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        (
            "NotAuthorizedException".into(),
            "Temporary password has expired and must be reset by an administrator.".into()
        )
    );
}

#[tokio::test]
async fn passwords_change_set_and_users_go() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    confirmed_user(&app, &f, "ann", "Passw0rd!").await;
    let access = password_sign_in(&app, &f, "ann", "Passw0rd!")
        .await
        .access_token
        .unwrap();
    let err = app
        .public
        .change_password()
        .access_token(&access)
        .previous_password("Wrong-Passw0rd")
        .proposed_password("N3w-Passw0rd")
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
    app.public
        .change_password()
        .access_token(&access)
        .previous_password("Passw0rd!")
        .proposed_password("N3w-Passw0rd")
        .send()
        .await
        .unwrap();
    password_sign_in(&app, &f, "ann", "N3w-Passw0rd").await;

    app.admin
        .admin_set_user_password()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .password("Adm1n-Chosen")
        .permanent(true)
        .send()
        .await
        .unwrap();
    password_sign_in(&app, &f, "ann", "Adm1n-Chosen").await;

    app.admin
        .admin_disable_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let err = app
        .public
        .initiate_auth()
        .client_id(&f.client_id)
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .auth_parameters("USERNAME", "ann")
        .auth_parameters("PASSWORD", "Adm1n-Chosen")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_of(&err),
        ("NotAuthorizedException".into(), "User is disabled.".into())
    );
    app.admin
        .admin_enable_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
        .send()
        .await
        .unwrap();
    let access = password_sign_in(&app, &f, "ann", "Adm1n-Chosen")
        .await
        .access_token
        .unwrap();
    app.public
        .delete_user()
        .access_token(&access)
        .send()
        .await
        .unwrap();
    let err = app
        .admin
        .admin_get_user()
        .user_pool_id(&f.pool_id)
        .username("ann")
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
}
