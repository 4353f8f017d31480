//! Storage for Client ID Metadata Document policies and the documents fetched for the URLs
//! they admit (a cache, keyed by policy and URL, that goes with its policy or pool). A
//! supertrait of [`crate::Tx`].

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::UserPoolId;
use tessera_domain::cimd::{CachedDocument, CimdPolicy};

#[async_trait]
pub trait CimdTx: Send {
    async fn insert_cimd_policy(&mut self, policy: &CimdPolicy) -> StoreResult<()>;
    async fn get_cimd_policy(
        &mut self,
        pool: &UserPoolId,
        id: &str,
    ) -> StoreResult<Option<CimdPolicy>>;
    async fn update_cimd_policy(&mut self, policy: &CimdPolicy) -> StoreResult<()>;
    /// Removes the policy and its cached documents; returns whether it existed.
    async fn delete_cimd_policy(&mut self, pool: &UserPoolId, id: &str) -> StoreResult<bool>;
    /// A pool's policies ordered by id, strictly after `after`.
    async fn list_cimd_policies(
        &mut self,
        pool: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<CimdPolicy>>;
    /// Inserts or replaces the document cached for `(policy, url)`.
    async fn put_cimd_document(&mut self, doc: &CachedDocument) -> StoreResult<()>;
    async fn get_cimd_document(
        &mut self,
        pool: &UserPoolId,
        policy: &str,
        url: &str,
    ) -> StoreResult<Option<CachedDocument>>;
    /// Returns whether one was cached.
    async fn delete_cimd_document(
        &mut self,
        pool: &UserPoolId,
        policy: &str,
        url: &str,
    ) -> StoreResult<bool>;
    /// A policy's cached documents ordered by URL, strictly after `after`.
    async fn list_cimd_documents(
        &mut self,
        pool: &UserPoolId,
        policy: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<CachedDocument>>;
}
