//! IAM: roles (trust policy, inline policies, attached managed policies, tags), customer
//! managed policies with versions, OIDC and SAML identity providers, and the policy simulator.
//! Documents are checked with `tessera-policy` (identity policies for inline and managed
//! policies, trust policies for AssumeRolePolicyDocument) and stored as sent.

mod providers;
mod simulate;

pub use simulate::{ContextEntry, ContextType, EvaluationResult, SimulatedStatement, Simulation};
pub use tessera_policy::Position;

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use base64::Engine as _;
use tessera_domain::iam::{
    self, InlinePolicy, MAX_ATTACHED_POLICIES, MAX_POLICY_VERSIONS, ManagedPolicy, PolicyVersion,
    Role, Tag,
};
use tessera_domain::{DomainError, ErrorKind};
use tessera_policy::{Policy, PolicyKind};
use tessera_store::{Conflict, Tx};

/// IAM's default quotas on document sizes (characters, whitespace excluded, as IAM counts).
const MAX_TRUST_POLICY: usize = 2048;
const MAX_MANAGED_POLICY: usize = 6144;
const MAX_ROLE_INLINE_TOTAL: usize = 10240;

/// One page of an IAM list, with the Marker for the next (`IsTruncated` when there is one).
#[derive(Clone, Debug)]
pub struct IamPage<T> {
    pub items: Vec<T>,
    pub marker: Option<String>,
}

/// CreateRole's input.
#[derive(Clone, Debug, Default)]
pub struct NewRole {
    pub name: String,
    pub path: Option<String>,
    pub trust_policy: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub tags: Vec<Tag>,
}

/// CreatePolicy's input.
#[derive(Clone, Debug, Default)]
pub struct NewPolicy {
    pub name: String,
    pub path: Option<String>,
    pub document: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

/// ListPolicies' filter.
#[derive(Clone, Debug, Default)]
pub struct PolicyFilter {
    /// `All`, `AWS` or `Local`; Tessera has only customer (`Local`) policies.
    pub scope: Option<String>,
    pub only_attached: bool,
    pub path_prefix: Option<String>,
}

/// A managed policy as ListPolicies and GetPolicy describe it.
#[derive(Clone, Debug)]
pub struct PolicyInfo {
    pub policy: ManagedPolicy,
    pub attachment_count: u64,
}

/// A managed policy attached to a role (ListAttachedRolePolicies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

fn size_without_whitespace(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// Parses a document as IAM would, with IAM's MalformedPolicyDocument message.
pub(crate) fn parse_policy(doc: &str, kind: PolicyKind) -> EngineResult<Policy> {
    Policy::parse(doc, kind).map_err(|e| iam::malformed_policy(e.message()).into())
}

fn limit(message: impl Into<String>) -> DomainError {
    DomainError::new(ErrorKind::IamLimitExceeded, message)
}

fn check_document_length(member: &str, doc: &str) -> EngineResult<()> {
    if doc.is_empty() || doc.chars().count() > 131_072 {
        return Err(DomainError::new(
            ErrorKind::IamValidationError,
            format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to 131072"
            ),
        )
        .into());
    }
    Ok(())
}

fn check_trust_policy(doc: &str) -> EngineResult<()> {
    check_document_length("assumeRolePolicyDocument", doc)?;
    parse_policy(doc, PolicyKind::Trust)?;
    if size_without_whitespace(doc) > MAX_TRUST_POLICY {
        return Err(limit(format!(
            "Cannot exceed quota for ACLSizePerRole: {MAX_TRUST_POLICY}"
        ))
        .into());
    }
    Ok(())
}

fn encode_marker(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_marker(marker: Option<&str>) -> EngineResult<Option<String>> {
    let Some(m) = marker else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| DomainError::new(ErrorKind::IamInvalidInput, "Invalid Marker.").into())
}

/// Pages an in-memory, already ordered list by a key.
fn page_by<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> EngineResult<IamPage<T>> {
    let max = iam::check_max_items(max_items)?;
    let after = decode_marker(marker)?;
    let mut items: Vec<T> = items
        .into_iter()
        .filter(|i| after.as_deref().is_none_or(|a| key(i).as_str() > a))
        .collect();
    let marker = if items.len() > max {
        items.truncate(max);
        items.last().map(|i| encode_marker(&key(i)))
    } else {
        None
    };
    Ok(IamPage { items, marker })
}

fn random_id(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        tessera_crypto::random::string_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)
    )
}

