//! The point-in-time-recovery part of the SQL transaction ([`tessera_store::HistoryTx`]),
//! instantiated by [`sql_tx!`](crate::sql_tx) beside the user-pool half, and the journal the
//! user, group, membership and passkey writes call before they change anything.

use tessera_domain::Timestamp;

/// The node's wall clock, which stamps journal entries (recovery points are wall-clock times).
pub fn wall_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

/// The statuses that pause a pool's writes, as SQL.
pub const PAUSING: &str = "('PREVIEW_GENERATING', 'PREVIEW_GENERATED', 'RESTORING')";

/// Implements `tessera_store::HistoryTx` for `$tx` and the journal its writes use (see
/// [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! history_tx {
    ($tx:ident, $db:ty) => {
        impl $tx {
            /// Appends `key`'s before-image to the pool's journal, or fails with `WritesPaused`
            /// while a recovery pauses the pool's writes (unless this is the recovery's own
            /// transaction).
            async fn journal(
                &mut self,
                pool: &tessera_domain::UserPoolId,
                entity: tessera_domain::recovery::HistoryEntity,
                key: &str,
                before: Option<String>,
            ) -> tessera_store::StoreResult<()> {
                let now = $crate::history::wall_clock();
                let live_since = now.minus(tessera_domain::recovery::PREVIEW_LIFETIME).millis();
                let insert = "INSERT INTO pool_history (pool_id, entity, entity_key, at, before_image) SELECT $1, $2, $3, $4, $5";
                let sql = if self.paused_ok {
                    insert.to_string()
                } else {
                    format!("{insert} WHERE NOT EXISTS (SELECT 1 FROM pool_recoveries WHERE pool_id = $1 AND status IN {} \
                        AND (status = 'RESTORING' OR created_at > $6))", $crate::history::PAUSING)
                };
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pool.as_str())
                    .bind(entity.as_str())
                    .bind(key)
                    .bind(now.millis())
                    .bind(before);
                if !self.paused_ok {
                    query = query.bind(live_since);
                }
                let done = query
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                if done.rows_affected() == 0 {
                    return Err(tessera_store::StoreError::WritesPaused);
                }
                Ok(())
            }

            /// Journals the user's memberships and passkeys, which go with a deleted user.
            async fn journal_user_belongings(
                &mut self,
                pool: &tessera_domain::UserPoolId,
                sub: &tessera_domain::Sub,
            ) -> tessera_store::StoreResult<()> {
                use tessera_domain::recovery::{HistoryEntity, membership_key};
                let groups = sqlx::query_scalar::<_, String>("SELECT group_name FROM group_members WHERE pool_id = $1 AND sub = $2")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                for g in groups {
                    self.journal(pool, HistoryEntity::Membership, &membership_key(sub, &g), Some("{}".to_string())).await?;
                }
                let passkeys = sqlx::query_as::<_, (String, String)>("SELECT credential_id, data FROM webauthn_credentials WHERE pool_id = $1 AND sub = $2")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                for (id, data) in passkeys {
                    self.journal(pool, HistoryEntity::Passkey, &id, Some(data)).await?;
                }
                Ok(())
            }

            /// Journals the memberships that go with a deleted group.
            async fn journal_group_members(
                &mut self,
                pool: &tessera_domain::UserPoolId,
                group: &str,
            ) -> tessera_store::StoreResult<()> {
                use tessera_domain::recovery::{HistoryEntity, membership_key};
                let subs = sqlx::query_scalar::<_, String>("SELECT sub FROM group_members WHERE pool_id = $1 AND group_name = $2")
                    .bind(pool.as_str())
                    .bind(group)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                for s in subs {
                    let sub = $crate::codec::sub(&s)?;
                    self.journal(pool, HistoryEntity::Membership, &membership_key(&sub, group), Some("{}".to_string())).await?;
                }
                Ok(())
            }
        }

        fn recovery_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::recovery::Recovery> {
            use sqlx::Row;
            let corrupt = |e: sqlx::Error| tessera_store::StoreError::Corrupt(e.to_string());
            let status: String = row.try_get("status").map_err(corrupt)?;
            let id: String = row.try_get("restore_id").map_err(corrupt)?;
            let preview: Option<String> = row.try_get("preview").map_err(corrupt)?;
            Ok(tessera_domain::recovery::Recovery {
                pool_id: $crate::codec::pool_id(&row.try_get::<String, _>("pool_id").map_err(corrupt)?)?,
                restore_id: uuid::Uuid::parse_str(&id).map_err(|e| tessera_store::StoreError::Corrupt(e.to_string()))?,
                status: tessera_domain::recovery::RestoreStatus::parse(&status)
                    .ok_or_else(|| tessera_store::StoreError::Corrupt(format!("recovery status {status}")))?,
                restore_timestamp: tessera_domain::Timestamp::from_millis(row.try_get("restore_at").map_err(corrupt)?),
                trigger_timestamp: tessera_domain::Timestamp::from_millis(row.try_get("trigger_at").map_err(corrupt)?),
                preview: preview.map(|p| $crate::codec::from_json(&p, "recovery preview")).transpose()?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(corrupt)?),
                modified_at: tessera_domain::Timestamp::from_millis(row.try_get("modified_at").map_err(corrupt)?),
            })
        }

        #[async_trait::async_trait]
        impl tessera_store::HistoryTx for $tx {
            async fn history_since(&mut self, pool: &tessera_domain::UserPoolId, since: tessera_domain::Timestamp) -> tessera_store::StoreResult<Vec<tessera_domain::recovery::HistoryEntry>> {
                let rows = sqlx::query_as::<_, (String, String, i64, Option<String>)>("SELECT entity, entity_key, at, before_image FROM pool_history \
                        WHERE seq IN (SELECT MIN(seq) FROM pool_history WHERE pool_id = $1 AND at > $2 GROUP BY entity, entity_key) \
                        ORDER BY seq")
                    .bind(pool.as_str())
                    .bind(since.millis())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.into_iter()
                    .map(|(entity, key, at, before)| {
                        Ok(tessera_domain::recovery::HistoryEntry {
                            entity: tessera_domain::recovery::HistoryEntity::parse(&entity)
                                .ok_or_else(|| tessera_store::StoreError::Corrupt(format!("history entity {entity}")))?,
                            key,
                            at: tessera_domain::Timestamp::from_millis(at),
                            before,
                        })
                    })
                    .collect()
            }

            async fn prune_history(&mut self, before: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM pool_history WHERE at < $1")
                    .bind(before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }

            async fn prune_pool_history(&mut self, pool: &tessera_domain::UserPoolId, before: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM pool_history WHERE pool_id = $1 AND at < $2")
                    .bind(pool.as_str())
                    .bind(before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }

            fn allow_paused_writes(&mut self) {
                self.paused_ok = true;
            }

            async fn insert_recovery(&mut self, r: &tessera_domain::recovery::Recovery, expired_before: tessera_domain::Timestamp) -> tessera_store::StoreResult<()> {
                // A preview nobody started or cancelled in time stops pausing writes.
                sqlx::query("UPDATE pool_recoveries SET status = 'PREVIEW_EXPIRED' \
                        WHERE pool_id = $1 AND status IN ('PREVIEW_GENERATING', 'PREVIEW_GENERATED') AND created_at <= $2")
                    .bind(r.pool_id.as_str())
                    .bind(expired_before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let preview = r.preview.as_ref().map($crate::codec::to_json).transpose()?;
                sqlx::query("INSERT INTO pool_recoveries (pool_id, restore_id, status, restore_at, trigger_at, preview, created_at, modified_at) \
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(r.pool_id.as_str())
                    .bind(r.restore_id.to_string())
                    .bind(r.status.as_str())
                    .bind(r.restore_timestamp.millis())
                    .bind(r.trigger_timestamp.millis())
                    .bind(preview)
                    .bind(r.created_at.millis())
                    .bind(r.modified_at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Recovery)))?;
                Ok(())
            }

            async fn get_recovery(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid) -> tessera_store::StoreResult<Option<tessera_domain::recovery::Recovery>> {
                let row = sqlx::query("SELECT pool_id, restore_id, status, restore_at, trigger_at, preview, created_at, modified_at \
                        FROM pool_recoveries WHERE pool_id = $1 AND restore_id = $2")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(recovery_row).transpose()
            }

            async fn update_recovery(&mut self, r: &tessera_domain::recovery::Recovery, expected: tessera_domain::recovery::RestoreStatus) -> tessera_store::StoreResult<bool> {
                let preview = r.preview.as_ref().map($crate::codec::to_json).transpose()?;
                let done = sqlx::query("UPDATE pool_recoveries SET status = $3, preview = $4, modified_at = $5 \
                        WHERE pool_id = $1 AND restore_id = $2 AND status = $6")
                    .bind(r.pool_id.as_str())
                    .bind(r.restore_id.to_string())
                    .bind(r.status.as_str())
                    .bind(preview)
                    .bind(r.modified_at.millis())
                    .bind(expected.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_recoveries(&mut self, pool: &tessera_domain::UserPoolId, after: Option<(tessera_domain::Timestamp, uuid::Uuid)>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::recovery::Recovery>> {
                let (at, id) = after
                    .map(|(t, id)| (t.millis(), id.to_string()))
                    .unwrap_or((i64::MAX, String::new()));
                let unbounded = after.is_none();
                // Newest first; ties (same millisecond) by id, descending.
                let rows = sqlx::query("SELECT pool_id, restore_id, status, restore_at, trigger_at, preview, created_at, modified_at \
                        FROM pool_recoveries WHERE pool_id = $1 AND ($4 OR created_at < $2 OR (created_at = $2 AND restore_id < $3)) \
                        ORDER BY created_at DESC, restore_id DESC LIMIT $5")
                    .bind(pool.as_str())
                    .bind(at)
                    .bind(id)
                    .bind(unbounded)
                    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(recovery_row).collect()
            }
        }
    };
}
