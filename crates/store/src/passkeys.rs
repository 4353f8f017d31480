//! Storage for passkeys: each user's WebAuthn credentials, unique by credential id within a
//! pool, going with their user. A supertrait of [`crate::Tx`].

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::passkeys::WebAuthnCredential;
use tessera_domain::{Sub, UserPoolId};

#[async_trait]
pub trait PasskeyTx: Send {
    /// A credential id the pool already holds (for any user) is `Conflict::WebAuthnCredential`.
    async fn insert_webauthn_credential(&mut self, c: &WebAuthnCredential) -> StoreResult<()>;
    async fn get_webauthn_credential(
        &mut self,
        pool: &UserPoolId,
        credential_id: &str,
    ) -> StoreResult<Option<WebAuthnCredential>>;
    /// A user's credentials, oldest first (ties by credential id).
    async fn webauthn_credentials(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
    ) -> StoreResult<Vec<WebAuthnCredential>>;
    /// Replaces the stored credential (counter, last use); false when it is gone.
    async fn update_webauthn_credential(&mut self, c: &WebAuthnCredential) -> StoreResult<bool>;
    /// Deletes the credential only if it is `sub`'s; false otherwise.
    async fn delete_webauthn_credential(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        credential_id: &str,
    ) -> StoreResult<bool>;
}
