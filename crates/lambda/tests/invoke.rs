//! LambdaInvoker against LambdaHost: the Invoke API as a function host sees it.

// Test helpers outside `#[test]` functions panic on failure too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_engine::{InvokeError, TriggerInvoker};
use tessera_lambda::testing::LambdaHost;
use tessera_lambda::{
    AwsCredentials, ConfigError, FunctionRoute, InvocationType, InvokerSettings, LambdaInvoker,
};

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:pre-sign-up";

fn settings(host: &LambdaHost) -> InvokerSettings {
    InvokerSettings {
        endpoint: Some(host.endpoint()),
        allow_private: true,
        backoff: Duration::from_millis(5),
        ..InvokerSettings::default()
    }
}

fn invoker(settings: InvokerSettings) -> LambdaInvoker {
    LambdaInvoker::new(settings).unwrap()
}

fn event() -> Value {
    json!({
        "version": "1",
        "triggerSource": "PreSignUp_SignUp",
        "region": "eu-west-1",
        "userPoolId": "eu-west-1_abc",
        "userName": "alice",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client"},
        "request": {"userAttributes": {"email": "alice@example.com"}},
        "response": {}
    })
}

fn unavailable(result: Result<Value, InvokeError>) -> String {
    match result {
        Err(InvokeError::Unavailable(message)) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn the_function_output_comes_back() {
    let host = LambdaHost::start().await;
    host.register(ARN, |mut event| async move {
        event["response"]["autoConfirmUser"] = json!(true);
        Ok(event)
    });
    let answer = invoker(settings(&host))
        .invoke(ARN, &event())
        .await
        .unwrap();
    assert_eq!(answer["response"]["autoConfirmUser"], true);
    assert_eq!(answer["userName"], "alice");

    let calls = host.invocations();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.function, ARN);
    assert_eq!(call.invocation_type, InvocationType::RequestResponse);
    assert_eq!(call.event, event());
    assert_eq!(
        call.path,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Apre-sign-up/invocations"
    );
    assert_eq!(
        call.header("x-amz-invocation-type"),
        Some("RequestResponse")
    );
    assert_eq!(call.header("content-type"), Some("application/json"));
    // Unsigned without credentials.
    assert_eq!(call.header("authorization"), None);
}

#[tokio::test]
async fn a_raised_error_is_a_function_error() {
    let host = LambdaHost::start().await;
    host.register("PreSignUp", |_| async {
        Err("Registration from this domain is not allowed.".to_string())
    });
    let result = invoker(settings(&host)).invoke("PreSignUp", &event()).await;
    assert_eq!(
        result,
        Err(InvokeError::Function(
            "Registration from this domain is not allowed.".into()
        ))
    );
    // Function errors are answers, not failures: no retry.
    assert_eq!(host.invocations().len(), 1);
}

#[tokio::test]
async fn an_error_payload_without_the_header_is_a_function_error() {
    // The runtime interface emulator answers 200 with the runtime's error document only.
    let host = LambdaHost::start().await;
    host.register_raw(
        "function",
        200,
        None,
        r#"{"errorMessage": "name is required", "errorType": "ValueError", "stackTrace": ["  File x"]}"#,
    );
    let result = invoker(settings(&host)).invoke("function", &event()).await;
    assert_eq!(
        result,
        Err(InvokeError::Function("name is required".into()))
    );
}

#[tokio::test]
async fn output_that_is_not_json_is_invalid() {
    let host = LambdaHost::start().await;
    host.register_raw("f", 200, None, "Task timed out after 3.00 seconds");
    match invoker(settings(&host)).invoke("f", &event()).await {
        Err(InvokeError::InvalidResponse(message)) => {
            assert!(message.contains("Task timed out"), "{message}");
        }
        other => panic!("expected InvalidResponse, got {other:?}"),
    }
    assert_eq!(host.invocations().len(), 1);
}

#[tokio::test]
async fn output_beyond_the_payload_limit_is_invalid() {
    let host = LambdaHost::start().await;
    let big = json!({"response": {"padding": "x".repeat(200)}}).to_string();
    host.register_raw("f", 200, None, &big);
    let result = invoker(InvokerSettings {
        payload_limit: 100,
        ..settings(&host)
    })
    .invoke("f", &json!({"small": true}))
    .await;
    assert!(
        matches!(&result, Err(InvokeError::InvalidResponse(m)) if m.contains("larger than 100 bytes")),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_event_beyond_the_payload_limit_is_not_sent() {
    let host = LambdaHost::start().await;
    host.register("f", |e| async move { Ok(e) });
    let message = unavailable(
        invoker(InvokerSettings {
            payload_limit: 100,
            ..settings(&host)
        })
        .invoke("f", &event())
        .await,
    );
    assert!(message.contains("invocation limit"), "{message}");
    assert!(host.invocations().is_empty());
}

#[tokio::test]
async fn an_unknown_function_is_unavailable_at_once() {
    let host = LambdaHost::start().await;
    let message = unavailable(invoker(settings(&host)).invoke(ARN, &event()).await);
    assert!(message.contains("404"), "{message}");
    assert!(message.contains("ResourceNotFoundException"), "{message}");
    assert!(message.contains(ARN), "{message}");
    assert_eq!(host.invocations().len(), 1, "a 404 is not retried");
}

#[tokio::test]
async fn a_refused_invocation_is_not_retried() {
    let host = LambdaHost::start().await;
    host.register("f", |e| async move { Ok(e) });
    host.fail_next("f", 403, 1);
    let message = unavailable(invoker(settings(&host)).invoke("f", &event()).await);
    assert!(message.contains("403 Forbidden"), "{message}");
    assert_eq!(host.invocations().len(), 1);
}

#[tokio::test]
async fn slow_functions_time_out_after_every_attempt() {
    let host = LambdaHost::start().await;
    host.register("slow", |e| async move { Ok(e) });
    host.respond_after("slow", Duration::from_millis(600));
    let started = Instant::now();
    let message = unavailable(
        invoker(InvokerSettings {
            timeout: Duration::from_millis(100),
            ..settings(&host)
        })
        .invoke("slow", &event())
        .await,
    );
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("timed out after 100 ms"), "{message}");
    assert!(
        started.elapsed() < Duration::from_millis(590),
        "each attempt is bounded"
    );
    assert_eq!(host.wait_for(3, Duration::from_secs(2)).await.len(), 3);
}

#[tokio::test]
async fn the_number_of_attempts_is_configurable() {
    let host = LambdaHost::start().await;
    host.register("slow", |e| async move { Ok(e) });
    host.respond_after("slow", Duration::from_millis(300));
    let message = unavailable(
        invoker(InvokerSettings {
            timeout: Duration::from_millis(50),
            attempts: 1,
            ..settings(&host)
        })
        .invoke("slow", &event())
        .await,
    );
    assert!(message.contains("after 1 attempt at"), "{message}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(host.invocations().len(), 1);
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried() {
    let host = LambdaHost::start().await;
    host.register("f", |mut e| async move {
        e["response"]["ok"] = json!(true);
        Ok(e)
    });
    host.fail_next("f", 503, 1);
    host.fail_next("f", 429, 1);
    let answer = invoker(settings(&host))
        .invoke("f", &event())
        .await
        .unwrap();
    assert_eq!(answer["response"]["ok"], true);
    assert_eq!(host.invocations().len(), 3);
}

#[tokio::test]
async fn persistent_server_errors_end_unavailable() {
    let host = LambdaHost::start().await;
    host.register("f", |e| async move { Ok(e) });
    host.fail_next("f", 500, 10);
    let message = unavailable(invoker(settings(&host)).invoke("f", &event()).await);
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("500 Internal Server Error"), "{message}");
    assert!(message.contains("ServiceException"), "{message}");
    assert_eq!(host.invocations().len(), 3);
}

#[tokio::test]
async fn an_unreachable_host_is_retried_then_unavailable() {
    let host = LambdaHost::start().await;
    let settings = settings(&host);
    host.stop().await;
    let message = unavailable(invoker(settings).invoke("f", &event()).await);
    assert!(message.contains("3 attempts"), "{message}");
    assert!(message.contains("unreachable"), "{message}");
}

#[tokio::test]
async fn no_host_means_unavailable() {
    let message = unavailable(
        invoker(InvokerSettings::default())
            .invoke(ARN, &event())
            .await,
    );
    assert!(message.contains("no function host"), "{message}");
}

#[tokio::test]
async fn loopback_is_refused_unless_allowed() {
    let host = LambdaHost::start().await;
    host.register("f", |e| async move { Ok(e) });
    // By IP literal: when the invoker is built.
    let refused = LambdaInvoker::new(InvokerSettings {
        allow_private: false,
        ..settings(&host)
    });
    assert!(
        matches!(&refused, Err(ConfigError::ForbiddenAddress { address, .. }) if address == "127.0.0.1"),
        "{refused:?}"
    );
    // By name: when it is resolved, and not retried.
    let by_name = invoker(InvokerSettings {
        endpoint: Some(format!("http://localhost:{}", host.port())),
        allow_private: false,
        ..settings(&host)
    });
    let message = unavailable(by_name.invoke("f", &event()).await);
    assert!(message.contains("refused"), "{message}");
    assert!(message.contains("internal addresses"), "{message}");
    assert!(host.invocations().is_empty());
    // Allowed, the same name works.
    let allowed = invoker(InvokerSettings {
        endpoint: Some(format!("http://localhost:{}", host.port())),
        ..settings(&host)
    });
    allowed.invoke("f", &event()).await.unwrap();
}

#[tokio::test]
async fn routes_choose_the_endpoint_and_the_function_name() {
    let default_host = LambdaHost::start().await;
    let emulator = LambdaHost::start().await;
    default_host.register("post-confirmation", |e| async move { Ok(e) });
    // The runtime interface emulator serves exactly one function, named `function`.
    emulator.register("function", |mut e| async move {
        e["response"]["from"] = json!("emulator");
        Ok(e)
    });
    let mut s = settings(&default_host);
    s.functions.insert(
        ARN.into(),
        FunctionRoute {
            endpoint: Some(emulator.endpoint()),
            name: Some("function".into()),
        },
    );
    let invoker = invoker(s);
    let answer = invoker.invoke(ARN, &event()).await.unwrap();
    assert_eq!(answer["response"]["from"], "emulator");
    invoker.invoke("post-confirmation", &event()).await.unwrap();
    assert_eq!(emulator.invocations_of("function").len(), 1);
    assert_eq!(default_host.invocations_of("post-confirmation").len(), 1);
    assert!(invoker.summary().contains("1 per-function route"));
}

#[tokio::test]
async fn event_invocations_are_accepted_and_run() {
    let host = LambdaHost::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    host.register("sender", move |e| {
        let record = record.clone();
        async move {
            record.lock().unwrap().push(e);
            Ok(json!(null))
        }
    });
    invoker(settings(&host))
        .invoke_async("sender", &event())
        .await
        .unwrap();
    let calls = host.invocations();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].invocation_type, InvocationType::Event);
    assert_eq!(calls[0].header("x-amz-invocation-type"), Some("Event"));
    for _ in 0..50 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.lock().unwrap().as_slice(), &[event()]);
}

