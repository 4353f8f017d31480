//! Evaluation (IAM guide `reference_policies_evaluation-logic`): a statement applies when its
//! principal (if any), action, resource (if any) and every condition match; an applicable Deny
//! anywhere wins; otherwise the request needs an applicable Allow in the identity policies and,
//! when session policies were passed, also in the session policies; otherwise it is implicitly
//! denied.

use crate::context::RequestContext;
use crate::document::{Effect, Policy, Statement};
use crate::pattern::arn_matches;
use crate::span::Position;

/// The decision, as IAM's SimulatePrincipalPolicy names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl Outcome {
    /// `allowed` / `explicitDeny` / `implicitDeny`, IAM's `EvalDecision` values.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allowed",
            Outcome::ExplicitDeny => "explicitDeny",
            Outcome::ImplicitDeny => "implicitDeny",
        }
    }
}

/// Which set a policy was passed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySet {
    /// Identity policies (inline and attached), or the trust / resource policy being evaluated.
    Identity,
    /// Session policies (AssumeRole's `Policy` and `PolicyArns`, Cognito's guest scope-down).
    Session,
}

/// A policy with the id SimulatePrincipalPolicy reports as `SourcePolicyId` (a policy name or
/// ARN, chosen by the caller).
#[derive(Debug, Clone, Copy)]
pub struct SourcedPolicy<'a> {
    pub id: &'a str,
    pub policy: &'a Policy,
}

impl<'a> SourcedPolicy<'a> {
    pub fn new(id: &'a str, policy: &'a Policy) -> SourcedPolicy<'a> {
        SourcedPolicy { id, policy }
    }
}

/// A statement that applied to the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    pub source_policy_id: String,
    pub set: PolicySet,
    /// The statement's position in its policy's `Statement` list, from 0.
    pub statement_index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    pub start_position: Option<Position>,
    pub end_position: Option<Position>,
}

/// The outcome and the statements that decided it: the applicable Deny statements for
/// `ExplicitDeny`, the applicable Allow statements for `Allow`, none for `ImplicitDeny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub matched: Vec<MatchedStatement>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
}

/// Evaluates one request against identity policies and, if `session` is `Some`, session
/// policies (effective rights = identity ∩ session; an empty session list allows nothing).
///
/// `identity` may also hold a same-account resource-based policy (a bucket policy): its Allows
/// combine with the identity policies' as IAM's same-account rule says, and its Denies count
/// like any other. Permissions boundaries are not modelled (none of Tessera's callers has one).
pub fn evaluate(
    request: &RequestContext,
    identity: &[SourcedPolicy<'_>],
    session: Option<&[SourcedPolicy<'_>]>,
) -> Decision {
    let mut denies = Vec::new();
    let mut identity_allows = Vec::new();
    let mut session_allows = Vec::new();
    collect(
        request,
        identity,
        PolicySet::Identity,
        &mut denies,
        &mut identity_allows,
    );
    if let Some(session) = session {
        collect(
            request,
            session,
            PolicySet::Session,
            &mut denies,
            &mut session_allows,
        );
    }
    if !denies.is_empty() {
        return Decision {
            outcome: Outcome::ExplicitDeny,
            matched: denies,
        };
    }
    let session_ok = session.is_none() || !session_allows.is_empty();
    if !identity_allows.is_empty() && session_ok {
        identity_allows.extend(session_allows);
        return Decision {
            outcome: Outcome::Allow,
            matched: identity_allows,
        };
    }
    Decision {
        outcome: Outcome::ImplicitDeny,
        matched: Vec::new(),
    }
}

/// Evaluates a role's trust policy for an `sts:AssumeRole*` request: the request's principal
/// must match a statement's Principal (or fall outside its NotPrincipal), and its action and
/// conditions must match, with no applicable Deny.
pub fn evaluate_trust(request: &RequestContext, trust: SourcedPolicy<'_>) -> Decision {
    evaluate(request, &[trust], None)
}

fn collect(
    request: &RequestContext,
    policies: &[SourcedPolicy<'_>],
    set: PolicySet,
    denies: &mut Vec<MatchedStatement>,
    allows: &mut Vec<MatchedStatement>,
) {
    for source in policies {
        for (index, statement) in source.policy.statements.iter().enumerate() {
            if !statement_applies(statement, request) {
                continue;
            }
            let matched = MatchedStatement {
                source_policy_id: source.id.to_string(),
                set,
                statement_index: index,
                sid: statement.sid.clone(),
                effect: statement.effect,
                start_position: statement.start,
                end_position: statement.end,
            };
            match statement.effect {
                Effect::Deny => denies.push(matched),
                Effect::Allow => allows.push(matched),
            }
        }
    }
}

/// Whether one statement applies to the request (its effect aside).
pub fn statement_applies(statement: &Statement, request: &RequestContext) -> bool {
    in_scope(statement, request) && statement.conditions.iter().all(|c| c.holds(request))
}

/// Principal, action and resource: everything but the conditions.
fn in_scope(statement: &Statement, request: &RequestContext) -> bool {
    if let Some(principals) = &statement.principals
        && !principals.matches(request.principal.as_ref())
    {
        return false;
    }
    let actions = &statement.actions;
    let action_hit = actions
        .patterns
        .iter()
        .any(|p| p.matches(&request.action_lower, request));
    if action_hit == actions.negated {
        return false;
    }
    if let Some(resources) = &statement.resources {
        let hit = resources.patterns.iter().any(|r| {
            r.whole.is_any()
                || arn_matches(r.parts.as_deref(), &r.whole, &request.resource, request)
        });
        if hit == resources.negated {
            return false;
        }
    }
    true
}

/// The condition keys that statements applicable by principal, action and resource read but the
/// request does not carry — SimulatePrincipalPolicy's `MissingContextValues`. Each key once, as
/// first written in the policies.
pub fn missing_context_values(
    request: &RequestContext,
    policies: &[SourcedPolicy<'_>],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for source in policies {
        for statement in &source.policy.statements {
            if !in_scope(statement, request) {
                continue;
            }
            for condition in &statement.conditions {
                let key = condition.key_lowercase();
                if request.key_lower(key).is_none()
                    && !out.iter().any(|k| k.eq_ignore_ascii_case(key))
                {
                    out.push(condition.key.clone());
                }
            }
        }
    }
    out
}
