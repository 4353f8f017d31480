//! What the engine reports through the `metrics` facade. The facade records nothing until the
//! server installs a recorder, and a recording is a few atomic operations, so calls sit on hot
//! paths. Every label value comes from a closed set (flow and challenge names, Cognito exception
//! names, channels, trigger names) — never a username, pool id or other client input.

use crate::{AuthOutcome, EngineError, EngineResult};
use metrics::{counter, gauge, histogram};
use std::time::Duration;
use tessera_domain::messages::{Channel, DeliveryOutcome};

pub const SIGN_INS: &str = "tessera_sign_ins_total";
pub const AUTH_CHALLENGES: &str = "tessera_auth_challenges_total";
pub const LOCKOUTS: &str = "tessera_sign_in_lockouts_total";
pub const HASHES_IN_FLIGHT: &str = "tessera_password_hashes_in_flight";
pub const HASHES_QUEUED: &str = "tessera_password_hashes_queued";
pub const OUTBOX_PENDING: &str = "tessera_outbox_pending";
pub const DELIVERIES: &str = "tessera_outbox_deliveries_total";
pub const TRIGGER_INVOCATIONS: &str = "tessera_trigger_invocations_total";
pub const TRIGGER_DURATION: &str = "tessera_trigger_duration_seconds";
pub const TOKEN_VERIFICATIONS: &str = "tessera_token_verifications_total";
pub const COMPROMISED_PASSWORDS: &str = "tessera_compromised_passwords_total";
pub const THROTTLED: &str = "tessera_throttled_requests_total";

/// Registers the help text of the engine's metrics with the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        SIGN_INS,
        "InitiateAuth/AdminInitiateAuth calls by flow and result (tokens, challenge, or the Cognito exception)"
    );
    describe_counter!(
        AUTH_CHALLENGES,
        "RespondToAuthChallenge/AdminRespondToAuthChallenge calls by challenge and result"
    );
    describe_counter!(
        LOCKOUTS,
        "Sign-in attempts refused because the user (or unknown name) is locked out"
    );
    describe_counter!(
        THROTTLED,
        "Requests refused with TooManyRequestsException by a pool's quota, by Cognito API category"
    );
    describe_counter!(
        COMPROMISED_PASSWORDS,
        "Passwords found in the breach corpus where threat protection looked, by action (blocked or recorded)"
    );
    describe_gauge!(HASHES_IN_FLIGHT, "Password hashes being computed now");
    describe_gauge!(
        HASHES_QUEUED,
        "Password hashes waiting for a slot in the hashing pool"
    );
    describe_gauge!(
        OUTBOX_PENDING,
        "Messages neither delivered nor given up on (read from the store at scrape)"
    );
    describe_counter!(
        DELIVERIES,
        "Message delivery attempts by channel and outcome"
    );
    describe_counter!(
        TRIGGER_INVOCATIONS,
        "Lambda trigger invocations by trigger and outcome"
    );
    describe_histogram!(
        TRIGGER_DURATION,
        metrics::Unit::Seconds,
        "Lambda trigger invocation latency by trigger"
    );
    describe_counter!(
        TOKEN_VERIFICATIONS,
        "Access-token verifications for the user-pool API by result (valid, refused, error)"
    );
}

/// An auth flow name as a label: the flows the engine runs; anything else (unsupported or
/// invalid) folds into "other".
pub(crate) fn flow_label(flow: &str) -> &'static str {
    const FLOWS: &[&str] = &[
        "USER_PASSWORD_AUTH",
        "ADMIN_USER_PASSWORD_AUTH",
        "ADMIN_NO_SRP_AUTH",
        "USER_SRP_AUTH",
        "REFRESH_TOKEN_AUTH",
        "REFRESH_TOKEN",
        "CUSTOM_AUTH",
    ];
    FLOWS
        .iter()
        .find(|f| **f == flow)
        .copied()
        .unwrap_or("other")
}

