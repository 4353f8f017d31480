//! Email through an SMTP relay (lettre's async transport on tokio + rustls).

use crate::body;
use crate::error::ConfigError;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use reqwest::Url;
use std::time::Duration;
use tessera_domain::messages::{Channel, OutboundMessage};
use tessera_engine::DeliveryError;

/// The subject used when a message carries none.
pub const DEFAULT_SUBJECT: &str = "Your verification code";

/// How long a whole delivery (connect, TLS, EHLO, AUTH, envelope, DATA) may take by default.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsMode {
    /// Plain text throughout (`?tls=none`).
    None,
    /// STARTTLS when the relay offers it, plain text otherwise (`smtp://`, the default).
    Opportunistic,
    /// STARTTLS or fail (`smtp+starttls://`, `smtp://…?tls=required`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            TlsMode::None | TlsMode::Opportunistic => 25,
            TlsMode::StartTls => 587,
            TlsMode::Implicit => 465,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            TlsMode::None => "plain",
            TlsMode::Opportunistic => "opportunistic STARTTLS",
            TlsMode::StartTls => "required STARTTLS",
            TlsMode::Implicit => "implicit TLS",
        }
    }
}

/// What an SMTP URL says, credentials kept apart so nothing else can print them.
#[derive(Clone)]
struct SmtpConfig {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
}

impl SmtpConfig {
    /// `smtp://[user:pass@]host[:port][?tls=none|opportunistic|required]`,
    /// `smtp+starttls://…`, `smtps://…`.
    fn parse(url: &str) -> Result<Self, ConfigError> {
        // Parse errors from `url` never include the input, so credentials can't leak through them.
        let parsed = Url::parse(url).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        let mut tls_param = None;
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "tls" => tls_param = Some(value.into_owned()),
                other => {
                    return Err(ConfigError::Unsupported(format!(
                        "unknown SMTP URL parameter {other:?} (only \"tls\" is understood)"
                    )));
                }
            }
        }
        let tls = match (parsed.scheme(), tls_param.as_deref()) {
            ("smtp", None | Some("opportunistic")) => TlsMode::Opportunistic,
            ("smtp", Some("none")) => TlsMode::None,
            ("smtp", Some("required")) | ("smtp+starttls", None | Some("required")) => {
                TlsMode::StartTls
            }
            ("smtps", None) => TlsMode::Implicit,
            (scheme @ ("smtp" | "smtp+starttls" | "smtps"), Some(tls)) => {
                return Err(ConfigError::Unsupported(format!(
                    "tls={tls:?} with scheme {scheme}:// (use tls=none, opportunistic or required with smtp://)"
                )));
            }
            (scheme, _) => {
                return Err(ConfigError::Unsupported(format!(
                    "scheme {scheme}:// (use smtp://, smtp+starttls:// or smtps://)"
                )));
            }
        };
        // Non-special schemes keep IPv6 brackets in `host_str`; the socket and TLS layers want the
        // bare address.
        let host = match parsed.host_str() {
            Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']'),
            _ => return Err(ConfigError::InvalidUrl("the SMTP URL has no host".into())),
        }
        .to_string();
        if !matches!(parsed.path(), "" | "/") {
            return Err(ConfigError::Unsupported(
                "a path in the SMTP URL (only scheme, credentials, host, port and ?tls= are used)"
                    .into(),
            ));
        }
        let credentials = match (parsed.username(), parsed.password()) {
            ("", None) => None,
            (user, Some(pass)) => Some(Credentials::new(
                percent_decode(user)?,
                percent_decode(pass)?,
            )),
            (_, None) => {
                return Err(ConfigError::InvalidUrl(
                    "the SMTP URL has a user name but no password".into(),
                ));
            }
        };
        Ok(Self {
            port: parsed.port().unwrap_or(tls.default_port()),
            host,
            tls,
            credentials,
        })
    }

    /// lettre's TLS settings: certificates checked for `host` against the OS trust store.
    fn tls(&self) -> Result<Tls, ConfigError> {
        let parameters = || {
            TlsParameters::new(self.host.clone()).map_err(|e| ConfigError::Client(e.to_string()))
        };
        Ok(match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(parameters()?),
            TlsMode::StartTls => Tls::Required(parameters()?),
            TlsMode::Implicit => Tls::Wrapper(parameters()?),
        })
    }
}

