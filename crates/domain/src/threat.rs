//! Threat protection (Cognito's "advanced security"): the pool's mode, its risk configuration
//! (compromised credentials, account takeover, IP exceptions), the risk assessed for a sign-in
//! and the auth events that record each attempt.
//!
//! The mode lives in the pool's stored `UserPoolAddOns`; risk configurations are pool settings
//! the engine owns (one for the pool, optionally one per app client, which then replaces the
//! pool's wholesale, as Cognito does).

use crate::{DomainError, DomainResult, ErrorKind, Sub, Timestamp, UserPoolId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// `UserPoolAddOns.AdvancedSecurityMode` (and `AdvancedSecurityAdditionalFlows.CustomAuthMode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityMode {
    #[default]
    Off,
    /// Assess and record; never act.
    Audit,
    /// Assess, record and act as the risk configuration says.
    Enforced,
}

impl SecurityMode {
    fn parse(s: &str) -> Self {
        match s {
            "AUDIT" => Self::Audit,
            "ENFORCED" => Self::Enforced,
            _ => Self::Off,
        }
    }

    pub fn is_on(self) -> bool {
        self != Self::Off
    }
}

/// The pool's threat-protection mode for standard flows (password and SRP sign-in, sign-up,
/// password changes), from its stored `UserPoolAddOns`.
pub fn pool_mode(settings: &BTreeMap<String, serde_json::Value>) -> SecurityMode {
    settings
        .get("UserPoolAddOns")
        .and_then(|a| a.get("AdvancedSecurityMode"))
        .and_then(|m| m.as_str())
        .map(SecurityMode::parse)
        .unwrap_or_default()
}

/// The mode for CUSTOM_AUTH sign-ins: `AdvancedSecurityAdditionalFlows.CustomAuthMode`, off
/// unless set (and never on while the pool's mode is off).
pub fn custom_auth_mode(settings: &BTreeMap<String, serde_json::Value>) -> SecurityMode {
    if !pool_mode(settings).is_on() {
        return SecurityMode::Off;
    }
    settings
        .get("UserPoolAddOns")
        .and_then(|a| a.get("AdvancedSecurityAdditionalFlows"))
        .and_then(|f| f.get("CustomAuthMode"))
        .and_then(|m| m.as_str())
        .map(SecurityMode::parse)
        .unwrap_or_default()
}

/// Threat-protection operations on a pool whose mode is OFF.
pub fn add_on_not_enabled() -> DomainError {
    DomainError::new(
        ErrorKind::UserPoolAddOnNotEnabled,
        "Advanced security features are not enabled for this user pool.",
    )
}

/// A password found in the breach corpus, where it is being set.
pub fn compromised_password() -> DomainError {
    DomainError::new(
        ErrorKind::InvalidPassword,
        "Provided password cannot be used for security reasons.",
    )
}

/// A sign-in refused by threat protection (compromised credentials, a blocked address, a
/// high-risk attempt configured to block).
pub fn blocked_sign_in() -> DomainError {
    DomainError::not_authorized("Unable to login because of security reasons.")
}

/// Where compromised credentials are looked for (`EventFilter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CredentialEvent {
    SignIn,
    SignUp,
    PasswordChange,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompromisedCredentials {
    /// None: every event (Cognito's default).
    pub events: Option<Vec<CredentialEvent>>,
    /// BLOCK (true) or NO_ACTION (false).
    pub block: bool,
}

