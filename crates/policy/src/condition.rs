//! The Condition element: operators, set qualifiers and their rules for absent keys.
//!
//! Sources: IAM guide `reference_policies_elements_condition_operators` (operators,
//! `…IfExists`, absent keys) and IAM guide `reference_policies_multi-value-conditions`
//! (ForAllValues/ForAnyValue, several values = OR, several keys/operators = AND, negated
//! operators with several values = NOR).
//!
//! The rules, for one key under one operator, with R the request's values and P the policy's:
//! - plain positive operator: some r in R matches some p in P; absent key → false;
//! - plain negated operator (`StringNotEquals`, `NotIpAddress`, …): no r in R matches any p in P;
//!   absent key → true;
//! - `ForAllValues:` every r in R satisfies the operator (positive: matches some p; negated:
//!   matches no p); absent or empty key → true;
//! - `ForAnyValue:` some r in R satisfies it; absent or empty key → false;
//! - `…IfExists`: absent key → true, otherwise as without the suffix;
//! - `Null`: `true` holds when the key is absent (or an empty list), `false` when present.
//!
//! A request value the operator can't read (a number that isn't one, an address that isn't one)
//! matches no policy value, so a positive operator is false and a negated one true.

use crate::context::RequestContext;
use crate::date;
use crate::document::MalformedPolicy;
use crate::pattern::{Pattern, arn_matches};
use ipnet::IpNet;
use serde_json::Value;
use std::net::IpAddr;

/// The operator families (IAM guide `reference_policies_elements_condition_operators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseOperator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

use BaseOperator as B;

impl BaseOperator {
    fn from_name(name: &str) -> Option<BaseOperator> {
        Some(match name {
            "StringEquals" => B::StringEquals,
            "StringNotEquals" => B::StringNotEquals,
            "StringEqualsIgnoreCase" => B::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => B::StringNotEqualsIgnoreCase,
            "StringLike" => B::StringLike,
            "StringNotLike" => B::StringNotLike,
            "NumericEquals" => B::NumericEquals,
            "NumericNotEquals" => B::NumericNotEquals,
            "NumericLessThan" => B::NumericLessThan,
            "NumericLessThanEquals" => B::NumericLessThanEquals,
            "NumericGreaterThan" => B::NumericGreaterThan,
            "NumericGreaterThanEquals" => B::NumericGreaterThanEquals,
            "DateEquals" => B::DateEquals,
            "DateNotEquals" => B::DateNotEquals,
            "DateLessThan" => B::DateLessThan,
            "DateLessThanEquals" => B::DateLessThanEquals,
            "DateGreaterThan" => B::DateGreaterThan,
            "DateGreaterThanEquals" => B::DateGreaterThanEquals,
            "Bool" => B::Bool,
            "BinaryEquals" => B::BinaryEquals,
            "IpAddress" => B::IpAddress,
            "NotIpAddress" => B::NotIpAddress,
            "ArnEquals" => B::ArnEquals,
            "ArnLike" => B::ArnLike,
            "ArnNotEquals" => B::ArnNotEquals,
            "ArnNotLike" => B::ArnNotLike,
            "Null" => B::Null,
            _ => return None,
        })
    }

    /// Negated operators: true for an absent key, NOR over the policy's values.
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            B::StringNotEquals
                | B::StringNotEqualsIgnoreCase
                | B::StringNotLike
                | B::NumericNotEquals
                | B::DateNotEquals
                | B::NotIpAddress
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }

    /// Policy variables are substituted in the values of string and ARN operators only
    /// (IAM guide `reference_policies_variables`).
    fn takes_variables(self) -> bool {
        matches!(
            self,
            B::StringEquals
                | B::StringNotEquals
                | B::StringEqualsIgnoreCase
                | B::StringNotEqualsIgnoreCase
                | B::StringLike
                | B::StringNotLike
                | B::ArnEquals
                | B::ArnLike
                | B::ArnNotEquals
                | B::ArnNotLike
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

/// A full operator: optional set qualifier, the family, optional `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub set: Option<SetQualifier>,
    pub base: BaseOperator,
    pub if_exists: bool,
}

impl Operator {
    pub fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let base = BaseOperator::from_name(rest)?;
        // Null takes no qualifier and no IfExists (it is itself the existence test).
        if base == B::Null && (if_exists || set.is_some()) {
            return None;
        }
        Some(Operator {
            set,
            base,
            if_exists,
        })
    }
}

/// A policy value, read once at parse time in the form its operator compares.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// String operators (the pattern has wildcards only for *Like) and BinaryEquals.
    Text(Pattern),
    /// Arn* operators: the six parts when ARN-shaped, and the whole pattern.
    Arn(Option<Box<[Pattern; 6]>>, Pattern),
    Number(f64),
    Date(i64),
    Bool(bool),
    Net(IpNet),
    /// A value its operator can't read: it matches nothing.
    Unreadable,
}

/// One key under one operator, with the policy's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    /// The key as written in the policy.
    pub key: String,
    key_lower: String,
    values: Vec<Operand>,
}

impl Condition {
    pub(crate) fn parse_block(
        block: &Value,
        variables: bool,
    ) -> Result<Vec<Condition>, MalformedPolicy> {
        let Value::Object(ops) = block else {
            return Err(MalformedPolicy::syntax());
        };
        let mut out = Vec::new();
        for (op_name, keys) in ops {
            let operator = Operator::parse(op_name).ok_or_else(MalformedPolicy::syntax)?;
            let Value::Object(keys) = keys else {
                return Err(MalformedPolicy::syntax());
            };
            for (key, values) in keys {
                // Tag keys after the `/` may hold colons (`aws:ResourceTag/aws:cloudformation:…`).
                let name = key.split('/').next().unwrap_or(key);
                if name.matches(':').count() > 1 {
                    return Err(MalformedPolicy::new(
                        "Actions/Condition can contain only one colon.",
                    ));
                }
                let raw = scalar_list(values).ok_or_else(MalformedPolicy::syntax)?;
                let values = raw
                    .iter()
                    .map(|v| operand(operator.base, v, variables))
                    .collect();
                out.push(Condition {
                    operator,
                    key: key.clone(),
                    key_lower: key.to_ascii_lowercase(),
                    values,
                });
            }
        }
        Ok(out)
    }

