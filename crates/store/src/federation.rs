//! Storage for federation: a user pool's external identity providers (unique by name, and by
//! each of their IdpIdentifiers, within the pool), the state of sign-ins waiting for a
//! provider's answer, and the links AdminLinkProviderForUser makes from a provider identity to
//! a user; for SAML, the pool's SP key pairs and the assertion ids already accepted. A
//! supertrait of [`crate::Tx`], so one transaction covers them and the users.

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::identity_providers::{FederationState, IdentityProvider, SamlSpKeys};
use tessera_domain::{Sub, Timestamp, UserPoolId};

#[async_trait]
pub trait FederationTx: Send {
    /// Fails with `Conflict::IdentityProvider` when the pool has a provider of that name, and
    /// with `Conflict::IdpIdentifier` when one of its identifiers belongs to another provider.
    async fn insert_identity_provider(&mut self, provider: &IdentityProvider) -> StoreResult<()>;
    async fn get_identity_provider(
        &mut self,
        pool: &UserPoolId,
        name: &str,
    ) -> StoreResult<Option<IdentityProvider>>;
    /// The provider one of whose IdpIdentifiers is `identifier`.
    async fn identity_provider_by_identifier(
        &mut self,
        pool: &UserPoolId,
        identifier: &str,
    ) -> StoreResult<Option<IdentityProvider>>;
    /// Replaces everything but pool, name, type and creation time; identifiers as in insert.
    async fn update_identity_provider(&mut self, provider: &IdentityProvider) -> StoreResult<()>;
    /// Returns whether it existed.
    async fn delete_identity_provider(
        &mut self,
        pool: &UserPoolId,
        name: &str,
    ) -> StoreResult<bool>;
    /// A pool's providers ordered by name, after `after`.
    async fn list_identity_providers(
        &mut self,
        pool: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<IdentityProvider>>;

    /// Stores a pending federated sign-in under the hash of its `state`.
    async fn insert_federation_state(
        &mut self,
        hash: &[u8],
        state: &FederationState,
    ) -> StoreResult<()>;
    /// Removes and returns the pending sign-in if it is still live at `now`: each state is used
    /// at most once, even by two requests at the same time.
    async fn take_federation_state(
        &mut self,
        hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<FederationState>>;

    /// Links a provider identity to a user. Fails with `Conflict::FederatedLink` when that
    /// identity is linked already (to anyone).
    async fn link_federated_identity(
        &mut self,
        pool: &UserPoolId,
        provider: &str,
        subject: &str,
        sub: &Sub,
    ) -> StoreResult<()>;
    /// The user a provider identity is linked to.
    async fn federated_link(
        &mut self,
        pool: &UserPoolId,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<Sub>>;
    /// Returns whether the link existed.
    async fn unlink_federated_identity(
        &mut self,
        pool: &UserPoolId,
        provider: &str,
        subject: &str,
    ) -> StoreResult<bool>;
    /// A user's linked identities as `(provider, subject)`, ordered.
    async fn federated_links_of_user(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
    ) -> StoreResult<Vec<(String, String)>>;

    /// Stores a pool's SAML SP keys unless it has some already; returns whether these were
    /// stored (two nodes generating at once: one wins, both then read the winner's).
    async fn insert_saml_sp_keys(&mut self, keys: &SamlSpKeys) -> StoreResult<bool>;
    async fn saml_sp_keys(&mut self, pool: &UserPoolId) -> StoreResult<Option<SamlSpKeys>>;
    /// Records that the assertion `assertion_id` of `issuer` was accepted, to be remembered
    /// until `keep_until`. Returns false when it was already recorded and is still remembered at
    /// `now` (a replay), even for two requests at the same time.
    async fn record_saml_assertion(
        &mut self,
        pool: &UserPoolId,
        issuer: &str,
        assertion_id: &str,
        keep_until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}