#[tokio::test]
async fn a_host_without_event_invocations_runs_the_function_synchronously() {
    // `sam local start-lambda` answers 501 to anything but RequestResponse.
    let host = LambdaHost::start().await;
    host.register("sender", |_| async { Ok(json!(null)) });
    host.fail_next("sender", 501, 1);
    invoker(settings(&host))
        .invoke_async("sender", &event())
        .await
        .unwrap();
    let types: Vec<InvocationType> = host
        .invocations()
        .iter()
        .map(|i| i.invocation_type)
        .collect();
    assert_eq!(
        types,
        [InvocationType::Event, InvocationType::RequestResponse]
    );
}

#[tokio::test]
async fn event_invocations_answered_200_are_accepted() {
    // The runtime interface emulator ignores the invocation type and answers with the output.
    let host = LambdaHost::start().await;
    host.register_raw("function", 200, None, "null");
    invoker(settings(&host))
        .invoke_async("function", &event())
        .await
        .unwrap();
}

// --- SigV4 ----------------------------------------------------------------------------------

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "session-token-example";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// RFC 3986 encoding of everything but unreserved characters (as SigV4 does).
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Recomputes the signature of a received request from the SigV4 specification, independently
/// of the signer: canonical request (path segments encoded once more, as for every service but
/// S3), string to sign, derived key.
fn expected_signature(
    call: &tessera_lambda::testing::Invocation,
    signed_headers: &str,
    scope: &str,
) -> String {
    let canonical_uri = call
        .path
        .split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/");
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| {
            let value = call
                .header(name)
                .unwrap_or_else(|| panic!("{name} not sent"));
            format!("{name}:{}\n", value.trim())
        })
        .collect();
    let canonical_request = format!(
        "POST\n{canonical_uri}\n\n{canonical_headers}\n{signed_headers}\n{}",
        sha256_hex(&call.body)
    );
    let amz_date = call.header("x-amz-date").unwrap();
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut parts = scope.split('/');
    let (date, region, service) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let k_date = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    hex::encode(hmac(&k_signing, &string_to_sign))
}

