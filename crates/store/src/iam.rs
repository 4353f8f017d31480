//! Storage for IAM: roles with their inline policies, customer managed policies (with their
//! versions), role–policy attachments, and OIDC and SAML identity providers. A supertrait of
//! [`crate::Tx`], so one transaction covers IAM and the other services. Names are unique
//! ignoring case, as in IAM; lists are ordered by that lowercased name (or by ARN).

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::Timestamp;
use tessera_domain::iam::{
    InlinePolicy, ManagedPolicy, OidcProvider, Role, RoleSession, SamlProvider,
};

#[async_trait]
pub trait IamTx: Send {
    /// Fails with `Conflict::IamRole` when a role of that name (ignoring case) exists.
    async fn insert_iam_role(&mut self, role: &Role) -> StoreResult<()>;
    /// By name, ignoring case.
    async fn get_iam_role(&mut self, name: &str) -> StoreResult<Option<Role>>;
    /// Replaces the role's description, session duration, trust policy and tags.
    async fn update_iam_role(&mut self, role: &Role) -> StoreResult<()>;
    /// Deletes the role with its inline policies and attachments. Returns whether it existed.
    async fn delete_iam_role(&mut self, name: &str) -> StoreResult<bool>;
    /// Roles whose path starts with `path_prefix`, ordered by lowercased name, after `after`
    /// (a lowercased name).
    async fn list_iam_roles(
        &mut self,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Role>>;

    /// Inserts or replaces a role's inline policy of that name. The role must exist.
    async fn put_role_policy(&mut self, role: &str, policy: &InlinePolicy) -> StoreResult<()>;
    /// A role's inline policies ordered by name.
    async fn role_policies(&mut self, role: &str) -> StoreResult<Vec<InlinePolicy>>;
    async fn delete_role_policy(&mut self, role: &str, name: &str) -> StoreResult<bool>;

    /// Fails with `Conflict::IamPolicy` when a managed policy of that name (ignoring case) or
    /// ARN exists.
    async fn insert_managed_policy(&mut self, policy: &ManagedPolicy) -> StoreResult<()>;
    async fn get_managed_policy(&mut self, arn: &str) -> StoreResult<Option<ManagedPolicy>>;
    /// Replaces description, versions, default version and tags.
    async fn update_managed_policy(&mut self, policy: &ManagedPolicy) -> StoreResult<()>;
    /// Deletes the policy (and any attachment of it). Returns whether it existed.
    async fn delete_managed_policy(&mut self, arn: &str) -> StoreResult<bool>;
    /// Managed policies whose path starts with `path_prefix`, ordered by ARN, after `after`.
    async fn list_managed_policies(
        &mut self,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ManagedPolicy>>;

    /// Attaches a managed policy to a role; false when it already was. Both must exist.
    async fn attach_role_policy(&mut self, role: &str, policy_arn: &str) -> StoreResult<bool>;
    async fn detach_role_policy(&mut self, role: &str, policy_arn: &str) -> StoreResult<bool>;
    /// The ARNs of the managed policies attached to a role, ordered.
    async fn attached_role_policies(&mut self, role: &str) -> StoreResult<Vec<String>>;
    /// How many roles a managed policy is attached to.
    async fn policy_attachment_count(&mut self, policy_arn: &str) -> StoreResult<u64>;

    /// Fails with `Conflict::IamProvider` when the ARN exists.
    async fn insert_oidc_provider(&mut self, provider: &OidcProvider) -> StoreResult<()>;
    async fn get_oidc_provider(&mut self, arn: &str) -> StoreResult<Option<OidcProvider>>;
    /// Replaces client ids, thumbprints and tags.
    async fn update_oidc_provider(&mut self, provider: &OidcProvider) -> StoreResult<()>;
    async fn delete_oidc_provider(&mut self, arn: &str) -> StoreResult<bool>;
    /// All OIDC providers, ordered by ARN (IAM lists them unpaged).
    async fn list_oidc_providers(&mut self) -> StoreResult<Vec<OidcProvider>>;

    /// Fails with `Conflict::IamProvider` when the ARN exists.
    async fn insert_saml_provider(&mut self, provider: &SamlProvider) -> StoreResult<()>;
    async fn get_saml_provider(&mut self, arn: &str) -> StoreResult<Option<SamlProvider>>;
    /// Replaces the metadata document, validity and tags.
    async fn update_saml_provider(&mut self, provider: &SamlProvider) -> StoreResult<()>;
    async fn delete_saml_provider(&mut self, arn: &str) -> StoreResult<bool>;
    /// All SAML providers, ordered by ARN (IAM lists them unpaged).
    async fn list_saml_providers(&mut self) -> StoreResult<Vec<SamlProvider>>;

    /// Stores credentials issued for a role session; `Conflict::AccessKey` when the key id is
    /// taken.
    async fn insert_role_session(&mut self, session: &RoleSession) -> StoreResult<()>;
    async fn get_role_session(&mut self, access_key_id: &str) -> StoreResult<Option<RoleSession>>;
    /// Removes role sessions expired at `now`. Returns how many.
    async fn sweep_role_sessions(&mut self, now: Timestamp) -> StoreResult<u64>;
}
