//! The wire protocol itself, with raw HTTP: what every client library relies on.

use crate::support::*;
use serde_json::{Value, json};

async fn raw(app: &TestApp, target: &str, body: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/", app.endpoint))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    (status, headers, body)
}

#[tokio::test]
async fn errors_have_type_message_and_headers() {
    let app = spawn_app().await;
    let (status, headers, body) =
        raw(&app, "AWSCognitoIdentityProviderService.NoSuchThing", "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
    assert!(headers.contains_key("x-amzn-requestid"));

    let (status, _, body) = raw(
        &app,
        "AWSCognitoIdentityProviderService.SignUp",
        "{not json",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    let (_, _, body) = raw(
        &app,
        "AWSCognitoIdentityProviderService.SignUp",
        &json!({"Username": "a", "Password": "Passw0rd!"}).to_string(),
    )
    .await;
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(
        body["message"],
        "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null"
    );

    let (_, _, body) = raw(
        &app,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        &json!({"ClientId": "abc", "AuthFlow": "MAGIC"}).to_string(),
    )
    .await;
    assert_eq!(body["__type"], "InvalidParameterException");
    assert!(body["message"].as_str().unwrap().contains("'authFlow'"));
}

#[tokio::test]
async fn admin_operations_need_a_valid_signature() {
    let app = spawn_app().await;
    // Unsigned.
    let (status, _, body) = raw(
        &app,
        "AWSCognitoIdentityProviderService.ListUserPools",
        r#"{"MaxResults": 1}"#,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["__type"], "MissingAuthenticationTokenException");
    // Signed with credentials we don't know.
    let stranger = client(&app.endpoint, Some(("AKIASTRANGER00000000", "nope")));
    let err = stranger
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "UnrecognizedClientException");
    // Signed with the right key id but the wrong secret.
    let forger = client(&app.endpoint, Some((ACCESS_KEY, "not-the-secret")));
    let err = forger
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error_of(&err).0, "InvalidSignatureException");
    app.admin
        .list_user_pools()
        .max_results(1)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn browsers_may_call_cross_origin() {
    let app = spawn_app().await;
    let resp = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/", app.endpoint))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-amz-target,x-amz-user-agent",
        )
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("x-amz-target"), "{allowed}");
}

#[tokio::test]
async fn large_bodies_are_refused() {
    let app = spawn_app().await;
    let big = format!(r#"{{"ClientId":"{}"}}"#, "a".repeat(3 * 1024 * 1024));
    let resp = reqwest::Client::new()
        .post(format!("{}/", app.endpoint))
        .header("x-amz-target", "AWSCognitoIdentityProviderService.SignUp")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}
