//! The shape of the generated model tables, and the validator that enforces every constraint they
//! carry (required, length, pattern, enum, range) the way AWS reports it.

use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// How a client authenticates an operation, as the model declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Sent unsigned (SignUp, InitiateAuth, GetUser …); authorised by the body, if at all.
    None,
    /// Signed with SigV4 by IAM credentials.
    SigV4,
}

/// Where a member travels in a REST (cognito-sync) request; everything else is in the JSON body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Query,
    Header,
    HeaderPrefix,
}

#[derive(Debug)]
pub struct Service {
    pub name: &'static str,
    pub signing_name: &'static str,
    pub target_prefix: Option<&'static str>,
    pub api_version: &'static str,
    pub operations: &'static [Operation],
    pub shapes: &'static [ShapeDef],
    pub patterns: &'static Patterns,
}

#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub input: Option<usize>,
    pub output: Option<usize>,
    pub auth: Auth,
    pub method: &'static str,
    pub uri: &'static str,
    pub errors: &'static [&'static str],
}

#[derive(Debug)]
pub struct ShapeDef {
    pub name: &'static str,
    pub sensitive: bool,
    pub kind: ShapeKind,
}

#[derive(Debug)]
pub enum ShapeKind {
    Structure {
        members: &'static [MemberDef],
        exception: bool,
    },
    String {
        min: Option<i64>,
        max: Option<i64>,
        pattern: Option<usize>,
        values: &'static [&'static str],
    },
    List {
        member: usize,
        min: Option<i64>,
        max: Option<i64>,
    },
    Map {
        key: usize,
        value: usize,
        min: Option<i64>,
        max: Option<i64>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Double,
    Timestamp,
    Blob {
        min: Option<i64>,
        max: Option<i64>,
    },
    Document,
}

#[derive(Debug)]
pub struct MemberDef {
    pub name: &'static str,
    pub shape: usize,
    pub required: bool,
    pub location: Location,
    pub location_name: &'static str,
}

/// The model's patterns (Java syntax, as AWS prints them in messages) and their Rust translations,
/// compiled once on first use.
#[derive(Debug)]
pub struct Patterns {
    sources: &'static [(&'static str, &'static str)],
    compiled: OnceLock<Vec<Option<Regex>>>,
}

impl Patterns {
    pub const fn new(sources: &'static [(&'static str, &'static str)]) -> Self {
        Self {
            sources,
            compiled: OnceLock::new(),
        }
    }

    fn get(&self, id: usize) -> Option<(&'static str, &Regex)> {
        let compiled = self.compiled.get_or_init(|| {
            self.sources
                .iter()
                .map(|(_, rust)| Regex::new(rust).ok())
                .collect()
        });
        let java = self.sources.get(id)?.0;
        compiled.get(id)?.as_ref().map(|re| (java, re))
    }
}

impl Service {
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        self.operations.iter().find(|op| op.name == name)
    }

    pub fn shape(&self, id: usize) -> &'static ShapeDef {
        &self.shapes[id]
    }

    pub fn exception(&self, name: &str) -> bool {
        self.shapes.iter().any(|s| {
            s.name == name
                && matches!(
                    s.kind,
                    ShapeKind::Structure {
                        exception: true,
                        ..
                    }
                )
        })
    }

    /// Checks a request body against the operation's input shape.
    pub fn validate_input(&self, op: &Operation, body: &Value) -> Result<(), Rejection> {
        let Some(input) = op.input else {
            return Ok(());
        };
        let mut v = Validator {
            service: self,
            violations: Vec::new(),
            sensitive_depth: 0,
        };
        let empty = Value::Object(Default::default());
        let body = if body.is_null() { &empty } else { body };
        v.check(input, body, "")?;
        if v.violations.is_empty() {
            Ok(())
        } else {
            Err(Rejection::Constraints(v.violations))
        }
    }
}

/// Why a request body was refused before it reached any behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The JSON does not have the types the model declares: `SerializationException`.
    Serialization(String),
    /// Model constraints are violated: `InvalidParameterException` (AWS validation message).
    Constraints(Vec<String>),
}

impl Rejection {
    /// The message AWS sends for this rejection.
    pub fn message(&self) -> String {
        match self {
            Rejection::Serialization(m) => m.clone(),
            Rejection::Constraints(v) => format!(
                "{} validation error{} detected: {}",
                v.len(),
                if v.len() == 1 { "" } else { "s" },
                v.join("; ")
            ),
        }
    }
}

struct Validator<'s> {
    service: &'s Service,
    violations: Vec<String>,
    /// How many sensitive shapes enclose the value being checked.
    sensitive_depth: usize,
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(path: &str, next: &str) -> String {
    if path.is_empty() {
        next.to_string()
    } else {
        format!("{path}.{next}")
    }
}

/// Java's `String.length()`: UTF-16 code units, which is what AWS's length limits count.
fn java_len(s: &str) -> i64 {
    s.encode_utf16().count() as i64
}

