//! Threat protection: SetRiskConfiguration, DescribeRiskConfiguration, AdminListUserAuthEvents,
//! AdminUpdateAuthEventFeedback, UpdateAuthEventFeedback; the compromised-password screen that
//! sign-up and every password change pass through; and the judgement of each sign-in (auth
//! event, risk level, configured action, notification).
//!
//! A sign-in's event is written pessimistically, as a failure, in the same transaction that
//! charges the attempt against lockout; the transaction that settles a proven password turns it
//! into InProgress or a block, and the one that issues tokens into Pass. So whatever the outcome,
//! and even after a crash in between, the event says what the store says.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::pools::{decode_token, encode_token, put_setting, setting};
use crate::signin::SignIn;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tessera_domain::messages::{Channel, OutboundMessage};
use tessera_domain::pool::UserPool;
use tessera_domain::threat::{
    self, AuthEvent, AuthEventType, ChallengeKind, CredentialEvent, EventContext, EventResponse,
    Feedback, FeedbackValue, LevelAction, NotifyEmail, POOL_KEY, RiskConfiguration, RiskDecision,
    SecurityMode, TakeoverAction,
};
use tessera_domain::user::User;
use tessera_domain::{DomainError, Sub, Timestamp, UserPoolId};
use tessera_store::Tx;

/// The pool setting holding its risk configurations, keyed by client id ([`POOL_KEY`] for the
/// pool's own).
pub(crate) const RISK_CONFIGURATIONS: &str = "RiskConfigurations";

/// Where a request came from, as the HTTP edge determined it (the peer address, or the
/// X-Forwarded-For entry a trusted proxy added; ContextData's address on admin calls).
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

tokio::task_local! {
    static ORIGIN: Origin;
}

/// Runs `f` with `origin` as the current request's origin.
pub async fn with_origin<F: Future>(origin: Origin, f: F) -> F::Output {
    ORIGIN.scope(origin, f).await
}

/// The current request's origin (empty outside a request).
pub fn origin() -> Origin {
    ORIGIN.try_with(Clone::clone).unwrap_or_default()
}

