//! IAM over the Query protocol (API version 2010-05-08): roles, inline and managed policies,
//! OIDC and SAML providers, and the policy simulator. Every action needs the root credentials
//! (an admin API, like cognito-idp's admin operations).
//!
//! Policy documents go out URL-encoded, as IAM sends them (botocore unquotes them, Terraform
//! query-unescapes them): every byte but `A–Z a–z 0–9 - _ . ~` is percent-encoded, so a space
//! is `%20` and a `+` is `%2B` and both decoders agree.

use super::{Form, QueryError, QueryService, elements, xml_escape};
use crate::AppState;
use axum::http::StatusCode;
use tessera_domain::Timestamp;
use tessera_domain::iam::{ManagedPolicy, PolicyVersion, Role, Tag};
use tessera_engine::iam::{
    ContextEntry, ContextType, EvaluationResult, IamPage, NewPolicy, NewRole, PolicyFilter,
    PolicyInfo, Simulation,
};

pub const SERVICE: QueryService = QueryService {
    signing_name: "iam",
    version: "2010-05-08",
    namespace: "https://iam.amazonaws.com/doc/2010-05-08/",
    actions: ACTIONS,
};

/// The IAM actions Tessera serves.
pub const ACTIONS: &[&str] = &[
    "CreateRole",
    "GetRole",
    "UpdateRole",
    "UpdateRoleDescription",
    "DeleteRole",
    "ListRoles",
    "UpdateAssumeRolePolicy",
    "TagRole",
    "UntagRole",
    "ListRoleTags",
    "PutRolePolicy",
    "GetRolePolicy",
    "DeleteRolePolicy",
    "ListRolePolicies",
    "CreatePolicy",
    "GetPolicy",
    "DeletePolicy",
    "ListPolicies",
    "CreatePolicyVersion",
    "GetPolicyVersion",
    "DeletePolicyVersion",
    "ListPolicyVersions",
    "SetDefaultPolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "ListAttachedRolePolicies",
    "CreateOpenIDConnectProvider",
    "GetOpenIDConnectProvider",
    "DeleteOpenIDConnectProvider",
    "ListOpenIDConnectProviders",
    "AddClientIDToOpenIDConnectProvider",
    "RemoveClientIDFromOpenIDConnectProvider",
    "UpdateOpenIDConnectProviderThumbprint",
    "CreateSAMLProvider",
    "GetSAMLProvider",
    "UpdateSAMLProvider",
    "DeleteSAMLProvider",
    "ListSAMLProviders",
    "SimulatePrincipalPolicy",
    "SimulateCustomPolicy",
    "ListInstanceProfilesForRole",
];

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// ISO 8601 in UTC with seconds, as IAM writes dates.
pub fn iso8601(t: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = t.civil();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn validation(message: String) -> QueryError {
    QueryError::new("ValidationError", message, StatusCode::BAD_REQUEST)
}

/// `RoleName` → `roleName`, the member name IAM's validation messages use.
fn member_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn required<'a>(form: &'a Form, name: &str) -> Result<&'a str, QueryError> {
    form.get(name).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            member_name(name)
        ))
    })
}

fn integer(form: &Form, name: &str) -> Result<Option<i64>, QueryError> {
    form.get(name)
        .map(|v| {
            v.trim().parse::<i64>().map_err(|_| {
                validation(format!(
                    "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member must be a number",
                    tessera_wire::echo(v),
                    member_name(name)
                ))
            })
        })
        .transpose()
}

