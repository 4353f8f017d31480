//! The audit trail: one structured line per request that does something (every API operation,
//! admin or public, and every form posted to the hosted pages), with who asked, from where, whom
//! it touched and how it ended, plus lines for events that happen outside requests (key rotation).
//! Lines go to the tracing target [`TARGET`]: the server writes them to the log stream and, when
//! configured, to a file of their own.
//!
//! The HTTP edge opens a [`scope`] per request; code that learns a fact about it (the operation,
//! the user it concerns, the outcome of a sign-in) notes it here, and the edge writes the line
//! when the response is ready. Nothing here ever holds a password, code, token or secret: the
//! facts are names, ids and outcome codes.

use std::cell::RefCell;
use std::future::Future;
use tessera_domain::{Sub, UserPoolId};

/// The tracing target of audit lines.
pub const TARGET: &str = "tessera::audit";

/// What is known about a request by the time it ends.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// `service.Operation` for API calls, or a hosted-UI action.
    pub operation: Option<String>,
    /// Who asked, when the request itself doesn't say (a console operator,
    /// `console:{access key id}`); the edge otherwise names the signing access key.
    pub caller: Option<String>,
    /// The user pool and user the request concerned (the signed-in user, or an admin's target).
    pub pool: Option<String>,
    pub sub: Option<String>,
    /// How a sign-in or challenge answer ended (`tokens`, `challenge`, `signed_in` or the
    /// exception), when the response alone doesn't say.
    pub outcome: Option<String>,
}

tokio::task_local! {
    static FACTS: RefCell<Facts>;
}

/// Runs `f` with a fresh set of facts and returns them with its output.
pub async fn scope<F: Future>(f: F) -> (F::Output, Facts) {
    FACTS
        .scope(RefCell::new(Facts::default()), async {
            let out = f.await;
            let facts = FACTS.with(|c| c.borrow().clone());
            (out, facts)
        })
        .await
}

/// Notes a fact about the current request; nothing outside a scope (CLI commands, background
/// tasks).
pub fn note(f: impl FnOnce(&mut Facts)) {
    let _ = FACTS.try_with(|c| f(&mut c.borrow_mut()));
}

pub fn note_operation(operation: impl Into<String>) {
    let operation = operation.into();
    note(|f| f.operation = Some(operation));
}

/// Notes the operation unless one is noted already (a console page's reads: the first names
/// the request unless an action does). True if this one did.
pub fn note_first_operation(operation: impl Into<String>) -> bool {
    let operation = operation.into();
    let mut first = false;
    note(|f| {
        if f.operation.is_none() {
            f.operation = Some(operation);
            first = true;
        }
    });
    first
}

pub fn note_caller(caller: impl Into<String>) {
    let caller = caller.into();
    note(|f| f.caller = Some(caller));
}

/// Notes how a request ended when its response doesn't carry the AWS error type (a console
/// page showing a Cognito error).
pub fn note_refusal(code: &str) {
    let code = code.to_string();
    note(|f| f.outcome = Some(code));
}

pub(crate) fn note_pool(pool: &UserPoolId) {
    note(|f| f.pool = Some(pool.to_string()));
}

pub(crate) fn note_user(pool: &UserPoolId, sub: &Sub) {
    note(|f| {
        f.pool = Some(pool.to_string());
        f.sub = Some(sub.to_string());
    });
}

/// Notes how a sign-in ended; a lockout noted on the way stays the outcome.
pub(crate) fn note_outcome(outcome: &'static str) {
    note(|f| {
        if f.outcome.as_deref() != Some("locked_out") {
            f.outcome = Some(outcome.to_string());
        }
    });
}

/// An audit line for something that happened outside a request.
pub(crate) fn event(event: &str, pool: &UserPoolId, detail: &str) {
    tracing::info!(target: TARGET, event, pool = %pool, detail, "audit");
}

/// A security event of the deployment rather than of one pool (identity-pool keys).
pub(crate) fn event_global(event: &str, detail: &str) {
    tracing::info!(target: TARGET, event, detail, "audit");
}