    /// The lowercase key this condition reads.
    pub fn key_lowercase(&self) -> &str {
        &self.key_lower
    }

    pub(crate) fn holds(&self, ctx: &RequestContext) -> bool {
        let op = self.operator;
        let request = ctx
            .key_lower(&self.key_lower)
            .map(|v| v.values())
            .filter(|v| !v.is_empty());
        if op.base == B::Null {
            let absent = request.is_none();
            return self.values.contains(&Operand::Bool(absent));
        }
        let Some(request) = request else {
            // Absent (or empty) key.
            return match op.set {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => op.if_exists,
                None => op.if_exists || op.base.is_negated(),
            };
        };
        let negated = op.base.is_negated();
        // Whether one request value matches any of the policy's values, read positively
        // (StringNotEquals is checked as StringEquals and then negated).
        let hit = |r: &str| {
            self.values
                .iter()
                .any(|p| matches_value(op.base, p, r, ctx))
        };
        let satisfies = |r: &str| hit(r) != negated;
        match op.set {
            Some(SetQualifier::ForAllValues) => request.iter().all(|r| satisfies(r)),
            Some(SetQualifier::ForAnyValue) => request.iter().any(|r| satisfies(r)),
            None if negated => !request.iter().any(|r| hit(r)),
            None => request.iter().any(|r| hit(r)),
        }
    }
}

/// A condition's values: a string, number or boolean, or a list of them.
fn scalar_list(value: &Value) -> Option<Vec<String>> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match value {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn operand(base: BaseOperator, text: &str, variables: bool) -> Operand {
    let variables = variables && base.takes_variables();
    match base {
        B::StringLike | B::StringNotLike => Operand::Text(Pattern::parse(text, true, variables)),
        B::StringEquals
        | B::StringNotEquals
        | B::StringEqualsIgnoreCase
        | B::StringNotEqualsIgnoreCase
        | B::BinaryEquals => Operand::Text(Pattern::parse(text, false, variables)),
        B::ArnEquals | B::ArnLike | B::ArnNotEquals | B::ArnNotLike => {
            let whole = Pattern::parse(text, true, variables);
            Operand::Arn(whole.split_arn().map(Box::new), whole)
        }
        B::NumericEquals
        | B::NumericNotEquals
        | B::NumericLessThan
        | B::NumericLessThanEquals
        | B::NumericGreaterThan
        | B::NumericGreaterThanEquals => number(text).map_or(Operand::Unreadable, Operand::Number),
        B::DateEquals
        | B::DateNotEquals
        | B::DateLessThan
        | B::DateLessThanEquals
        | B::DateGreaterThan
        | B::DateGreaterThanEquals => date::parse(text).map_or(Operand::Unreadable, Operand::Date),
        B::Bool | B::Null => match text.to_ascii_lowercase().as_str() {
            "true" => Operand::Bool(true),
            "false" => Operand::Bool(false),
            _ => Operand::Unreadable,
        },
        B::IpAddress | B::NotIpAddress => net(text).map_or(Operand::Unreadable, Operand::Net),
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A CIDR block, or a single address (a /32 or /128).
fn net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Whether request value `r` matches policy value `p` under the positive form of `base`.
fn matches_value(base: BaseOperator, p: &Operand, r: &str, ctx: &RequestContext) -> bool {
    match (base, p) {
        (B::StringLike | B::StringNotLike, Operand::Text(pattern)) => pattern.matches(r, ctx),
        (B::StringEquals | B::StringNotEquals | B::BinaryEquals, Operand::Text(pattern)) => {
            pattern.equals(r, ctx)
        }
        (B::StringEqualsIgnoreCase | B::StringNotEqualsIgnoreCase, Operand::Text(pattern)) => {
            pattern
                .render(ctx)
                .is_some_and(|p| p.to_lowercase() == r.to_lowercase())
        }
        (_, Operand::Arn(parts, whole)) => {
            // A request value that is not an ARN never matches.
            r.splitn(6, ':').count() == 6 && arn_matches(parts.as_deref(), whole, r, ctx)
        }
        (_, Operand::Number(p)) => number(r).is_some_and(|r| match base {
            B::NumericEquals | B::NumericNotEquals => r == *p,
            B::NumericLessThan => r < *p,
            B::NumericLessThanEquals => r <= *p,
            B::NumericGreaterThan => r > *p,
            B::NumericGreaterThanEquals => r >= *p,
            _ => false,
        }),
        (_, Operand::Date(p)) => date::parse(r).is_some_and(|r| match base {
            B::DateEquals | B::DateNotEquals => r == *p,
            B::DateLessThan => r < *p,
            B::DateLessThanEquals => r <= *p,
            B::DateGreaterThan => r > *p,
            B::DateGreaterThanEquals => r >= *p,
            _ => false,
        }),
        (B::Bool, Operand::Bool(p)) => match r.to_ascii_lowercase().as_str() {
            "true" => *p,
            "false" => !*p,
            _ => false,
        },
        (_, Operand::Net(net)) => r.trim().parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
        _ => false,
    }
}
