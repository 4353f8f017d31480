//! Messages to users: verification codes, invitations, password resets — their templates, where
//! they go, and how destinations are shown back to clients (masked, as Cognito masks them).

use crate::error::{DomainError, DomainResult};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    /// DeliveryMedium on the wire.
    pub fn medium(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
        }
    }

    /// The attribute holding this channel's destination.
    pub fn attribute(self) -> &'static str {
        match self {
            Channel::Email => crate::attributes::EMAIL,
            Channel::Sms => crate::attributes::PHONE_NUMBER,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            _ => None,
        }
    }
}

/// A message waiting in (or delivered from) the outbox.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub id: Uuid,
    pub pool_id: String,
    pub channel: Channel,
    /// An email address or an E.164 phone number.
    pub to: String,
    /// Email only.
    pub subject: Option<String>,
    pub body: String,
    /// The pool's EmailConfiguration.From, when set (else the deployment's default sender).
    pub from: Option<String>,
    /// The pool's EmailConfiguration.ReplyToEmailAddress.
    pub reply_to: Option<String>,
    pub created_at: Timestamp,
    /// Set when the pool's CustomEmailSender / CustomSMSSender function delivers this message
    /// instead of our channels: the event it gets (which holds the code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<SenderEvent>,
}

/// A custom sender function's event, kept with the message until it is delivered.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderEvent {
    /// CustomEmailSender_SignUp, CustomSMSSender_ForgotPassword, …
    pub trigger_source: String,
    pub user_name: String,
    /// `type`, `code`, `userAttributes` (and `clientMetadata` when there was one).
    pub request: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for SenderEvent {
    // The request holds the code: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderEvent")
            .field("trigger_source", &self.trigger_source)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for OutboundMessage {
    // Bodies carry codes and temporary passwords: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("to", &mask(self.channel, &self.to))
            .finish_non_exhaustive()
    }
}

/// Where a code went, as CodeDeliveryDetails reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryDetails {
    pub destination: String,
    pub channel: Channel,
    pub attribute: String,
}

/// `jane@example.com` → `j***@e***`, as Cognito shows it.
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

/// `+15555550123` → `+*******0123`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(|c| c.is_ascii_digit()).collect();
    let keep = digits.len().min(4);
    let tail: String = digits[digits.len() - keep..].iter().collect();
    format!("+{}{tail}", "*".repeat(digits.len().saturating_sub(keep)))
}

pub fn mask(channel: Channel, to: &str) -> String {
    match channel {
        Channel::Email => mask_email(to),
        Channel::Sms => mask_phone(to),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Kept for a developer to read (`--dev` without that channel configured); never sent.
    Held,
    Delivered,
    /// Gave up: permanent failure or too many attempts.
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Held => "held",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Held, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub message: OutboundMessage,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub delivered_at: Option<Timestamp>,
}

/// What happened to one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { at: Timestamp, error: String },
    Failed { error: String },
}

/// Attempts before a message is given up on (about a day of backoff).
pub const MAX_DELIVERY_ATTEMPTS: u32 = 15;

/// How long a message that failed keeps its body (a code or a temporary password), so an
/// operator can retry it once the channel works again; after this the sweeper removes it, as
/// delivery does at once.
pub const FAILED_BODY_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Backoff after the n-th failed attempt: 2 s, 4 s, 8 s … capped at an hour.
pub fn retry_delay(attempts: u32) -> std::time::Duration {
    std::time::Duration::from_secs(2u64.saturating_pow(attempts.clamp(1, 20)).min(3600))
}

