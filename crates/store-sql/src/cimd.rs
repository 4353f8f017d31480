//! The CIMD part of the SQL transaction ([`tessera_store::CimdTx`]), instantiated by
//! [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// Implements `tessera_store::CimdTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! cimd_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::CimdTx for $tx {
            async fn insert_cimd_policy(&mut self, p: &tessera_domain::cimd::CimdPolicy) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO cimd_policies (id, pool_id, data) VALUES ($1, $2, $3)")
                    .bind(&p.id)
                    .bind(p.pool_id.as_str())
                    .bind($crate::codec::to_json(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_cimd_policy(&mut self, pool: &tessera_domain::UserPoolId, id: &str) -> tessera_store::StoreResult<Option<tessera_domain::cimd::CimdPolicy>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM cimd_policies WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "CIMD policy")).transpose()
            }

            async fn update_cimd_policy(&mut self, p: &tessera_domain::cimd::CimdPolicy) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE cimd_policies SET data = $3 WHERE pool_id = $1 AND id = $2")
                    .bind(p.pool_id.as_str())
                    .bind(&p.id)
                    .bind($crate::codec::to_json(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_cimd_policy(&mut self, pool: &tessera_domain::UserPoolId, id: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM cimd_policies WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_cimd_policies(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::cimd::CimdPolicy>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM cimd_policies WHERE pool_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "CIMD policy")).collect()
            }

            async fn put_cimd_document(&mut self, d: &tessera_domain::cimd::CachedDocument) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO cimd_documents (policy_id, url, pool_id, data) VALUES ($1, $2, $3, $4) \
                        ON CONFLICT (policy_id, url) DO UPDATE SET data = excluded.data")
                    .bind(&d.policy_id)
                    .bind(&d.url)
                    .bind(d.pool_id.as_str())
                    .bind($crate::codec::to_json(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_cimd_document(&mut self, pool: &tessera_domain::UserPoolId, policy: &str, url: &str) -> tessera_store::StoreResult<Option<tessera_domain::cimd::CachedDocument>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM cimd_documents WHERE pool_id = $1 AND policy_id = $2 AND url = $3")
                    .bind(pool.as_str())
                    .bind(policy)
                    .bind(url)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "CIMD document")).transpose()
            }

            async fn delete_cimd_document(&mut self, pool: &tessera_domain::UserPoolId, policy: &str, url: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM cimd_documents WHERE pool_id = $1 AND policy_id = $2 AND url = $3")
                    .bind(pool.as_str())
                    .bind(policy)
                    .bind(url)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_cimd_documents(&mut self, pool: &tessera_domain::UserPoolId, policy: &str, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::cimd::CachedDocument>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM cimd_documents WHERE pool_id = $1 AND policy_id = $2 AND url > $3 ORDER BY url LIMIT $4")
                    .bind(pool.as_str())
                    .bind(policy)
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "CIMD document")).collect()
            }
        }
    };
}