fn transport(
    config: &SmtpConfig,
    tls: &Tls,
    connect_timeout: Duration,
) -> AsyncSmtpTransport<Tokio1Executor> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        .port(config.port)
        .tls(tls.clone())
        .timeout(Some(connect_timeout));
    if let Some(credentials) = &config.credentials {
        builder = builder.credentials(credentials.clone());
    }
    builder.build()
}

/// `%40` → `@` in URL user names and passwords.
fn percent_decode(s: &str) -> Result<String, ConfigError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| ConfigError::InvalidUrl("SMTP credentials are not UTF-8".into()))
}

/// Delivers [`Channel::Email`] messages through one SMTP relay.
///
/// A connection is opened per message (no pool): outbox volumes are small and a fresh connection
/// never meets a relay that silently dropped an idle one.
#[derive(Clone)]
pub struct SmtpMessenger {
    config: SmtpConfig,
    tls: Tls,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    default_from: Mailbox,
    send_timeout: Duration,
}

impl std::fmt::Debug for SmtpMessenger {
    // No credentials, no transport internals.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMessenger")
            .field("host", &self.config.host)
            .field("port", &self.config.port)
            .field("tls", &self.config.tls.describe())
            .field("authenticated", &self.config.credentials.is_some())
            .field("default_from", &self.default_from.to_string())
            .field("send_timeout", &self.send_timeout)
            .finish()
    }
}

impl SmtpMessenger {
    /// A messenger for the relay at `url`, sending as `default_from` unless a message names its
    /// own sender (a pool's EmailConfiguration.From).
    ///
    /// * `smtp://[user:pass@]host[:port]` — STARTTLS when the relay offers it (port 25). A relay
    ///   that offers STARTTLS with a certificate we cannot verify then fails every send; use
    ///   `?tls=none` for such relays (local development catchers).
    /// * `smtp://…?tls=required` or `smtp+starttls://…` — STARTTLS or nothing (port 587).
    /// * `smtps://…` — implicit TLS (port 465).
    ///
    /// User name and password (percent-encoded) turn on SMTP AUTH. Certificates are checked
    /// against the operating system's trust store.
    pub fn new(url: &str, default_from: &str) -> Result<Self, ConfigError> {
        let config = SmtpConfig::parse(url)?;
        let default_from: Mailbox = default_from
            .parse()
            .map_err(|_| ConfigError::InvalidAddress(default_from.to_string()))?;
        let tls = config.tls()?;
        Ok(Self {
            transport: transport(&config, &tls, DEFAULT_SEND_TIMEOUT),
            config,
            tls,
            default_from,
            send_timeout: DEFAULT_SEND_TIMEOUT,
        })
    }

    /// Bounds a whole delivery (and the TCP connect within it) by `timeout` instead of
    /// [`DEFAULT_SEND_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.transport = transport(&self.config, &self.tls, timeout);
        self.send_timeout = timeout;
        self
    }

    /// The MIME message for `message`; every failure here is the message's own fault.
    fn compose(&self, message: &OutboundMessage) -> Result<Message, DeliveryError> {
        let mailbox = |what: &str, s: &str| {
            s.trim().parse::<Mailbox>().map_err(|_| {
                DeliveryError::Permanent(format!("invalid {what} address {:?}", s.trim()))
            })
        };
        let from = match message.from.as_deref().map(str::trim) {
            Some(from) if !from.is_empty() => mailbox("sender", from)?,
            _ => self.default_from.clone(),
        };
        // The outbox id makes retries of one message carry one Message-ID.
        let message_id = format!("<{}@{}>", message.id, from.email.domain());
        let mut builder = Message::builder()
            .message_id(Some(message_id))
            .from(from)
            .to(mailbox("recipient", &message.to)?)
            // A header value must not contain line breaks; templates may.
            .subject(
                message
                    .subject
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or(DEFAULT_SUBJECT)
                    .replace(['\r', '\n'], " "),
            );
        if let Some(reply_to) = message.reply_to.as_deref().map(str::trim)
            && !reply_to.is_empty()
        {
            builder = builder.reply_to(mailbox("reply-to", reply_to)?);
        }
        let built = if body::looks_like_html(&message.body) {
            builder.multipart(MultiPart::alternative_plain_html(
                body::html_to_text(&message.body),
                message.body.clone(),
            ))
        } else {
            builder.singlepart(SinglePart::plain(message.body.clone()))
        };
        built.map_err(|e| DeliveryError::Permanent(format!("cannot build the email: {e}")))
    }
}

