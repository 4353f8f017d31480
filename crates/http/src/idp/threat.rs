//! SetRiskConfiguration, DescribeRiskConfiguration, AdminListUserAuthEvents,
//! AdminUpdateAuthEventFeedback, UpdateAuthEventFeedback.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::threat::{
    AccountTakeover, AuthEvent, AuthEventType, ChallengeKind, CompromisedCredentials,
    CredentialEvent, EventResponse, FeedbackValue, LevelAction, NotifyConfig, NotifyEmail,
    RiskConfiguration, RiskDecision, RiskExceptions, RiskLevel, TakeoverAction,
};
use tessera_engine::threat::FoundRiskConfiguration;
use tessera_wire::idp as wire;

fn email_in(e: wire::NotifyEmailType) -> NotifyEmail {
    NotifyEmail {
        subject: e.subject,
        html_body: e.html_body,
        text_body: e.text_body,
    }
}

fn email_out(e: NotifyEmail) -> wire::NotifyEmailType {
    wire::NotifyEmailType {
        subject: e.subject,
        html_body: e.html_body,
        text_body: e.text_body,
    }
}

fn level_in(a: wire::AccountTakeoverActionType) -> LevelAction {
    LevelAction {
        action: match a.event_action {
            wire::AccountTakeoverEventActionType::Block => TakeoverAction::Block,
            wire::AccountTakeoverEventActionType::MfaIfConfigured => {
                TakeoverAction::MfaIfConfigured
            }
            wire::AccountTakeoverEventActionType::MfaRequired => TakeoverAction::MfaRequired,
            wire::AccountTakeoverEventActionType::NoAction => TakeoverAction::NoAction,
        },
        notify: a.notify,
    }
}

fn level_out(a: LevelAction) -> wire::AccountTakeoverActionType {
    wire::AccountTakeoverActionType {
        event_action: match a.action {
            TakeoverAction::Block => wire::AccountTakeoverEventActionType::Block,
            TakeoverAction::MfaIfConfigured => {
                wire::AccountTakeoverEventActionType::MfaIfConfigured
            }
            TakeoverAction::MfaRequired => wire::AccountTakeoverEventActionType::MfaRequired,
            TakeoverAction::NoAction => wire::AccountTakeoverEventActionType::NoAction,
        },
        notify: a.notify,
    }
}

fn filter_in(f: wire::EventFilterType) -> CredentialEvent {
    match f {
        wire::EventFilterType::SignIn => CredentialEvent::SignIn,
        wire::EventFilterType::SignUp => CredentialEvent::SignUp,
        wire::EventFilterType::PasswordChange => CredentialEvent::PasswordChange,
    }
}

fn filter_out(f: CredentialEvent) -> wire::EventFilterType {
    match f {
        CredentialEvent::SignIn => wire::EventFilterType::SignIn,
        CredentialEvent::SignUp => wire::EventFilterType::SignUp,
        CredentialEvent::PasswordChange => wire::EventFilterType::PasswordChange,
    }
}

fn config_in(req: wire::SetRiskConfigurationRequest) -> RiskConfiguration {
    RiskConfiguration {
        compromised_credentials: req.compromised_credentials_risk_configuration.map(|c| {
            CompromisedCredentials {
                events: c
                    .event_filter
                    .map(|f| f.into_iter().map(filter_in).collect()),
                block: c.actions.event_action == wire::CompromisedCredentialsEventActionType::Block,
            }
        }),
        account_takeover: req
            .account_takeover_risk_configuration
            .map(|t| AccountTakeover {
                low: t.actions.low_action.map(level_in),
                medium: t.actions.medium_action.map(level_in),
                high: t.actions.high_action.map(level_in),
                notify: t.notify_configuration.map(|n| NotifyConfig {
                    from: n.from,
                    reply_to: n.reply_to,
                    source_arn: n.source_arn,
                    block_email: n.block_email.map(email_in),
                    no_action_email: n.no_action_email.map(email_in),
                    mfa_email: n.mfa_email.map(email_in),
                }),
            }),
        exceptions: req.risk_exception_configuration.map(|e| RiskExceptions {
            blocked: e.blocked_ip_range_list.unwrap_or_default(),
            skipped: e.skipped_ip_range_list.unwrap_or_default(),
        }),
        modified_at: None,
    }
}

