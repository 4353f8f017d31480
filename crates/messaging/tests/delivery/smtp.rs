use super::{WAIT, email, sms};
use std::time::{Duration, Instant};
use tessera_domain::messages::Channel;
use tessera_engine::{DeliveryError, Messenger};
use tessera_messaging::testing::SmtpSink;
use tessera_messaging::{DEFAULT_SUBJECT, SmtpMessenger};

const SENDER: &str = "Tessera <no-reply@tessera.test>";

fn messenger(sink: &SmtpSink) -> SmtpMessenger {
    SmtpMessenger::new(&sink.url(), SENDER).unwrap()
}

#[tokio::test]
async fn plain_text_mail_arrives_as_sent() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    assert!(smtp.supports(Channel::Email) && !smtp.supports(Channel::Sms));
    let message = email(
        "jane@example.test",
        Some("Your verification code"),
        "Your verification code is 123456. ",
    );
    smtp.send(&message).await.unwrap();

    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail.len(), 1);
    let mail = &mail[0];
    assert_eq!(mail.from, "no-reply@tessera.test");
    assert_eq!(mail.to, ["jane@example.test"]);
    assert_eq!(mail.subject().as_deref(), Some("Your verification code"));
    assert_eq!(
        mail.text_body().as_deref(),
        Some("Your verification code is 123456. ")
    );
    assert_eq!(mail.html_body(), None);
    let from = mail.decoded_header("From").unwrap();
    assert!(
        from.contains("Tessera") && from.contains("<no-reply@tessera.test>"),
        "{from}"
    );
    assert_eq!(mail.header("To").as_deref(), Some("jane@example.test"));
    assert_eq!(mail.header("Reply-To"), None);
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<{}@tessera.test>", message.id))
    );
    assert!(mail.header("Date").is_some());
    assert_eq!(mail.authenticated_as, None);
}

#[tokio::test]
async fn html_mail_gets_a_text_alternative_and_the_pools_sender() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let html = "<html><body><h1>Welcome</h1><p>Your code is <b>654321</b>.</p>\
                <p><a href=\"https://id.acme.test/confirm?code=654321&amp;user=jane\">Verify Email</a></p>\
                </body></html>";
    let mut message = email("jane@example.test", Some("Welcome to Acme"), html);
    message.from = Some("Acme <no-reply@acme.test>".into());
    message.reply_to = Some("help@acme.test".into());
    smtp.send(&message).await.unwrap();

    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.from, "no-reply@acme.test");
    let from = mail.decoded_header("From").unwrap();
    assert!(
        from.contains("Acme") && from.contains("<no-reply@acme.test>"),
        "{from}"
    );
    assert_eq!(mail.header("Reply-To").as_deref(), Some("help@acme.test"));
    assert_eq!(mail.subject().as_deref(), Some("Welcome to Acme"));
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{:?}",
        mail.header("Content-Type")
    );
    assert_eq!(mail.html_body().as_deref(), Some(html));
    let text = mail.text_body().unwrap();
    assert_eq!(
        text,
        "Welcome\n\nYour code is 654321.\n\n\
         Verify Email (https://id.acme.test/confirm?code=654321&user=jane)"
    );
}

#[tokio::test]
async fn utf8_subjects_and_bodies_survive() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let subject = "Vérification — código ✓ 確認";
    let body = "Votre code est 123456 — ¡gracias! 日本語のテキスト\nSecond line: ünïcödé.";
    let mut message = email("jane@example.test", Some(subject), body);
    message.from = Some("Équipe Acmé <no-reply@acme.test>".into());
    smtp.send(&message).await.unwrap();

    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.subject().as_deref(), Some(subject));
    assert_eq!(mail.text_body().as_deref(), Some(body));
    assert!(mail.decoded_header("From").unwrap().contains("Équipe Acmé"));
}

#[tokio::test]
async fn html_in_utf8_with_long_lines() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let html = format!("<p>Código: <b>987654</b></p><p>{}</p>", "ñ".repeat(400));
    smtp.send(&email("jane@example.test", None, &html))
        .await
        .unwrap();
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.subject().as_deref(), Some(DEFAULT_SUBJECT));
    assert_eq!(mail.html_body().as_deref(), Some(html.as_str()));
    assert_eq!(
        mail.text_body().unwrap(),
        format!("Código: 987654\n\n{}", "ñ".repeat(400))
    );
}

#[tokio::test]
async fn lines_starting_with_a_dot_are_kept() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let body = "Your code is 1.\n.\n..two dots\n.end";
    smtp.send(&email("jane@example.test", Some("dots"), body))
        .await
        .unwrap();
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.text_body().as_deref(), Some(body));
}

