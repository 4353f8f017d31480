//! The terms-documents part of the SQL transaction ([`tessera_store::TermsTx`]), instantiated
//! by [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// The `kind` column: the document's TermsName.
pub fn kind(t: &tessera_domain::terms::Terms) -> &'static str {
    t.kind.as_str()
}

/// Implements `tessera_store::TermsTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! terms_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::TermsTx for $tx {
            async fn insert_terms(&mut self, t: &tessera_domain::terms::Terms) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO terms (id, pool_id, client_id, kind, data) VALUES ($1, $2, $3, $4, $5)")
                    .bind(t.id.to_string())
                    .bind(t.pool_id.as_str())
                    .bind(t.client_id.as_str())
                    .bind($crate::terms::kind(t))
                    .bind($crate::codec::to_json(t)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Terms)))?;
                Ok(())
            }

            async fn get_terms(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid) -> tessera_store::StoreResult<Option<tessera_domain::terms::Terms>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM terms WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "terms")).transpose()
            }

            async fn terms_of_client(&mut self, pool: &tessera_domain::UserPoolId, client: &tessera_domain::ClientId) -> tessera_store::StoreResult<Vec<tessera_domain::terms::Terms>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM terms WHERE pool_id = $1 AND client_id = $2 ORDER BY kind")
                    .bind(pool.as_str())
                    .bind(client.as_str())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "terms")).collect()
            }

            async fn update_terms(&mut self, t: &tessera_domain::terms::Terms) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE terms SET kind = $3, data = $4 WHERE pool_id = $1 AND id = $2")
                    .bind(t.pool_id.as_str())
                    .bind(t.id.to_string())
                    .bind($crate::terms::kind(t))
                    .bind($crate::codec::to_json(t)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Terms)))?;
                Ok(())
            }

            async fn delete_terms(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM terms WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_terms(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::terms::Terms>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM terms WHERE pool_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "terms")).collect()
            }
        }
    };
}
