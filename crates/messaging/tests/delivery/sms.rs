use super::{WAIT, email, sms};
use serde_json::json;
use std::time::{Duration, Instant};
use tessera_domain::messages::Channel;
use tessera_engine::{DeliveryError, Messenger};
use tessera_messaging::testing::WebhookSink;
use tessera_messaging::{ConfigError, SmsWebhook};

#[tokio::test]
async fn posts_the_message_as_json() {
    let sink = WebhookSink::start().await;
    // The sink is on loopback, so private addresses must be allowed.
    let hook = SmsWebhook::new(&sink.url(), true).unwrap();
    assert!(hook.supports(Channel::Sms) && !hook.supports(Channel::Email));
    let message = sms("+15555550123", "Your verification code is 123456. ");
    hook.send(&message).await.unwrap();

    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(
        received,
        [json!({
            "id": message.id.to_string(),
            "pool_id": "us-east-1_Test",
            "destination": "+15555550123",
            "message": "Your verification code is 123456. ",
        })]
    );
}

#[tokio::test]
async fn server_errors_and_throttling_are_transient_other_refusals_permanent() {
    let sink = WebhookSink::start().await;
    let hook = SmsWebhook::new(&sink.url(), true).unwrap();
    for (status, transient) in [
        (500, true),
        (502, true),
        (503, true),
        (429, true),
        (400, false),
        (401, false),
        (404, false),
        (422, false),
        (301, false),
    ] {
        sink.respond_with(status);
        let err = hook.send(&sms("+15555550123", "Code 1")).await.unwrap_err();
        let ok = match err {
            DeliveryError::Transient(ref m) => transient && m.contains(&status.to_string()),
            DeliveryError::Permanent(ref m) => !transient && m.contains(&status.to_string()),
        };
        assert!(ok, "{status}: {err}");
    }
    sink.respond_with(204);
    hook.send(&sms("+15555550123", "Code 1")).await.unwrap();
}

#[tokio::test]
async fn only_the_start_of_an_error_body_is_read() {
    let sink = WebhookSink::start().await;
    let hook = SmsWebhook::new(&sink.url(), true).unwrap();
    sink.respond_with_body(
        400,
        &format!("invalid destination\n{}", "x".repeat(100_000)),
    );
    let err = hook.send(&sms("+1", "Code 1")).await.unwrap_err();
    let DeliveryError::Permanent(message) = err else {
        panic!("{err}")
    };
    assert!(
        message.contains("400 Bad Request: invalid destination x"),
        "{message}"
    );
    assert!(message.len() < 2200, "{}", message.len());
}

#[tokio::test]
async fn an_unreachable_or_slow_webhook_is_transient() {
    let sink = WebhookSink::start().await;
    let url = format!("{}?token=s3cret", sink.url());
    let hook = SmsWebhook::new(&url, true)
        .unwrap()
        .with_timeout(Duration::from_millis(300));

    sink.respond_after(Duration::from_secs(3));
    let started = Instant::now();
    let err = hook.send(&sms("+15555550123", "Code 1")).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    sink.stop().await;
    let err = hook.send(&sms("+15555550123", "Code 1")).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    // Failures are stored and logged: they must not carry the URL's secrets.
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn internal_addresses_are_refused_unless_allowed() {
    for url in [
        "http://127.0.0.1:8080/sms",
        "http://10.0.0.7/sms",
        "http://10.255.1.2:9000/sms",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/sms",
        "http://[fd00::1]/sms",
        "http://[::ffff:127.0.0.1]/sms",
        "http://0x7f.0.0.1/sms",
    ] {
        let refused = SmsWebhook::new(url, false);
        assert!(
            matches!(refused, Err(ConfigError::ForbiddenAddress(_))),
            "{url}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn names_that_resolve_to_internal_addresses_are_refused_when_sending() {
    let sink = WebhookSink::start().await;
    // A name passes construction; where it points is checked at every connection.
    let url = format!("http://localhost:{}/sms", sink.port());
    let hook = SmsWebhook::new(&url, false).unwrap();
    let err = hook.send(&sms("+15555550123", "Code 1")).await.unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("internal")),
        "{err}"
    );
    assert!(
        sink.wait_for(1, Duration::from_millis(200))
            .await
            .is_empty()
    );

    // The operator can allow it.
    let hook = SmsWebhook::new(&url, true).unwrap();
    hook.send(&sms("+15555550123", "Code 1")).await.unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn emails_are_not_for_the_sms_webhook() {
    let sink = WebhookSink::start().await;
    let hook = SmsWebhook::new(&sink.url(), true).unwrap();
    let err = hook
        .send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    assert!(sink.received().is_empty());
}
