//! Codes and messages: issuing a code writes its digest and its message in the caller's
//! transaction (so neither exists without the other), and [`Engine::deliver_outbox`] sends what
//! is due through a [`Messenger`], retrying transient failures with backoff.

use crate::error::{EngineError, EngineResult};
use crate::ports::InvokeError;
use crate::triggers::attributes_of;
use crate::{Engine, Messenger};
use serde_json::json;
use tessera_domain::UserPoolId;
use tessera_domain::codes::{self, CodePurpose, Verdict, VerificationCode};
use tessera_domain::messages::{
    self, Channel, DeliveryDetails, DeliveryOutcome, OutboundMessage, OutboxStatus, SenderEvent,
    Templates,
};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::CustomMessageResponse;
use tessera_domain::triggers::{Event, Trigger};
use tessera_domain::user::User;
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::Tx;

/// How a deployment delivers messages.
#[derive(Clone, Debug, Default)]
pub struct Delivery {
    /// Channels a messenger is configured for.
    pub channels: Vec<Channel>,
    /// `--dev`: messages for unconfigured channels are kept in the outbox (status held) for a
    /// developer to read, instead of failing the request.
    pub hold_unconfigured: bool,
}

/// What a message is for, which decides its template.
pub(crate) enum MessageKind<'a> {
    Code {
        code: &'a str,
    },
    /// CONFIRM_WITH_LINK sign-up confirmation.
    Link {
        url: &'a str,
    },
    Invite {
        temporary_password: &'a str,
    },
    /// An SMS_MFA or EMAIL_OTP code, worded by the pool's MFA settings.
    MfaCode {
        code: &'a str,
    },
}

/// Why a message is sent (Cognito's event name: SignUp, ResendCode, ForgotPassword,
/// UpdateUserAttribute, VerifyUserAttribute, AdminCreateUser, Authentication), with a
/// CustomMessage function's wording of it when the pool has one.
#[derive(Clone, Debug)]
pub(crate) struct Letter {
    pub event: &'static str,
    pub wording: Option<CustomMessageResponse>,
}

impl Letter {
    pub(crate) fn plain(event: &'static str) -> Self {
        Letter {
            event,
            wording: None,
        }
    }
}

/// The pool function that delivers `channel`'s messages instead of us, when it names one.
fn sender_trigger(channel: Channel) -> Trigger {
    match channel {
        Channel::Email => Trigger::CustomEmailSender,
        Channel::Sms => Trigger::CustomSmsSender,
    }
}

/// How long a claimed message stays hidden from other senders.
const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

