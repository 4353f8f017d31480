//! Running a pool's trigger functions: the event goes out through the [`TriggerInvoker`] port,
//! and failures come back as the exceptions Cognito reports. Never called while a store
//! transaction is open: a function may take seconds, and may call back into the API.
//!
//! [`TriggerInvoker`]: crate::TriggerInvoker

use crate::Engine;
use crate::error::EngineResult;
use crate::outbox::Letter;
use crate::ports::InvokeError;
use crate::telemetry;
use serde_json::Value;
use serde_json::json;
use std::collections::BTreeMap;
use tessera_domain::messages::{CODE_PLACEHOLDER, USERNAME_PLACEHOLDER};
use tessera_domain::pool::{SignInAttribute, UserPool};
use tessera_domain::triggers::{
    self, Caller, CustomMessageResponse, Event, LambdaConfig, Trigger, function_failed, response,
    unrecognizable,
};
use tessera_domain::user::User;

/// `ClientMetadata` as an API call passed it (None when it didn't).
pub type ClientMetadata = Option<BTreeMap<String, String>>;

impl Engine {
    /// Runs `event` through the pool's function for its trigger. Ok(None) when the pool names
    /// no function for it; otherwise the function's answer (the event with `response` filled).
    pub(crate) async fn run_trigger(
        &self,
        pool: &UserPool,
        client_id: Option<&str>,
        event: Event,
    ) -> EngineResult<Option<Value>> {
        let config = LambdaConfig::of(&pool.config.settings);
        let Some(function) = config.function(event.trigger) else {
            return Ok(None);
        };
        let caller = Caller {
            region: pool.id.region(),
            pool_id: pool.id.as_str(),
            client_id,
        };
        let payload = event.to_json(&caller);
        let started = std::time::Instant::now();
        let outcome = self.inner.triggers.invoke(function, &payload).await;
        let took = started.elapsed();
        telemetry::trigger(event.trigger.name(), invoke_outcome(&outcome), took);
        tracing::debug!(
            pool = %pool.id,
            trigger = event.trigger.name(),
            source = %event.source,
            ms = took.as_millis() as u64,
            ok = outcome.is_ok(),
            "trigger invoked"
        );
        match outcome {
            Ok(answer) if answer.is_object() => Ok(Some(answer)),
            Ok(_) | Err(InvokeError::InvalidResponse(_)) => Err(unrecognizable().into()),
            Err(InvokeError::Function(message)) => {
                Err(function_failed(event.trigger, &message).into())
            }
            Err(InvokeError::Unavailable(detail)) => {
                tracing::warn!(
                    pool = %pool.id,
                    trigger = event.trigger.name(),
                    %detail,
                    "trigger function unavailable"
                );
                // The detail names hosts and ARNs: it goes to the log, not to the client.
                let cause = if detail.contains("timed out") {
                    "Socket timeout while invoking Lambda function"
                } else {
                    "Lambda function unreachable"
                };
                Err(triggers::unexpected(event.trigger, cause).into())
            }
        }
    }

    /// Hands an event to the pool's function without waiting for its answer (custom senders).
    pub(crate) async fn run_trigger_async(
        &self,
        pool: &UserPool,
        client_id: Option<&str>,
        event: Event,
    ) -> Result<(), InvokeError> {
        let config = LambdaConfig::of(&pool.config.settings);
        let Some(function) = config.function(event.trigger) else {
            return Err(InvokeError::Unavailable(format!(
                "the pool names no {} function",
                event.trigger.name()
            )));
        };
        let caller = Caller {
            region: pool.id.region(),
            pool_id: pool.id.as_str(),
            client_id,
        };
        let started = std::time::Instant::now();
        let outcome = self
            .inner
            .triggers
            .invoke_async(function, &event.to_json(&caller))
            .await;
        telemetry::trigger(
            event.trigger.name(),
            invoke_outcome(&outcome),
            started.elapsed(),
        );
        outcome
    }

    /// Asks the pool's CustomMessage function, if any, for its wording of one message sent for
    /// `event` (SignUp, ForgotPassword, …). The function sees placeholders (`{####}`,
    /// `{username}`), never the code: it runs before the code exists, outside any
    /// transaction, and its wording is filled in when the message is queued.
    pub(crate) async fn custom_message(
        &self,
        pool: &UserPool,
        client_id: Option<&str>,
        user: &User,
        event: &'static str,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Letter> {
        if !Self::has_trigger(pool, Trigger::CustomMessage) {
            return Ok(Letter::plain(event));
        }
        let source = format!("CustomMessage_{event}");
        let mut request = Event::new(Trigger::CustomMessage, &source, user.username.as_str())
            .with("userAttributes", attributes_of(pool, user))
            .with("codeParameter", json!(CODE_PLACEHOLDER))
            .with("linkParameter", json!("{##Click Here##}"))
            .with_map("clientMetadata", metadata);
        if event == "AdminCreateUser" {
            request = request.with("usernameParameter", json!(USERNAME_PLACEHOLDER));
        }
        let Some(answer) = self.run_trigger(pool, client_id, request).await? else {
            return Ok(Letter::plain(event));
        };
        let mut wording: CustomMessageResponse = response(&answer)?;
        // A message that lost its code would deliver nothing useful: keep ours instead.
        let keeps_code = |m: &Option<String>| {
            m.as_deref()
                .is_none_or(|m| m.contains(CODE_PLACEHOLDER) || m.contains("{##"))
        };
        if !keeps_code(&wording.email_message) {
            tracing::warn!(pool = %pool.id, %source, "CustomMessage emailMessage has no {{####}}; using the pool's template");
            wording.email_message = None;
        }
        if !keeps_code(&wording.sms_message) {
            tracing::warn!(pool = %pool.id, %source, "CustomMessage smsMessage has no {{####}}; using the pool's template");
            wording.sms_message = None;
        }
        Ok(Letter {
            event,
            wording: Some(wording),
        })
    }

    /// Whether the pool names a function for `trigger`.
    pub(crate) fn has_trigger(pool: &UserPool, trigger: Trigger) -> bool {
        LambdaConfig::of(&pool.config.settings)
            .function(trigger)
            .is_some()
    }
}

/// `request.userAttributes` for `user` in `pool`.
pub(crate) fn attributes_of(pool: &UserPool, user: &User) -> Value {
    let policy = &pool.config.sign_in;
    let aliases: Vec<&str> = policy
        .alias_attributes
        .iter()
        .filter_map(|a| match a {
            SignInAttribute::Email => Some("email"),
            SignInAttribute::PhoneNumber => Some("phone_number"),
            _ => None,
        })
        .collect();
    triggers::user_attributes(user, &aliases)
}

/// An invocation's outcome as a metric label.
fn invoke_outcome<T>(outcome: &Result<T, InvokeError>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(InvokeError::Function(_)) => "function_error",
        Err(InvokeError::InvalidResponse(_)) => "invalid_response",
        Err(InvokeError::Unavailable(_)) => "unavailable",
    }
}
