//! SimulatePrincipalPolicy and SimulateCustomPolicy: every action × resource pair evaluated by
//! `tessera-policy` against a role's policies (inline and attached managed defaults) plus any
//! PolicyInputList documents, with IAM's EvalDecision, MatchedStatements and
//! MissingContextValues.

use super::{load_role, parse_policy};
use crate::Engine;
use crate::error::EngineResult;
use tessera_domain::iam;
use tessera_domain::{DomainError, ErrorKind};
use tessera_policy::{
    Policy, PolicyKind, Position, RequestContext, SourcedPolicy, evaluate, missing_context_values,
};

/// ContextKeyType.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContextType {
    Single,
    List,
}

impl ContextType {
    /// `string`, `numeric`, `boolean`, `ip`, `binary`, `date` and their `…List` forms.
    pub fn parse(s: &str) -> Option<ContextType> {
        match s {
            "string" | "numeric" | "boolean" | "ip" | "binary" | "date" => {
                Some(ContextType::Single)
            }
            "stringList" | "numericList" | "booleanList" | "ipList" | "binaryList" | "dateList" => {
                Some(ContextType::List)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct ContextEntry {
    pub key: String,
    pub values: Vec<String>,
    pub kind: ContextType,
}

/// What to simulate.
#[derive(Clone, Debug, Default)]
pub struct Simulation {
    pub action_names: Vec<String>,
    /// Empty means `*`.
    pub resource_arns: Vec<String>,
    pub context: Vec<ContextEntry>,
    /// Extra identity policies (PolicyInputList).
    pub policy_input: Vec<String>,
    /// Session-style permissions boundary is not modelled; PermissionsBoundaryPolicyInputList
    /// is refused upstream if given.
    pub caller_arn: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimulatedStatement {
    pub source_policy_id: String,
    /// IAM's PolicySourceType: `role`, `user-managed`, `none`.
    pub source_policy_type: &'static str,
    pub start: Option<Position>,
    pub end: Option<Position>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvaluationResult {
    pub action: String,
    pub resource: String,
    /// `allowed`, `explicitDeny`, `implicitDeny`.
    pub decision: &'static str,
    pub matched: Vec<SimulatedStatement>,
    pub missing_context_values: Vec<String>,
}

struct Source {
    id: String,
    kind: &'static str,
    policy: Policy,
}

fn invalid_input(message: impl Into<String>) -> DomainError {
    DomainError::new(ErrorKind::IamInvalidInput, message)
}

impl Engine {
    /// SimulatePrincipalPolicy with a role ARN as PolicySourceArn.
    pub async fn simulate_principal_policy(
        &self,
        source_arn: &str,
        sim: Simulation,
    ) -> EngineResult<Vec<EvaluationResult>> {
        let account = self.inner.settings.account_id.clone();
        let Some(name) = iam::role_name_from_arn(&account, source_arn) else {
            return Err(invalid_input(format!(
                "Invalid ARN: {source_arn}. Only IAM roles of this account can be simulated."
            ))
            .into());
        };
        let mut sources = Vec::new();
        {
            let mut tx = self.inner.store.read().await?;
            let role = load_role(&mut *tx, name).await?;
            if role.arn != source_arn {
                return Err(iam::no_such_role(name).into());
            }
            for p in tx.role_policies(name).await? {
                sources.push(Source {
                    policy: parse_policy(&p.document, PolicyKind::Identity)?,
                    id: p.name,
                    kind: "role",
                });
            }
            for arn in tx.attached_role_policies(name).await? {
                let Some(p) = tx.get_managed_policy(&arn).await? else {
                    continue;
                };
                let Some(version) = p.default_version() else {
                    continue;
                };
                sources.push(Source {
                    policy: parse_policy(&version.document, PolicyKind::Identity)?,
                    id: p.name.clone(),
                    kind: "user-managed",
                });
            }
        }
        self.simulate(sources, sim)
    }

    /// SimulateCustomPolicy: only the PolicyInputList documents.
    pub fn simulate_custom_policy(&self, sim: Simulation) -> EngineResult<Vec<EvaluationResult>> {
        if sim.policy_input.is_empty() {
            return Err(invalid_input("PolicyInputList must not be empty.").into());
        }
        self.simulate(Vec::new(), sim)
    }

    fn simulate(
        &self,
        mut sources: Vec<Source>,
        sim: Simulation,
    ) -> EngineResult<Vec<EvaluationResult>> {
        if sim.action_names.is_empty() {
            return Err(invalid_input("ActionNames must not be empty.").into());
        }
        for (i, doc) in sim.policy_input.iter().enumerate() {
            sources.push(Source {
                policy: parse_policy(doc, PolicyKind::Identity)?,
                id: format!("PolicyInputList.{}", i + 1),
                kind: "none",
            });
        }
        let resources = if sim.resource_arns.is_empty() {
            vec!["*".to_string()]
        } else {
            sim.resource_arns.clone()
        };
        let sourced: Vec<SourcedPolicy<'_>> = sources
            .iter()
            .map(|s| SourcedPolicy::new(&s.id, &s.policy))
            .collect();
        let now = self.now().millis();
        let mut results = Vec::new();
        for action in &sim.action_names {
            for resource in &resources {
                let mut request =
                    RequestContext::new(action.as_str(), resource.as_str()).with_request_time(now);
                if let Some(caller) = &sim.caller_arn {
                    request = request.with_key("aws:PrincipalArn", caller.as_str());
                }
                for entry in &sim.context {
                    request = match entry.kind {
                        ContextType::Single => match entry.values.first() {
                            Some(v) => request.with_key(&entry.key, v.as_str()),
                            None => request,
                        },
                        ContextType::List => {
                            request.with_multi_key(&entry.key, entry.values.iter().cloned())
                        }
                    };
                }
                let decision = evaluate(&request, &sourced, None);
                let matched = decision
                    .matched
                    .iter()
                    .map(|m| SimulatedStatement {
                        source_policy_id: m.source_policy_id.clone(),
                        source_policy_type: sources
                            .iter()
                            .find(|s| s.id == m.source_policy_id)
                            .map_or("none", |s| s.kind),
                        start: m.start_position,
                        end: m.end_position,
                    })
                    .collect();
                results.push(EvaluationResult {
                    action: action.clone(),
                    resource: resource.clone(),
                    decision: decision.outcome.as_str(),
                    matched,
                    missing_context_values: missing_context_values(&request, &sourced),
                });
            }
        }
        Ok(results)
    }
}
