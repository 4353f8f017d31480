//! User attributes: the pool's schema (standard OIDC attributes plus `custom:*`), and the rules
//! for writing attribute values against it.

use crate::error::{DomainError, DomainResult, ErrorKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A user's attributes by name. Values are strings on the wire, whatever their schema type.
pub type Attributes = BTreeMap<String, String>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeDataType {
    String,
    Number,
    DateTime,
    Boolean,
}

/// One attribute in a pool's schema. Custom attributes carry their `custom:` (or `dev:custom:`)
/// prefix in `name`, as Cognito reports them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaAttribute {
    pub name: String,
    pub data_type: AttributeDataType,
    pub developer_only: bool,
    pub mutable: bool,
    pub required: bool,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub min_value: Option<i64>,
    pub max_value: Option<i64>,
}

pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;
pub const MAX_VALUE_LENGTH: usize = 2048;

/// Attributes a user has but the schema doesn't list, and which nobody may write directly.
pub const SUB: &str = "sub";
pub const EMAIL: &str = "email";
pub const EMAIL_VERIFIED: &str = "email_verified";
pub const PHONE_NUMBER: &str = "phone_number";
pub const PHONE_NUMBER_VERIFIED: &str = "phone_number_verified";
pub const PREFERRED_USERNAME: &str = "preferred_username";

/// The standard attributes every pool has, with Cognito's default definitions.
pub fn standard_schema() -> Vec<SchemaAttribute> {
    let string = |name: &str, min: u32, max: u32| SchemaAttribute {
        name: name.to_string(),
        data_type: AttributeDataType::String,
        developer_only: false,
        mutable: true,
        required: false,
        min_length: Some(min),
        max_length: Some(max),
        min_value: None,
        max_value: None,
    };
    let boolean = |name: &str| SchemaAttribute {
        name: name.to_string(),
        data_type: AttributeDataType::Boolean,
        developer_only: false,
        mutable: true,
        required: false,
        min_length: None,
        max_length: None,
        min_value: None,
        max_value: None,
    };
    let mut sub = string(SUB, 1, 2048);
    sub.mutable = false;
    sub.required = true;
    vec![
        sub,
        string("name", 0, 2048),
        string("given_name", 0, 2048),
        string("family_name", 0, 2048),
        string("middle_name", 0, 2048),
        string("nickname", 0, 2048),
        string(PREFERRED_USERNAME, 0, 2048),
        string("profile", 0, 2048),
        string("picture", 0, 2048),
        string("website", 0, 2048),
        string(EMAIL, 0, 2048),
        boolean(EMAIL_VERIFIED),
        string("gender", 0, 2048),
        string("birthdate", 10, 10),
        string("zoneinfo", 0, 2048),
        string("locale", 0, 2048),
        string(PHONE_NUMBER, 0, 2048),
        boolean(PHONE_NUMBER_VERIFIED),
        string("address", 0, 2048),
        SchemaAttribute {
            name: "updated_at".into(),
            data_type: AttributeDataType::Number,
            developer_only: false,
            mutable: true,
            required: false,
            min_length: None,
            max_length: None,
            min_value: Some(0),
            max_value: None,
        },
    ]
}

pub fn is_custom(name: &str) -> bool {
    name.starts_with("custom:") || name.starts_with("dev:custom:")
}

/// A schema attribute as CreateUserPool and AddCustomAttributes receive it: anything may be
/// missing, and constraints are the strings the wire carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestedAttribute {
    pub name: String,
    pub data_type: Option<AttributeDataType>,
    pub developer_only: Option<bool>,
    pub mutable: Option<bool>,
    pub required: Option<bool>,
    pub min_length: Option<String>,
    pub max_length: Option<String>,
    pub min_value: Option<String>,
    pub max_value: Option<String>,
}

/// The constraint bounds of the attribute's own type; those of the other type are ignored, as
/// Cognito does. `name` is the attribute's full name, as Cognito's messages give it.
struct Bounds {
    min_length: Option<u32>,
    max_length: Option<u32>,
    min_value: Option<i64>,
    max_value: Option<i64>,
}