fn boolean(form: &Form, name: &str) -> bool {
    form.get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `Name.member.1`, `Name.member.2`, … until one is missing.
fn members(form: &Form, name: &str) -> Vec<String> {
    (1..)
        .map_while(|i| form.get(&format!("{name}.member.{i}")).map(str::to_string))
        .collect()
}

fn tags(form: &Form) -> Vec<Tag> {
    (1..)
        .map_while(|i| {
            let key = form.get(&format!("Tags.member.{i}.Key"))?;
            Some(Tag {
                key: key.to_string(),
                value: form
                    .get(&format!("Tags.member.{i}.Value"))
                    .unwrap_or_default()
                    .to_string(),
            })
        })
        .collect()
}

fn member_list(items: impl IntoIterator<Item = String>) -> String {
    items
        .into_iter()
        .map(|i| format!("<member>{i}</member>"))
        .collect()
}

fn tags_xml(tags: &[Tag]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    format!(
        "<Tags>{}</Tags>",
        member_list(
            tags.iter()
                .map(|t| elements(&[("Key", &t.key), ("Value", &t.value)]))
        )
    )
}

fn page_xml<T>(page: &IamPage<T>) -> String {
    let mut out = elements(&[(
        "IsTruncated",
        if page.marker.is_some() {
            "true"
        } else {
            "false"
        },
    )]);
    if let Some(m) = &page.marker {
        out.push_str(&elements(&[("Marker", m)]));
    }
    out
}

fn role_xml(role: &Role) -> String {
    let mut out = elements(&[
        ("Path", &role.path),
        ("RoleName", &role.name),
        ("RoleId", &role.id),
        ("Arn", &role.arn),
        ("CreateDate", &iso8601(role.created_at)),
        ("AssumeRolePolicyDocument", &url_encode(&role.trust_policy)),
        ("MaxSessionDuration", &role.max_session_duration.to_string()),
    ]);
    if let Some(d) = &role.description {
        out.push_str(&elements(&[("Description", d)]));
    }
    out.push_str(&tags_xml(&role.tags));
    out
}

fn policy_xml(info: &PolicyInfo) -> String {
    let p: &ManagedPolicy = &info.policy;
    let mut out = elements(&[
        ("PolicyName", &p.name),
        ("PolicyId", &p.id),
        ("Arn", &p.arn),
        ("Path", &p.path),
        ("DefaultVersionId", &p.default_version_id),
        ("AttachmentCount", &info.attachment_count.to_string()),
        ("PermissionsBoundaryUsageCount", "0"),
        ("IsAttachable", "true"),
        ("CreateDate", &iso8601(p.created_at)),
        ("UpdateDate", &iso8601(p.updated_at)),
    ]);
    if let Some(d) = &p.description {
        out.push_str(&elements(&[("Description", d)]));
    }
    out.push_str(&tags_xml(&p.tags));
    out
}

fn version_xml(v: &PolicyVersion, default: bool, with_document: bool) -> String {
    let mut out = String::new();
    if with_document {
        out.push_str(&elements(&[("Document", &url_encode(&v.document))]));
    }
    out.push_str(&elements(&[
        ("VersionId", &v.version_id),
        ("IsDefaultVersion", if default { "true" } else { "false" }),
        ("CreateDate", &iso8601(v.created_at)),
    ]));
    out
}

fn position_xml(name: &str, p: Option<tessera_engine::iam::Position>) -> String {
    match p {
        Some(p) => format!(
            "<{name}><Line>{}</Line><Column>{}</Column></{name}>",
            p.line, p.column
        ),
        None => String::new(),
    }
}

fn evaluation_xml(results: &[EvaluationResult]) -> String {
    let items = results.iter().map(|r| {
        let statements = member_list(r.matched.iter().map(|m| {
            format!(
                "{}{}{}",
                elements(&[
                    ("SourcePolicyId", &m.source_policy_id),
                    ("SourcePolicyType", m.source_policy_type),
                ]),
                position_xml("StartPosition", m.start),
                position_xml("EndPosition", m.end)
            )
        }));
        let missing = member_list(r.missing_context_values.iter().map(|k| xml_escape(k)));
        format!(
            "{}<MatchedStatements>{statements}</MatchedStatements><MissingContextValues>{missing}</MissingContextValues>",
            elements(&[
                ("EvalActionName", &r.action),
                ("EvalResourceName", &r.resource),
                ("EvalDecision", r.decision),
            ])
        )
    });
    format!(
        "<EvaluationResults>{}</EvaluationResults><IsTruncated>false</IsTruncated>",
        member_list(items)
    )
}

fn simulation(form: &Form) -> Result<Simulation, QueryError> {
    let mut context = Vec::new();
    for i in 1.. {
        let prefix = format!("ContextEntries.member.{i}");
        let Some(key) = form.get(&format!("{prefix}.ContextKeyName")) else {
            break;
        };
        let kind = form
            .get(&format!("{prefix}.ContextKeyType"))
            .unwrap_or("string");
        let kind = ContextType::parse(kind).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{}' at 'contextEntries.{i}.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set: [string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList]",
                tessera_wire::echo(kind)
            ))
        })?;
        context.push(ContextEntry {
            key: key.to_string(),
            values: members(form, &format!("{prefix}.ContextKeyValues")),
            kind,
        });
    }
    let sim = Simulation {
        action_names: members(form, "ActionNames"),
        resource_arns: members(form, "ResourceArns"),
        context,
        policy_input: members(form, "PolicyInputList"),
        caller_arn: form.get("CallerArn").map(str::to_string),
    };
    if sim.action_names.is_empty() {
        return Err(validation(
            "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null".into(),
        ));
    }
    Ok(sim)
}

