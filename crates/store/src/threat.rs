//! Storage for threat protection: each user's auth events (sign-in attempts and what was decided
//! about them), written in the same transaction as the attempt's outcome, paged newest first,
//! and pruned after the deployment's retention. A supertrait of [`crate::Tx`].
//!
//! The signals adaptive authentication reads come from the same rows: whether a user has
//! succeeded from an address before, and how many attempts from an address failed lately.

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::threat::AuthEvent;
use tessera_domain::{Sub, Timestamp, UserPoolId};

#[async_trait]
pub trait ThreatTx: Send {
    /// Event ids are unique within a pool (they are random UUIDs).
    async fn insert_auth_event(&mut self, event: &AuthEvent) -> StoreResult<()>;
    /// Replaces an event's outcome, risk, challenges and feedback; returns whether it existed.
    async fn update_auth_event(&mut self, event: &AuthEvent) -> StoreResult<bool>;
    async fn get_auth_event(
        &mut self,
        pool: &UserPoolId,
        event_id: &str,
    ) -> StoreResult<Option<AuthEvent>>;
    /// A user's events, newest first (ties by event id, descending), strictly after the
    /// position `(created_at, event_id)` of the last event of the previous page.
    async fn list_auth_events(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        after: Option<(Timestamp, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<AuthEvent>>;
    /// Whether the user has an event from `ip` that passed, or that they confirmed as theirs.
    async fn known_ip(&mut self, pool: &UserPoolId, sub: &Sub, ip: &str) -> StoreResult<bool>;
    /// Whether the user disowned (feedback Invalid) an event from `ip`.
    async fn disowned_ip(&mut self, pool: &UserPoolId, sub: &Sub, ip: &str) -> StoreResult<bool>;
    /// Whether the user has any event at all.
    async fn has_auth_events(&mut self, pool: &UserPoolId, sub: &Sub) -> StoreResult<bool>;
    /// Failed sign-in events from `ip`, across the pool's users, since `since`.
    async fn failures_from_ip(
        &mut self,
        pool: &UserPoolId,
        ip: &str,
        since: Timestamp,
    ) -> StoreResult<u64>;
    /// Removes events created before `before`; returns how many.
    async fn prune_auth_events(&mut self, before: Timestamp) -> StoreResult<u64>;
}