impl Validator<'_> {
    fn violation(&mut self, shape: &ShapeDef, value: &Value, path: &str, constraint: String) {
        // Nothing inside a sensitive shape is shown (AuthParameters' values are plain strings,
        // but one of them is a password), and what is shown is cut short.
        let shown = if shape.sensitive || self.sensitive_depth > 0 {
            String::from("Value at")
        } else {
            match value {
                Value::String(s) => format!("Value '{}' at", crate::echo(s)),
                other => format!("Value '{}' at", crate::echo(&other.to_string())),
            }
        };
        self.violations.push(format!(
            "{shown} '{}' failed to satisfy constraint: {constraint}",
            crate::echo(path)
        ));
    }

    fn type_error(path: &str, expected: &str) -> Rejection {
        let at = if path.is_empty() {
            "the request body".to_string()
        } else {
            format!("'{}'", crate::echo(path))
        };
        Rejection::Serialization(format!("Expected {expected} at {at}"))
    }

    fn length(
        &mut self,
        shape: &ShapeDef,
        value: &Value,
        path: &str,
        len: i64,
        min: Option<i64>,
        max: Option<i64>,
    ) {
        if let Some(min) = min
            && len < min
        {
            self.violation(
                shape,
                value,
                path,
                format!("Member must have length greater than or equal to {min}"),
            );
        }
        if let Some(max) = max
            && len > max
        {
            self.violation(
                shape,
                value,
                path,
                format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    fn check(&mut self, id: usize, value: &Value, path: &str) -> Result<(), Rejection> {
        let sensitive = self.service.shape(id).sensitive;
        self.sensitive_depth += usize::from(sensitive);
        let checked = self.check_shape(id, value, path);
        self.sensitive_depth -= usize::from(sensitive);
        checked
    }

    fn check_shape(&mut self, id: usize, value: &Value, path: &str) -> Result<(), Rejection> {
        let shape = self.service.shape(id);
        match &shape.kind {
            ShapeKind::Structure { members, .. } => {
                let Value::Object(map) = value else {
                    return Err(Self::type_error(path, "an object"));
                };
                for m in members.iter() {
                    let member_path = join(path, &lower_first(m.name));
                    match map.get(m.name) {
                        None | Some(Value::Null) => {
                            if m.required {
                                self.violations.push(format!(
                                    "Value null at '{}' failed to satisfy constraint: Member must not be null",
                                    crate::echo(&member_path)
                                ));
                            }
                        }
                        Some(v) => self.check(m.shape, v, &member_path)?,
                    }
                }
            }
            ShapeKind::String {
                min,
                max,
                pattern,
                values,
            } => {
                let Value::String(s) = value else {
                    return Err(Self::type_error(path, "a string"));
                };
                self.length(shape, value, path, java_len(s), *min, *max);
                if !values.is_empty() && !values.contains(&s.as_str()) {
                    self.violation(
                        shape,
                        value,
                        path,
                        format!(
                            "Member must satisfy enum value set: [{}]",
                            values.join(", ")
                        ),
                    );
                }
                if let Some((java, re)) = pattern.and_then(|p| self.service.patterns.get(p))
                    && !re.is_match(s)
                {
                    self.violation(
                        shape,
                        value,
                        path,
                        format!("Member must satisfy regular expression pattern: {java}"),
                    );
                }
            }
            ShapeKind::List { member, min, max } => {
                let Value::Array(items) = value else {
                    return Err(Self::type_error(path, "a list"));
                };
                self.length(shape, value, path, items.len() as i64, *min, *max);
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() {
                        continue;
                    }
                    self.check(*member, item, &join(path, &format!("{}.member", i + 1)))?;
                }
            }
            ShapeKind::Map {
                key,
                value: v,
                min,
                max,
            } => {
                let Value::Object(map) = value else {
                    return Err(Self::type_error(path, "a map"));
                };
                self.length(shape, value, path, map.len() as i64, *min, *max);
                for (k, item) in map {
                    self.check(*key, &Value::String(k.clone()), &join(path, "key"))?;
                    if item.is_null() {
                        continue;
                    }
                    self.check(*v, item, &join(path, &format!("{k}.member")))?;
                }
            }
            ShapeKind::Integer { min, max } => {
                let Some(n) = value.as_i64() else {
                    return Err(Self::type_error(path, "an integer"));
                };
                if let Some(min) = min
                    && n < *min
                {
                    self.violation(
                        shape,
                        value,
                        path,
                        format!("Member must have value greater than or equal to {min}"),
                    );
                }
                if let Some(max) = max
                    && n > *max
                {
                    self.violation(
                        shape,
                        value,
                        path,
                        format!("Member must have value less than or equal to {max}"),
                    );
                }
            }
            ShapeKind::Boolean => {
                if !value.is_boolean() {
                    return Err(Self::type_error(path, "a boolean"));
                }
            }
            ShapeKind::Double | ShapeKind::Timestamp => {
                if !value.is_number() {
                    return Err(Self::type_error(path, "a number"));
                }
            }
            ShapeKind::Blob { min, max } => {
                let Value::String(s) = value else {
                    return Err(Self::type_error(path, "a base64 string"));
                };
                // Blob limits count decoded bytes; base64 carries 3 bytes per 4 characters.
                let decoded = (s.trim_end_matches('=').len() * 3 / 4) as i64;
                self.length(shape, value, path, decoded, *min, *max);
            }
            ShapeKind::Document => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::idp;
    use serde_json::json;

    fn check(op: &str, body: serde_json::Value) -> Result<(), super::Rejection> {
        let op = idp::SERVICE
            .operation(op)
            .unwrap_or_else(|| panic!("no {op}"));
        idp::SERVICE.validate_input(op, &body)
    }

    #[test]
    fn required_members_are_reported_by_name() {
        let err = check("InitiateAuth", json!({"AuthFlow": "USER_PASSWORD_AUTH"})).unwrap_err();
        assert_eq!(
            err.message(),
            "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null"
        );
    }

    #[test]
    fn enum_pattern_and_length() {
        let err = check(
            "InitiateAuth",
            json!({"AuthFlow": "NOPE", "ClientId": "bad client!"}),
        )
        .unwrap_err();
        let msg = err.message();
        assert!(msg.starts_with("2 validation errors detected: "), "{msg}");
        assert!(msg.contains("Value 'NOPE' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [USER_SRP_AUTH"), "{msg}");
        // ClientIdType is marked sensitive in the model, so AWS does not echo it.
        assert!(msg.contains("Value at 'clientId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+]+"), "{msg}");
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let err = check(
            "SignUp",
            json!({"ClientId": "abc", "Username": "u", "Password": ""}),
        )
        .unwrap_err();
        let msg = err.message();
        assert!(
            msg.contains("Value at 'password' failed to satisfy constraint"),
            "{msg}"
        );
    }

    /// A 1.5 MB `SRP_A` once came back whole in the message (and so in a response header).
    #[test]
    fn values_inside_sensitive_maps_are_not_echoed() {
        let huge = "A".repeat(1_500_000);
        let err = check(
            "InitiateAuth",
            json!({"AuthFlow": "USER_SRP_AUTH", "ClientId": "abc123", "AuthParameters": {"USERNAME": "a", "SRP_A": huge}}),
        )
        .unwrap_err();
        assert_eq!(
            err.message(),
            "1 validation error detected: Value at 'authParameters.SRP_A.member' failed to satisfy constraint: Member must have length less than or equal to 131072"
        );
    }

    #[test]
    fn echoed_values_and_paths_are_cut_short() {
        let long = "x".repeat(5000);
        let err = check(
            "AdminUpdateUserAttributes",
            json!({"UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributes": [{"Name": "n", "Value": "x"}], "ClientMetadata": {long.clone(): "y".repeat(131_073)}}),
        )
        .unwrap_err();
        let msg = err.message();
        assert!(msg.len() < 1000, "{} bytes", msg.len());
        assert!(
            msg.contains(&format!(
                "Value '{}...' at 'clientMetadata.{}...'",
                "y".repeat(crate::ECHO_LIMIT),
                "x".repeat(crate::ECHO_LIMIT - 15)
            )),
            "{msg}"
        );
        assert_eq!(crate::echo("short"), "short");
        assert_eq!(
            crate::echo(&"é".repeat(300)),
            format!("{}...", "é".repeat(256))
        );
    }

    #[test]
    fn nested_list_paths_and_types() {
        let err = check(
            "AdminUpdateUserAttributes",
            json!({"UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributes": [{"Name": "", "Value": "x"}]}),
        )
        .unwrap_err();
        assert!(
            err.message().contains("'userAttributes.1.member.name'"),
            "{}",
            err.message()
        );
        let err = check("ListUsers", json!({"UserPoolId": 5})).unwrap_err();
        assert!(matches!(err, super::Rejection::Serialization(_)));
    }

    #[test]
    fn domains_may_be_fully_qualified() {
        // The model's DomainType pattern covers prefixes only; custom domains travel in the same
        // member, so the domain crate checks them (gen-wire's LOOSER_THAN_MODELLED).
        let cert = json!({"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"});
        let custom = json!({"UserPoolId": "us-east-1_abc", "Domain": "auth.example.com", "CustomDomainConfig": cert});
        assert_eq!(check("CreateUserPoolDomain", custom), Ok(()));
        let empty = json!({"UserPoolId": "us-east-1_abc", "Domain": ""});
        assert!(check("CreateUserPoolDomain", empty).is_err());
        let no_arn =
            json!({"UserPoolId": "us-east-1_abc", "Domain": "a.b.com", "CustomDomainConfig": {}});
        assert!(check("CreateUserPoolDomain", no_arn).is_err());
    }

    #[test]
    fn valid_body_passes_and_parses() {
        let body = json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "abc123", "AuthParameters": {"USERNAME": "a"}});
        assert_eq!(check("InitiateAuth", body.clone()), Ok(()));
        let req: idp::InitiateAuthRequest =
            serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(req.auth_flow, idp::AuthFlowType::UserPasswordAuth);
    }
}