impl crate::Engine {
    /// The origin a public call's `UserContextData.IpAddress` describes: the end user's address
    /// as the app's own server saw it, believed only when the app client propagates additional
    /// user context data (`EnablePropagateAdditionalUserContextData`, which Cognito allows only
    /// on clients with a secret). `None`: keep the request's own origin.
    pub async fn user_context_origin(
        &self,
        client_id: &str,
        ip_address: Option<&str>,
    ) -> crate::error::EngineResult<Option<Origin>> {
        let Some(ip) = ip_address.and_then(|a| a.trim().parse::<IpAddr>().ok()) else {
            return Ok(None);
        };
        let client = {
            let mut tx = self.inner.store.read().await?;
            match self.load_client(&mut *tx, client_id).await {
                Ok(c) => c,
                // The call itself will say what is wrong with its client.
                Err(crate::EngineError::Client(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        };
        let propagates = client
            .config
            .settings
            .get("EnablePropagateAdditionalUserContextData")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if !propagates || client.secrets.is_empty() {
            return Ok(None);
        }
        Ok(Some(Origin {
            ip: Some(ip),
            user_agent: origin().user_agent,
        }))
    }
}

/// The k-anonymity range API (Have I Been Pwned's `range/{prefix}`): the answer for a 5-hex
/// prefix, or why there is none. Implemented by the server behind the outbound guard.
#[async_trait]
pub trait BreachRange: Send + Sync {
    async fn range(&self, prefix: &str) -> Result<String, String>;
}

/// Where an address is, from a GeoIP database the server loaded (MaxMind's GeoLite2/GeoIP2
/// City format): the city and country an auth event shows, and a country the user has never
/// signed in from counts as novelty.
pub trait GeoLocate: Send + Sync {
    fn locate(&self, ip: IpAddr) -> Option<Place>;
}

/// A located address: names as the database gives them in English, the country as its ISO
/// 3166-1 alpha-2 code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub city: Option<String>,
    pub country: Option<String>,
}

/// The deployment's breach corpus and threat-protection settings.
#[derive(Clone)]
pub struct ThreatConfig {
    /// A filter imported with `tessera breach import` (the embedded list is always consulted).
    pub filter: Option<Arc<tessera_breach::FilterFile>>,
    pub range: Option<Arc<dyn BreachRange>>,
    /// A GeoIP database, if one is configured.
    pub geo: Option<Arc<dyn GeoLocate>>,
    /// The longest a range lookup may take; past it the password counts as not found.
    pub range_timeout: Duration,
    /// Auth events older than this are pruned.
    pub event_retention: Duration,
}

impl Default for ThreatConfig {
    fn default() -> Self {
        Self {
            filter: None,
            range: None,
            geo: None,
            range_timeout: Duration::from_millis(1500),
            event_retention: Duration::from_secs(
                86_400 * u64::from(threat::DEFAULT_EVENT_RETENTION_DAYS),
            ),
        }
    }
}

/// Failed sign-ins from one address within this window count towards its velocity.
const VELOCITY_WINDOW: Duration = Duration::from_secs(15 * 60);

/// How long the feedback links of a notification stay usable.
const FEEDBACK_TOKEN_VALIDITY: Duration = Duration::from_secs(7 * 86_400);

const FEEDBACK_PURPOSE: &str = "auth-event-feedback";

/// A risk configuration as found: for a client or the pool ([`POOL_KEY`]).
pub struct FoundRiskConfiguration {
    pub client_id: Option<String>,
    pub config: RiskConfiguration,
}

/// The result of screening a new password: whether threat protection looked and what it saw.
pub(crate) struct Screening {
    mode: SecurityMode,
    compromised: bool,
}

/// What the judgement of a sign-in decided.
pub(crate) enum Judgement {
    /// Threat protection is off for this sign-in.
    Untracked,
    /// Carry on, recording into this event; `risk_mfa`: a second factor is owed whatever the
    /// pool's MFA setting.
    Proceed { event_id: String, risk_mfa: bool },
}

/// The second factor a risk-driven MFA would ask for, if the user has one the pool allows
/// (a registered TOTP, or a phone number / email address for SMS / email codes).
fn risk_mfa_possible(pool: &UserPool, user: &User) -> bool {
    let has = |a: &str| user.attribute(a).is_some_and(|v| !v.is_empty());
    matches!(
        tessera_domain::mfa::mfa_step(
            tessera_domain::pool::MfaMode::On,
            &pool.config.mfa_factors,
            &user.mfa,
            has(tessera_domain::attributes::PHONE_NUMBER),
            has(tessera_domain::attributes::EMAIL),
        ),
        tessera_domain::mfa::MfaStep::Challenge(_) | tessera_domain::mfa::MfaStep::Select(_)
    )
}

/// The sealed content of a feedback token.
#[derive(serde::Serialize, serde::Deserialize)]
struct FeedbackClaim {
    pool: String,
    sub: Sub,
    event: String,
    exp: i64,
}

impl Engine {
    /// Installs the deployment's breach corpus and settings (once, at start).
    pub fn configure_threat(&self, config: ThreatConfig) {
        let _ = self.inner.threat.set(config);
    }

    fn threat_config(&self) -> ThreatConfig {
        self.inner.threat.get().cloned().unwrap_or_default()
    }

    /// Whether a password is in the breach corpus: the embedded list, the imported filter, then
    /// (when configured) the range API, whose failures and timeouts count as "not found".
    pub async fn password_breached(&self, password: &str) -> bool {
        let digest = tessera_breach::sha1(password);
        if tessera_breach::embedded(&digest) {
            return true;
        }
        let config = self.threat_config();
        if let Some(filter) = &config.filter {
            match filter.contains(&digest) {
                Ok(true) => return true,
                Ok(false) => {}
                // The file was checked at start; a read failing now (a disk error) must not
                // stop sign-in: the password counts as not found, as with the range API.
                Err(e) => tracing::warn!(error = %e, "breach filter lookup failed"),
            }
        }
        let Some(range) = config.range else {
            return false;
        };
        let prefix = tessera_breach::range_prefix(&digest);
        match tokio::time::timeout(config.range_timeout, range.range(&prefix)).await {
            Ok(Ok(body)) => tessera_breach::range_contains(&body, &digest),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "breach range lookup failed; password not checked online");
                false
            }
            Err(_) => {
                tracing::warn!("breach range lookup timed out; password not checked online");
                false
            }
        }
    }

    fn risk_configurations(pool: &UserPool) -> BTreeMap<String, RiskConfiguration> {
        setting(pool, RISK_CONFIGURATIONS)
    }

    /// Refuses threat-protection operations on a pool whose mode is OFF.
    fn threat_mode(pool: &UserPool) -> EngineResult<SecurityMode> {
        let mode = threat::pool_mode(&pool.config.settings);
        if mode.is_on() {
            Ok(mode)
        } else {
            Err(threat::add_on_not_enabled().into())
        }
    }