#[tokio::test]
async fn invocations_are_signed_when_credentials_are_configured() {
    let host = LambdaHost::start().await;
    host.register(ARN, |e| async move { Ok(e) });
    let invoker = invoker(InvokerSettings {
        region: Some("us-east-1".into()),
        credentials: Some(AwsCredentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: Some(SESSION_TOKEN.into()),
        }),
        ..settings(&host)
    });
    invoker.invoke(ARN, &event()).await.unwrap();
    let call = &host.invocations()[0];
    assert_eq!(call.header("x-amz-security-token"), Some(SESSION_TOKEN));
    let amz_date = call.header("x-amz-date").unwrap();
    assert_eq!(amz_date.len(), 16, "{amz_date}");

    let authorization = call.header("authorization").unwrap();
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .unwrap_or_else(|| panic!("{authorization}"));
    let (credential, rest) = rest.split_once(", SignedHeaders=").unwrap();
    let (signed_headers, signature) = rest.split_once(", Signature=").unwrap();
    // The region comes from the ARN, not the configured default.
    let scope = format!("{}/eu-west-1/lambda/aws4_request", &amz_date[..8]);
    assert_eq!(credential, format!("{ACCESS_KEY}/{scope}"));
    for name in [
        "content-type",
        "host",
        "x-amz-date",
        "x-amz-invocation-type",
    ] {
        assert!(
            signed_headers.split(';').any(|h| h == name),
            "{name} is not signed: {signed_headers}"
        );
    }
    assert_eq!(signature.len(), 64);
    assert_eq!(
        signature,
        expected_signature(call, signed_headers, &scope),
        "the signature does not match the request as received"
    );
}

#[tokio::test]
async fn functions_named_without_an_arn_are_signed_for_the_configured_region() {
    let host = LambdaHost::start().await;
    host.register("by-name", |e| async move { Ok(e) });
    let invoker = invoker(InvokerSettings {
        region: Some("ap-southeast-2".into()),
        credentials: Some(AwsCredentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: None,
        }),
        ..settings(&host)
    });
    invoker.invoke_async("by-name", &event()).await.unwrap();
    let call = &host.invocations()[0];
    assert_eq!(call.header("x-amz-security-token"), None);
    let authorization = call.header("authorization").unwrap();
    assert!(
        authorization.contains("/ap-southeast-2/lambda/aws4_request"),
        "{authorization}"
    );
    let amz_date = call.header("x-amz-date").unwrap();
    let scope = format!("{}/ap-southeast-2/lambda/aws4_request", &amz_date[..8]);
    let (_, rest) = authorization.split_once(", SignedHeaders=").unwrap();
    let (signed_headers, signature) = rest.split_once(", Signature=").unwrap();
    assert_eq!(signature, expected_signature(call, signed_headers, &scope));
}