/// Reply codes about our own authentication, not the message: fixing the credentials and
/// retrying delivers it, so don't let a bad password kill the whole outbox.
const AUTH_CODES: [&str; 4] = ["530", "534", "535", "538"];

fn classify(e: &lettre::transport::smtp::Error) -> DeliveryError {
    let detail = e.to_string();
    match e.status().map(|c| c.to_string()) {
        Some(code) if AUTH_CODES.contains(&code.as_str()) => {
            DeliveryError::Transient(format!("SMTP authentication failed: {detail}"))
        }
        _ if e.is_permanent() => DeliveryError::Permanent(format!("SMTP rejected: {detail}")),
        _ if e.is_transient() => DeliveryError::Transient(format!("SMTP deferred: {detail}")),
        // Connection refused or reset, TLS failure, timeout, garbled reply: the relay's state,
        // not the message's.
        _ => DeliveryError::Transient(format!("SMTP unavailable: {detail}")),
    }
}

#[async_trait::async_trait]
impl tessera_engine::Messenger for SmtpMessenger {
    fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    async fn send(&self, message: &OutboundMessage) -> Result<(), DeliveryError> {
        if message.channel != Channel::Email {
            return Err(DeliveryError::Permanent(format!(
                "the SMTP messenger cannot send {} messages",
                message.channel.as_str()
            )));
        }
        let email = self.compose(message)?;
        let outcome = tokio::time::timeout(self.send_timeout, self.transport.send(email)).await;
        let result = match outcome {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(DeliveryError::Transient(format!(
                "SMTP delivery timed out after {:?}",
                self.send_timeout
            ))),
        };
        match &result {
            Ok(()) => tracing::debug!(?message, "email handed to the SMTP relay"),
            Err(error) => tracing::debug!(?message, %error, "email not delivered"),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_tls_and_ports() {
        let c = SmtpConfig::parse("smtp://mail.test").unwrap();
        assert_eq!((c.port, c.tls), (25, TlsMode::Opportunistic));
        assert!(c.credentials.is_none());
        let c = SmtpConfig::parse("smtp://mail.test:2525?tls=none").unwrap();
        assert_eq!((c.port, c.tls), (2525, TlsMode::None));
        let c = SmtpConfig::parse("smtp://mail.test?tls=required").unwrap();
        assert_eq!((c.port, c.tls), (587, TlsMode::StartTls));
        let c = SmtpConfig::parse("smtp+starttls://u:p@mail.test").unwrap();
        assert_eq!((c.port, c.tls), (587, TlsMode::StartTls));
        assert!(c.credentials.is_some());
        let c = SmtpConfig::parse("smtps://u%40x:p%3Aw@mail.test").unwrap();
        assert_eq!((c.port, c.tls), (465, TlsMode::Implicit));
        assert_eq!(
            c.credentials,
            Some(Credentials::new("u@x".into(), "p:w".into()))
        );
        let c = SmtpConfig::parse("smtp://[::1]:2525").unwrap();
        assert_eq!(c.host, "::1");
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_secrets() {
        for url in [
            "http://mail.test",
            "smtps://mail.test?tls=none",
            "smtp://mail.test?tls=sometimes",
            "smtp://mail.test?tsl=required",
            "smtp://user@mail.test",
            "smtp://mail.test/relay",
            "not a url",
            "smtp://",
        ] {
            let err = SmtpConfig::parse(url).err().unwrap();
            assert!(!err.to_string().contains("user@"), "{url}: {err}");
        }
        let err = SmtpConfig::parse("ftp://user:hunter2@mail.test")
            .err()
            .unwrap();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn debug_hides_credentials() {
        let m = SmtpMessenger::new("smtp://user:hunter2@mail.test", "a@b.test").unwrap();
        let shown = format!("{m:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("user"),
            "{shown}"
        );
    }

    #[test]
    fn default_sender_must_parse() {
        assert_eq!(
            SmtpMessenger::new("smtp://mail.test", "not an address").err(),
            Some(ConfigError::InvalidAddress("not an address".into()))
        );
    }
}