fn bounds(
    req: &RequestedAttribute,
    name: &str,
    data_type: AttributeDataType,
) -> DomainResult<Bounds> {
    fn parse<T: std::str::FromStr>(
        v: &Option<String>,
        block: &str,
        name: &str,
    ) -> DomainResult<Option<T>> {
        v.as_deref()
            .map(|v| {
                v.trim().parse::<T>().map_err(|_| {
                    DomainError::invalid_parameter(format!(
                        "Invalid {block} for schema attribute {name}"
                    ))
                })
            })
            .transpose()
    }
    let mut out = Bounds {
        min_length: None,
        max_length: None,
        min_value: None,
        max_value: None,
    };
    match data_type {
        AttributeDataType::String => {
            const BLOCK: &str = "StringAttributeConstraints";
            out.min_length = parse(&req.min_length, BLOCK, name)?;
            out.max_length = parse(&req.max_length, BLOCK, name)?;
            let limit = MAX_VALUE_LENGTH as u32;
            if out.min_length.is_some_and(|v| v > limit)
                || out.max_length.is_some_and(|v| v > limit)
            {
                return Err(DomainError::invalid_parameter(format!(
                    "user.{name}: String attributes cannot have a length of more than {MAX_VALUE_LENGTH}"
                )));
            }
            if let (Some(min), Some(max)) = (out.min_length, out.max_length)
                && min > max
            {
                return Err(DomainError::invalid_parameter(format!(
                    "user.{name}: Max length cannot be less than min length."
                )));
            }
        }
        AttributeDataType::Number => {
            const BLOCK: &str = "NumberAttributeConstraints";
            out.min_value = parse(&req.min_value, BLOCK, name)?;
            out.max_value = parse(&req.max_value, BLOCK, name)?;
            if let (Some(min), Some(max)) = (out.min_value, out.max_value)
                && min > max
            {
                return Err(DomainError::invalid_parameter(format!(
                    "user.{name}: Max value cannot be less than min value."
                )));
            }
        }
        AttributeDataType::Boolean | AttributeDataType::DateTime => {}
    }
    Ok(out)
}

/// The schema as a pool declares it at creation: standard attributes with any overrides the
/// request makes (only `Required`/`Mutable`/constraints of standard ones), plus custom attributes.
pub fn build_schema(requested: &[RequestedAttribute]) -> DomainResult<Vec<SchemaAttribute>> {
    let mut schema = standard_schema();
    for attr in requested {
        let Some(existing) = schema.iter_mut().find(|s| s.name == attr.name) else {
            let custom = custom_attribute(attr)?;
            schema.push(custom);
            continue;
        };
        if existing.name == SUB {
            continue;
        }
        if attr.data_type.is_some_and(|t| t != existing.data_type)
            || attr.developer_only == Some(true)
        {
            return Err(DomainError::invalid_parameter(format!(
                "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute {}",
                attr.name
            )));
        }
        let given = bounds(attr, &existing.name, existing.data_type)?;
        existing.required = attr.required.unwrap_or(existing.required);
        existing.mutable = attr.mutable.unwrap_or(existing.mutable);
        existing.min_length = given.min_length.or(existing.min_length);
        existing.max_length = given.max_length.or(existing.max_length);
        existing.min_value = given.min_value.or(existing.min_value);
        existing.max_value = given.max_value.or(existing.max_value);
        if let (Some(min), Some(max)) = (existing.min_length, existing.max_length)
            && min > max
        {
            return Err(DomainError::invalid_parameter(format!(
                "user.{}: Max length cannot be less than min length.",
                existing.name
            )));
        }
    }
    check_custom_count(&schema)?;
    Ok(schema)
}

/// Adds custom attributes to an existing schema (AddCustomAttributes).
pub fn add_custom_attributes(
    schema: &mut Vec<SchemaAttribute>,
    requested: &[RequestedAttribute],
) -> DomainResult<()> {
    for attr in requested {
        let custom = custom_attribute(attr)?;
        let bare = custom_bare_name(&attr.name);
        if let Some(existing) = schema.iter().find(|s| custom_bare_name(&s.name) == bare) {
            return Err(DomainError::invalid_parameter(format!(
                "custom:{bare}: Existing attribute already has name {}.",
                existing.name
            )));
        }
        schema.push(custom);
    }
    check_custom_count(schema)
}

