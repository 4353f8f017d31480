//! Storage for Cognito Sync: datasets and their records per identity, each pool's sync
//! settings and session count, and devices registered for push sync with their subscriptions.
//! A supertrait of [`crate::Tx`], so one transaction covers identities and their data.
//!
//! Sync counts change only through [`SyncTx::put_dataset`], a compare-and-swap on the count the
//! writer read: of two writers that read the same count, one wins and the other is told, on
//! every node.

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::Timestamp;
use tessera_domain::identity::{IdentityId, IdentityPoolId};
use tessera_domain::sync::{
    Dataset, SyncChange, SyncDelivery, SyncDeliveryOutcome, SyncDevice, SyncPoolConfig, SyncRecord,
    Usage,
};

#[async_trait]
pub trait SyncTx: Send {
    /// The dataset's row: live, or the tombstone a deletion left.
    async fn get_dataset(
        &mut self,
        identity: &IdentityId,
        name: &str,
    ) -> StoreResult<Option<Dataset>>;
    /// Writes a dataset row. `expected_count` None: inserts (`Conflict::Dataset` when a row
    /// exists). Some(n): replaces the row only while its sync count is still `n`, and says
    /// whether it did.
    async fn put_dataset(
        &mut self,
        dataset: &Dataset,
        expected_count: Option<i64>,
    ) -> StoreResult<bool>;
    /// An identity's live datasets ordered by name, after `after`.
    async fn list_datasets(
        &mut self,
        identity: &IdentityId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Dataset>>;
    /// How many live datasets an identity has.
    async fn count_datasets(&mut self, identity: &IdentityId) -> StoreResult<u64>;
    /// A dataset's records (tombstones included) with a sync count above `above`, ordered by
    /// count then key.
    async fn dataset_records(
        &mut self,
        identity: &IdentityId,
        name: &str,
        above: i64,
    ) -> StoreResult<Vec<SyncRecord>>;
    /// Inserts or replaces records of a dataset.
    async fn put_records(
        &mut self,
        identity: &IdentityId,
        name: &str,
        records: &[SyncRecord],
    ) -> StoreResult<()>;
    /// Removes every record of a dataset (its deletion). Returns how many.
    async fn clear_records(&mut self, identity: &IdentityId, name: &str) -> StoreResult<u64>;
    /// Moves every live dataset of `from` to `to` as `{name}.{from}`, records and counts kept
    /// (identity merges). Returns how many.
    async fn merge_datasets(&mut self, from: &IdentityId, to: &IdentityId) -> StoreResult<u64>;

    /// Live datasets, their bytes and the latest change of one identity.
    async fn identity_usage(&mut self, identity: &IdentityId) -> StoreResult<Usage>;
    /// The same over every identity of a pool.
    async fn pool_usage(&mut self, pool: &IdentityPoolId) -> StoreResult<Usage>;

    /// A pool's sync settings and how many sync sessions it has counted.
    async fn get_sync_config(
        &mut self,
        pool: &IdentityPoolId,
    ) -> StoreResult<Option<(SyncPoolConfig, i64)>>;
    async fn put_sync_config(
        &mut self,
        pool: &IdentityPoolId,
        config: &SyncPoolConfig,
    ) -> StoreResult<()>;
    /// Counts one sync session (a ListRecords), atomically.
    async fn count_sync_session(&mut self, pool: &IdentityPoolId) -> StoreResult<()>;

    /// `Conflict::SyncDevice` when the device id exists.
    async fn insert_sync_device(&mut self, device: &SyncDevice) -> StoreResult<()>;
    async fn get_sync_device(&mut self, device_id: &str) -> StoreResult<Option<SyncDevice>>;
    /// The device an identity registered with this platform and token, if any.
    async fn find_sync_device(
        &mut self,
        identity: &IdentityId,
        platform: &str,
        token: &str,
    ) -> StoreResult<Option<SyncDevice>>;
    /// Subscribes a device to a dataset; false when it already was.
    async fn subscribe_device(
        &mut self,
        identity: &IdentityId,
        dataset: &str,
        device_id: &str,
    ) -> StoreResult<bool>;
    async fn unsubscribe_device(
        &mut self,
        identity: &IdentityId,
        dataset: &str,
        device_id: &str,
    ) -> StoreResult<bool>;
    /// The devices subscribed to a dataset, ordered by id.
    async fn dataset_subscribers(
        &mut self,
        identity: &IdentityId,
        dataset: &str,
    ) -> StoreResult<Vec<SyncDevice>>;

    /// Queues a delivery, due now.
    async fn enqueue_sync_delivery(&mut self, delivery: &SyncDelivery) -> StoreResult<()>;
    /// Takes up to `limit` pending deliveries due at `now`, counting an attempt and hiding them
    /// from other claimers until `lease_until`. Two nodes never claim the same delivery.
    async fn claim_sync_deliveries(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<(SyncDelivery, u32)>>;
    async fn record_sync_delivery(
        &mut self,
        id: &str,
        outcome: &SyncDeliveryOutcome,
    ) -> StoreResult<()>;
    /// Deliveries neither delivered nor given up on.
    async fn count_pending_sync_deliveries(&mut self) -> StoreResult<u64>;

    /// Appends to the change feed.
    async fn insert_sync_change(&mut self, change: &SyncChange) -> StoreResult<()>;
    /// An identity's changes after `(created_at, id)`, oldest first.
    async fn sync_changes_after(
        &mut self,
        identity: &IdentityId,
        after: Option<(Timestamp, &str)>,
        limit: usize,
    ) -> StoreResult<Vec<SyncChange>>;

    /// Removes delivered and given-up deliveries created before `done_before`, and change-feed
    /// rows created before `changes_before`. Returns how many.
    async fn sweep_sync(
        &mut self,
        done_before: Timestamp,
        changes_before: Timestamp,
    ) -> StoreResult<u64>;
}