fn config_out(id: &str, found: FoundRiskConfiguration) -> wire::RiskConfigurationType {
    let c = found.config;
    wire::RiskConfigurationType {
        user_pool_id: Some(id.to_string()),
        client_id: found.client_id,
        compromised_credentials_risk_configuration: c.compromised_credentials.map(|c| {
            wire::CompromisedCredentialsRiskConfigurationType {
                event_filter: c.events.map(|e| e.into_iter().map(filter_out).collect()),
                actions: wire::CompromisedCredentialsActionsType {
                    event_action: if c.block {
                        wire::CompromisedCredentialsEventActionType::Block
                    } else {
                        wire::CompromisedCredentialsEventActionType::NoAction
                    },
                },
            }
        }),
        account_takeover_risk_configuration: c.account_takeover.map(|t| {
            wire::AccountTakeoverRiskConfigurationType {
                actions: wire::AccountTakeoverActionsType {
                    low_action: t.low.map(level_out),
                    medium_action: t.medium.map(level_out),
                    high_action: t.high.map(level_out),
                },
                notify_configuration: t.notify.map(|n| wire::NotifyConfigurationType {
                    from: n.from,
                    reply_to: n.reply_to,
                    source_arn: n.source_arn,
                    block_email: n.block_email.map(email_out),
                    no_action_email: n.no_action_email.map(email_out),
                    mfa_email: n.mfa_email.map(email_out),
                }),
            }
        }),
        risk_exception_configuration: c.exceptions.map(|e| wire::RiskExceptionConfigurationType {
            blocked_ip_range_list: Some(e.blocked),
            skipped_ip_range_list: Some(e.skipped),
        }),
        last_modified_date: c.modified_at.map(ts),
    }
}

pub async fn set_risk_configuration(
    state: Arc<AppState>,
    req: wire::SetRiskConfigurationRequest,
) -> ApiResult<wire::SetRiskConfigurationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let client = req.client_id.clone();
    let found = state
        .engine
        .set_risk_configuration(&id, client.as_deref(), config_in(req))
        .await?;
    Ok(wire::SetRiskConfigurationResponse {
        risk_configuration: config_out(id.as_str(), found),
    })
}

pub async fn describe_risk_configuration(
    state: Arc<AppState>,
    req: wire::DescribeRiskConfigurationRequest,
) -> ApiResult<wire::DescribeRiskConfigurationResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let found = state
        .engine
        .describe_risk_configuration(&id, req.client_id.as_deref())
        .await?;
    Ok(wire::DescribeRiskConfigurationResponse {
        risk_configuration: config_out(id.as_str(), found),
    })
}

fn event_out(e: AuthEvent) -> wire::AuthEventType {
    wire::AuthEventType {
        event_id: Some(e.event_id),
        event_type: Some(match e.event_type {
            AuthEventType::SignIn => wire::EventType::SignIn,
            AuthEventType::SignUp => wire::EventType::SignUp,
            AuthEventType::ForgotPassword => wire::EventType::ForgotPassword,
            AuthEventType::PasswordChange => wire::EventType::PasswordChange,
            AuthEventType::ResendCode => wire::EventType::ResendCode,
        }),
        creation_date: Some(ts(e.created_at)),
        event_response: Some(match e.response {
            EventResponse::Pass => wire::EventResponseType::Pass,
            EventResponse::Fail => wire::EventResponseType::Fail,
            EventResponse::InProgress => wire::EventResponseType::InProgress,
        }),
        event_risk: Some(wire::EventRiskType {
            risk_decision: Some(match e.decision {
                RiskDecision::NoRisk => wire::RiskDecisionType::NoRisk,
                RiskDecision::AccountTakeover => wire::RiskDecisionType::AccountTakeover,
                RiskDecision::Block => wire::RiskDecisionType::Block,
            }),
            risk_level: e.level.map(|l| match l {
                RiskLevel::Low => wire::RiskLevelType::Low,
                RiskLevel::Medium => wire::RiskLevelType::Medium,
                RiskLevel::High => wire::RiskLevelType::High,
            }),
            compromised_credentials_detected: Some(e.compromised),
        }),
        challenge_responses: Some(
            e.challenges
                .iter()
                .map(|c| wire::ChallengeResponseType {
                    challenge_name: Some(match c.challenge {
                        ChallengeKind::Password => wire::ChallengeName::Password,
                        ChallengeKind::Mfa => wire::ChallengeName::Mfa,
                    }),
                    challenge_response: Some(if c.success {
                        wire::ChallengeResponse::Success
                    } else {
                        wire::ChallengeResponse::Failure
                    }),
                })
                .collect(),
        ),
        event_context_data: Some(wire::EventContextDataType {
            ip_address: e.context.ip,
            device_name: e.context.user_agent.or(e.context.device_key),
            timezone: e.context.timezone,
            city: e.context.city,
            country: e.context.country,
        }),
        event_feedback: e.feedback.map(|f| wire::EventFeedbackType {
            feedback_value: match f.value {
                FeedbackValue::Valid => wire::FeedbackValueType::Valid,
                FeedbackValue::Invalid => wire::FeedbackValueType::Invalid,
            },
            provider: f.provider,
            feedback_date: Some(ts(f.at)),
        }),
    }
}