#[tokio::test]
async fn default_subject_and_blank_overrides() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let mut message = email("jane@example.test", None, "Code 1");
    message.from = Some("  ".into());
    message.reply_to = Some(String::new());
    smtp.send(&message).await.unwrap();
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.subject().as_deref(), Some(DEFAULT_SUBJECT));
    assert_eq!(mail.from, "no-reply@tessera.test");
    assert_eq!(mail.header("Reply-To"), None);
}

#[tokio::test]
async fn line_breaks_in_a_subject_cannot_inject_headers() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    smtp.send(&email(
        "jane@example.test",
        Some("Hello\r\nBcc: victim@example.test"),
        "x",
    ))
    .await
    .unwrap();
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(mail.header("Bcc"), None);
    assert_eq!(mail.to, ["jane@example.test"]);
}

#[tokio::test]
async fn authenticates_when_the_url_has_credentials() {
    let sink = SmtpSink::start().await;
    sink.require_credentials("mailer@tessera.test", "p@ss:word");
    let url = format!(
        "smtp://mailer%40tessera.test:p%40ss%3Aword@127.0.0.1:{}",
        sink.port()
    );
    let smtp = SmtpMessenger::new(&url, SENDER).unwrap();
    smtp.send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap();
    let mail = &sink.wait_for(1, WAIT).await[0];
    assert_eq!(
        mail.authenticated_as.as_deref(),
        Some("mailer@tessera.test")
    );

    // Bad credentials are the operator's to fix, not the message's fault: retry later.
    let wrong = format!(
        "smtp://mailer%40tessera.test:nope@127.0.0.1:{}",
        sink.port()
    );
    let smtp = SmtpMessenger::new(&wrong, SENDER).unwrap();
    let err = smtp
        .send(&email("jane@example.test", None, "Code 2"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    // And without credentials the relay wants them (530).
    let smtp = messenger(&sink);
    let err = smtp
        .send(&email("jane@example.test", None, "Code 3"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_relay_that_is_down_is_a_transient_failure_until_it_is_back() {
    let sink = SmtpSink::start().await;
    let port = sink.port();
    let smtp = messenger(&sink);
    sink.stop().await;

    let err = smtp
        .send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");

    let sink = SmtpSink::start_on(port).await;
    smtp.send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap();
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

#[tokio::test]
async fn rejected_mailboxes_fail_permanently_and_busy_ones_transiently() {
    let sink = SmtpSink::start().await;
    sink.reject_recipient("gone@example.test");
    sink.defer_recipient("busy@example.test");
    let smtp = messenger(&sink);

    let err = smtp
        .send(&email("gone@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Permanent(ref m) if m.contains("550")),
        "{err}"
    );
    let err = smtp
        .send(&email("busy@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DeliveryError::Transient(ref m) if m.contains("450")),
        "{err}"
    );

    // The same messenger still delivers to everyone else.
    smtp.send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap();
    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["jane@example.test"]);
}

#[tokio::test]
async fn unparseable_addresses_fail_permanently() {
    let sink = SmtpSink::start().await;
    let smtp = messenger(&sink);
    let err = smtp
        .send(&email("not an address", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    let mut message = email("jane@example.test", None, "Code 1");
    message.from = Some("Acme <broken".into());
    let err = smtp.send(&message).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    let mut message = email("jane@example.test", None, "Code 1");
    message.reply_to = Some("@@".into());
    let err = smtp.send(&message).await.unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
    assert!(
        sink.wait_for(1, Duration::from_millis(200))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn sms_messages_are_not_for_smtp() {
    let sink = SmtpSink::start().await;
    let err = messenger(&sink)
        .send(&sms("+15555550123", "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err}");
}

#[tokio::test]
async fn required_starttls_never_falls_back_to_plain_text() {
    // The sink offers no STARTTLS: a relay configured as TLS-only must not get the message.
    let sink = SmtpSink::start().await;
    for url in [
        format!("smtp://127.0.0.1:{}?tls=required", sink.port()),
        format!("smtp+starttls://127.0.0.1:{}", sink.port()),
    ] {
        let smtp = SmtpMessenger::new(&url, SENDER).unwrap();
        let err = smtp
            .send(&email("jane@example.test", None, "Code 1"))
            .await
            .unwrap_err();
        assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    }
    // Nor does implicit TLS talk to a plain-text server.
    let smtp = SmtpMessenger::new(&format!("smtps://127.0.0.1:{}", sink.port()), SENDER)
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let err = smtp
        .send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_relay_that_never_answers_times_out() {
    // Accepts connections (the kernel does, from the backlog) but never says 220.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let smtp = SmtpMessenger::new(&format!("smtp://127.0.0.1:{port}"), SENDER)
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    let started = Instant::now();
    let err = smtp
        .send(&email("jane@example.test", None, "Code 1"))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Transient(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(silent);
}