/// A custom attribute's name without its `custom:` / `dev:custom:` prefix.
fn custom_bare_name(name: &str) -> &str {
    let name = name.strip_prefix("dev:").unwrap_or(name);
    name.strip_prefix("custom:").unwrap_or(name)
}

fn custom_attribute(attr: &RequestedAttribute) -> DomainResult<SchemaAttribute> {
    let bare = custom_bare_name(&attr.name);
    if bare.is_empty() || bare.chars().count() > 20 {
        return Err(DomainError::invalid_parameter(format!(
            "Custom attribute name {bare} must be 1 to 20 characters."
        )));
    }
    let Some(data_type) = attr.data_type else {
        return Err(DomainError::invalid_parameter(
            "Invalid AttributeDataType input, consider using the provided AttributeDataType enum.",
        ));
    };
    if attr.required == Some(true) {
        return Err(DomainError::invalid_parameter(
            "Required custom attributes are not supported currently.",
        ));
    }
    let developer_only = attr.developer_only.unwrap_or(false);
    let name = if developer_only {
        format!("dev:custom:{bare}")
    } else {
        format!("custom:{bare}")
    };
    // Only the bounds given are kept (and echoed); values are never longer than 2048 anyway.
    let given = bounds(attr, &name, data_type)?;
    Ok(SchemaAttribute {
        name,
        data_type,
        developer_only,
        mutable: attr.mutable.unwrap_or(true),
        required: false,
        min_length: given.min_length,
        max_length: given.max_length,
        min_value: given.min_value,
        max_value: given.max_value,
    })
}

fn check_custom_count(schema: &[SchemaAttribute]) -> DomainResult<()> {
    if schema.iter().filter(|s| is_custom(&s.name)).count() > MAX_CUSTOM_ATTRIBUTES {
        return Err(DomainError::new(
            ErrorKind::LimitExceeded,
            format!("A user pool can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."),
        ));
    }
    Ok(())
}

/// Who is writing attributes decides which rules apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// An administrator (IAM-signed Admin* operations): may set `*_verified`, ignores client scopes.
    Admin,
    /// The user through an app client (SignUp, UpdateUserAttributes).
    User,
}

/// When attributes are being written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// At creation: immutable attributes may be given.
    Create,
    /// On an existing user: immutable attributes may not change.
    Update,
}

fn schema_error(name: &str, problem: &str) -> DomainError {
    DomainError::invalid_parameter(format!(
        "Attributes did not conform to the schema: {name}: {problem}"
    ))
}