pub async fn admin_list_user_auth_events(
    state: Arc<AppState>,
    req: wire::AdminListUserAuthEventsRequest,
) -> ApiResult<wire::AdminListUserAuthEventsResponse> {
    let id = pool_id(&req.user_pool_id)?;
    let (events, next_token) = state
        .engine
        .admin_list_user_auth_events(
            &id,
            &req.username,
            req.max_results.map(|m| m.max(0) as usize),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::AdminListUserAuthEventsResponse {
        auth_events: Some(events.into_iter().map(event_out).collect()),
        next_token,
    })
}

fn feedback_in(v: wire::FeedbackValueType) -> FeedbackValue {
    match v {
        wire::FeedbackValueType::Valid => FeedbackValue::Valid,
        wire::FeedbackValueType::Invalid => FeedbackValue::Invalid,
    }
}

pub async fn admin_update_auth_event_feedback(
    state: Arc<AppState>,
    req: wire::AdminUpdateAuthEventFeedbackRequest,
) -> ApiResult<wire::AdminUpdateAuthEventFeedbackResponse> {
    let id = pool_id(&req.user_pool_id)?;
    state
        .engine
        .admin_update_auth_event_feedback(
            &id,
            &req.username,
            &req.event_id,
            feedback_in(req.feedback_value),
        )
        .await?;
    Ok(wire::AdminUpdateAuthEventFeedbackResponse::default())
}

pub async fn update_auth_event_feedback(
    state: Arc<AppState>,
    req: wire::UpdateAuthEventFeedbackRequest,
) -> ApiResult<wire::UpdateAuthEventFeedbackResponse> {
    let id = pool_id(&req.user_pool_id)?;
    state
        .engine
        .update_auth_event_feedback(
            &id,
            &req.username,
            &req.event_id,
            &req.feedback_token,
            feedback_in(req.feedback_value),
        )
        .await?;
    Ok(wire::UpdateAuthEventFeedbackResponse::default())
}

/// `GET /{pool}/auth-event-feedback?username=…&event_id=…&feedback_value=…&feedback_token=…`:
/// the links of a risk notification. A GET records nothing (mail scanners follow links); it
/// answers a page whose button posts the same fields back.
pub async fn feedback_page(
    axum::extract::Path(pool): axum::extract::Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> axum::response::Html<String> {
    let field = |k: &str| html_escape(q.get(k).map(String::as_str).unwrap_or(""));
    let value = q.get("feedback_value").map(String::as_str);
    let question = if value == Some("Invalid") {
        "Report that this sign-in was not you?"
    } else {
        "Confirm that this sign-in was you?"
    };
    axum::response::Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign-in feedback</title></head><body>\
         <form method=\"post\" action=\"/{pool}/auth-event-feedback\"><p>{question}</p>\
         <input type=\"hidden\" name=\"username\" value=\"{}\">\
         <input type=\"hidden\" name=\"event_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"feedback_value\" value=\"{}\">\
         <input type=\"hidden\" name=\"feedback_token\" value=\"{}\">\
         <button type=\"submit\">Send</button></form></body></html>",
        field("username"),
        field("event_id"),
        field("feedback_value"),
        field("feedback_token"),
        pool = html_escape(&pool),
    ))
}

/// `POST /{pool}/auth-event-feedback`: records the feedback a notification link asked for.
pub async fn feedback_submit(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    axum::extract::Path(pool): axum::extract::Path<String>,
    axum::extract::Form(f): axum::extract::Form<std::collections::BTreeMap<String, String>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let Ok(id) = tessera_domain::UserPoolId::parse(&pool) else {
        return (axum::http::StatusCode::NOT_FOUND, "unknown pool").into_response();
    };
    let Some(value) = FeedbackValue::parse(get("feedback_value")) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            "feedback_value must be Valid or Invalid",
        )
            .into_response();
    };
    match state
        .engine
        .update_auth_event_feedback(
            &id,
            get("username"),
            get("event_id"),
            get("feedback_token"),
            value,
        )
        .await
    {
        Ok(()) => axum::response::Html(
            "<!doctype html><html><body><p>Thank you, your answer was recorded.</p></body></html>",
        )
        .into_response(),
        Err(_) => (
            axum::http::StatusCode::BAD_REQUEST,
            "This link is not valid any more.",
        )
            .into_response(),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
