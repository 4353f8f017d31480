//! Log delivery (Set/GetLogDeliveryConfiguration): a pool's user-notification errors (message
//! deliveries that failed) and, with threat protection, its user auth events, as JSON records
//! handed to the server's [`LogSink`] with the destination ARNs the pool configured. The server
//! maps each ARN to what Tessera can reach — a JSON-lines file or an HTTP endpoint.
//!
//! Records are handed over when the event is recorded (a user-notification error after its
//! delivery attempt is stored; an auth event when written, so an attempt whose transaction then
//! fails can leave a record whose event is not stored). Delivery is best effort, as CloudWatch
//! delivery is for Cognito: a destination that fails loses the record, with a warning.

use crate::Engine;
use crate::pools::setting;
use serde_json::{Value, json};
use std::sync::Arc;
use tessera_domain::UserPoolId;
use tessera_domain::pool::UserPool;
use tessera_domain::pool_settings::{EventSource, LogConfiguration, LogDestination};
use tessera_domain::threat::AuthEvent;

/// Where records go: implemented by the server (file and HTTP destinations).
pub trait LogSink: Send + Sync {
    /// Queues `record` for the destination named by `arn`; never blocks on delivery.
    fn deliver(&self, arn: &str, record: Value);
}

fn arn_of(d: &LogDestination) -> &str {
    match d {
        LogDestination::CloudWatchLogs(a) | LogDestination::S3(a) | LogDestination::Firehose(a) => {
            a
        }
    }
}

impl Engine {
    /// Installs the server's sink (once, at start). Without one nothing is delivered.
    pub fn configure_log_sink(&self, sink: Arc<dyn LogSink>) {
        let _ = self.inner.log_sink.set(sink);
    }

    /// Whether a sink is installed (else nothing need be looked up for it).
    pub(crate) fn logs_wanted(&self) -> bool {
        self.inner.log_sink.get().is_some()
    }

    fn log_destinations(pool: &UserPool, source: EventSource) -> Vec<String> {
        let configs: Vec<LogConfiguration> = setting(pool, crate::pool_settings::LOG_DELIVERY);
        configs
            .iter()
            .filter(|c| c.source == source)
            .map(|c| arn_of(&c.destination).to_string())
            .collect()
    }

    fn emit(&self, pool: &UserPool, source: EventSource, level: &str, message: Value) {
        let Some(sink) = self.inner.log_sink.get() else {
            return;
        };
        let destinations = Self::log_destinations(pool, source);
        if destinations.is_empty() {
            return;
        }
        let settings = self.settings();
        let record = json!({
            "eventTimestamp": self.now().millis().to_string(),
            "eventSource": match source {
                EventSource::UserNotification => "USER_NOTIFICATION",
                EventSource::UserAuthEvents => "USER_AUTH_EVENTS",
            },
            "logLevel": level,
            "message": message,
            "logSourceId": {
                "userPoolId": pool.id.as_str(),
                "userPoolArn": format!(
                    "arn:aws:cognito-idp:{}:{}:userpool/{}",
                    settings.region, settings.account_id, pool.id
                ),
            },
        });
        for arn in destinations {
            sink.deliver(&arn, record.clone());
        }
    }

    /// A user-notification error: a message to a user that could not be delivered (this
    /// attempt; `final_attempt` when Tessera gives up on it).
    pub(crate) async fn log_notification_error(
        &self,
        pool_id: &str,
        channel: &str,
        error: &str,
        final_attempt: bool,
    ) {
        if !self.logs_wanted() {
            return;
        }
        let Ok(pool_id) = UserPoolId::parse(pool_id) else {
            return;
        };
        let pool_id = &pool_id;
        let pool = {
            let Ok(mut tx) = self.inner.store.read().await else {
                return;
            };
            match tx.get_pool(pool_id).await {
                Ok(Some(p)) => p,
                _ => return,
            }
        };
        self.emit(
            &pool,
            EventSource::UserNotification,
            "ERROR",
            json!({
                "details": error,
                "deliveryMedium": channel,
                "willRetry": !final_attempt,
            }),
        );
    }

    /// A user auth event as recorded (the shape AdminListUserAuthEvents gives it, plus the
    /// user's sub).
    pub(crate) fn log_auth_event(&self, pool: &UserPool, event: &AuthEvent) {
        if !self.logs_wanted() {
            return;
        }
        let c = &event.context;
        self.emit(
            pool,
            EventSource::UserAuthEvents,
            "INFO",
            json!({
                "eventId": event.event_id,
                "eventType": format!("{:?}", event.event_type),
                "creationDate": event.created_at.millis(),
                "userSub": event.sub.to_string(),
                "clientId": event.client_id,
                "eventResponse": format!("{:?}", event.response),
                "riskDecision": format!("{:?}", event.decision),
                "riskLevel": event.level.map(|l| format!("{l:?}")),
                "compromisedCredentialsDetected": event.compromised,
                "challengeResponses": event.challenges.iter().map(|ch| json!({
                    "challengeName": format!("{:?}", ch.challenge),
                    "challengeResponse": if ch.success { "Success" } else { "Failure" },
                })).collect::<Vec<_>>(),
                "ipAddress": c.ip,
                "deviceName": c.user_agent.clone().or(c.device_key.clone()),
                "city": c.city,
                "country": c.country,
            }),
        );
    }
}