fn setting<'a>(pool: &'a UserPool, path: &[&str]) -> Option<&'a str> {
    let mut v = pool.config.settings.get(path[0])?;
    for p in &path[1..] {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

impl Engine {
    /// The status a new message on `channel` gets, or CodeDeliveryFailureException when nothing
    /// can deliver it (checked before anything is written).
    pub(crate) fn outbox_status(&self, channel: Channel) -> EngineResult<OutboxStatus> {
        let d = &self.inner.settings.delivery;
        if d.channels.contains(&channel) {
            Ok(OutboxStatus::Pending)
        } else if d.hold_unconfigured {
            Ok(OutboxStatus::Held)
        } else {
            Err(DomainError::new(
                ErrorKind::CodeDeliveryFailure,
                format!(
                    "Unable to deliver the message: no {} channel is configured (see --smtp-url and --sms-webhook).",
                    channel.as_str()
                ),
            )
            .into())
        }
    }

    fn code_digest(
        &self,
        pool: &UserPool,
        user: &User,
        purpose: &CodePurpose,
        code: &str,
    ) -> Vec<u8> {
        self.inner
            .master
            .derive(&[
                b"verification-code",
                pool.id.as_str().as_bytes(),
                user.sub.to_string().as_bytes(),
                purpose.key().as_bytes(),
                code.as_bytes(),
            ])
            .to_vec()
    }

    /// Renders and queues one message in `tx`.
    pub(crate) async fn enqueue(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        (channel, to): (Channel, &str),
        (kind, letter): (MessageKind<'_>, &Letter),
        now: Timestamp,
    ) -> EngineResult<DeliveryDetails> {
        let custom_sender = Self::has_trigger(pool, sender_trigger(channel));
        // A pool's own sender function needs none of our channels.
        let status = if custom_sender {
            OutboxStatus::Pending
        } else {
            self.outbox_status(channel)?
        };
        let t = Templates::of(&pool.config.settings);
        let mfa = &pool.config.mfa_factors;
        let username = user.username.as_str();
        // The pool's wording: (subject, template, what fills the code placeholder).
        let (subject, template, secret) = match (&kind, channel) {
            (MessageKind::Code { code }, Channel::Email) => (
                Some(t.email_subject.as_str()),
                t.email_message.as_str(),
                *code,
            ),
            (MessageKind::Code { code }, Channel::Sms) => (None, t.sms_message.as_str(), *code),
            (MessageKind::Link { url }, _) => {
                let (subject, body) = t
                    .email_by_link
                    .as_ref()
                    .map(|(s, b)| (s.as_str(), b.as_str()))
                    .unwrap_or((t.email_subject.as_str(), t.email_message.as_str()));
                (Some(subject), body, *url)
            }
            (MessageKind::Invite { temporary_password }, Channel::Email) => (
                Some(t.invite_email_subject.as_str()),
                t.invite_email_message.as_str(),
                *temporary_password,
            ),
            (MessageKind::Invite { temporary_password }, Channel::Sms) => {
                (None, t.invite_sms_message.as_str(), *temporary_password)
            }
            (MessageKind::MfaCode { code }, Channel::Email) => {
                (Some(mfa.email_subject()), mfa.email_message(), *code)
            }
            (MessageKind::MfaCode { code }, Channel::Sms) => (None, mfa.sms_message(), *code),
        };
        // A CustomMessage function's wording replaces the pool's, part by part.
        let (subject, template) = match (letter.wording.as_ref(), channel) {
            (Some(w), Channel::Email) => (
                w.email_subject.as_deref().or(subject),
                w.email_message.as_deref().unwrap_or(template),
            ),
            (Some(w), Channel::Sms) => (subject, w.sms_message.as_deref().unwrap_or(template)),
            (None, _) => (subject, template),
        };
        let body = match kind {
            MessageKind::Link { .. } => messages::render_link(template, secret),
            _ => messages::render(template, secret, username),
        };
        let sender = custom_sender.then(|| {
            let kind = match channel {
                Channel::Email => "customEmailSenderRequestV1",
                Channel::Sms => "customSMSSenderRequestV1",
            };
            let mut request = serde_json::Map::new();
            request.insert("type".into(), json!(kind));
            request.insert("code".into(), json!(secret));
            request.insert("userAttributes".into(), attributes_of(pool, user));
            SenderEvent {
                trigger_source: format!("{}_{}", sender_trigger(channel).name(), letter.event),
                user_name: username.to_string(),
                request,
            }
        });
        let subject = subject.map(String::from);
        let message = OutboundMessage {
            id: crate::random_uuid(),
            pool_id: pool.id.to_string(),
            channel,
            to: to.to_string(),
            subject,
            body,
            from: setting(pool, &["EmailConfiguration", "From"]).map(String::from),
            reply_to: setting(pool, &["EmailConfiguration", "ReplyToEmailAddress"])
                .map(String::from),
            created_at: now,
            sender,
        };
        tx.enqueue_message(&message, status).await?;
        self.inner.outbox_ready.notify_one();
        tracing::info!(pool = %pool.id, sub = %user.sub, ?message, status = status.as_str(), "message queued");
        Ok(DeliveryDetails {
            destination: messages::mask(channel, to),
            channel,
            attribute: channel.attribute().to_string(),
        })
    }

    /// Issues a fresh code for `purpose` (replacing any live one), sends it to the user's
    /// `channel` destination (or `to`, for a value not yet stored), and returns where it went.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_code(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        purpose: CodePurpose,
        channel: Channel,
        to: &str,
        pending_value: Option<String>,
        link: Option<&(dyn Fn(&str) -> String + Sync)>,
        wording: &Letter,
        now: Timestamp,
    ) -> EngineResult<DeliveryDetails> {
        let previous = tx.get_code(&pool.id, &user.sub, &purpose.key()).await?;
        let recent_sends = codes::record_send(
            previous
                .as_ref()
                .map(|c| c.recent_sends.as_slice())
                .unwrap_or(&[]),
            now,
        )?;
        let code = codes::six_digits(&tessera_crypto::random::bytes::<32>())
            .ok_or_else(|| EngineError::Internal("could not draw a code".into()))?;
        let record = VerificationCode {
            digest: self.code_digest(pool, user, &purpose, &code),
            created_at: now,
            expires_at: now.plus(purpose.lifetime()),
            failed_attempts: 0,
            pending_value,
            sent_to: Some(channel.attribute().to_string()),
            recent_sends,
            purpose,
        };
        tx.put_code(&pool.id, &user.sub, &record).await?;
        // A link only where the pool chose CONFIRM_WITH_LINK, and only by email.
        let by_link = Templates::of(&pool.config.settings).email_by_link.is_some();
        let url = match (link, channel) {
            (Some(make), Channel::Email) if by_link => Some(make(&code)),
            _ => None,
        };
        let kind = match &url {
            Some(url) => MessageKind::Link { url },
            None => MessageKind::Code { code: &code },
        };
        self.enqueue(tx, pool, user, (channel, to), (kind, wording), now)
            .await
    }

    /// Checks a presented code in `tx`. `Ok(Ok(code))`: accepted and deleted. `Ok(Err(e))`: the
    /// client's error; the caller must commit `tx` (a wrong guess is counted) and return `e`.
    pub(crate) async fn check_code(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        purpose: &CodePurpose,
        presented: &str,
        now: Timestamp,
    ) -> EngineResult<Result<VerificationCode, DomainError>> {
        let Some(mut code) = tx.get_code(&pool.id, &user.sub, &purpose.key()).await? else {
            return Ok(Err(codes::mismatch()));
        };
        let digest = self.code_digest(pool, user, purpose, presented.trim());
        let matches = tessera_crypto::constant_time_eq(&digest, &code.digest);
        Ok(match code.judge(matches, now) {
            Verdict::Accepted => {
                tx.delete_code(&pool.id, &user.sub, &purpose.key()).await?;
                Ok(code)
            }
            Verdict::Wrong => {
                code.failed_attempts += 1;
                tx.put_code(&pool.id, &user.sub, &code).await?;
                Err(codes::mismatch())
            }
            Verdict::Expired => Err(codes::expired()),
            Verdict::Spent => Err(codes::limit_exceeded()),
        })
    }

    /// Sends what is due (at most `limit` messages). Returns how many were attempted.
    pub async fn deliver_outbox(
        &self,
        messenger: &dyn Messenger,
        limit: usize,
    ) -> EngineResult<usize> {
        let now = self.now();
        let claimed = {
            let mut tx = self.inner.store.begin().await?;
            let claimed = tx.claim_messages(now, now.plus(LEASE), limit).await?;
            tx.commit().await?;
            claimed
        };
        let n = claimed.len();
        for (message, attempts) in claimed {
            let outcome = if let Some(sender) = &message.sender {
                self.hand_to_sender(&message, sender, attempts).await
            } else if !messenger.supports(message.channel) {
                DeliveryOutcome::Failed {
                    error: format!("no messenger for {}", message.channel.as_str()),
                }
            } else {
                match messenger.send(&message).await {
                    Ok(()) => DeliveryOutcome::Delivered,
                    Err(crate::DeliveryError::Permanent(e)) => DeliveryOutcome::Failed { error: e },
                    Err(crate::DeliveryError::Transient(e)) => self.retry_or_fail(e, attempts),
                }
            };
            crate::telemetry::delivery(message.channel, &outcome);
            match &outcome {
                DeliveryOutcome::Delivered => {
                    tracing::info!(?message, attempts, "message delivered")
                }
                DeliveryOutcome::Retry { error, .. } => {
                    tracing::warn!(?message, attempts, %error, "message delivery failed; will retry")
                }
                DeliveryOutcome::Failed { error } => {
                    tracing::error!(?message, attempts, %error, "message delivery failed permanently")
                }
            }
            let mut tx = self.inner.store.begin().await?;
            tx.record_delivery(&message.id, &outcome, self.now())
                .await?;
            tx.commit().await?;
            match &outcome {
                DeliveryOutcome::Delivered => {}
                DeliveryOutcome::Retry { error, .. } => {
                    self.log_notification_error(
                        &message.pool_id,
                        message.channel.as_str(),
                        error,
                        false,
                    )
                    .await
                }
                DeliveryOutcome::Failed { error } => {
                    self.log_notification_error(
                        &message.pool_id,
                        message.channel.as_str(),
                        error,
                        true,
                    )
                    .await
                }
            }
        }
        Ok(n)
    }

    /// Delivers a message through the pool's CustomEmailSender / CustomSMSSender function
    /// (an asynchronous invocation, as Cognito makes it).
    async fn hand_to_sender(
        &self,
        message: &OutboundMessage,
        sender: &SenderEvent,
        attempts: u32,
    ) -> DeliveryOutcome {
        let pool = match self.pool_of(message).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                return DeliveryOutcome::Failed {
                    error: "the pool is gone".into(),
                };
            }
            Err(e) => return self.retry_or_fail(e.to_string(), attempts),
        };
        let trigger = sender_trigger(message.channel);
        let mut event = Event::new(trigger, &sender.trigger_source, &sender.user_name);
        event.request = sender.request.clone();
        match self.run_trigger_async(&pool, None, event).await {
            Ok(()) => DeliveryOutcome::Delivered,
            Err(InvokeError::Unavailable(e)) => self.retry_or_fail(e, attempts),
            Err(InvokeError::Function(e) | InvokeError::InvalidResponse(e)) => {
                DeliveryOutcome::Failed { error: e }
            }
        }
    }

    /// The pool a queued message belongs to, if it still exists.
    async fn pool_of(&self, message: &OutboundMessage) -> EngineResult<Option<UserPool>> {
        let Ok(id) = UserPoolId::parse(&message.pool_id) else {
            return Ok(None);
        };
        let mut tx = self.inner.store.read().await?;
        Ok(tx.get_pool(&id).await?)
    }

    fn retry_or_fail(&self, error: String, attempts: u32) -> DeliveryOutcome {
        if attempts >= messages::MAX_DELIVERY_ATTEMPTS {
            DeliveryOutcome::Failed { error }
        } else {
            DeliveryOutcome::Retry {
                at: self.now().plus(messages::retry_delay(attempts)),
                error,
            }
        }
    }

    /// Wakes when a message has been queued (the delivery worker waits on it).
    pub fn outbox_ready(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.inner.outbox_ready.clone()
    }

    /// The newest messages, for `tessera outbox` and the `--dev` listing.
    pub async fn list_outbox(
        &self,
        pool: Option<&tessera_domain::UserPoolId>,
        limit: usize,
    ) -> EngineResult<Vec<messages::OutboxEntry>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.list_outbox(pool, limit).await?)
    }
}

/// A stand-in for where a code would go, for unknown users under PreventUserExistenceErrors.
pub(crate) fn simulated_delivery(engine: &Engine, pool: &UserPool, name: &str) -> DeliveryDetails {
    if tessera_domain::attributes::valid_phone(name) {
        return DeliveryDetails {
            destination: messages::mask_phone(name),
            channel: Channel::Sms,
            attribute: "phone_number".into(),
        };
    }
    let destination = if tessera_domain::attributes::valid_email(name) {
        messages::mask_email(name)
    } else {
        // Two letters derived from the name, stable like a real user's address would be.
        let d = engine.inner.master.derive(&[
            b"fake-destination",
            pool.id.as_str().as_bytes(),
            name.as_bytes(),
        ]);
        let letter = |b: u8| (b'a' + b % 26) as char;
        format!("{}***@{}***", letter(d[0]), letter(d[1]))
    };
    DeliveryDetails {
        destination,
        channel: Channel::Email,
        attribute: "email".into(),
    }
}
