//! One [`Messenger`] for the engine made of the per-channel ones the operator configured.

use std::sync::Arc;
use tessera_domain::messages::{Channel, OutboundMessage};
use tessera_engine::{DeliveryError, Messenger};

/// Routes each message to the messenger for its channel: email to one, SMS to the other.
/// A channel with no messenger is unsupported, and its messages fail permanently.
#[derive(Clone, Default)]
pub struct Messengers {
    email: Option<Arc<dyn Messenger>>,
    sms: Option<Arc<dyn Messenger>>,
}

impl std::fmt::Debug for Messengers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Messengers")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .finish()
    }
}

impl Messengers {
    /// No channels: every message fails permanently.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends email through `messenger` (usually an [`SmtpMessenger`](crate::SmtpMessenger)).
    pub fn with_email(mut self, messenger: impl Messenger) -> Self {
        self.email = Some(Arc::new(messenger));
        self
    }

    /// Sends SMS through `messenger` (usually an [`SmsWebhook`](crate::SmsWebhook)).
    pub fn with_sms(mut self, messenger: impl Messenger) -> Self {
        self.sms = Some(Arc::new(messenger));
        self
    }

    fn route(&self, channel: Channel) -> Option<&Arc<dyn Messenger>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

#[async_trait::async_trait]
impl Messenger for Messengers {
    fn supports(&self, channel: Channel) -> bool {
        self.route(channel).is_some_and(|m| m.supports(channel))
    }

    async fn send(&self, message: &OutboundMessage) -> Result<(), DeliveryError> {
        match self.route(message.channel) {
            Some(messenger) if messenger.supports(message.channel) => messenger.send(message).await,
            _ => Err(DeliveryError::Permanent(format!(
                "no {} delivery is configured",
                message.channel.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tessera_domain::Timestamp;
    use uuid::Uuid;

    #[derive(Default)]
    struct Recorder {
        channel: Option<Channel>,
        sent: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait::async_trait]
    impl Messenger for Recorder {
        fn supports(&self, channel: Channel) -> bool {
            self.channel == Some(channel)
        }
        async fn send(&self, message: &OutboundMessage) -> Result<(), DeliveryError> {
            self.sent.lock().unwrap().push(message.to.clone());
            Ok(())
        }
    }

    fn message(channel: Channel, to: &str) -> OutboundMessage {
        OutboundMessage {
            id: Uuid::new_v4(),
            pool_id: "us-east-1_test".into(),
            channel,
            to: to.into(),
            subject: None,
            body: "Your code is 1".into(),
            from: None,
            reply_to: None,
            created_at: Timestamp::from_millis(0),
            sender: None,
        }
    }

    #[tokio::test]
    async fn dispatches_by_channel() {
        let emails = Arc::new(Mutex::new(Vec::new()));
        let texts = Arc::new(Mutex::new(Vec::new()));
        let router = Messengers::new()
            .with_email(Recorder {
                channel: Some(Channel::Email),
                sent: emails.clone(),
            })
            .with_sms(Recorder {
                channel: Some(Channel::Sms),
                sent: texts.clone(),
            });
        assert!(router.supports(Channel::Email) && router.supports(Channel::Sms));
        router
            .send(&message(Channel::Email, "a@b.test"))
            .await
            .unwrap();
        router
            .send(&message(Channel::Sms, "+15555550123"))
            .await
            .unwrap();
        assert_eq!(*emails.lock().unwrap(), ["a@b.test"]);
        assert_eq!(*texts.lock().unwrap(), ["+15555550123"]);
    }

    #[tokio::test]
    async fn unconfigured_channels_fail_permanently() {
        let router = Messengers::new().with_email(Recorder {
            channel: Some(Channel::Email),
            ..Recorder::default()
        });
        assert!(router.supports(Channel::Email));
        assert!(!router.supports(Channel::Sms));
        assert!(matches!(
            router.send(&message(Channel::Sms, "+15555550123")).await,
            Err(DeliveryError::Permanent(_))
        ));
        // A messenger put on the wrong channel doesn't make that channel supported.
        let wrong = Messengers::new().with_sms(Recorder {
            channel: Some(Channel::Email),
            ..Recorder::default()
        });
        assert!(!wrong.supports(Channel::Sms));
        assert!(matches!(
            wrong.send(&message(Channel::Sms, "+15555550123")).await,
            Err(DeliveryError::Permanent(_))
        ));
    }
}