/// Runs an IAM action; returns the `<…Result>` contents.
/// The resource an IAM action acts on, as IAM names it for authorization: the role or the
/// policy (by its ARN, or the ARN CreatePolicy would give), the OIDC or SAML provider; `*` for
/// actions on no one resource (listings, simulations of custom policies).
pub fn resource_of(state: &AppState, action: &str, form: &Form) -> String {
    let account = &state.engine.settings().account_id;
    let given = |k: &str| form.get(k).filter(|v| !v.is_empty());
    if let Some(arn) = [
        "PolicyArn",
        "OpenIDConnectProviderArn",
        "SAMLProviderArn",
        "PolicySourceArn",
    ]
    .into_iter()
    .find_map(given)
    {
        return arn.to_string();
    }
    if let Some(role) = given("RoleName") {
        return format!("arn:aws:iam::{account}:role/{role}");
    }
    if action == "CreatePolicy"
        && let Some(name) = given("PolicyName")
    {
        let path = given("Path").unwrap_or("/");
        return format!("arn:aws:iam::{account}:policy{path}{name}");
    }
    "*".to_string()
}

pub async fn call(state: &AppState, action: &str, form: &Form) -> Result<String, QueryError> {
    let engine = &state.engine;
    Ok(match action {
        "CreateRole" => {
            let role = engine
                .create_role(NewRole {
                    name: required(form, "RoleName")?.to_string(),
                    path: form.get("Path").map(str::to_string),
                    trust_policy: required(form, "AssumeRolePolicyDocument")?.to_string(),
                    description: form.get("Description").map(str::to_string),
                    max_session_duration: integer(form, "MaxSessionDuration")?,
                    tags: tags(form),
                })
                .await?;
            format!("<Role>{}</Role>", role_xml(&role))
        }
        "GetRole" => {
            let role = engine.get_role(required(form, "RoleName")?).await?;
            format!("<Role>{}</Role>", role_xml(&role))
        }
        "UpdateRole" => {
            engine
                .update_role(
                    required(form, "RoleName")?,
                    form.get("Description").map(str::to_string),
                    integer(form, "MaxSessionDuration")?,
                )
                .await?;
            String::new()
        }
        "UpdateRoleDescription" => {
            let role = engine
                .update_role(
                    required(form, "RoleName")?,
                    Some(required(form, "Description")?.to_string()),
                    None,
                )
                .await?;
            format!("<Role>{}</Role>", role_xml(&role))
        }
        "DeleteRole" => {
            engine.delete_role(required(form, "RoleName")?).await?;
            String::new()
        }
        "ListRoles" => {
            let page = engine
                .list_roles(
                    form.get("PathPrefix"),
                    form.get("Marker"),
                    integer(form, "MaxItems")?,
                )
                .await?;
            format!(
                "<Roles>{}</Roles>{}",
                member_list(page.items.iter().map(role_xml)),
                page_xml(&page)
            )
        }
        "UpdateAssumeRolePolicy" => {
            engine
                .update_assume_role_policy(
                    required(form, "RoleName")?,
                    required(form, "PolicyDocument")?,
                )
                .await?;
            String::new()
        }
        "TagRole" => {
            engine
                .tag_role(required(form, "RoleName")?, &tags(form))
                .await?;
            String::new()
        }
        "UntagRole" => {
            engine
                .untag_role(required(form, "RoleName")?, &members(form, "TagKeys"))
                .await?;
            String::new()
        }
        "ListRoleTags" => {
            let page = engine
                .list_role_tags(
                    required(form, "RoleName")?,
                    form.get("Marker"),
                    integer(form, "MaxItems")?,
                )
                .await?;
            let tags = tags_xml(&page.items);
            format!(
                "{}{}",
                if tags.is_empty() {
                    "<Tags/>".to_string()
                } else {
                    tags
                },
                page_xml(&page)
            )
        }
        "PutRolePolicy" => {
            engine
                .put_role_policy(
                    required(form, "RoleName")?,
                    required(form, "PolicyName")?,
                    required(form, "PolicyDocument")?,
                )
                .await?;
            String::new()
        }
        "GetRolePolicy" => {
            let (role, policy) = engine
                .get_role_policy(required(form, "RoleName")?, required(form, "PolicyName")?)
                .await?;
            elements(&[
                ("RoleName", &role),
                ("PolicyName", &policy.name),
                ("PolicyDocument", &url_encode(&policy.document)),
            ])
        }
        "DeleteRolePolicy" => {
            engine
                .delete_role_policy(required(form, "RoleName")?, required(form, "PolicyName")?)
                .await?;
            String::new()
        }
        "ListRolePolicies" => {
            let page = engine
                .list_role_policies(
                    required(form, "RoleName")?,
                    form.get("Marker"),
                    integer(form, "MaxItems")?,
                )
                .await?;
            format!(
                "<PolicyNames>{}</PolicyNames>{}",
                member_list(page.items.iter().map(|n| xml_escape(n))),
                page_xml(&page)
            )
        }
        "CreatePolicy" => {
            let policy = engine
                .create_policy(NewPolicy {
                    name: required(form, "PolicyName")?.to_string(),
                    path: form.get("Path").map(str::to_string),
                    document: required(form, "PolicyDocument")?.to_string(),
                    description: form.get("Description").map(str::to_string),
                    tags: tags(form),
                })
                .await?;
            format!(
                "<Policy>{}</Policy>",
                policy_xml(&PolicyInfo {
                    policy,
                    attachment_count: 0
                })
            )
        }
        "GetPolicy" => {
            let info = engine.get_policy(required(form, "PolicyArn")?).await?;
            format!("<Policy>{}</Policy>", policy_xml(&info))
        }
        "DeletePolicy" => {
            engine.delete_policy(required(form, "PolicyArn")?).await?;
            String::new()
        }
        "ListPolicies" => {
            let filter = PolicyFilter {
                scope: form.get("Scope").map(str::to_string),
                only_attached: boolean(form, "OnlyAttached"),
                path_prefix: form.get("PathPrefix").map(str::to_string),
            };
            let page = engine
                .list_policies(&filter, form.get("Marker"), integer(form, "MaxItems")?)
                .await?;
            format!(
                "<Policies>{}</Policies>{}",
                member_list(page.items.iter().map(policy_xml)),
                page_xml(&page)
            )
        }
        "CreatePolicyVersion" => {
            let (version, default) = engine
                .create_policy_version(
                    required(form, "PolicyArn")?,
                    required(form, "PolicyDocument")?,
                    boolean(form, "SetAsDefault"),
                )
                .await?;
            format!(
                "<PolicyVersion>{}</PolicyVersion>",
                version_xml(&version, default, false)
            )
        }
        "GetPolicyVersion" => {
            let (version, default) = engine
                .get_policy_version(required(form, "PolicyArn")?, required(form, "VersionId")?)
                .await?;
            format!(
                "<PolicyVersion>{}</PolicyVersion>",
                version_xml(&version, default, true)
            )
        }
        "DeletePolicyVersion" => {
            engine
                .delete_policy_version(required(form, "PolicyArn")?, required(form, "VersionId")?)
                .await?;
            String::new()
        }
        "SetDefaultPolicyVersion" => {
            engine
                .set_default_policy_version(
                    required(form, "PolicyArn")?,
                    required(form, "VersionId")?,
                )
                .await?;
            String::new()
        }
        "ListPolicyVersions" => {
            let policy = engine
                .list_policy_versions(required(form, "PolicyArn")?)
                .await?;
            let mut versions = policy.versions.clone();
            versions.sort_by_key(|v| std::cmp::Reverse(v.created_at));
            format!(
                "<Versions>{}</Versions><IsTruncated>false</IsTruncated>",
                member_list(versions.iter().map(|v| version_xml(
                    v,
                    v.version_id == policy.default_version_id,
                    false
                )))
            )
        }
        "AttachRolePolicy" => {
            engine
                .attach_role_policy(required(form, "RoleName")?, required(form, "PolicyArn")?)
                .await?;
            String::new()
        }
        "DetachRolePolicy" => {
            engine
                .detach_role_policy(required(form, "RoleName")?, required(form, "PolicyArn")?)
                .await?;
            String::new()
        }
        "ListAttachedRolePolicies" => {
            let page = engine
                .list_attached_role_policies(
                    required(form, "RoleName")?,
                    form.get("PathPrefix"),
                    form.get("Marker"),
                    integer(form, "MaxItems")?,
                )
                .await?;
            format!(
                "<AttachedPolicies>{}</AttachedPolicies>{}",
                member_list(
                    page.items
                        .iter()
                        .map(|a| elements(&[("PolicyName", &a.name), ("PolicyArn", &a.arn)]))
                ),
                page_xml(&page)
            )
        }
        "ListInstanceProfilesForRole" => {
            // Tessera has no instance profiles; Terraform asks before DeleteRole.
            engine.get_role(required(form, "RoleName")?).await?;
            "<InstanceProfiles/><IsTruncated>false</IsTruncated>".to_string()
        }
        "CreateOpenIDConnectProvider" => {
            let provider = engine
                .create_oidc_provider(
                    required(form, "Url")?,
                    members(form, "ClientIDList"),
                    members(form, "ThumbprintList"),
                    tags(form),
                )
                .await?;
            format!(
                "{}{}",
                elements(&[("OpenIDConnectProviderArn", &provider.arn)]),
                tags_xml(&provider.tags)
            )
        }
        "GetOpenIDConnectProvider" => {
            let p = engine
                .get_oidc_provider(required(form, "OpenIDConnectProviderArn")?)
                .await?;
            format!(
                "{}<ClientIDList>{}</ClientIDList><ThumbprintList>{}</ThumbprintList>{}{}",
                elements(&[("Url", p.host_path())]),
                member_list(p.client_ids.iter().map(|c| xml_escape(c))),
                member_list(p.thumbprints.iter().map(|t| xml_escape(t))),
                elements(&[("CreateDate", &iso8601(p.created_at))]),
                tags_xml(&p.tags)
            )
        }
        "DeleteOpenIDConnectProvider" => {
            engine
                .delete_oidc_provider(required(form, "OpenIDConnectProviderArn")?)
                .await?;
            String::new()
        }
        "ListOpenIDConnectProviders" => {
            let list = engine.list_oidc_providers().await?;
            format!(
                "<OpenIDConnectProviderList>{}</OpenIDConnectProviderList>",
                member_list(list.iter().map(|p| elements(&[("Arn", &p.arn)])))
            )
        }
        "AddClientIDToOpenIDConnectProvider" | "RemoveClientIDFromOpenIDConnectProvider" => {
            engine
                .change_oidc_client_id(
                    required(form, "OpenIDConnectProviderArn")?,
                    required(form, "ClientID")?,
                    action.starts_with("Add"),
                )
                .await?;
            String::new()
        }
        "UpdateOpenIDConnectProviderThumbprint" => {
            engine
                .update_oidc_thumbprints(
                    required(form, "OpenIDConnectProviderArn")?,
                    members(form, "ThumbprintList"),
                )
                .await?;
            String::new()
        }
        "CreateSAMLProvider" => {
            let p = engine
                .create_saml_provider(
                    required(form, "Name")?,
                    required(form, "SAMLMetadataDocument")?,
                    tags(form),
                )
                .await?;
            format!(
                "{}{}",
                elements(&[("SAMLProviderArn", &p.arn)]),
                tags_xml(&p.tags)
            )
        }
        "GetSAMLProvider" => {
            let p = engine
                .get_saml_provider(required(form, "SAMLProviderArn")?)
                .await?;
            let mut out = elements(&[
                ("SAMLMetadataDocument", &p.metadata_document),
                ("CreateDate", &iso8601(p.created_at)),
            ]);
            if let Some(v) = p.valid_until {
                out.push_str(&elements(&[("ValidUntil", &iso8601(v))]));
            }
            out.push_str(&tags_xml(&p.tags));
            out
        }
        "UpdateSAMLProvider" => {
            let p = engine
                .update_saml_provider(
                    required(form, "SAMLProviderArn")?,
                    required(form, "SAMLMetadataDocument")?,
                )
                .await?;
            elements(&[("SAMLProviderArn", &p.arn)])
        }
        "DeleteSAMLProvider" => {
            engine
                .delete_saml_provider(required(form, "SAMLProviderArn")?)
                .await?;
            String::new()
        }
        "ListSAMLProviders" => {
            let list = engine.list_saml_providers().await?;
            format!(
                "<SAMLProviderList>{}</SAMLProviderList>",
                member_list(list.iter().map(|p| {
                    let mut out =
                        elements(&[("Arn", &p.arn), ("CreateDate", &iso8601(p.created_at))]);
                    if let Some(v) = p.valid_until {
                        out.push_str(&elements(&[("ValidUntil", &iso8601(v))]));
                    }
                    out
                }))
            )
        }
        "SimulatePrincipalPolicy" => {
            let source = required(form, "PolicySourceArn")?.to_string();
            if form
                .get("PermissionsBoundaryPolicyInputList.member.1")
                .is_some()
                || form.get("ResourcePolicy").is_some()
            {
                return Err(QueryError::new(
                    "InvalidInput",
                    "Tessera's simulator does not take PermissionsBoundaryPolicyInputList or ResourcePolicy.",
                    StatusCode::BAD_REQUEST,
                ));
            }
            let results = engine
                .simulate_principal_policy(&source, simulation(form)?)
                .await?;
            evaluation_xml(&results)
        }
        "SimulateCustomPolicy" => {
            let results = engine.simulate_custom_policy(simulation(form)?)?;
            evaluation_xml(&results)
        }
        other => {
            return Err(QueryError::new(
                "InvalidAction",
                format!(
                    "Could not find operation {} for version 2010-05-08",
                    tessera_wire::echo(other)
                ),
                StatusCode::BAD_REQUEST,
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_encoded_so_unquote_and_query_unescape_agree() {
        assert_eq!(
            url_encode(r#"{"a": "b+c/d"}"#),
            "%7B%22a%22%3A%20%22b%2Bc%2Fd%22%7D"
        );
    }

    #[test]
    fn dates_are_iso8601_utc() {
        assert_eq!(
            iso8601(Timestamp::from_millis(1_765_000_000_123)),
            "2025-12-06T05:46:40Z"
        );
    }
}
