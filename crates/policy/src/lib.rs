//! IAM policies for Tessera: the JSON grammar and a pure evaluator.
//!
//! The identity-pool STS (role trust policies for `AssumeRoleWithWebIdentity`), IAM's
//! `SimulatePrincipalPolicy` and the policy-enforcing SigV4 gateway all call this crate:
//!
//! ```
//! use tessera_policy::{Policy, PolicyKind, RequestContext, SourcedPolicy, evaluate};
//!
//! let policy = Policy::parse(
//!     r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
//!         "Resource":"arn:aws:s3:::mybucket/${cognito-identity.amazonaws.com:sub}/*"}]}"#,
//!     PolicyKind::Identity,
//! )?;
//! let request = RequestContext::new("s3:GetObject", "arn:aws:s3:::mybucket/us-east-1:abc/a.txt")
//!     .with_key("cognito-identity.amazonaws.com:sub", "us-east-1:abc");
//! let decision = evaluate(&request, &[SourcedPolicy::new("role-policy", &policy)], None);
//! assert!(decision.is_allowed());
//! # Ok::<(), tessera_policy::MalformedPolicy>(())
//! ```
//!
//! * [`Policy::parse`] reads a document for one [`PolicyKind`] (identity, trust or resource
//!   policy) and refuses what IAM refuses with IAM's `MalformedPolicyDocument` message.
//! * [`RequestContext`] is the request: principal, action, resource, condition keys (single or
//!   multivalued strings, with helpers for numbers, dates, booleans and addresses), and the
//!   request time — the evaluator reads no clock.
//! * [`evaluate`] returns a [`Decision`]: [`Outcome::Allow`], [`Outcome::ExplicitDeny`] or
//!   [`Outcome::ImplicitDeny`], with the statements that decided it (source policy id and
//!   statement index, as SimulatePrincipalPolicy reports them).
//!
//! The architecture doc places policy evaluation in `domain/policy/`. It is a crate of its own
//! instead: the evaluator is large and changes on its own schedule, and as a separate crate an
//! edit to it does not recompile everything downstream of `tessera-domain` (store, engine,
//! http, server). It depends on nothing of Tessera's, only serde_json and ipnet.
//!
//! Why not iam-rs or scratchstack-aspen: both mis-evaluate the seed's policies (condition values
//! not interpolated, missing variables matching as `""`, variables under 2008-10-17, Allow
//! winning over a later Deny, no ForAllValues) — see shared/reference/identity-pools.md §4.3.
//!
//! Sources cited in the modules as IAM guide `page` are pages of the IAM user guide
//! (awsdocs/iam-user-guide `doc_source/page.md`).

mod condition;
mod context;
mod date;
mod document;
mod eval;
mod pattern;
mod span;

pub use condition::{BaseOperator, Condition, Operator, SetQualifier};
pub use context::{KeyValue, Principal, RequestContext};
pub use document::{
    Effect, MalformedPolicy, Policy, PolicyKind, Statement, VERSION_2008, VERSION_2012,
};
pub use eval::{
    Decision, MatchedStatement, Outcome, PolicySet, SourcedPolicy, evaluate, evaluate_trust,
    missing_context_values, statement_applies,
};
pub use span::Position;
