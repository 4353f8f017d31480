//! Storage for point-in-time recovery: the journal of before-images that every write to a
//! pool's users, groups, memberships and passkeys appends to (in the same transaction as the
//! write), and the pool's recoveries. A supertrait of [`crate::Tx`].
//!
//! Rules every backend keeps:
//! - `insert_user`, `update_user`, `delete_user`, `insert_group`, `update_group`,
//!   `delete_group`, `add_group_member`, `remove_group_member`, `insert_webauthn_credential` and
//!   `delete_webauthn_credential` journal the entity's state before the write (deletes also
//!   journal the memberships and passkeys that go with the user or group), stamped with the
//!   node's clock; a write that changes nothing journals nothing. Sign-in counters
//!   (`charge_sign_in`, passkey counters through `update_webauthn_credential`) are not journaled.
//! - While the pool has a recovery whose status pauses writes (and whose preview hasn't
//!   expired), those writes fail with [`crate::StoreError::WritesPaused`] — unless the
//!   transaction is the recovery's own ([`HistoryTx::allow_paused_writes`]).

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::recovery::{HistoryEntry, Recovery};
use tessera_domain::{Timestamp, UserPoolId};
use uuid::Uuid;

#[async_trait]
pub trait HistoryTx: Send {
    /// For each entity of the pool changed after `since`, the first journal entry after it
    /// (whose before-image is the entity's state at `since`), in journal order.
    async fn history_since(
        &mut self,
        pool: &UserPoolId,
        since: Timestamp,
    ) -> StoreResult<Vec<HistoryEntry>>;
    /// Drops journal entries written before `before`; returns how many.
    async fn prune_history(&mut self, before: Timestamp) -> StoreResult<u64>;
    /// Drops one pool's journal entries written before `before`; returns how many.
    async fn prune_pool_history(
        &mut self,
        pool: &UserPoolId,
        before: Timestamp,
    ) -> StoreResult<u64>;
    /// Lets this transaction write to a pool whose writes are paused, and journals its writes as
    /// usual (so a recovery can itself be recovered from).
    fn allow_paused_writes(&mut self);

    /// `Conflict::Recovery` when the pool already has a recovery that pauses writes.
    async fn insert_recovery(&mut self, r: &Recovery, expired_before: Timestamp)
    -> StoreResult<()>;
    async fn get_recovery(&mut self, pool: &UserPoolId, id: &Uuid)
    -> StoreResult<Option<Recovery>>;
    /// Replaces the stored recovery if its status is still `expected`; returns whether it did.
    async fn update_recovery(
        &mut self,
        r: &Recovery,
        expected: tessera_domain::recovery::RestoreStatus,
    ) -> StoreResult<bool>;
    /// The pool's recoveries, newest first, after `after` (the previous page's last: its creation
    /// time and id).
    async fn list_recoveries(
        &mut self,
        pool: &UserPoolId,
        after: Option<(Timestamp, Uuid)>,
        limit: usize,
    ) -> StoreResult<Vec<Recovery>>;
}