/// Which verified channel a password reset goes to, by the pool's AccountRecoverySetting
/// (lowest priority first) or, without one, Cognito's legacy order: phone, then email.
/// `Err(())` means recovery is admin-only.
#[allow(clippy::result_unit_err)]
pub fn recovery_channel(
    settings: &BTreeMap<String, Value>,
    verified: impl Fn(Channel) -> bool,
) -> Result<Option<Channel>, ()> {
    let mechanisms: Vec<(i64, String)> = settings
        .get("AccountRecoverySetting")
        .and_then(|a| a.get("RecoveryMechanisms"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|m| {
                    Some((
                        m.get("Priority")?.as_i64()?,
                        m.get("Name")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    if mechanisms.is_empty() {
        return Ok([Channel::Sms, Channel::Email]
            .into_iter()
            .find(|c| verified(*c)));
    }
    let mut ordered = mechanisms;
    ordered.sort();
    if ordered.iter().any(|(_, n)| n == "admin_only") {
        return Err(());
    }
    Ok(ordered.iter().find_map(|(_, name)| {
        let channel = match name.as_str() {
            "verified_email" => Channel::Email,
            "verified_phone_number" => Channel::Sms,
            _ => return None,
        };
        verified(channel).then_some(channel)
    }))
}

pub const CODE_PLACEHOLDER: &str = "{####}";
pub const USERNAME_PLACEHOLDER: &str = "{username}";

/// The texts a pool sends, from its settings with Cognito's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Templates {
    pub email_subject: String,
    pub email_message: String,
    pub sms_message: String,
    /// CONFIRM_WITH_LINK: the email carries a link (`{##text##}`) instead of a code.
    pub email_by_link: Option<(String, String)>,
    pub invite_email_subject: String,
    pub invite_email_message: String,
    pub invite_sms_message: String,
}

fn text<'a>(settings: &'a BTreeMap<String, Value>, path: &[&str]) -> Option<&'a str> {
    let mut v = settings.get(path[0])?;
    for p in &path[1..] {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

impl Templates {
    /// Reads the pool's message settings (VerificationMessageTemplate wins over the older
    /// EmailVerificationMessage/Subject and SmsVerificationMessage, as in Cognito).
    pub fn of(settings: &BTreeMap<String, Value>) -> Self {
        let vmt = |k: &str| text(settings, &["VerificationMessageTemplate", k]);
        let invite = |k: &str| {
            text(
                settings,
                &["AdminCreateUserConfig", "InviteMessageTemplate", k],
            )
        };
        let by_link = vmt("DefaultEmailOption") == Some("CONFIRM_WITH_LINK");
        Self {
            email_subject: vmt("EmailSubject")
                .or_else(|| text(settings, &["EmailVerificationSubject"]))
                .unwrap_or("Your verification code")
                .to_string(),
            email_message: vmt("EmailMessage")
                .or_else(|| text(settings, &["EmailVerificationMessage"]))
                .unwrap_or("Your verification code is {####}. ")
                .to_string(),
            sms_message: vmt("SmsMessage")
                .or_else(|| text(settings, &["SmsVerificationMessage"]))
                .unwrap_or("Your verification code is {####}. ")
                .to_string(),
            email_by_link: by_link.then(|| {
                (
                    vmt("EmailSubjectByLink")
                        .unwrap_or("Your verification link")
                        .to_string(),
                    vmt("EmailMessageByLink")
                        .unwrap_or("Please click the link below to verify your email address. {##Verify Email##} ")
                        .to_string(),
                )
            }),
            invite_email_subject: invite("EmailSubject")
                .unwrap_or("Your temporary password")
                .to_string(),
            invite_email_message: invite("EmailMessage")
                .unwrap_or("Your username is {username} and temporary password is {####}. ")
                .to_string(),
            invite_sms_message: invite("SMSMessage")
                .unwrap_or("Your username is {username} and temporary password is {####}. ")
                .to_string(),
        }
    }

    /// Cognito's rules for templates, checked when a pool is created or updated.
    pub fn check(settings: &BTreeMap<String, Value>) -> DomainResult<()> {
        let t = Self::of(settings);
        let need = |field: &str, value: &str, placeholder: &str| {
            if value.contains(placeholder) {
                Ok(())
            } else {
                Err(DomainError::invalid_parameter(format!(
                    "{field} must contain the placeholder {placeholder}"
                )))
            }
        };
        need(
            "The verification email message",
            &t.email_message,
            CODE_PLACEHOLDER,
        )?;
        need(
            "The verification SMS message",
            &t.sms_message,
            CODE_PLACEHOLDER,
        )?;
        need(
            "The invitation email message",
            &t.invite_email_message,
            CODE_PLACEHOLDER,
        )?;
        need(
            "The invitation email message",
            &t.invite_email_message,
            USERNAME_PLACEHOLDER,
        )?;
        need(
            "The invitation SMS message",
            &t.invite_sms_message,
            CODE_PLACEHOLDER,
        )?;
        need(
            "The invitation SMS message",
            &t.invite_sms_message,
            USERNAME_PLACEHOLDER,
        )?;
        if let Some((_, body)) = &t.email_by_link
            && link_span(body).is_none()
        {
            return Err(DomainError::invalid_parameter(
                "EmailMessageByLink must contain a {##link text##} placeholder",
            ));
        }
        Ok(())
    }
}

/// Where `{##…##}` sits in a template.
fn link_span(body: &str) -> Option<(usize, usize, &str)> {
    let start = body.find("{##")?;
    let rest = &body[start + 3..];
    let end = rest.find("##}")?;
    Some((start, start + 3 + end + 3, &rest[..end]))
}

/// Fills `{####}` and `{username}`.
pub fn render(template: &str, code: &str, username: &str) -> String {
    template
        .replace(CODE_PLACEHOLDER, code)
        .replace(USERNAME_PLACEHOLDER, username)
}

/// Replaces `{##text##}` with a link to `url` labelled `text`.
pub fn render_link(template: &str, url: &str) -> String {
    match link_span(template) {
        Some((start, end, label)) => format!(
            "{}<a href=\"{url}\">{label}</a>{}",
            &template[..start],
            &template[end..]
        ),
        None => template.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_like_cognito() {
        assert_eq!(mask_email("jane@example.com"), "j***@e***");
        assert_eq!(mask_phone("+15555550123"), "+*******0123");
    }

    #[test]
    fn templates_prefer_the_verification_template() {
        let mut s = BTreeMap::new();
        s.insert("EmailVerificationMessage".into(), json!("Old {####}"));
        s.insert(
            "VerificationMessageTemplate".into(),
            json!({"EmailMessage": "New {####}", "EmailSubject": "Hi"}),
        );
        let t = Templates::of(&s);
        assert_eq!(t.email_message, "New {####}");
        assert_eq!(t.email_subject, "Hi");
        assert_eq!(render(&t.email_message, "123456", "ann"), "New 123456");
        assert_eq!(Templates::check(&s), Ok(()));
    }

    #[test]
    fn invitations_need_both_placeholders() {
        let mut s = BTreeMap::new();
        s.insert(
            "AdminCreateUserConfig".into(),
            json!({"InviteMessageTemplate": {"EmailMessage": "Password {####}"}}),
        );
        assert!(Templates::check(&s).is_err());
        let t = Templates::of(&BTreeMap::new());
        assert_eq!(
            render(&t.invite_sms_message, "Tmp1!", "ann"),
            "Your username is ann and temporary password is Tmp1!. "
        );
    }

    #[test]
    fn recovery_follows_priorities_or_the_legacy_order() {
        let none = BTreeMap::new();
        assert_eq!(recovery_channel(&none, |_| true), Ok(Some(Channel::Sms)));
        assert_eq!(
            recovery_channel(&none, |c| c == Channel::Email),
            Ok(Some(Channel::Email))
        );
        assert_eq!(recovery_channel(&none, |_| false), Ok(None));
        let mut s = BTreeMap::new();
        s.insert(
            "AccountRecoverySetting".into(),
            json!({"RecoveryMechanisms": [
                {"Name": "verified_phone_number", "Priority": 2},
                {"Name": "verified_email", "Priority": 1}
            ]}),
        );
        assert_eq!(recovery_channel(&s, |_| true), Ok(Some(Channel::Email)));
        s.insert(
            "AccountRecoverySetting".into(),
            json!({"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]}),
        );
        assert_eq!(recovery_channel(&s, |_| true), Err(()));
        assert_eq!(retry_delay(1).as_secs(), 2);
        assert_eq!(retry_delay(30).as_secs(), 3600);
    }

    #[test]
    fn links_replace_their_placeholder() {
        assert_eq!(
            render_link("Go: {##Verify##} now", "https://x/confirm?c=1"),
            "Go: <a href=\"https://x/confirm?c=1\">Verify</a> now"
        );
    }
}