/// A challenge name as a label: the challenges the engine issues; anything else folds into
/// "other".
pub(crate) fn challenge_label(challenge: &str) -> &'static str {
    const CHALLENGES: &[&str] = &[
        "PASSWORD_VERIFIER",
        "NEW_PASSWORD_REQUIRED",
        "SOFTWARE_TOKEN_MFA",
        "SMS_MFA",
        "EMAIL_OTP",
        "SELECT_MFA_TYPE",
        "MFA_SETUP",
        "DEVICE_SRP_AUTH",
        "DEVICE_PASSWORD_VERIFIER",
        "CUSTOM_CHALLENGE",
    ];
    CHALLENGES
        .iter()
        .find(|c| **c == challenge)
        .copied()
        .unwrap_or("other")
}

fn result_label(outcome: &EngineResult<AuthOutcome>) -> &'static str {
    match outcome {
        Ok(AuthOutcome::Tokens(_)) => "tokens",
        Ok(AuthOutcome::Challenge { .. }) => "challenge",
        Ok(AuthOutcome::SignedIn { .. }) => "signed_in",
        Err(e) => e.kind().name(),
    }
}

pub(crate) fn sign_in(flow: &'static str, outcome: &EngineResult<AuthOutcome>) {
    let result = result_label(outcome);
    crate::audit::note_outcome(result);
    counter!(SIGN_INS, "flow" => flow, "result" => result).increment(1);
}

pub(crate) fn challenge_answered(challenge: &'static str, outcome: &EngineResult<AuthOutcome>) {
    let result = result_label(outcome);
    crate::audit::note_outcome(result);
    counter!(AUTH_CHALLENGES, "challenge" => challenge, "result" => result).increment(1);
}

/// A password found in the breach corpus where one was being set or used; `blocked`: refused.
pub(crate) fn compromised_password(blocked: bool) {
    let action = if blocked { "blocked" } else { "recorded" };
    counter!(COMPROMISED_PASSWORDS, "action" => action).increment(1);
}

pub(crate) fn lockout() {
    crate::audit::note_outcome("locked_out");
    counter!(LOCKOUTS).increment(1);
}

/// Counts a password hash from the moment it queues until it ends (or its caller gives up):
/// queued until [`HashSlot::start`], in flight after, and nothing once dropped.
pub(crate) struct HashSlot {
    running: bool,
}

impl HashSlot {
    pub(crate) fn queue() -> Self {
        gauge!(HASHES_QUEUED).increment(1.0);
        Self { running: false }
    }

    pub(crate) fn start(&mut self) {
        if !self.running {
            gauge!(HASHES_QUEUED).decrement(1.0);
            gauge!(HASHES_IN_FLIGHT).increment(1.0);
            self.running = true;
        }
    }
}

impl Drop for HashSlot {
    fn drop(&mut self) {
        if self.running {
            gauge!(HASHES_IN_FLIGHT).decrement(1.0);
        } else {
            gauge!(HASHES_QUEUED).decrement(1.0);
        }
    }
}

pub(crate) fn delivery(channel: Channel, outcome: &DeliveryOutcome) {
    let outcome = match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Retry { .. } => "retry",
        DeliveryOutcome::Failed { .. } => "failed",
    };
    counter!(DELIVERIES, "channel" => channel.as_str(), "outcome" => outcome).increment(1);
}

pub(crate) fn outbox_pending(n: u64) {
    gauge!(OUTBOX_PENDING).set(n as f64);
}

pub(crate) fn trigger(trigger: &'static str, outcome: &'static str, took: Duration) {
    counter!(TRIGGER_INVOCATIONS, "trigger" => trigger, "outcome" => outcome).increment(1);
    histogram!(TRIGGER_DURATION, "trigger" => trigger).record(took.as_secs_f64());
}

pub(crate) fn token_verification<T>(result: &EngineResult<T>) {
    let result = match result {
        Ok(_) => "valid",
        Err(EngineError::Client(_)) => "refused",
        Err(_) => "error",
    };
    counter!(TOKEN_VERIFICATIONS, "result" => result).increment(1);
}

/// A request refused by a quota.
pub fn throttled(category: &'static str) {
    counter!(THROTTLED, "category" => category).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(flow_label("USER_SRP_AUTH"), "USER_SRP_AUTH");
        assert_eq!(flow_label("USER_AUTH"), "other");
        assert_eq!(flow_label("alice@example.com"), "other");
        assert_eq!(challenge_label("SOFTWARE_TOKEN_MFA"), "SOFTWARE_TOKEN_MFA");
        assert_eq!(challenge_label("WEB_AUTHN"), "other");
    }
}