/// Validates attribute values against the schema and returns them normalised (booleans as
/// `true`/`false`). `existing` is the user's current attributes for updates.
pub fn validate_writes(
    schema: &[SchemaAttribute],
    writes: &[(String, String)],
    writer: Writer,
    kind: WriteKind,
    existing: &Attributes,
) -> DomainResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(writes.len());
    for (name, value) in writes {
        if name == SUB {
            return Err(DomainError::invalid_parameter(
                "Cannot modify the non-mutable attribute sub",
            ));
        }
        let Some(def) = schema.iter().find(|s| &s.name == name) else {
            return Err(DomainError::invalid_parameter(format!(
                "Attributes did not conform to the schema: Type for attribute {{{name}}} could not be determined"
            )));
        };
        if def.developer_only && writer == Writer::User {
            return Err(DomainError::not_authorized(
                "A client attempted to write unauthorized attribute",
            ));
        }
        if kind == WriteKind::Update && !def.mutable && existing.contains_key(name) {
            return Err(DomainError::invalid_parameter(format!(
                "Cannot modify an already provided immutable attribute: {name}"
            )));
        }
        if value.chars().count() > MAX_VALUE_LENGTH {
            return Err(schema_error(
                name,
                "String must be no longer than 2048 characters",
            ));
        }
        let value = match def.data_type {
            AttributeDataType::Boolean => match value.to_ascii_lowercase().as_str() {
                "true" => "true".to_string(),
                "false" => "false".to_string(),
                _ => return Err(schema_error(name, "Value must be a boolean")),
            },
            AttributeDataType::Number => {
                let n: f64 = value
                    .parse()
                    .map_err(|_| schema_error(name, "Number expected"))?;
                if def.min_value.is_some_and(|min| n < min as f64) {
                    return Err(schema_error(name, "Number is below the minimum value"));
                }
                if def.max_value.is_some_and(|max| n > max as f64) {
                    return Err(schema_error(name, "Number is above the maximum value"));
                }
                value.clone()
            }
            AttributeDataType::String | AttributeDataType::DateTime => {
                let len = value.chars().count() as u32;
                // Cognito treats an empty value as "unset", which the minimum doesn't apply to.
                if !value.is_empty() && def.min_length.is_some_and(|min| len < min) {
                    return Err(schema_error(
                        name,
                        &format!(
                            "String must be at least {} characters long",
                            def.min_length.unwrap_or_default()
                        ),
                    ));
                }
                if def.max_length.is_some_and(|max| len > max) {
                    return Err(schema_error(
                        name,
                        &format!(
                            "String must be no longer than {} characters",
                            def.max_length.unwrap_or_default()
                        ),
                    ));
                }
                value.clone()
            }
        };
        if name == EMAIL && !value.is_empty() && !valid_email(&value) {
            return Err(DomainError::invalid_parameter(
                "Invalid email address format.",
            ));
        }
        if name == PHONE_NUMBER && !value.is_empty() && !valid_phone(&value) {
            return Err(DomainError::invalid_parameter(
                "Invalid phone number format.",
            ));
        }
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// Checks that every schema attribute marked required has a value.
pub fn check_required(schema: &[SchemaAttribute], attrs: &Attributes) -> DomainResult<()> {
    let missing: Vec<&str> = schema
        .iter()
        .filter(|s| s.required && s.name != SUB)
        .filter(|s| attrs.get(&s.name).is_none_or(|v| v.is_empty()))
        .map(|s| s.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(DomainError::invalid_parameter(format!(
            "Attributes did not conform to the schema: {}",
            missing
                .iter()
                .map(|m| format!("{m}: The attribute is required"))
                .collect::<Vec<_>>()
                .join("\n")
        )))
    }
}

/// A pragmatic check: one `@`, a non-empty local part, and a dotted domain without spaces.
pub fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !s.chars().any(char::is_whitespace)
        && !domain.starts_with('.')
        && !domain.ends_with('.')
}

/// E.164 as Cognito requires: `+` then 4–15 digits.
pub fn valid_phone(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|d| (4..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()))
}

