//! Storage for terms documents: at most one of each kind per app client, found by id within a
//! pool or by client; they go with their client or pool. A supertrait of [`crate::Tx`].

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::terms::Terms;
use tessera_domain::{ClientId, UserPoolId};
use uuid::Uuid;

#[async_trait]
pub trait TermsTx: Send {
    /// Fails with `Conflict::Terms` when the client has a document of that kind.
    async fn insert_terms(&mut self, terms: &Terms) -> StoreResult<()>;
    async fn get_terms(&mut self, pool: &UserPoolId, id: &Uuid) -> StoreResult<Option<Terms>>;
    /// A client's documents (two at most).
    async fn terms_of_client(
        &mut self,
        pool: &UserPoolId,
        client: &ClientId,
    ) -> StoreResult<Vec<Terms>>;
    /// Replaces kind, links and times; `Conflict::Terms` when the new kind is taken.
    async fn update_terms(&mut self, terms: &Terms) -> StoreResult<()>;
    /// Returns whether it existed.
    async fn delete_terms(&mut self, pool: &UserPoolId, id: &Uuid) -> StoreResult<bool>;
    /// A pool's documents ordered by id, strictly after `after`.
    async fn list_terms(
        &mut self,
        pool: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Terms>>;
}
