//! The Cognito Sync half of the SQL transaction ([`tessera_store::SyncTx`]), instantiated by
//! [`sql_tx!`](crate::sql_tx) beside the others.

/// Implements `tessera_store::SyncTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! sync_tx {
    ($tx:ident, $db:ty) => {
        const SYNC_DATASET_COLUMNS: &str = "identity_id, name, pool_id, created_at, modified_at, \
            last_modified_by, sync_count, deleted_at_count, live, data_storage, num_records";

        fn sync_dataset_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::sync::Dataset> {
            use sqlx::Row;
            let corrupt = |e: tessera_domain::DomainError| tessera_store::StoreError::Corrupt(e.to_string());
            let identity: String = row.try_get("identity_id").map_err(be)?;
            let pool: String = row.try_get("pool_id").map_err(be)?;
            Ok(tessera_domain::sync::Dataset {
                identity_id: tessera_domain::identity::IdentityId::parse(&identity).map_err(corrupt)?,
                pool_id: tessera_domain::identity::IdentityPoolId::parse(&pool).map_err(corrupt)?,
                name: row.try_get("name").map_err(be)?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
                modified_at: tessera_domain::Timestamp::from_millis(row.try_get("modified_at").map_err(be)?),
                last_modified_by: row.try_get("last_modified_by").map_err(be)?,
                sync_count: row.try_get("sync_count").map_err(be)?,
                deleted_at_count: row.try_get("deleted_at_count").map_err(be)?,
                live: row.try_get("live").map_err(be)?,
                data_storage: row.try_get("data_storage").map_err(be)?,
                num_records: row.try_get("num_records").map_err(be)?,
            })
        }

        fn sync_record_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::sync::SyncRecord> {
            use sqlx::Row;
            let device: Option<i64> = row.try_get("device_modified_at").map_err(be)?;
            Ok(tessera_domain::sync::SyncRecord {
                key: row.try_get("record_key").map_err(be)?,
                value: row.try_get("value").map_err(be)?,
                sync_count: row.try_get("sync_count").map_err(be)?,
                modified_at: tessera_domain::Timestamp::from_millis(row.try_get("modified_at").map_err(be)?),
                last_modified_by: row.try_get("last_modified_by").map_err(be)?,
                device_modified_at: device.map(tessera_domain::Timestamp::from_millis),
            })
        }

        fn sync_device_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::sync::SyncDevice> {
            use sqlx::Row;
            let corrupt = |e: tessera_domain::DomainError| tessera_store::StoreError::Corrupt(e.to_string());
            let identity: String = row.try_get("identity_id").map_err(be)?;
            let pool: String = row.try_get("pool_id").map_err(be)?;
            Ok(tessera_domain::sync::SyncDevice {
                identity_id: tessera_domain::identity::IdentityId::parse(&identity).map_err(corrupt)?,
                pool_id: tessera_domain::identity::IdentityPoolId::parse(&pool).map_err(corrupt)?,
                device_id: row.try_get("device_id").map_err(be)?,
                platform: row.try_get("platform").map_err(be)?,
                token: row.try_get("token").map_err(be)?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
            })
        }

        impl $tx {
            async fn sync_usage(&mut self, column: &str, id: &str) -> tessera_store::StoreResult<tessera_domain::sync::Usage> {
                let sql = format!(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(data_storage), 0) AS BIGINT), MAX(modified_at) FROM sync_datasets WHERE {column} = $1 AND live"
                );
                let (count, storage, last): (i64, i64, Option<i64>) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(tessera_domain::sync::Usage {
                    dataset_count: count,
                    data_storage: storage,
                    last_modified: last.map(tessera_domain::Timestamp::from_millis),
                })
            }
        }

        fn sync_delivery_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<(tessera_domain::sync::SyncDelivery, u32)> {
            use sqlx::Row;
            let kind: String = row.try_get("kind").map_err(be)?;
            let pool: String = row.try_get("pool_id").map_err(be)?;
            let attempts: i64 = row.try_get("attempts").map_err(be)?;
            Ok((
                tessera_domain::sync::SyncDelivery {
                    id: row.try_get("id").map_err(be)?,
                    kind: tessera_domain::sync::DeliveryKind::parse(&kind)
                        .ok_or_else(|| tessera_store::StoreError::Corrupt(format!("delivery kind {kind}")))?,
                    pool_id: tessera_domain::identity::IdentityPoolId::parse(&pool)
                        .map_err(|e| tessera_store::StoreError::Corrupt(e.to_string()))?,
                    payload: row.try_get("payload").map_err(be)?,
                    created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
                },
                u32::try_from(attempts).unwrap_or(0),
            ))
        }

        fn sync_change_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::sync::SyncChange> {
            use sqlx::Row;
            let identity: String = row.try_get("identity_id").map_err(be)?;
            Ok(tessera_domain::sync::SyncChange {
                id: row.try_get("id").map_err(be)?,
                identity_id: tessera_domain::identity::IdentityId::parse(&identity)
                    .map_err(|e| tessera_store::StoreError::Corrupt(e.to_string()))?,
                dataset: row.try_get("dataset").map_err(be)?,
                sync_count: row.try_get("sync_count").map_err(be)?,
                device_id: row.try_get("device_id").map_err(be)?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
            })
        }

        #[async_trait::async_trait]
        impl tessera_store::SyncTx for $tx {
            async fn get_dataset(&mut self, identity: &tessera_domain::identity::IdentityId, name: &str) -> tessera_store::StoreResult<Option<tessera_domain::sync::Dataset>> {
                let sql = format!("SELECT {SYNC_DATASET_COLUMNS} FROM sync_datasets WHERE identity_id = $1 AND name = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(identity.as_str())
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(sync_dataset_row).transpose()
            }

            async fn put_dataset(&mut self, d: &tessera_domain::sync::Dataset, expected_count: Option<i64>) -> tessera_store::StoreResult<bool> {
                // One binding for both statements; the insert leaves $12 (the expected count)
                // unread.
                let sql = match expected_count {
                    None => "INSERT INTO sync_datasets (identity_id, name, pool_id, created_at, modified_at, last_modified_by, \
                             sync_count, deleted_at_count, live, data_storage, num_records) \
                             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE $12 IS NULL",
                    Some(_) => "UPDATE sync_datasets SET pool_id = $3, created_at = $4, modified_at = $5, last_modified_by = $6, \
                                sync_count = $7, deleted_at_count = $8, live = $9, data_storage = $10, num_records = $11 \
                                WHERE identity_id = $1 AND name = $2 AND sync_count = $12",
                };
                let done = sqlx::query(sql)
                    .bind(d.identity_id.as_str())
                    .bind(&d.name)
                    .bind(d.pool_id.as_str())
                    .bind(d.created_at.millis())
                    .bind(d.modified_at.millis())
                    .bind(&d.last_modified_by)
                    .bind(d.sync_count)
                    .bind(d.deleted_at_count)
                    .bind(d.live)
                    .bind(d.data_storage)
                    .bind(d.num_records)
                    .bind(expected_count)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Dataset)))?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_datasets(&mut self, identity: &tessera_domain::identity::IdentityId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::sync::Dataset>> {
                let sql = format!("SELECT {SYNC_DATASET_COLUMNS} FROM sync_datasets WHERE identity_id = $1 AND live AND name > $2 ORDER BY name LIMIT $3");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(identity.as_str())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(sync_dataset_row).collect()
            }

            async fn count_datasets(&mut self, identity: &tessera_domain::identity::IdentityId) -> tessera_store::StoreResult<u64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_datasets WHERE identity_id = $1 AND live")
                    .bind(identity.as_str())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(n.max(0) as u64)
            }

            async fn dataset_records(&mut self, identity: &tessera_domain::identity::IdentityId, name: &str, above: i64) -> tessera_store::StoreResult<Vec<tessera_domain::sync::SyncRecord>> {
                let rows = sqlx::query(
                    "SELECT record_key, value, sync_count, modified_at, last_modified_by, device_modified_at FROM sync_records \
                     WHERE identity_id = $1 AND dataset = $2 AND sync_count > $3 ORDER BY sync_count, record_key",
                )
                .bind(identity.as_str())
                .bind(name)
                .bind(above)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter().map(sync_record_row).collect()
            }

            async fn put_records(&mut self, identity: &tessera_domain::identity::IdentityId, name: &str, records: &[tessera_domain::sync::SyncRecord]) -> tessera_store::StoreResult<()> {
                for r in records {
                    sqlx::query(
                        "INSERT INTO sync_records (identity_id, dataset, record_key, value, sync_count, modified_at, last_modified_by, device_modified_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                         ON CONFLICT (identity_id, dataset, record_key) DO UPDATE SET value = excluded.value, sync_count = excluded.sync_count, \
                         modified_at = excluded.modified_at, last_modified_by = excluded.last_modified_by, device_modified_at = excluded.device_modified_at",
                    )
                    .bind(identity.as_str())
                    .bind(name)
                    .bind(&r.key)
                    .bind(r.value.as_deref())
                    .bind(r.sync_count)
                    .bind(r.modified_at.millis())
                    .bind(&r.last_modified_by)
                    .bind(r.device_modified_at.map(|t| t.millis()))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                }
                Ok(())
            }

            async fn clear_records(&mut self, identity: &tessera_domain::identity::IdentityId, name: &str) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM sync_records WHERE identity_id = $1 AND dataset = $2")
                    .bind(identity.as_str())
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }

            async fn merge_datasets(&mut self, from: &tessera_domain::identity::IdentityId, to: &tessera_domain::identity::IdentityId) -> tessera_store::StoreResult<u64> {
                sqlx::query(
                    "UPDATE sync_records SET identity_id = $2, dataset = dataset || '.' || $1 WHERE identity_id = $1 \
                     AND dataset IN (SELECT name FROM sync_datasets WHERE identity_id = $1 AND live)",
                )
                .bind(from.as_str())
                .bind(to.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| store_error(e, Some(tessera_store::Conflict::Dataset)))?;
                let moved = sqlx::query(
                    "UPDATE sync_datasets SET identity_id = $2, name = name || '.' || $1 WHERE identity_id = $1 AND live",
                )
                .bind(from.as_str())
                .bind(to.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| store_error(e, Some(tessera_store::Conflict::Dataset)))?;
                for statement in [
                    "DELETE FROM sync_records WHERE identity_id = $1",
                    "DELETE FROM sync_datasets WHERE identity_id = $1",
                ] {
                    sqlx::query(statement)
                        .bind(from.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                }
                Ok(moved.rows_affected())
            }

            async fn identity_usage(&mut self, identity: &tessera_domain::identity::IdentityId) -> tessera_store::StoreResult<tessera_domain::sync::Usage> {
                self.sync_usage("identity_id", identity.as_str()).await
            }

            async fn pool_usage(&mut self, pool: &tessera_domain::identity::IdentityPoolId) -> tessera_store::StoreResult<tessera_domain::sync::Usage> {
                self.sync_usage("pool_id", pool.as_str()).await
            }

            async fn get_sync_config(&mut self, pool: &tessera_domain::identity::IdentityPoolId) -> tessera_store::StoreResult<Option<(tessera_domain::sync::SyncPoolConfig, i64)>> {
                let row: Option<(String, i64)> = sqlx::query_as("SELECT config, sync_sessions FROM sync_pool_settings WHERE pool_id = $1")
                    .bind(pool.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|(config, n)| Ok(($crate::codec::from_json(&config, "sync settings")?, n)))
                    .transpose()
            }

            async fn put_sync_config(&mut self, pool: &tessera_domain::identity::IdentityPoolId, config: &tessera_domain::sync::SyncPoolConfig) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_pool_settings (pool_id, config, sync_sessions) VALUES ($1, $2, 0) \
                     ON CONFLICT (pool_id) DO UPDATE SET config = excluded.config",
                )
                .bind(pool.as_str())
                .bind($crate::codec::to_json(config)?)
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(())
            }

            async fn count_sync_session(&mut self, pool: &tessera_domain::identity::IdentityPoolId) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_pool_settings (pool_id, config, sync_sessions) VALUES ($1, '{}', 1) \
                     ON CONFLICT (pool_id) DO UPDATE SET sync_sessions = sync_pool_settings.sync_sessions + 1",
                )
                .bind(pool.as_str())
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(())
            }

            async fn insert_sync_device(&mut self, d: &tessera_domain::sync::SyncDevice) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_devices (device_id, pool_id, identity_id, platform, token, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&d.device_id)
                .bind(d.pool_id.as_str())
                .bind(d.identity_id.as_str())
                .bind(&d.platform)
                .bind(&d.token)
                .bind(d.created_at.millis())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| store_error(e, Some(tessera_store::Conflict::SyncDevice)))?;
                Ok(())
            }

            async fn get_sync_device(&mut self, device_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::sync::SyncDevice>> {
                let row = sqlx::query("SELECT device_id, pool_id, identity_id, platform, token, created_at FROM sync_devices WHERE device_id = $1")
                    .bind(device_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(sync_device_row).transpose()
            }

            async fn find_sync_device(&mut self, identity: &tessera_domain::identity::IdentityId, platform: &str, token: &str) -> tessera_store::StoreResult<Option<tessera_domain::sync::SyncDevice>> {
                let row = sqlx::query(
                    "SELECT device_id, pool_id, identity_id, platform, token, created_at FROM sync_devices \
                     WHERE identity_id = $1 AND platform = $2 AND token = $3 ORDER BY device_id LIMIT 1",
                )
                .bind(identity.as_str())
                .bind(platform)
                .bind(token)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(be)?;
                row.as_ref().map(sync_device_row).transpose()
            }

            async fn subscribe_device(&mut self, identity: &tessera_domain::identity::IdentityId, dataset: &str, device_id: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO sync_subscriptions (identity_id, dataset, device_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(identity.as_str())
                .bind(dataset)
                .bind(device_id)
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn unsubscribe_device(&mut self, identity: &tessera_domain::identity::IdentityId, dataset: &str, device_id: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM sync_subscriptions WHERE identity_id = $1 AND dataset = $2 AND device_id = $3")
                    .bind(identity.as_str())
                    .bind(dataset)
                    .bind(device_id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn dataset_subscribers(&mut self, identity: &tessera_domain::identity::IdentityId, dataset: &str) -> tessera_store::StoreResult<Vec<tessera_domain::sync::SyncDevice>> {
                let rows = sqlx::query(
                    "SELECT d.device_id, d.pool_id, d.identity_id, d.platform, d.token, d.created_at FROM sync_subscriptions s \
                     JOIN sync_devices d ON d.device_id = s.device_id WHERE s.identity_id = $1 AND s.dataset = $2 ORDER BY d.device_id",
                )
                .bind(identity.as_str())
                .bind(dataset)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter().map(sync_device_row).collect()
            }

            async fn enqueue_sync_delivery(&mut self, d: &tessera_domain::sync::SyncDelivery) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_deliveries (id, kind, pool_id, payload, created_at, next_attempt_at, attempts, status) \
                     VALUES ($1, $2, $3, $4, $5, $5, 0, 'pending')",
                )
                .bind(&d.id)
                .bind(d.kind.as_str())
                .bind(d.pool_id.as_str())
                .bind(&d.payload)
                .bind(d.created_at.millis())
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(())
            }

            async fn claim_sync_deliveries(&mut self, now: tessera_domain::Timestamp, lease_until: tessera_domain::Timestamp, limit: usize) -> tessera_store::StoreResult<Vec<(tessera_domain::sync::SyncDelivery, u32)>> {
                // As the message outbox: the outer condition repeats the inner one, so a
                // concurrent claimer re-checking a row after our update no longer matches it.
                let rows = sqlx::query(
                    "UPDATE sync_deliveries SET attempts = attempts + 1, next_attempt_at = $2 \
                     WHERE status = 'pending' AND next_attempt_at <= $1 AND id IN \
                     (SELECT id FROM sync_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY created_at, id LIMIT $3) \
                     RETURNING id, kind, pool_id, payload, created_at, attempts",
                )
                .bind(now.millis())
                .bind(lease_until.millis())
                .bind(limit as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                let mut claimed = rows.iter().map(sync_delivery_row).collect::<tessera_store::StoreResult<Vec<_>>>()?;
                claimed.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
                Ok(claimed)
            }

            async fn record_sync_delivery(&mut self, id: &str, outcome: &tessera_domain::sync::SyncDeliveryOutcome) -> tessera_store::StoreResult<()> {
                use tessera_domain::sync::SyncDeliveryOutcome;
                let q = match outcome {
                    SyncDeliveryOutcome::Delivered => sqlx::query("UPDATE sync_deliveries SET status = 'delivered', last_error = NULL WHERE id = $1")
                        .bind(id),
                    SyncDeliveryOutcome::Retry { at, error } => sqlx::query("UPDATE sync_deliveries SET status = 'pending', next_attempt_at = $2, last_error = $3 WHERE id = $1")
                        .bind(id)
                        .bind(at.millis())
                        .bind(error.clone()),
                    SyncDeliveryOutcome::Failed { error } => sqlx::query("UPDATE sync_deliveries SET status = 'failed', last_error = $2 WHERE id = $1")
                        .bind(id)
                        .bind(error.clone()),
                };
                q.execute(&mut *self.tx).await.map_err(be)?;
                Ok(())
            }

            async fn count_pending_sync_deliveries(&mut self) -> tessera_store::StoreResult<u64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sync_deliveries WHERE status = 'pending'")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(n.max(0) as u64)
            }

            async fn insert_sync_change(&mut self, c: &tessera_domain::sync::SyncChange) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sync_changes (id, identity_id, dataset, sync_count, device_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&c.id)
                .bind(c.identity_id.as_str())
                .bind(&c.dataset)
                .bind(c.sync_count)
                .bind(c.device_id.as_deref())
                .bind(c.created_at.millis())
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(())
            }

            async fn sync_changes_after(&mut self, identity: &tessera_domain::identity::IdentityId, after: Option<(tessera_domain::Timestamp, &str)>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::sync::SyncChange>> {
                let (at, id) = after.map_or((i64::MIN, ""), |(t, id)| (t.millis(), id));
                let rows = sqlx::query(
                    "SELECT id, identity_id, dataset, sync_count, device_id, created_at FROM sync_changes \
                     WHERE identity_id = $1 AND (created_at > $2 OR (created_at = $2 AND id > $3)) ORDER BY created_at, id LIMIT $4",
                )
                .bind(identity.as_str())
                .bind(at)
                .bind(id)
                .bind(limit as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter().map(sync_change_row).collect()
            }

            async fn sweep_sync(&mut self, done_before: tessera_domain::Timestamp, changes_before: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let deliveries = sqlx::query("DELETE FROM sync_deliveries WHERE status IN ('delivered', 'failed') AND created_at < $1")
                    .bind(done_before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let changes = sqlx::query("DELETE FROM sync_changes WHERE created_at < $1")
                    .bind(changes_before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(deliveries.rows_affected() + changes.rows_affected())
            }
        }
    };
}
