//! The user-import part of the SQL transaction ([`tessera_store::UserImportTx`]), instantiated
//! by [`sql_tx!`](crate::sql_tx) beside the user-pool half. A job is one JSON row with its
//! status and cursor beside it (for resuming and compare-and-set); its CSV and error log have
//! tables of their own.

/// Implements `tessera_store::UserImportTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! user_import_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::UserImportTx for $tx {
            async fn insert_import_job(&mut self, job: &tessera_domain::user_import::UserImportJob) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO user_import_jobs (pool_id, job_id, created_at, status, next_row, data) \
                        VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(job.pool_id.as_str())
                    .bind(&job.job_id)
                    .bind(job.created_at.millis())
                    .bind(job.status.as_str())
                    .bind(i64::try_from(job.next_row).unwrap_or(i64::MAX))
                    .bind($crate::codec::to_json(job)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_import_job(&mut self, pool: &tessera_domain::UserPoolId, job_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::user_import::UserImportJob>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM user_import_jobs WHERE pool_id = $1 AND job_id = $2")
                    .bind(pool.as_str())
                    .bind(job_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "user import job")).transpose()
            }

            async fn advance_import_job(&mut self, job: &tessera_domain::user_import::UserImportJob, expected: (u64, tessera_domain::user_import::ImportJobStatus)) -> tessera_store::StoreResult<bool> {
                let (expected_next_row, expected_status) = expected;
                let done = sqlx::query("UPDATE user_import_jobs SET status = $3, next_row = $4, data = $5 \
                        WHERE pool_id = $1 AND job_id = $2 AND next_row = $6 AND status = $7")
                    .bind(job.pool_id.as_str())
                    .bind(&job.job_id)
                    .bind(job.status.as_str())
                    .bind(i64::try_from(job.next_row).unwrap_or(i64::MAX))
                    .bind($crate::codec::to_json(job)?)
                    .bind(i64::try_from(expected_next_row).unwrap_or(i64::MAX))
                    .bind(expected_status.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_import_jobs(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::user_import::UserImportJob>> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let rows = match after {
                    // Newest first; ties (same millisecond) by job id, descending.
                    Some(id) => sqlx::query_scalar::<_, String>("SELECT j.data FROM user_import_jobs j, user_import_jobs a \
                            WHERE j.pool_id = $1 AND a.pool_id = $1 AND a.job_id = $2 \
                            AND (j.created_at < a.created_at OR (j.created_at = a.created_at AND j.job_id < a.job_id)) \
                            ORDER BY j.created_at DESC, j.job_id DESC LIMIT $3")
                        .bind(pool.as_str())
                        .bind(id)
                        .bind(limit)
                        .fetch_all(&mut *self.tx)
                        .await,
                    None => sqlx::query_scalar::<_, String>("SELECT data FROM user_import_jobs WHERE pool_id = $1 \
                            ORDER BY created_at DESC, job_id DESC LIMIT $2")
                        .bind(pool.as_str())
                        .bind(limit)
                        .fetch_all(&mut *self.tx)
                        .await,
                }
                .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "user import job")).collect()
            }

            async fn unfinished_import_jobs(&mut self) -> tessera_store::StoreResult<Vec<tessera_domain::user_import::UserImportJob>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM user_import_jobs \
                        WHERE status IN ('Pending', 'InProgress', 'Stopping') ORDER BY created_at")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "user import job")).collect()
            }

            async fn put_import_csv(&mut self, pool: &tessera_domain::UserPoolId, job_id: &str, csv: &[u8]) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO user_import_csv (pool_id, job_id, csv) VALUES ($1, $2, $3) \
                        ON CONFLICT (pool_id, job_id) DO UPDATE SET csv = excluded.csv")
                    .bind(pool.as_str())
                    .bind(job_id)
                    .bind(csv)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_import_csv(&mut self, pool: &tessera_domain::UserPoolId, job_id: &str) -> tessera_store::StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar::<_, Vec<u8>>("SELECT csv FROM user_import_csv WHERE pool_id = $1 AND job_id = $2")
                    .bind(pool.as_str())
                    .bind(job_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)
            }

            async fn add_import_errors(&mut self, pool: &tessera_domain::UserPoolId, job_id: &str, errors: &[tessera_domain::user_import::ImportRowError]) -> tessera_store::StoreResult<()> {
                for e in errors {
                    sqlx::query("INSERT INTO user_import_errors (pool_id, job_id, row_number, username, message) \
                            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pool_id, job_id, row_number) DO NOTHING")
                        .bind(pool.as_str())
                        .bind(job_id)
                        .bind(i64::try_from(e.row).unwrap_or(i64::MAX))
                        .bind(e.username.as_deref())
                        .bind(&e.message)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                }
                Ok(())
            }

            async fn import_errors(&mut self, pool: &tessera_domain::UserPoolId, job_id: &str) -> tessera_store::StoreResult<Vec<tessera_domain::user_import::ImportRowError>> {
                let rows = sqlx::query_as::<_, (i64, Option<String>, String)>("SELECT row_number, username, message \
                        FROM user_import_errors WHERE pool_id = $1 AND job_id = $2 ORDER BY row_number")
                    .bind(pool.as_str())
                    .bind(job_id)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(rows
                    .into_iter()
                    .map(|(row, username, message)| tessera_domain::user_import::ImportRowError {
                        row: u64::try_from(row).unwrap_or(0),
                        username,
                        message,
                    })
                    .collect())
            }
        }
    };
}
