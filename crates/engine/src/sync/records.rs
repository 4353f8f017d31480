//! Datasets and records: ListRecords, UpdateRecords, DescribeDataset, ListDatasets,
//! DeleteDataset.
//!
//! UpdateRecords reads the dataset, checks every patch and limit (and runs the sync trigger)
//! outside any write transaction, then writes with a compare-and-swap on the count it read. If
//! another writer got there first, it starts over from the new state, where a patch of the same
//! record is now stale (ResourceConflictException) and a patch of another record goes through
//! at the next count.

use super::SyncCaller;
use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::pools::{decode_token, encode_token, paged};
use std::collections::BTreeMap;
use tessera_domain::identity::Identity;
use tessera_domain::sync::{
    self, Applied, Dataset, RecordPatch, SyncRecord, Writer, is_merged_into,
};
use tessera_domain::{DomainError, ErrorKind};
use tessera_store::{Conflict, StoreError};

/// Most records a ListRecords page holds (what the sync managers ask for).
const MAX_RECORDS_PAGE: usize = 1024;
/// Most datasets a ListDatasets page holds.
const MAX_DATASETS_PAGE: usize = 64;
/// Writers that lose the compare-and-swap retry this many times in all.
const WRITE_ATTEMPTS: usize = 5;

/// What ListRecords answers.
pub struct RecordsPage {
    pub records: Vec<SyncRecord>,
    pub next: Option<String>,
    pub dataset_sync_count: i64,
    pub last_modified_by: Option<String>,
    pub merged: Vec<String>,
    pub exists: bool,
    pub deleted_after: bool,
    pub token: String,
}

/// A ListRecords request.
pub struct ListRecords<'a> {
    pub pool_id: &'a str,
    pub identity_id: &'a str,
    pub dataset: &'a str,
    pub last_sync_count: Option<i64>,
    pub next_token: Option<&'a str>,
    pub max_results: Option<i64>,
}

/// An UpdateRecords request.
pub struct UpdateRecords<'a> {
    pub pool_id: &'a str,
    pub identity_id: &'a str,
    pub dataset: &'a str,
    pub device_id: Option<&'a str>,
    pub patches: Vec<RecordPatch>,
    pub token: &'a str,
}

fn dataset_not_found(name: &str) -> DomainError {
    DomainError::resource_not_found(format!(
        "Dataset '{}' not found.",
        name.chars().take(128).collect::<String>()
    ))
}

async fn live_dataset(
    tx: &mut dyn tessera_store::Tx,
    identity: &Identity,
    name: &str,
) -> EngineResult<Dataset> {
    tx.get_dataset(&identity.id, name)
        .await?
        .filter(|d| d.live)
        .ok_or_else(|| dataset_not_found(name).into())
}

fn bad_token() -> DomainError {
    DomainError::invalid_parameter("Invalid pagination token.")
}

fn page_size(max: Option<i64>, cap: usize) -> usize {
    match max {
        Some(n) if n > 0 => (n as usize).min(cap),
        _ => cap,
    }
}

impl Engine {
    /// ListRecords: the records above `last_sync_count`, and what the client must learn about
    /// the dataset (deleted, merged, its count), with a token for UpdateRecords.
    pub async fn list_records(
        &self,
        caller: &SyncCaller,
        req: ListRecords<'_>,
    ) -> EngineResult<RecordsPage> {
        let ListRecords {
            pool_id,
            identity_id,
            dataset,
            ..
        } = req;
        let last = req.last_sync_count.unwrap_or(0);
        let after = decode_token(req.next_token)?
            .map(|text| {
                let (count, key) = text.split_once(':').ok_or_else(bad_token)?;
                let count: i64 = count.parse().map_err(|_| bad_token())?;
                Ok::<_, DomainError>((count, key.to_string()))
            })
            .transpose()?;
        let limit = page_size(req.max_results, MAX_RECORDS_PAGE);
        let (identity, existing, mut records, merged) = {
            let mut tx = self.inner.store.read().await?;
            let identity = self
                .identity_data(&mut *tx, caller, pool_id, identity_id)
                .await?;
            let existing = tx.get_dataset(&identity.id, dataset).await?;
            let view = sync::list_view(existing.as_ref(), last)?;
            let records = if view.exists {
                tx.dataset_records(&identity.id, dataset, last).await?
            } else {
                Vec::new()
            };
            let merged = self.merged_datasets(&mut *tx, &identity, dataset).await?;
            (identity, existing, records, merged)
        };
        let view = sync::list_view(existing.as_ref(), last)?;
        if let Some((count, key)) = &after {
            records.retain(|r| (r.sync_count, &r.key) > (*count, key));
        }
        let next = if records.len() > limit {
            records.truncate(limit);
            records
                .last()
                .map(|r| encode_token(&format!("{}:{}", r.sync_count, r.key)))
        } else {
            None
        };
        // A sync session: counted for DescribeIdentityPoolUsage.
        let mut tx = self.inner.store.begin().await?;
        tx.count_sync_session(&identity.pool_id).await?;
        tx.commit().await?;
        Ok(RecordsPage {
            records,
            next,
            dataset_sync_count: view.sync_count,
            last_modified_by: existing
                .as_ref()
                .filter(|d| d.live)
                .map(|d| d.last_modified_by.clone()),
            merged,
            exists: view.exists,
            deleted_after: view.deleted_after,
            token: self.sync_session_token(
                identity.pool_id.as_str(),
                identity.id.as_str(),
                dataset,
            ),
        })
    }