impl CompromisedCredentials {
    pub fn watches(&self, event: CredentialEvent) -> bool {
        self.events.as_ref().is_none_or(|e| e.contains(&event))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TakeoverAction {
    Block,
    MfaIfConfigured,
    MfaRequired,
    NoAction,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelAction {
    pub action: TakeoverAction,
    pub notify: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyEmail {
    pub subject: String,
    pub html_body: Option<String>,
    pub text_body: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyConfig {
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub source_arn: String,
    pub block_email: Option<NotifyEmail>,
    pub no_action_email: Option<NotifyEmail>,
    pub mfa_email: Option<NotifyEmail>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountTakeover {
    pub low: Option<LevelAction>,
    pub medium: Option<LevelAction>,
    pub high: Option<LevelAction>,
    pub notify: Option<NotifyConfig>,
}

impl AccountTakeover {
    pub fn action(&self, level: RiskLevel) -> Option<LevelAction> {
        match level {
            RiskLevel::Low => self.low,
            RiskLevel::Medium => self.medium,
            RiskLevel::High => self.high,
        }
    }
}

/// IP addresses exempt from assessment (`SkippedIPRangeList`) or always refused
/// (`BlockedIPRangeList`), as CIDR blocks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskExceptions {
    pub blocked: Vec<String>,
    pub skipped: Vec<String>,
}

/// A CIDR block (`10.0.0.0/8`, `2001:db8::/32`); a bare address is its own /32 or /128.
pub fn parse_cidr(s: &str) -> Option<ipnet::IpNet> {
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
}

fn in_ranges(ranges: &[String], ip: IpAddr) -> bool {
    ranges
        .iter()
        .filter_map(|r| parse_cidr(r))
        .any(|n| n.contains(&ip))
}

impl RiskExceptions {
    pub fn blocks(&self, ip: IpAddr) -> bool {
        in_ranges(&self.blocked, ip)
    }

    pub fn skips(&self, ip: IpAddr) -> bool {
        in_ranges(&self.skipped, ip)
    }
}

/// A pool's or an app client's risk configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskConfiguration {
    pub compromised_credentials: Option<CompromisedCredentials>,
    pub account_takeover: Option<AccountTakeover>,
    pub exceptions: Option<RiskExceptions>,
    pub modified_at: Option<Timestamp>,
}

impl RiskConfiguration {
    /// Checks what the model can't: CIDR blocks parse, and a level that notifies has somewhere
    /// to notify from.
    pub fn check(&self) -> DomainResult<()> {
        if let Some(e) = &self.exceptions {
            for r in e.blocked.iter().chain(&e.skipped) {
                if parse_cidr(r).is_none() {
                    return Err(DomainError::invalid_parameter(format!(
                        "Invalid IP range: {r}. Provide IP ranges in CIDR notation."
                    )));
                }
            }
        }
        if let Some(t) = &self.account_takeover {
            let notifies = [t.low, t.medium, t.high].iter().flatten().any(|a| a.notify);
            if notifies && t.notify.is_none() {
                return Err(DomainError::invalid_parameter(
                    "NotifyConfiguration is required when an action notifies users.",
                ));
            }
            if let Some(n) = &t.notify
                && n.source_arn.trim().is_empty()
            {
                return Err(DomainError::invalid_parameter(
                    "SourceArn is required in NotifyConfiguration.",
                ));
            }
        }
        Ok(())
    }

    /// What happens to a compromised password at `event` in `mode`: None when it isn't looked
    /// for, Some(block) when it is. Without a compromised-credentials configuration an
    /// ENFORCED pool blocks on every event (Tessera's secure default); an AUDIT pool only
    /// records.
    pub fn compromised_action(&self, mode: SecurityMode, event: CredentialEvent) -> Option<bool> {
        let block = match &self.compromised_credentials {
            Some(c) if !c.watches(event) => return None,
            Some(c) => c.block,
            None => true,
        };
        match mode {
            SecurityMode::Off => None,
            SecurityMode::Audit => Some(false),
            SecurityMode::Enforced => Some(block),
        }
    }
}

/// The configuration that applies to a client: its own, else the pool's, else the defaults.
pub fn effective<'a>(
    all: &'a BTreeMap<String, RiskConfiguration>,
    client_id: Option<&str>,
) -> std::borrow::Cow<'a, RiskConfiguration> {
    client_id
        .and_then(|c| all.get(c))
        .or_else(|| all.get(POOL_KEY))
        .map(std::borrow::Cow::Borrowed)
        .unwrap_or_default()
}

/// The key of the pool-wide configuration among the per-client ones.
pub const POOL_KEY: &str = "ALL";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RiskDecision {
    #[default]
    NoRisk,
    AccountTakeover,
    Block,
}

/// What Tessera can observe about a sign-in attempt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signals {
    /// The user has signed in successfully from this address before (or confirmed an event
    /// from it as theirs).
    pub known_ip: bool,
    /// The sign-in presented a device the user has confirmed.
    pub known_device: bool,
    /// The user has signed in with this user agent before.
    pub known_user_agent: bool,
    /// The user has any history at all (a first sign-in is not suspicious by novelty alone).
    pub has_history: bool,
    /// Failed sign-ins from this address, across users, in the recent window.
    pub failures_from_ip: u64,
    /// The user confirmed, through feedback, an earlier event from this address as not theirs.
    pub ip_reported_invalid: bool,
    /// A GeoIP database places the address in a country none of the user's trusted sign-ins
    /// came from.
    pub unfamiliar_country: bool,
}

/// Failures from one address in the window that make any attempt from it high risk.
pub const VELOCITY_HIGH: u64 = 20;
/// … and medium risk.
pub const VELOCITY_MEDIUM: u64 = 5;

/// The risk of a sign-in: None when nothing stands out. Novelty (new network, new device, new
/// user agent, a new country) raises it one step each past the first; many failures from the address, or an
/// address the user disowned, make it high.
pub fn assess(s: &Signals) -> Option<RiskLevel> {
    if s.ip_reported_invalid || s.failures_from_ip >= VELOCITY_HIGH {
        return Some(RiskLevel::High);
    }
    let mut score = 0;
    if s.has_history {
        if !s.known_ip {
            score += 2;
        }
        if !s.known_device {
            score += 1;
        }
        if !s.known_user_agent {
            score += 1;
        }
        if s.unfamiliar_country {
            score += 1;
        }
    }
    if s.failures_from_ip >= VELOCITY_MEDIUM {
        score += 2;
    }
    if s.known_device && s.known_ip {
        return None;
    }
    match score {
        0 => None,
        1 => Some(RiskLevel::Low),
        2 | 3 => Some(RiskLevel::Medium),
        _ => Some(RiskLevel::High),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuthEventType {
    SignIn,
    SignUp,
    ForgotPassword,
    PasswordChange,
    ResendCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventResponse {
    Pass,
    Fail,
    InProgress,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeKind {
    Password,
    Mfa,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeOutcome {
    pub challenge: ChallengeKind,
    pub success: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackValue {
    Valid,
    Invalid,
}

impl FeedbackValue {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Valid" | "valid" => Some(Self::Valid),
            "Invalid" | "invalid" => Some(Self::Invalid),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    pub value: FeedbackValue,
    /// `Admin` (AdminUpdateAuthEventFeedback) or `User` (UpdateAuthEventFeedback).
    pub provider: String,
    pub at: Timestamp,
}

/// Where an attempt came from, as far as Tessera could see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContext {
    pub ip: Option<String>,
    pub device_key: Option<String>,
    pub device_name: Option<String>,
    pub user_agent: Option<String>,
    pub timezone: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

/// One sign-in (or sign-up, password change …) attempt of a user, as AdminListUserAuthEvents
/// lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthEvent {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    pub event_id: String,
    pub event_type: AuthEventType,
    pub created_at: Timestamp,
    pub response: EventResponse,
    pub decision: RiskDecision,
    pub level: Option<RiskLevel>,
    pub compromised: bool,
    pub challenges: Vec<ChallengeOutcome>,
    pub context: EventContext,
    pub client_id: Option<String>,
    pub feedback: Option<Feedback>,
}

impl AuthEvent {
    /// Records the outcome of a challenge, replacing an earlier outcome of the same kind (a
    /// password charged as failed before it was checked, then proven).
    pub fn record(&mut self, challenge: ChallengeKind, success: bool) {
        self.challenges.retain(|c| c.challenge != challenge);
        self.challenges
            .push(ChallengeOutcome { challenge, success });
    }
}

/// How long auth events are kept by default (Cognito keeps two years of history; a smaller
/// default keeps the table small).
pub const DEFAULT_EVENT_RETENTION_DAYS: u32 = 90;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        BTreeMap::from([("UserPoolAddOns".to_string(), v)])
    }

    #[test]
    fn the_mode_comes_from_user_pool_add_ons() {
        assert_eq!(pool_mode(&BTreeMap::new()), SecurityMode::Off);
        let s = settings(json!({"AdvancedSecurityMode": "ENFORCED",
            "AdvancedSecurityAdditionalFlows": {"CustomAuthMode": "AUDIT"}}));
        assert_eq!(pool_mode(&s), SecurityMode::Enforced);
        assert_eq!(custom_auth_mode(&s), SecurityMode::Audit);
        let off = settings(json!({"AdvancedSecurityMode": "OFF",
            "AdvancedSecurityAdditionalFlows": {"CustomAuthMode": "ENFORCED"}}));
        assert_eq!(custom_auth_mode(&off), SecurityMode::Off);
    }

    #[test]
    fn compromised_actions_follow_mode_and_event_filter() {
        let none = RiskConfiguration::default();
        assert_eq!(
            none.compromised_action(SecurityMode::Enforced, CredentialEvent::SignUp),
            Some(true)
        );
        assert_eq!(
            none.compromised_action(SecurityMode::Audit, CredentialEvent::SignUp),
            Some(false)
        );
        assert_eq!(
            none.compromised_action(SecurityMode::Off, CredentialEvent::SignUp),
            None
        );
        let only_sign_in = RiskConfiguration {
            compromised_credentials: Some(CompromisedCredentials {
                events: Some(vec![CredentialEvent::SignIn]),
                block: true,
            }),
            ..Default::default()
        };
        assert_eq!(
            only_sign_in.compromised_action(SecurityMode::Enforced, CredentialEvent::SignUp),
            None
        );
        assert_eq!(
            only_sign_in.compromised_action(SecurityMode::Enforced, CredentialEvent::SignIn),
            Some(true)
        );
    }

    #[test]
    fn ranges_are_checked_and_matched() {
        let bad = RiskConfiguration {
            exceptions: Some(RiskExceptions {
                blocked: vec!["10.0.0.0/33".into()],
                skipped: vec![],
            }),
            ..Default::default()
        };
        assert_eq!(bad.check().unwrap_err().kind, ErrorKind::InvalidParameter);
        let e = RiskExceptions {
            blocked: vec!["203.0.113.0/24".into(), "2001:db8::/32".into()],
            skipped: vec!["192.0.2.7".into()],
        };
        assert!(e.blocks("203.0.113.9".parse().unwrap()));
        assert!(e.blocks("2001:db8::1".parse().unwrap()));
        assert!(!e.blocks("198.51.100.1".parse().unwrap()));
        assert!(e.skips("192.0.2.7".parse().unwrap()));
        assert!(!e.skips("192.0.2.8".parse().unwrap()));
    }

    #[test]
    fn notifying_needs_a_notify_configuration() {
        let c = RiskConfiguration {
            account_takeover: Some(AccountTakeover {
                low: None,
                medium: None,
                high: Some(LevelAction {
                    action: TakeoverAction::Block,
                    notify: true,
                }),
                notify: None,
            }),
            ..Default::default()
        };
        assert!(c.check().is_err());
    }

    #[test]
    fn the_client_configuration_replaces_the_pools() {
        let pool = RiskConfiguration {
            exceptions: Some(RiskExceptions::default()),
            ..Default::default()
        };
        let client = RiskConfiguration::default();
        let all = BTreeMap::from([
            (POOL_KEY.to_string(), pool.clone()),
            ("client1".to_string(), client.clone()),
        ]);
        assert_eq!(*effective(&all, Some("client1")), client);
        assert_eq!(*effective(&all, Some("other")), pool);
        assert_eq!(*effective(&all, None), pool);
    }

    #[test]
    fn risk_rises_with_novelty_and_failures() {
        let familiar = Signals {
            known_ip: true,
            known_device: true,
            known_user_agent: true,
            has_history: true,
            ..Default::default()
        };
        assert_eq!(assess(&familiar), None);
        // A first sign-in is not suspicious for being new.
        assert_eq!(assess(&Signals::default()), None);
        let new_network = Signals {
            known_ip: false,
            ..familiar.clone()
        };
        assert_eq!(assess(&new_network), Some(RiskLevel::Medium));
        // A new network in a country the user never signed in from is one step worse; a
        // known device on a known network stays quiet wherever it is placed.
        let abroad = Signals {
            unfamiliar_country: true,
            ..new_network.clone()
        };
        assert_eq!(assess(&abroad), Some(RiskLevel::Medium));
        let abroad_new_device = Signals {
            known_device: false,
            ..abroad.clone()
        };
        assert_eq!(assess(&abroad_new_device), Some(RiskLevel::High));
        let placed_elsewhere = Signals {
            unfamiliar_country: true,
            ..familiar.clone()
        };
        assert_eq!(assess(&placed_elsewhere), None);
        let all_new = Signals {
            known_ip: false,
            known_device: false,
            known_user_agent: false,
            ..familiar.clone()
        };
        assert_eq!(assess(&all_new), Some(RiskLevel::High));
        let hammered = Signals {
            failures_from_ip: VELOCITY_HIGH,
            ..familiar.clone()
        };
        assert_eq!(assess(&hammered), Some(RiskLevel::High));
        let disowned = Signals {
            ip_reported_invalid: true,
            ..familiar
        };
        assert_eq!(assess(&disowned), Some(RiskLevel::High));
    }
}