    async fn risk_client_key(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        client_id: Option<&str>,
    ) -> EngineResult<Option<String>> {
        let Some(c) = client_id else { return Ok(None) };
        let client = self.load_client(tx, c).await?;
        if &client.pool_id != pool {
            return Err(DomainError::client_not_found(c).into());
        }
        Ok(Some(client.client_id.as_str().to_string()))
    }

    /// SetRiskConfiguration. `config` with nothing set resets the pool's configuration to the
    /// defaults, or makes the client inherit the pool's again.
    pub async fn set_risk_configuration(
        &self,
        id: &UserPoolId,
        client_id: Option<&str>,
        mut config: RiskConfiguration,
    ) -> EngineResult<FoundRiskConfiguration> {
        config.check()?;
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, id).await?;
        Self::threat_mode(&pool)?;
        let client = self.risk_client_key(&mut *tx, id, client_id).await?;
        let key = client.clone().unwrap_or_else(|| POOL_KEY.to_string());
        let mut all = Self::risk_configurations(&pool);
        let empty = config.compromised_credentials.is_none()
            && config.account_takeover.is_none()
            && config.exceptions.is_none();
        config.modified_at = Some(now);
        if empty {
            all.remove(&key);
        } else {
            all.insert(key, config.clone());
        }
        put_setting(&mut pool, RISK_CONFIGURATIONS, &all)?;
        pool.modified_at = now;
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(FoundRiskConfiguration {
            client_id: client,
            config,
        })
    }

    /// DescribeRiskConfiguration: the client's own configuration, else the pool's.
    pub async fn describe_risk_configuration(
        &self,
        id: &UserPoolId,
        client_id: Option<&str>,
    ) -> EngineResult<FoundRiskConfiguration> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        Self::threat_mode(&pool)?;
        let client = self.risk_client_key(&mut *tx, id, client_id).await?;
        let all = Self::risk_configurations(&pool);
        if let Some(c) = client.as_ref().and_then(|c| all.get(c)) {
            return Ok(FoundRiskConfiguration {
                client_id: client.clone(),
                config: c.clone(),
            });
        }
        Ok(FoundRiskConfiguration {
            client_id: client,
            config: all.get(POOL_KEY).cloned().unwrap_or_default(),
        })
    }

    /// A new event for `user`, from the current request's origin (located when a GeoIP
    /// database is configured).
    fn new_event(
        &self,
        pool: &UserPool,
        sub: Sub,
        event_type: AuthEventType,
        client_id: Option<&str>,
        now: Timestamp,
    ) -> AuthEvent {
        let o = origin();
        let place = match (o.ip, &self.threat_config().geo) {
            (Some(ip), Some(geo)) => geo.locate(ip).unwrap_or_default(),
            _ => Place::default(),
        };
        AuthEvent {
            pool_id: pool.id.clone(),
            sub,
            event_id: crate::random_uuid().to_string(),
            event_type,
            created_at: now,
            response: EventResponse::Fail,
            decision: RiskDecision::NoRisk,
            level: None,
            compromised: false,
            challenges: vec![],
            context: EventContext {
                ip: o.ip.map(|ip| ip.to_string()),
                user_agent: o.user_agent,
                city: place.city,
                country: place.country,
                ..Default::default()
            },
            client_id: client_id.map(str::to_string),
            feedback: None,
        }
    }

    /// Screens a password being set (sign-up, password change, admin set, reset): with threat
    /// protection on and the event watched, looks it up in the breach corpus, and refuses it
    /// when the pool enforces a block (recording the refusal as an event of the user's, when
    /// there is one). The caller records an accepted password with
    /// [`Engine::record_screening`] in the transaction that stores it.
    pub(crate) async fn screen_password(
        &self,
        pool: &UserPool,
        (sub, client_id): (Option<Sub>, Option<&str>),
        (event, event_type): (CredentialEvent, AuthEventType),
        password: &str,
    ) -> EngineResult<Screening> {
        let mode = threat::pool_mode(&pool.config.settings);
        let all = Self::risk_configurations(pool);
        let config = threat::effective(&all, client_id);
        let Some(block) = config.compromised_action(mode, event) else {
            return Ok(Screening {
                mode,
                compromised: false,
            });
        };
        let compromised = self.password_breached(password).await;
        if compromised {
            crate::telemetry::compromised_password(block);
            tracing::info!(target: crate::audit::TARGET, pool = %pool.id, ?event, block, "compromised password");
            if block {
                if let Some(sub) = sub {
                    let mut e = self.new_event(pool, sub, event_type, client_id, self.now());
                    e.compromised = true;
                    e.decision = RiskDecision::Block;
                    let mut tx = self.inner.store.begin().await?;
                    tx.insert_auth_event(&e).await?;
                    tx.commit().await?;
                    self.log_auth_event(pool, &e);
                }
                return Err(threat::compromised_password().into());
            }
        }
        Ok(Screening { mode, compromised })
    }

    /// Records a screened password change or sign-up as an auth event in `tx` (the transaction
    /// that stores the password), when threat protection is on.
    pub(crate) async fn record_screening(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        (sub, client_id): (Sub, Option<&str>),
        event_type: AuthEventType,
        screening: &Screening,
        now: Timestamp,
    ) -> EngineResult<()> {
        if !screening.mode.is_on() {
            return Ok(());
        }
        let mut event = self.new_event(pool, sub, event_type, client_id, now);
        event.response = EventResponse::Pass;
        event.compromised = screening.compromised;
        tx.insert_auth_event(&event).await?;
        self.log_auth_event(pool, &event);
        Ok(())
    }

    /// Opens a sign-in's event in the transaction that charges the attempt: a failed password
    /// until the settling transaction says otherwise. None when threat protection is off.
    pub(crate) async fn open_sign_in_event(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        client_id: &str,
        sub: Sub,
        now: Timestamp,
    ) -> EngineResult<Option<String>> {
        if !threat::pool_mode(&pool.config.settings).is_on() {
            return Ok(None);
        }
        let mut event = self.new_event(pool, sub, AuthEventType::SignIn, Some(client_id), now);
        event.record(ChallengeKind::Password, false);
        tx.insert_auth_event(&event).await?;
        self.log_auth_event(pool, &event);
        Ok(Some(event.event_id))
    }

    /// Whether a sign-in's password, proven by `check_password`, is compromised and the pool
    /// would act on it: None when not looked for.
    pub(crate) async fn sign_in_password_compromised(
        &self,
        pool: &UserPool,
        client_id: &str,
        password: &str,
    ) -> Option<bool> {
        let mode = threat::pool_mode(&pool.config.settings);
        let all = Self::risk_configurations(pool);
        let config = threat::effective(&all, Some(client_id));
        config.compromised_action(mode, CredentialEvent::SignIn)?;
        Some(self.password_breached(password).await)
    }

    /// Refuses a sign-in from an address on the BlockedIPRangeList of an ENFORCED pool, before
    /// any password is checked (so the answer says nothing about the password).
    pub(crate) fn refuse_blocked_address(
        &self,
        pool: &UserPool,
        client_id: &str,
    ) -> EngineResult<()> {
        self.refuse_blocked_address_in(threat::pool_mode(&pool.config.settings), pool, client_id)
    }

    /// [`Engine::refuse_blocked_address`] for a flow with its own mode (CUSTOM_AUTH).
    pub(crate) fn refuse_blocked_address_in(
        &self,
        mode: SecurityMode,
        pool: &UserPool,
        client_id: &str,
    ) -> EngineResult<()> {
        if mode != SecurityMode::Enforced {
            return Ok(());
        }
        let Some(ip) = origin().ip else { return Ok(()) };
        let all = Self::risk_configurations(pool);
        let config = threat::effective(&all, Some(client_id));
        if config.exceptions.as_ref().is_some_and(|e| e.blocks(ip)) {
            crate::audit::note_outcome("blocked_address");
            return Err(threat::blocked_sign_in().into());
        }
        Ok(())
    }

    /// Judges a sign-in whose password was just proven, inside the transaction that settles it:
    /// assesses the risk from what the store knows of the user and the address, applies the
    /// configured action (in ENFORCED mode), notifies, and records all of it in the event.
    /// A block is returned as an error after `tx` is committed by the caller's rules: the
    /// caller must commit `tx` on `Err` of kind NotAuthorized from here (see `after_password`).
    pub(crate) async fn judge_sign_in(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        proven: (Option<&str>, Option<bool>),
        now: Timestamp,
    ) -> EngineResult<Result<Judgement, DomainError>> {
        if at.context.custom.is_some() {
            // SRP inside CUSTOM_AUTH: judged when the pool's functions issue tokens.
            return Ok(Ok(Judgement::Untracked));
        }
        let mode = threat::pool_mode(&at.pool.config.settings);
        self.judge(
            tx,
            at,
            user,
            proven,
            (mode, Some(ChallengeKind::Password), false),
            now,
        )
        .await
    }

    /// Judges a CUSTOM_AUTH sign-in the pool's functions are about to issue tokens for, in the
    /// mode `AdvancedSecurityAdditionalFlows.CustomAuthMode` sets (off unless set): the same
    /// signals, levels and actions as a password sign-in, in `tx` (which issues the tokens).
    pub(crate) async fn judge_custom_sign_in(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        now: Timestamp,
    ) -> EngineResult<Result<Judgement, DomainError>> {
        let mode = threat::custom_auth_mode(&at.pool.config.settings);
        self.judge(tx, at, user, (None, None), (mode, None, false), now)
            .await
    }

    /// Judges a sign-in a passwordless first factor (EMAIL_OTP, SMS_OTP, WEB_AUTHN) just proved,
    /// in the pool's mode: the same signals, levels, notifications and block as a password
    /// sign-in, recorded as a sign-in event. The factor is something the user has, so a risk
    /// level whose action asks for MFA is satisfied by it (only a block stops the sign-in).
    pub(crate) async fn judge_passwordless_sign_in(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        now: Timestamp,
    ) -> EngineResult<Result<Judgement, DomainError>> {
        let mode = threat::pool_mode(&at.pool.config.settings);
        self.judge(tx, at, user, (None, None), (mode, None, true), now)
            .await
    }

    /// Records a CUSTOM_AUTH sign-in that the pool's functions failed, when its mode is on.
    pub(crate) async fn record_custom_failure(
        &self,
        pool: &UserPool,
        client_id: &str,
        user: &User,
    ) -> EngineResult<()> {
        if !threat::custom_auth_mode(&pool.config.settings).is_on() {
            return Ok(());
        }
        let event = self.new_event(
            pool,
            user.sub,
            AuthEventType::SignIn,
            Some(client_id),
            self.now(),
        );
        let mut tx = self.inner.store.begin().await?;
        tx.insert_auth_event(&event).await?;
        tx.commit().await?;
        self.log_auth_event(pool, &event);
        Ok(())
    }

    async fn judge(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        (event_id, compromised): (Option<&str>, Option<bool>),
        (mode, proof, possession): (SecurityMode, Option<ChallengeKind>, bool),
        now: Timestamp,
    ) -> EngineResult<Result<Judgement, DomainError>> {
        let pool = at.pool;
        if !mode.is_on() {
            return Ok(Ok(Judgement::Untracked));
        }
        let mut event = match event_id {
            Some(id) => tx.get_auth_event(&pool.id, id).await?,
            None => None,
        }
        .unwrap_or_else(|| {
            self.new_event(
                pool,
                user.sub,
                AuthEventType::SignIn,
                Some(at.client.client_id.as_str()),
                now,
            )
        });
        let fresh = event_id.is_none_or(|id| id != event.event_id);
        if let Some(kind) = proof {
            event.record(kind, true);
        }
        event.context.device_key = at.context.device_key.clone();
        event.compromised = compromised == Some(true);
        let all = Self::risk_configurations(pool);
        let config = threat::effective(&all, Some(at.client.client_id.as_str()));
        let ip = event.context.ip.clone();
        let skipped = ip
            .as_deref()
            .and_then(|i| i.parse::<IpAddr>().ok())
            .is_some_and(|i| config.exceptions.as_ref().is_some_and(|e| e.skips(i)));
        let level = if skipped {
            None
        } else {
            let signals = self.signals(tx, at, user, &event, now).await?;
            threat::assess(&signals)
        };
        event.level = level;
        event.decision = if level.is_some() {
            RiskDecision::AccountTakeover
        } else {
            RiskDecision::NoRisk
        };
        let enforced = mode == SecurityMode::Enforced;
        let block_compromised = event.compromised
            && enforced
            && config
                .compromised_action(mode, CredentialEvent::SignIn)
                .unwrap_or(false);
        let takeover = config.account_takeover.clone();
        let action: Option<LevelAction> = match (enforced, level, takeover.as_ref()) {
            (true, Some(l), Some(t)) => t.action(l),
            _ => None,
        };
        // A passwordless factor already proved possession: the second factor a risk level asks
        // for is the one just given.
        let mfa_possible = possession || risk_mfa_possible(pool, user);
        // What happens: block, owe a second factor, or carry on; and which email says so.
        let (block, risk_mfa, email) = match action.map(|a| a.action) {
            _ if block_compromised => (true, false, None),
            Some(TakeoverAction::Block) => (true, false, Some(EmailKind::Block)),
            Some(TakeoverAction::MfaRequired) if mfa_possible => {
                (false, true, Some(EmailKind::Mfa))
            }
            Some(TakeoverAction::MfaRequired) => (true, false, Some(EmailKind::Block)),
            Some(TakeoverAction::MfaIfConfigured) if mfa_possible => {
                (false, true, Some(EmailKind::Mfa))
            }
            Some(TakeoverAction::MfaIfConfigured) | Some(TakeoverAction::NoAction) => {
                (false, false, Some(EmailKind::NoAction))
            }
            None => (false, false, None),
        };
        if block {
            event.decision = RiskDecision::Block;
            event.response = EventResponse::Fail;
        } else {
            event.response = EventResponse::InProgress;
        }
        if let (Some(kind), Some(a), Some(t)) = (email, action, takeover.as_ref())
            && a.notify
            && let Some(n) = &t.notify
        {
            self.notify(tx, pool, user, &event, (n, kind), now).await?;
        }
        if fresh {
            tx.insert_auth_event(&event).await?;
        } else {
            tx.update_auth_event(&event).await?;
        }
        self.log_auth_event(pool, &event);
        if block {
            crate::audit::note_outcome("blocked_risk");
            return Ok(Err(threat::blocked_sign_in()));
        }
        Ok(Ok(Judgement::Proceed {
            event_id: event.event_id,
            risk_mfa: risk_mfa && !possession,
        }))
    }

    /// What the store knows about this user, device and address.
    async fn signals(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        event: &AuthEvent,
        now: Timestamp,
    ) -> EngineResult<threat::Signals> {
        let pool = &at.pool.id;
        let recent = tx.list_auth_events(pool, &user.sub, None, 50).await?;
        let earlier: Vec<&AuthEvent> = recent
            .iter()
            .filter(|e| e.event_id != event.event_id && e.event_type == AuthEventType::SignIn)
            .collect();
        let trusted = |e: &&&AuthEvent| {
            e.feedback.as_ref().map(|f| f.value) == Some(FeedbackValue::Valid)
                || (e.response == EventResponse::Pass && e.feedback.is_none())
        };
        let has_history = earlier.iter().any(|e| trusted(&e));
        let known_user_agent = event.context.user_agent.as_ref().is_none_or(|ua| {
            earlier
                .iter()
                .filter(|e| trusted(e))
                .any(|e| e.context.user_agent.as_ref() == Some(ua))
        });
        // A country is unfamiliar when the user's trusted sign-ins were all located, elsewhere.
        let located: Vec<&str> = earlier
            .iter()
            .filter(|e| trusted(e))
            .filter_map(|e| e.context.country.as_deref())
            .collect();
        let unfamiliar_country = event
            .context
            .country
            .as_deref()
            .is_some_and(|c| !located.is_empty() && !located.contains(&c));
        let (known_ip, disowned, failures) = match event.context.ip.as_deref() {
            Some(ip) => (
                tx.known_ip(pool, &user.sub, ip).await?,
                tx.disowned_ip(pool, &user.sub, ip).await?,
                tx.failures_from_ip(pool, ip, now.minus(VELOCITY_WINDOW))
                    .await?,
            ),
            None => (true, false, 0),
        };
        let device_confirmed_by_feedback = at.context.device_key.as_ref().is_some_and(|k| {
            earlier.iter().any(|e| {
                e.context.device_key.as_ref() == Some(k)
                    && e.feedback.as_ref().map(|f| f.value) == Some(FeedbackValue::Valid)
            })
        });
        let known_device =
            device_confirmed_by_feedback || self.presented_device(tx, at, user).await?.is_some();
        Ok(threat::Signals {
            known_ip,
            known_device,
            known_user_agent,
            has_history,
            failures_from_ip: failures,
            ip_reported_invalid: disowned,
            unfamiliar_country,
        })
    }

    /// Queues a risk notification to the user's email address, with feedback links.
    async fn notify(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        event: &AuthEvent,
        (config, kind): (&threat::NotifyConfig, EmailKind),
        now: Timestamp,
    ) -> EngineResult<()> {
        let Some(to) = user
            .attribute(tessera_domain::attributes::EMAIL)
            .filter(|v| !v.is_empty())
        else {
            return Ok(());
        };
        let Ok(status) = self.outbox_status(Channel::Email) else {
            tracing::warn!(pool = %pool.id, "risk notification not sent: no email channel");
            return Ok(());
        };
        let template = match kind {
            EmailKind::Block => config.block_email.as_ref(),
            EmailKind::Mfa => config.mfa_email.as_ref(),
            EmailKind::NoAction => config.no_action_email.as_ref(),
        };
        let default = kind.default_email();
        let template = template.unwrap_or(&default);
        let token = self.feedback_token(pool, user.sub, &event.event_id, now);
        let link = |value: &str| {
            format!(
                "{}/{}/auth-event-feedback?username={}&event_id={}&feedback_value={value}&feedback_token={token}",
                self.inner.settings.issuer_base,
                pool.id,
                crate::verification::percent_encode(user.username.as_str()),
                event.event_id,
            )
        };
        let fill = |s: &str| {
            s.replace("{username}", user.username.as_str())
                .replace(
                    "{ip-address}",
                    event.context.ip.as_deref().unwrap_or("unknown"),
                )
                .replace("{city}", event.context.city.as_deref().unwrap_or("unknown"))
                .replace(
                    "{country}",
                    event.context.country.as_deref().unwrap_or("unknown"),
                )
                .replace(
                    "{device-name}",
                    event
                        .context
                        .user_agent
                        .as_deref()
                        .or(event.context.device_key.as_deref())
                        .unwrap_or("unknown"),
                )
                .replace("{login-time}", &iso(now))
                .replace("{one-click-link-valid}", &link("Valid"))
                .replace("{one-click-link-invalid}", &link("Invalid"))
        };
        let body = template
            .text_body
            .as_deref()
            .or(template.html_body.as_deref())
            .unwrap_or(DEFAULT_TEXT);
        let message = OutboundMessage {
            id: crate::random_uuid(),
            pool_id: pool.id.to_string(),
            channel: Channel::Email,
            to: to.to_string(),
            subject: Some(fill(&template.subject)),
            body: fill(body),
            from: config.from.clone(),
            reply_to: config.reply_to.clone(),
            created_at: now,
            sender: None,
        };
        tx.enqueue_message(&message, status).await?;
        self.inner.outbox_ready.notify_one();
        Ok(())
    }

    fn feedback_token(&self, pool: &UserPool, sub: Sub, event_id: &str, now: Timestamp) -> String {
        let claim = FeedbackClaim {
            pool: pool.id.to_string(),
            sub,
            event: event_id.to_string(),
            exp: now.plus(FEEDBACK_TOKEN_VALIDITY).millis(),
        };
        let plain = serde_json::to_vec(&claim).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(self.inner.master.seal(FEEDBACK_PURPOSE, &plain))
    }

    /// Records the outcome of a sign-in's later steps in its event: a second factor answered
    /// (right or wrong) and whether tokens were issued.
    pub(crate) async fn record_sign_in_step(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        event_id: Option<&str>,
        mfa: Option<bool>,
        passed: bool,
    ) -> EngineResult<()> {
        let Some(id) = event_id else { return Ok(()) };
        let Some(mut event) = tx.get_auth_event(pool, id).await? else {
            return Ok(());
        };
        if let Some(success) = mfa {
            event.record(ChallengeKind::Mfa, success);
        }
        if passed {
            event.response = EventResponse::Pass;
        } else if mfa == Some(false) {
            event.response = EventResponse::Fail;
        }
        tx.update_auth_event(&event).await?;
        if self.logs_wanted()
            && let Some(pool) = tx.get_pool(pool).await?
        {
            self.log_auth_event(&pool, &event);
        }
        Ok(())
    }

    async fn event_user(
        &self,
        tx: &mut dyn Tx,
        id: &UserPoolId,
        username: &str,
    ) -> EngineResult<(UserPool, User)> {
        let pool = self.load_pool(tx, id).await?;
        Self::threat_mode(&pool)?;
        let user = self
            .find_user(tx, &pool, username)
            .await?
            .ok_or_else(DomainError::user_not_found)?;
        Ok((pool, user))
    }

    /// AdminListUserAuthEvents: newest first, `max` (1–60, 0 or none: 60) per page.
    pub async fn admin_list_user_auth_events(
        &self,
        id: &UserPoolId,
        username: &str,
        max: Option<usize>,
        next: Option<&str>,
    ) -> EngineResult<(Vec<AuthEvent>, Option<String>)> {
        let max = max.filter(|m| *m > 0).unwrap_or(60).min(60);
        let after = decode_token(next)?
            .map(|t| {
                let (at, id) = t.split_once(':').ok_or_else(bad_token)?;
                let at = at.parse::<i64>().map_err(|_| bad_token())?;
                Ok::<_, EngineError>((Timestamp::from_millis(at), id.to_string()))
            })
            .transpose()?;
        let mut tx = self.inner.store.read().await?;
        let (pool, user) = self.event_user(&mut *tx, id, username).await?;
        let mut rows = tx
            .list_auth_events(
                &pool.id,
                &user.sub,
                after.as_ref().map(|(t, i)| (*t, i.as_str())),
                max + 1,
            )
            .await?;
        let next = if rows.len() > max {
            rows.truncate(max);
            rows.last()
                .map(|e| encode_token(&format!("{}:{}", e.created_at.millis(), e.event_id)))
        } else {
            None
        };
        Ok((rows, next))
    }

    async fn put_feedback(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        event_id: &str,
        feedback: Feedback,
    ) -> EngineResult<()> {
        let mut event = tx
            .get_auth_event(&pool.id, event_id)
            .await?
            .filter(|e| e.sub == user.sub)
            .ok_or_else(|| {
                DomainError::new(
                    tessera_domain::ErrorKind::ResourceNotFound,
                    "Auth event not found.",
                )
            })?;
        event.feedback = Some(feedback);
        tx.update_auth_event(&event).await?;
        Ok(())
    }

    /// AdminUpdateAuthEventFeedback.
    pub async fn admin_update_auth_event_feedback(
        &self,
        id: &UserPoolId,
        username: &str,
        event_id: &str,
        value: FeedbackValue,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.event_user(&mut *tx, id, username).await?;
        let feedback = Feedback {
            value,
            provider: "Admin".into(),
            at: now,
        };
        self.put_feedback(&mut *tx, &pool, &user, event_id, feedback)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// UpdateAuthEventFeedback: the user's answer to a notification, authorised by the token
    /// its links carry (sealed, bound to the pool, the user and the event, expiring).
    pub async fn update_auth_event_feedback(
        &self,
        id: &UserPoolId,
        username: &str,
        event_id: &str,
        token: &str,
        value: FeedbackValue,
    ) -> EngineResult<()> {
        let now = self.now();
        let refused = || EngineError::from(DomainError::not_authorized("Invalid feedback token."));
        let claim: FeedbackClaim = URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|sealed| self.inner.master.open(FEEDBACK_PURPOSE, &sealed).ok())
            .and_then(|plain| serde_json::from_slice(&plain).ok())
            .ok_or_else(refused)?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.event_user(&mut *tx, id, username).await?;
        if claim.pool != pool.id.as_str()
            || claim.sub != user.sub
            || claim.event != event_id
            || now.millis() >= claim.exp
        {
            return Err(refused());
        }
        let feedback = Feedback {
            value,
            provider: "User".into(),
            at: now,
        };
        self.put_feedback(&mut *tx, &pool, &user, event_id, feedback)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes auth events past the retention; returns how many.
    pub async fn prune_auth_events(&self) -> EngineResult<u64> {
        let cut = self.now().minus(self.threat_config().event_retention);
        let mut tx = self.inner.store.begin().await?;
        let n = tx.prune_auth_events(cut).await?;
        tx.commit().await?;
        Ok(n)
    }
}

fn bad_token() -> EngineError {
    DomainError::invalid_parameter("Invalid pagination token provided.").into()
}

fn iso(t: Timestamp) -> String {
    let (y, m, d, h, min, sec) = t.civil();
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{sec:02}Z")
}

#[derive(Clone, Copy)]
enum EmailKind {
    Block,
    Mfa,
    NoAction,
}

const DEFAULT_TEXT: &str = "We detected a sign-in attempt to your account {username} from {ip-address} ({device-name}) at {login-time}.\n\nIf this was you, confirm it: {one-click-link-valid}\nIf it was not, report it: {one-click-link-invalid}\n";

impl EmailKind {
    fn default_email(self) -> NotifyEmail {
        let subject = match self {
            Self::Block => "Blocked sign-in attempt",
            Self::Mfa => "New sign-in attempt",
            Self::NoAction => "New sign-in attempt",
        };
        NotifyEmail {
            subject: subject.into(),
            html_body: None,
            text_body: Some(DEFAULT_TEXT.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_times_are_iso_8601() {
        assert_eq!(iso(Timestamp::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            iso(Timestamp::from_secs(1_796_601_600 + 3661)),
            "2026-12-07T01:01:01Z"
        );
    }
}