    /// The live datasets merged into `dataset` from identities merged into this one.
    async fn merged_datasets(
        &self,
        tx: &mut dyn tessera_store::Tx,
        identity: &Identity,
        dataset: &str,
    ) -> EngineResult<Vec<String>> {
        let mut merged = Vec::new();
        let mut after: Option<String> = Some(dataset.to_string());
        loop {
            let page = tx
                .list_datasets(&identity.id, after.as_deref(), MAX_DATASETS_PAGE)
                .await?;
            let done = page.len() < MAX_DATASETS_PAGE;
            after = page.last().map(|d| d.name.clone());
            let mut past = false;
            for d in page {
                if is_merged_into(&d.name, dataset) {
                    merged.push(d.name);
                } else if !d.name.starts_with(dataset) {
                    past = true;
                }
            }
            if done || past {
                return Ok(merged);
            }
        }
    }

    /// UpdateRecords: all patches in one new sync count, or none.
    pub async fn update_records(
        &self,
        caller: &SyncCaller,
        req: UpdateRecords<'_>,
    ) -> EngineResult<Vec<SyncRecord>> {
        if req.token.is_empty() {
            return Err(DomainError::invalid_parameter(
                "SyncSessionToken not valid for these inputs",
            )
            .into());
        }
        for attempt in 1..=WRITE_ATTEMPTS {
            let (identity, existing, stored, live) = {
                let mut tx = self.inner.store.read().await?;
                let identity = self
                    .identity_data(&mut *tx, caller, req.pool_id, req.identity_id)
                    .await?;
                let existing = tx.get_dataset(&identity.id, req.dataset).await?;
                let stored: BTreeMap<String, SyncRecord> = match &existing {
                    Some(d) if d.live => tx
                        .dataset_records(&identity.id, req.dataset, 0)
                        .await?
                        .into_iter()
                        .map(|r| (r.key.clone(), r))
                        .collect(),
                    _ => BTreeMap::new(),
                };
                let live = tx.count_datasets(&identity.id).await?;
                (identity, existing, stored, live)
            };
            self.check_sync_session_token(
                req.token,
                identity.pool_id.as_str(),
                identity.id.as_str(),
                req.dataset,
            )?;
            let writer = Writer {
                pool_id: &identity.pool_id,
                identity_id: &identity.id,
                dataset: req.dataset,
                by: caller.name(),
                now: self.now(),
            };
            let mut applied =
                sync::apply_patches(&writer, existing.as_ref(), &stored, &req.patches, live)?;
            if !caller.is_developer()
                && let Some(function) = self.sync_trigger(&identity.pool_id).await?
            {
                let patches = self
                    .run_sync_trigger(&function, &writer, &stored, &req.patches)
                    .await?;
                applied = sync::apply_patches(&writer, existing.as_ref(), &stored, &patches, live)?;
            }
            if applied.written.is_empty() {
                return Ok(Vec::new());
            }
            match self
                .write_applied(&applied, existing.as_ref(), req.device_id)
                .await
            {
                Ok(true) => return Ok(applied.written),
                Ok(false) => {
                    tracing::debug!(attempt, dataset = %req.dataset, "sync count moved on; retrying");
                }
                Err(e) => return Err(e),
            }
        }
        Err(EngineError::Contended)
    }

    /// Writes an accepted update if the dataset's count is still the one it was computed from.
    async fn write_applied(
        &self,
        applied: &Applied,
        read: Option<&Dataset>,
        device_id: Option<&str>,
    ) -> EngineResult<bool> {
        let mut tx = self.inner.store.begin().await?;
        let d = &applied.dataset;
        match tx.put_dataset(d, read.map(|r| r.sync_count)).await {
            Ok(true) => {}
            Ok(false) | Err(StoreError::Conflict(Conflict::Dataset)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        tx.put_records(&d.identity_id, &d.name, &applied.written)
            .await?;
        self.after_sync_change(&mut *tx, d, &applied.written, device_id)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// DescribeDataset.
    pub async fn describe_dataset(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        dataset: &str,
    ) -> EngineResult<Dataset> {
        let mut tx = self.inner.store.read().await?;
        let identity = self
            .identity_data(&mut *tx, caller, pool_id, identity_id)
            .await?;
        live_dataset(&mut *tx, &identity, dataset).await
    }

    /// ListDatasets: live datasets by name.
    pub async fn list_datasets(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        next_token: Option<&str>,
        max_results: Option<i64>,
    ) -> EngineResult<(Vec<Dataset>, Option<String>)> {
        let after = decode_token(next_token)?;
        let limit = page_size(max_results, MAX_DATASETS_PAGE);
        let mut tx = self.inner.store.read().await?;
        let identity = self
            .identity_data(&mut *tx, caller, pool_id, identity_id)
            .await?;
        let datasets = tx
            .list_datasets(&identity.id, after.as_deref(), limit + 1)
            .await?;
        Ok(paged(datasets, limit, |d| d.name.as_str()))
    }

    /// DeleteDataset: removes the records and leaves a tombstone; answers what was deleted.
    pub async fn delete_dataset(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        dataset: &str,
    ) -> EngineResult<Dataset> {
        let mut tx = self.inner.store.begin().await?;
        let identity = self
            .identity_data(&mut *tx, caller, pool_id, identity_id)
            .await?;
        let existing = live_dataset(&mut *tx, &identity, dataset).await?;
        let gone = sync::deleted(&existing, caller.name(), self.now());
        if !tx.put_dataset(&gone, Some(existing.sync_count)).await? {
            return Err(DomainError::new(
                ErrorKind::ResourceConflict,
                "The dataset changed while it was being deleted; retry.",
            )
            .into());
        }
        tx.clear_records(&identity.id, dataset).await?;
        self.after_sync_change(&mut *tx, &gone, &[], None).await?;
        tx.commit().await?;
        Ok(existing)
    }
}
