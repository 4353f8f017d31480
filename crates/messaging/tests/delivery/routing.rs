use super::{WAIT, email, sms};
use tessera_domain::messages::Channel;
use tessera_engine::{DeliveryError, Messenger};
use tessera_messaging::testing::{SmtpSink, WebhookSink};
use tessera_messaging::{Messengers, SmsWebhook, SmtpMessenger};

#[tokio::test]
async fn one_messenger_for_both_channels() {
    let smtp_sink = SmtpSink::start().await;
    let sms_sink = WebhookSink::start().await;
    let messengers = Messengers::new()
        .with_email(SmtpMessenger::new(&smtp_sink.url(), "no-reply@tessera.test").unwrap())
        .with_sms(SmsWebhook::new(&sms_sink.url(), true).unwrap());
    assert!(messengers.supports(Channel::Email) && messengers.supports(Channel::Sms));

    messengers
        .send(&email("jane@example.test", Some("Hi"), "Code 1"))
        .await
        .unwrap();
    messengers
        .send(&sms("+15555550123", "Code 2"))
        .await
        .unwrap();
    assert_eq!(
        smtp_sink.wait_for(1, WAIT).await[0].to,
        ["jane@example.test"]
    );
    assert_eq!(sms_sink.wait_for(1, WAIT).await[0]["message"], "Code 2");
}

#[tokio::test]
async fn a_missing_channel_fails_permanently() {
    let smtp_sink = SmtpSink::start().await;
    let messengers = Messengers::new()
        .with_email(SmtpMessenger::new(&smtp_sink.url(), "no-reply@tessera.test").unwrap());
    assert!(!messengers.supports(Channel::Sms));
    let err = messengers
        .send(&sms("+15555550123", "Code 2"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    assert!(!Messengers::new().supports(Channel::Email));
}