/// Attributes a client may read or write by default: every standard attribute and every custom
/// attribute (Cognito's behaviour when ReadAttributes/WriteAttributes are omitted).
pub fn default_client_attributes(schema: &[SchemaAttribute], for_write: bool) -> Vec<String> {
    schema
        .iter()
        .filter(|s| s.name != SUB)
        .filter(|s| !s.name.starts_with("dev:"))
        .filter(|s| !for_write || (s.name != EMAIL_VERIFIED && s.name != PHONE_NUMBER_VERIFIED))
        .map(|s| s.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn custom_attributes_get_their_prefix_and_limits() {
        let schema = build_schema(&[RequestedAttribute {
            name: "tier".into(),
            data_type: Some(AttributeDataType::String),
            max_length: Some("5".into()),
            ..RequestedAttribute::default()
        }])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(schema.iter().any(|s| s.name == "custom:tier"));
        let err = validate_writes(
            &schema,
            &writes(&[("custom:tier", "toolong")]),
            Writer::User,
            WriteKind::Create,
            &Attributes::new(),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidParameter);
        assert!(err.message.contains("custom:tier"));
    }

    #[test]
    fn unknown_and_malformed_attributes_are_refused() {
        let schema = standard_schema();
        let none = Attributes::new();
        assert!(
            validate_writes(
                &schema,
                &writes(&[("nope", "x")]),
                Writer::User,
                WriteKind::Create,
                &none
            )
            .is_err()
        );
        let err = validate_writes(
            &schema,
            &writes(&[("email", "not-an-email")]),
            Writer::User,
            WriteKind::Create,
            &none,
        )
        .unwrap_err();
        assert_eq!(err.message, "Invalid email address format.");
        assert!(
            validate_writes(
                &schema,
                &writes(&[("phone_number", "5551234")]),
                Writer::User,
                WriteKind::Create,
                &none
            )
            .is_err()
        );
        let ok = validate_writes(
            &schema,
            &writes(&[("email_verified", "TRUE")]),
            Writer::Admin,
            WriteKind::Create,
            &none,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok[0].1, "true");
    }

    #[test]
    fn required_attributes_are_enforced() {
        let mut schema = standard_schema();
        if let Some(email) = schema.iter_mut().find(|s| s.name == EMAIL) {
            email.required = true;
        }
        let err = check_required(&schema, &Attributes::new()).unwrap_err();
        assert_eq!(
            err.message,
            "Attributes did not conform to the schema: email: The attribute is required"
        );
    }

    #[test]
    fn required_custom_attributes_are_not_supported() {
        let err = build_schema(&[RequestedAttribute {
            name: "x".into(),
            data_type: Some(AttributeDataType::String),
            required: Some(true),
            ..RequestedAttribute::default()
        }])
        .unwrap_err();
        assert_eq!(
            err.message,
            "Required custom attributes are not supported currently."
        );
    }

    fn requested(name: &str, data_type: Option<AttributeDataType>) -> RequestedAttribute {
        RequestedAttribute {
            name: name.into(),
            data_type,
            ..RequestedAttribute::default()
        }
    }

    fn refused(attrs: &[RequestedAttribute]) -> String {
        match build_schema(attrs) {
            Ok(_) => panic!("accepted {attrs:?}"),
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::InvalidParameter);
                e.message
            }
        }
    }

    #[test]
    fn schema_constraints_are_checked_as_cognito_checks_them() {
        let string = Some(AttributeDataType::String);
        let number = Some(AttributeDataType::Number);
        assert_eq!(
            refused(&[RequestedAttribute {
                max_length: Some("2049".into()),
                ..requested("email", string)
            }]),
            "user.email: String attributes cannot have a length of more than 2048"
        );
        assert_eq!(
            refused(&[RequestedAttribute {
                min_length: Some("2".into()),
                max_length: Some("1".into()),
                ..requested("nick", string)
            }]),
            "user.custom:nick: Max length cannot be less than min length."
        );
        assert_eq!(
            refused(&[RequestedAttribute {
                min_value: Some("2".into()),
                max_value: Some("1".into()),
                ..requested("updated_at", number)
            }]),
            "user.updated_at: Max value cannot be less than min value."
        );
        assert_eq!(
            refused(&[RequestedAttribute {
                min_length: Some("ten".into()),
                ..requested("email", string)
            }]),
            "Invalid StringAttributeConstraints for schema attribute email"
        );
        assert_eq!(
            refused(&[requested("level", None)]),
            "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."
        );
        for standard in [
            requested("email", number),
            RequestedAttribute {
                developer_only: Some(true),
                ..requested("email", None)
            },
        ] {
            assert_eq!(
                refused(&[standard]),
                "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email"
            );
        }
    }

    #[test]
    fn custom_attributes_keep_only_their_own_type_bounds() {
        let schema = build_schema(&[RequestedAttribute {
            min_value: Some("10".into()),
            max_value: Some("20".into()),
            max_length: Some("20".into()),
            ..requested("score", Some(AttributeDataType::Number))
        }])
        .unwrap_or_else(|e| panic!("{e}"));
        let score = schema.iter().find(|s| s.name == "custom:score");
        assert_eq!(
            score.map(|s| (s.min_length, s.max_length, s.min_value, s.max_value)),
            Some((None, None, Some(10), Some(20)))
        );
    }

    #[test]
    fn an_existing_custom_attribute_cannot_be_added_again() {
        let mut schema = build_schema(&[RequestedAttribute {
            developer_only: Some(true),
            ..requested("banana", Some(AttributeDataType::String))
        }])
        .unwrap_or_else(|e| panic!("{e}"));
        let err = add_custom_attributes(
            &mut schema,
            &[requested("banana", Some(AttributeDataType::String))],
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "custom:banana: Existing attribute already has name dev:custom:banana."
        );
    }
}
