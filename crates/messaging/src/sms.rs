//! Text messages through the operator's HTTP webhook: Tessera doesn't speak to SMS carriers
//! itself; a small service of the operator's (or a Twilio/SNS shim) receives one JSON POST per
//! message.

use crate::error::ConfigError;
use reqwest::{StatusCode, Url};
use serde::Serialize;
use std::time::Duration;
use tessera_domain::messages::{Channel, OutboundMessage};
use tessera_engine::DeliveryError;
use tessera_outbound::error_chain;
use uuid::Uuid;

/// How long one webhook call (connect, request, response) may take by default.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this much of an error response is read, to quote it in the failure.
const ERROR_BODY_LIMIT: usize = 2048;

/// The JSON body of each POST.
#[derive(Serialize)]
struct SmsRequest<'a> {
    id: Uuid,
    pool_id: &'a str,
    /// E.164, e.g. `+15555550123`.
    destination: &'a str,
    message: &'a str,
}

/// Delivers [`Channel::Sms`] messages by POSTing
/// `{"id", "pool_id", "destination", "message"}` as JSON to one URL.
///
/// 2xx is delivered; 5xx, 429, connection failures and timeouts are transient; any other answer
/// (4xx, or a redirect, which is not followed) is permanent.
#[derive(Clone)]
pub struct SmsWebhook {
    client: reqwest::Client,
    url: Url,
    allow_private: bool,
    timeout: Duration,
}

impl std::fmt::Debug for SmsWebhook {
    // The path or query may carry a token: show only where it goes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsWebhook")
            .field("scheme", &self.url.scheme())
            .field("host", &self.url.host_str())
            .field("port", &self.url.port_or_known_default())
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmsWebhook {
    /// A webhook messenger POSTing to `url` (`http://` or `https://`).
    ///
    /// Unless `allow_private`, the webhook may only reach public addresses: an IP literal is
    /// checked here, a host name each time it is resolved (see `tessera_outbound`). Operators
    /// whose SMS gateway runs on their own network turn `allow_private` on.
    pub fn new(url: &str, allow_private: bool) -> Result<Self, ConfigError> {
        let url = Url::parse(url).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::Unsupported(format!(
                "scheme {}:// for the SMS webhook (use http:// or https://)",
                url.scheme()
            )));
        }
        if url.host_str().is_none() {
            return Err(ConfigError::InvalidUrl(
                "the webhook URL has no host".into(),
            ));
        }
        tessera_outbound::check_ip_literal(&url, allow_private)
            .map_err(|tessera_outbound::ForbiddenAddress(ip)| ConfigError::ForbiddenAddress(ip))?;
        let client = tessera_outbound::client_builder(allow_private)
            .connect_timeout(DEFAULT_WEBHOOK_TIMEOUT)
            .build()
            .map_err(|e| ConfigError::Client(e.to_string()))?;
        Ok(Self {
            client,
            url,
            allow_private,
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
        })
    }

    /// Bounds each call by `timeout` instead of [`DEFAULT_WEBHOOK_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn classify_request_error(e: reqwest::Error) -> DeliveryError {
    // The URL's path or query may hold a token; failures end up in the outbox and in logs.
    let e = &e.without_url();
    if tessera_outbound::is_refusal(e) {
        DeliveryError::Permanent(format!("SMS webhook refused: {}", error_chain(e)))
    } else if e.is_builder() {
        DeliveryError::Permanent(format!("cannot build the SMS webhook call: {e}"))
    } else if e.is_timeout() {
        DeliveryError::Transient("SMS webhook timed out".into())
    } else {
        // Connection refused or reset, DNS failure, TLS failure, truncated response.
        DeliveryError::Transient(format!("SMS webhook unreachable: {}", error_chain(e)))
    }
}

/// The start of a response body, for the failure message; never more than `ERROR_BODY_LIMIT`.
async fn body_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_LIMIT);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

#[async_trait::async_trait]
impl tessera_engine::Messenger for SmsWebhook {
    fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Sms
    }

    async fn send(&self, message: &OutboundMessage) -> Result<(), DeliveryError> {
        if message.channel != Channel::Sms {
            return Err(DeliveryError::Permanent(format!(
                "the SMS webhook cannot send {} messages",
                message.channel.as_str()
            )));
        }
        let request = SmsRequest {
            id: message.id,
            pool_id: &message.pool_id,
            destination: &message.to,
            message: &message.body,
        };
        let response = self
            .client
            .post(self.url.clone())
            .timeout(self.timeout)
            .json(&request)
            .send()
            .await;
        let result = match response {
            Err(e) => Err(classify_request_error(e)),
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else {
                    let excerpt = body_excerpt(response).await;
                    let mut detail = format!("SMS webhook answered {status}");
                    if !excerpt.is_empty() {
                        detail = format!("{detail}: {excerpt}");
                    }
                    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                        Err(DeliveryError::Transient(detail))
                    } else {
                        Err(DeliveryError::Permanent(detail))
                    }
                }
            }
        };
        match &result {
            Ok(()) => tracing::debug!(?message, "SMS handed to the webhook"),
            Err(error) => tracing::debug!(?message, %error, "SMS not delivered"),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_literals_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9000/sms",
            "http://2130706433/sms",
            "http://10.0.0.5/sms",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]:8080/",
            "https://[fd00::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://0.0.0.0/",
        ] {
            assert!(
                matches!(
                    SmsWebhook::new(url, false),
                    Err(ConfigError::ForbiddenAddress(_))
                ),
                "{url}"
            );
            assert!(SmsWebhook::new(url, true).is_ok(), "{url}");
        }
        assert!(SmsWebhook::new("https://sms.example.com/hook", false).is_ok());
        assert!(SmsWebhook::new("https://8.8.8.8/hook", false).is_ok());
    }

    #[test]
    fn only_http_urls() {
        assert!(matches!(
            SmsWebhook::new("ftp://sms.example.com/", true),
            Err(ConfigError::Unsupported(_))
        ));
        assert!(matches!(
            SmsWebhook::new("sms.example.com/hook", true),
            Err(ConfigError::InvalidUrl(_))
        ));
    }

    #[test]
    fn debug_hides_the_path() {
        let hook = SmsWebhook::new("https://sms.example.com/hook?token=s3cret", false).unwrap();
        assert!(!format!("{hook:?}").contains("s3cret"));
    }
}
