//! Storage for identity pools (cognito-identity): pools, identities with their linked logins,
//! and the temporary credentials issued to identities. A supertrait of [`crate::Tx`], so the
//! same transaction covers both services.

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::identity::{Identity, IdentityId, IdentityPool, IdentityPoolId, StsSession};

/// A key identity pools sign OpenID tokens with, its private half sealed with the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentitySigningKey {
    pub kid: String,
    pub sealed_private: Vec<u8>,
    /// The public JWK as JSON.
    pub public_jwk: String,
    pub created_at: tessera_domain::Timestamp,
}

#[async_trait]
pub trait IdentityTx: Send {
    /// Fails with `Conflict::IdentityPool` when the id exists.
    async fn insert_identity_pool(&mut self, pool: &IdentityPool) -> StoreResult<()>;
    async fn get_identity_pool(&mut self, id: &IdentityPoolId)
    -> StoreResult<Option<IdentityPool>>;
    /// Replaces the name, modification time and configuration.
    async fn update_identity_pool(&mut self, pool: &IdentityPool) -> StoreResult<()>;
    /// Deletes the pool, its identities and every credential issued to them.
    async fn delete_identity_pool(&mut self, id: &IdentityPoolId) -> StoreResult<bool>;
    /// Pools ordered by id, after `after`.
    async fn list_identity_pools(
        &mut self,
        after: Option<&IdentityPoolId>,
        limit: usize,
    ) -> StoreResult<Vec<IdentityPool>>;

    /// Inserts an identity and its logins; `Conflict::Login` when one of its logins (provider
    /// and subject) is linked to an identity of the pool already.
    async fn insert_identity(&mut self, identity: &Identity) -> StoreResult<()>;
    async fn get_identity(&mut self, id: &IdentityId) -> StoreResult<Option<Identity>>;
    /// Replaces modification time, disabled flag and the logins (exactly `identity.logins`);
    /// `Conflict::Login` as for insert.
    async fn update_identity(&mut self, identity: &Identity) -> StoreResult<()>;
    /// Deletes an identity, its logins and its credentials.
    async fn delete_identity(&mut self, id: &IdentityId) -> StoreResult<bool>;
    /// The identity a login (provider name and the subject it vouched for) is linked to.
    async fn identity_by_login(
        &mut self,
        pool: &IdentityPoolId,
        provider: &str,
        subject: &str,
    ) -> StoreResult<Option<Identity>>;
    /// A pool's identities ordered by id, after `after`.
    async fn list_identities(
        &mut self,
        pool: &IdentityPoolId,
        after: Option<&IdentityId>,
        limit: usize,
    ) -> StoreResult<Vec<Identity>>;

    /// Stores issued credentials; `Conflict::AccessKey` when the key id is taken.
    async fn insert_sts_session(&mut self, session: &StsSession) -> StoreResult<()>;
    async fn get_sts_session(&mut self, access_key_id: &str) -> StoreResult<Option<StsSession>>;

    /// `Conflict::SigningKey` when the kid exists.
    async fn insert_identity_signing_key(&mut self, key: &IdentitySigningKey) -> StoreResult<()>;
    /// Every identity-pool signing key, oldest first (ties by kid).
    async fn identity_signing_keys(&mut self) -> StoreResult<Vec<IdentitySigningKey>>;
    /// Removes a key (rotated out, or revoked); false when there was none.
    async fn delete_identity_signing_key(&mut self, kid: &str) -> StoreResult<bool>;
}