pub(crate) async fn load_role(tx: &mut dyn Tx, name: &str) -> EngineResult<Role> {
    tx.get_iam_role(name)
        .await?
        .ok_or_else(|| iam::no_such_role(name).into())
}

async fn load_policy(tx: &mut dyn Tx, arn: &str) -> EngineResult<ManagedPolicy> {
    tx.get_managed_policy(arn)
        .await?
        .ok_or_else(|| iam::no_such_policy(arn).into())
}

fn check_role_name(name: &str) -> EngineResult<()> {
    iam::check_name("roleName", name, 64).map_err(Into::into)
}

fn check_policy_name(name: &str) -> EngineResult<()> {
    iam::check_name("policyName", name, 128).map_err(Into::into)
}

fn check_policy_arn(arn: &str) -> EngineResult<()> {
    if arn.len() < 20 || arn.len() > 2048 || !arn.starts_with("arn:") {
        return Err(DomainError::new(
            ErrorKind::IamInvalidInput,
            format!("ARN {arn} is not valid."),
        )
        .into());
    }
    Ok(())
}

impl Engine {
    fn account(&self) -> &str {
        &self.inner.settings.account_id
    }

    // Roles.

    pub async fn create_role(&self, new: NewRole) -> EngineResult<Role> {
        check_role_name(&new.name)?;
        let path = new.path.unwrap_or_else(|| "/".to_string());
        iam::check_path("path", &path)?;
        if let Some(d) = &new.description {
            iam::check_description(d)?;
        }
        let max_session_duration = match new.max_session_duration {
            Some(v) => iam::check_max_session_duration(v)?,
            None => iam::MIN_SESSION_DURATION,
        };
        iam::check_tags(&new.tags)?;
        check_trust_policy(&new.trust_policy)?;
        let role = Role {
            arn: iam::role_arn(self.account(), &path, &new.name),
            id: random_id("AROA"),
            name: new.name,
            path,
            description: new.description,
            max_session_duration,
            trust_policy: new.trust_policy,
            created_at: self.now(),
            tags: new.tags,
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_iam_role(&role).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::IamRole).then(|| iam::role_exists(&role.name))
            })
        })?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn get_role(&self, name: &str) -> EngineResult<Role> {
        check_role_name(name)?;
        let mut tx = self.inner.store.read().await?;
        load_role(&mut *tx, name).await
    }

    /// UpdateRole and UpdateRoleDescription: only what is given changes.
    pub async fn update_role(
        &self,
        name: &str,
        description: Option<String>,
        max_session_duration: Option<i64>,
    ) -> EngineResult<Role> {
        check_role_name(name)?;
        if let Some(d) = &description {
            iam::check_description(d)?;
        }
        let duration = max_session_duration
            .map(iam::check_max_session_duration)
            .transpose()?;
        let mut tx = self.inner.store.begin().await?;
        let mut role = load_role(&mut *tx, name).await?;
        if let Some(d) = description {
            role.description = Some(d);
        }
        if let Some(d) = duration {
            role.max_session_duration = d;
        }
        tx.update_iam_role(&role).await?;
        tx.commit().await?;
        Ok(role)
    }

    pub async fn update_assume_role_policy(&self, name: &str, document: &str) -> EngineResult<()> {
        check_role_name(name)?;
        check_trust_policy(document)?;
        let mut tx = self.inner.store.begin().await?;
        let mut role = load_role(&mut *tx, name).await?;
        role.trust_policy = document.to_string();
        tx.update_iam_role(&role).await?;
        tx.commit().await?;
        Ok(())
    }

    /// DeleteRole: refused while the role has inline or attached policies, as IAM does.
    pub async fn delete_role(&self, name: &str) -> EngineResult<()> {
        check_role_name(name)?;
        let mut tx = self.inner.store.begin().await?;
        load_role(&mut *tx, name).await?;
        if !tx.attached_role_policies(name).await?.is_empty() {
            return Err(DomainError::new(
                ErrorKind::IamDeleteConflict,
                "Cannot delete entity, must detach all policies first.",
            )
            .into());
        }
        if !tx.role_policies(name).await?.is_empty() {
            return Err(DomainError::new(
                ErrorKind::IamDeleteConflict,
                "Cannot delete entity, must delete policies first.",
            )
            .into());
        }
        tx.delete_iam_role(name).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_roles(
        &self,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> EngineResult<IamPage<Role>> {
        let max = iam::check_max_items(max_items)?;
        let after = decode_marker(marker)?;
        let mut tx = self.inner.store.read().await?;
        let mut roles = tx
            .list_iam_roles(path_prefix.unwrap_or("/"), after.as_deref(), max + 1)
            .await?;
        let marker = if roles.len() > max {
            roles.truncate(max);
            roles.last().map(|r| encode_marker(&iam::name_key(&r.name)))
        } else {
            None
        };
        Ok(IamPage {
            items: roles,
            marker,
        })
    }

    pub async fn tag_role(&self, name: &str, tags: &[Tag]) -> EngineResult<()> {
        check_role_name(name)?;
        let mut tx = self.inner.store.begin().await?;
        let mut role = load_role(&mut *tx, name).await?;
        iam::merge_tags(&mut role.tags, tags)?;
        tx.update_iam_role(&role).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn untag_role(&self, name: &str, keys: &[String]) -> EngineResult<()> {
        check_role_name(name)?;
        let mut tx = self.inner.store.begin().await?;
        let mut role = load_role(&mut *tx, name).await?;
        iam::remove_tags(&mut role.tags, keys);
        tx.update_iam_role(&role).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_role_tags(
        &self,
        name: &str,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> EngineResult<IamPage<Tag>> {
        let role = self.get_role(name).await?;
        let tags: Vec<Tag> = role.tags;
        // Tags keep their order of addition; the marker is the position.
        let indexed: Vec<(usize, Tag)> = tags.into_iter().enumerate().collect();
        let page = page_by(indexed, |(i, _)| format!("{i:05}"), marker, max_items)?;
        Ok(IamPage {
            items: page.items.into_iter().map(|(_, t)| t).collect(),
            marker: page.marker,
        })
    }

    // Inline role policies.

    pub async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> EngineResult<()> {
        check_role_name(role_name)?;
        check_policy_name(policy_name)?;
        check_document_length("policyDocument", document)?;
        parse_policy(document, PolicyKind::Identity)?;
        let mut tx = self.inner.store.begin().await?;
        let role = load_role(&mut *tx, role_name).await?;
        let others: usize = tx
            .role_policies(role_name)
            .await?
            .iter()
            .filter(|p| p.name != policy_name)
            .map(|p| size_without_whitespace(&p.document))
            .sum();
        if others + size_without_whitespace(document) > MAX_ROLE_INLINE_TOTAL {
            return Err(limit(format!(
                "Maximum policy size of {MAX_ROLE_INLINE_TOTAL} bytes exceeded for role {}",
                role.name
            ))
            .into());
        }
        tx.put_role_policy(
            role_name,
            &InlinePolicy {
                name: policy_name.to_string(),
                document: document.to_string(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The role's real name and the policy.
    pub async fn get_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> EngineResult<(String, InlinePolicy)> {
        check_role_name(role_name)?;
        check_policy_name(policy_name)?;
        let mut tx = self.inner.store.read().await?;
        let role = load_role(&mut *tx, role_name).await?;
        let policy = tx
            .role_policies(role_name)
            .await?
            .into_iter()
            .find(|p| p.name == policy_name)
            .ok_or_else(|| iam::no_such_role_policy(policy_name))?;
        Ok((role.name, policy))
    }

    pub async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> EngineResult<()> {
        check_role_name(role_name)?;
        check_policy_name(policy_name)?;
        let mut tx = self.inner.store.begin().await?;
        load_role(&mut *tx, role_name).await?;
        if !tx.delete_role_policy(role_name, policy_name).await? {
            return Err(iam::no_such_role_policy(policy_name).into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_role_policies(
        &self,
        role_name: &str,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> EngineResult<IamPage<String>> {
        check_role_name(role_name)?;
        let mut tx = self.inner.store.read().await?;
        load_role(&mut *tx, role_name).await?;
        let names: Vec<String> = tx
            .role_policies(role_name)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        page_by(names, Clone::clone, marker, max_items)
    }

    // Managed policies.

    pub async fn create_policy(&self, new: NewPolicy) -> EngineResult<ManagedPolicy> {
        check_policy_name(&new.name)?;
        let path = new.path.unwrap_or_else(|| "/".to_string());
        iam::check_path("path", &path)?;
        if let Some(d) = &new.description {
            iam::check_description(d)?;
        }
        iam::check_tags(&new.tags)?;
        check_managed_document(&new.document)?;
        let now = self.now();
        let policy = ManagedPolicy {
            arn: iam::policy_arn(self.account(), &path, &new.name),
            id: random_id("ANPA"),
            name: new.name,
            path,
            description: new.description,
            default_version_id: "v1".to_string(),
            last_version: 1,
            versions: vec![PolicyVersion {
                version_id: "v1".to_string(),
                document: new.document,
                created_at: now,
            }],
            created_at: now,
            updated_at: now,
            tags: new.tags,
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_managed_policy(&policy).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::IamPolicy).then(|| iam::policy_exists(&policy.name))
            })
        })?;
        tx.commit().await?;
        Ok(policy)
    }

    pub async fn get_policy(&self, arn: &str) -> EngineResult<PolicyInfo> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.read().await?;
        let policy = load_policy(&mut *tx, arn).await?;
        let attachment_count = tx.policy_attachment_count(arn).await?;
        Ok(PolicyInfo {
            policy,
            attachment_count,
        })
    }

    /// The version and whether it is the default one.
    pub async fn get_policy_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> EngineResult<(PolicyVersion, bool)> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.read().await?;
        let policy = load_policy(&mut *tx, arn).await?;
        let version = policy
            .version(version_id)
            .cloned()
            .ok_or_else(|| iam::no_such_policy_version(arn, version_id))?;
        let default = policy.default_version_id == version_id;
        Ok((version, default))
    }

    pub async fn create_policy_version(
        &self,
        arn: &str,
        document: &str,
        set_as_default: bool,
    ) -> EngineResult<(PolicyVersion, bool)> {
        check_policy_arn(arn)?;
        check_managed_document(document)?;
        let mut tx = self.inner.store.begin().await?;
        let mut policy = load_policy(&mut *tx, arn).await?;
        if policy.versions.len() >= MAX_POLICY_VERSIONS {
            return Err(limit(format!(
                "A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you create a new version, you must delete an existing version."
            ))
            .into());
        }
        let now = self.now();
        policy.last_version += 1;
        let version = PolicyVersion {
            version_id: format!("v{}", policy.last_version),
            document: document.to_string(),
            created_at: now,
        };
        policy.versions.push(version.clone());
        if set_as_default {
            policy.default_version_id = version.version_id.clone();
        }
        policy.updated_at = now;
        tx.update_managed_policy(&policy).await?;
        tx.commit().await?;
        Ok((version, set_as_default))
    }

    pub async fn set_default_policy_version(
        &self,
        arn: &str,
        version_id: &str,
    ) -> EngineResult<()> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        let mut policy = load_policy(&mut *tx, arn).await?;
        if policy.version(version_id).is_none() {
            return Err(iam::no_such_policy_version(arn, version_id).into());
        }
        policy.default_version_id = version_id.to_string();
        policy.updated_at = self.now();
        tx.update_managed_policy(&policy).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_policy_version(&self, arn: &str, version_id: &str) -> EngineResult<()> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        let mut policy = load_policy(&mut *tx, arn).await?;
        if policy.version(version_id).is_none() {
            return Err(iam::no_such_policy_version(arn, version_id).into());
        }
        if policy.default_version_id == version_id {
            return Err(DomainError::new(
                ErrorKind::IamDeleteConflict,
                "Cannot delete the default version of a policy.",
            )
            .into());
        }
        policy.versions.retain(|v| v.version_id != version_id);
        tx.update_managed_policy(&policy).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_policy_versions(&self, arn: &str) -> EngineResult<ManagedPolicy> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.read().await?;
        load_policy(&mut *tx, arn).await
    }

    /// DeletePolicy: refused while attached or while it has versions besides the default.
    pub async fn delete_policy(&self, arn: &str) -> EngineResult<()> {
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        let policy = load_policy(&mut *tx, arn).await?;
        if tx.policy_attachment_count(arn).await? > 0 {
            return Err(DomainError::new(
                ErrorKind::IamDeleteConflict,
                "Cannot delete a policy attached to entities.",
            )
            .into());
        }
        if policy.versions.len() > 1 {
            return Err(DomainError::new(
                ErrorKind::IamDeleteConflict,
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            )
            .into());
        }
        tx.delete_managed_policy(arn).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_policies(
        &self,
        filter: &PolicyFilter,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> EngineResult<IamPage<PolicyInfo>> {
        let max = iam::check_max_items(max_items)?;
        let mut after = decode_marker(marker)?;
        if filter.scope.as_deref() == Some("AWS") {
            return Ok(IamPage {
                items: Vec::new(),
                marker: None,
            });
        }
        let prefix = filter.path_prefix.as_deref().unwrap_or("/");
        let mut tx = self.inner.store.read().await?;
        let mut items = Vec::new();
        // Fetch in batches so OnlyAttached can filter without losing the page's size.
        loop {
            let batch = tx
                .list_managed_policies(prefix, after.as_deref(), max + 1)
                .await?;
            let done = batch.len() <= max;
            for policy in batch {
                after = Some(policy.arn.clone());
                let attachment_count = tx.policy_attachment_count(&policy.arn).await?;
                if filter.only_attached && attachment_count == 0 {
                    continue;
                }
                items.push(PolicyInfo {
                    policy,
                    attachment_count,
                });
            }
            if done || items.len() > max {
                break;
            }
        }
        let marker = if items.len() > max {
            items.truncate(max);
            items.last().map(|p| encode_marker(&p.policy.arn))
        } else {
            None
        };
        Ok(IamPage { items, marker })
    }

    pub async fn attach_role_policy(&self, role_name: &str, arn: &str) -> EngineResult<()> {
        check_role_name(role_name)?;
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        load_role(&mut *tx, role_name).await?;
        load_policy(&mut *tx, arn).await?;
        let attached = tx.attached_role_policies(role_name).await?;
        if !attached.iter().any(|a| a == arn) && attached.len() >= MAX_ATTACHED_POLICIES {
            return Err(limit(format!(
                "Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}"
            ))
            .into());
        }
        tx.attach_role_policy(role_name, arn).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn detach_role_policy(&self, role_name: &str, arn: &str) -> EngineResult<()> {
        check_role_name(role_name)?;
        check_policy_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        load_role(&mut *tx, role_name).await?;
        if !tx.detach_role_policy(role_name, arn).await? {
            return Err(DomainError::new(
                ErrorKind::IamNoSuchEntity,
                format!("Policy {arn} was not found."),
            )
            .into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_attached_role_policies(
        &self,
        role_name: &str,
        path_prefix: Option<&str>,
        marker: Option<&str>,
        max_items: Option<i64>,
    ) -> EngineResult<IamPage<AttachedPolicy>> {
        check_role_name(role_name)?;
        let prefix = path_prefix.unwrap_or("/");
        let mut tx = self.inner.store.read().await?;
        load_role(&mut *tx, role_name).await?;
        let mut attached = Vec::new();
        for arn in tx.attached_role_policies(role_name).await? {
            if let Some(p) = tx.get_managed_policy(&arn).await?
                && p.path.starts_with(prefix)
            {
                attached.push(AttachedPolicy {
                    name: p.name,
                    arn: p.arn,
                });
            }
        }
        page_by(attached, |a| a.arn.clone(), marker, max_items)
    }
}

fn check_managed_document(doc: &str) -> EngineResult<()> {
    check_document_length("policyDocument", doc)?;
    parse_policy(doc, PolicyKind::Identity)?;
    if size_without_whitespace(doc) > MAX_MANAGED_POLICY {
        return Err(limit(format!(
            "Cannot exceed quota for PolicySize: {MAX_MANAGED_POLICY}"
        ))
        .into());
    }
    Ok(())
}
