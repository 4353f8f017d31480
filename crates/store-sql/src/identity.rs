//! The identity-pool half of the SQL transaction ([`tessera_store::IdentityTx`]), instantiated
//! by [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// Implements `tessera_store::IdentityTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! identity_tx {
    ($tx:ident, $db:ty) => {
        fn identity_pool_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::identity::IdentityPool> {
            use sqlx::Row;
            let id: String = row.try_get("id").map_err(be)?;
            let config: String = row.try_get("config").map_err(be)?;
            Ok(tessera_domain::identity::IdentityPool {
                id: tessera_domain::identity::IdentityPoolId::parse(&id)
                    .map_err(|e| tessera_store::StoreError::Corrupt(e.to_string()))?,
                name: row.try_get("name").map_err(be)?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
                modified_at: tessera_domain::Timestamp::from_millis(row.try_get("modified_at").map_err(be)?),
                config: $crate::codec::from_json(&config, "identity pool config")?,
            })
        }

        fn identity_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::identity::Identity> {
            use sqlx::Row;
            let data: String = row.try_get("data").map_err(be)?;
            $crate::codec::from_json(&data, "identity")
        }

        impl $tx {
            async fn link_logins(&mut self, identity: &tessera_domain::identity::Identity) -> tessera_store::StoreResult<()> {
                for (provider, subject) in &identity.logins {
                    sqlx::query("INSERT INTO identity_logins (pool_id, provider, subject, identity_id) VALUES ($1, $2, $3, $4)")
                        .bind(identity.pool_id.as_str())
                        .bind(provider)
                        .bind(subject)
                        .bind(identity.id.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(|e| store_error(e, Some(tessera_store::Conflict::Login)))?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl tessera_store::IdentityTx for $tx {
            async fn insert_identity_pool(&mut self, pool: &tessera_domain::identity::IdentityPool) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO identity_pools (id, name, created_at, modified_at, config) VALUES ($1, $2, $3, $4, $5)")
                    .bind(pool.id.as_str())
                    .bind(&pool.name)
                    .bind(pool.created_at.millis())
                    .bind(pool.modified_at.millis())
                    .bind($crate::codec::to_json(&pool.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IdentityPool)))?;
                Ok(())
            }

            async fn get_identity_pool(&mut self, id: &tessera_domain::identity::IdentityPoolId) -> tessera_store::StoreResult<Option<tessera_domain::identity::IdentityPool>> {
                let row = sqlx::query("SELECT id, name, created_at, modified_at, config FROM identity_pools WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(identity_pool_row).transpose()
            }

            async fn update_identity_pool(&mut self, pool: &tessera_domain::identity::IdentityPool) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE identity_pools SET name = $2, modified_at = $3, config = $4 WHERE id = $1")
                    .bind(pool.id.as_str())
                    .bind(&pool.name)
                    .bind(pool.modified_at.millis())
                    .bind($crate::codec::to_json(&pool.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_identity_pool(&mut self, id: &tessera_domain::identity::IdentityPoolId) -> tessera_store::StoreResult<bool> {
                // Children first, explicitly: correct whether or not the backend enforces the
                // foreign keys' cascades.
                for statement in [
                    "DELETE FROM sync_subscriptions WHERE identity_id IN (SELECT identity_id FROM identities WHERE pool_id = $1)",
                    "DELETE FROM sync_records WHERE identity_id IN (SELECT identity_id FROM identities WHERE pool_id = $1)",
                    "DELETE FROM sync_datasets WHERE pool_id = $1",
                    "DELETE FROM sync_changes WHERE identity_id IN (SELECT identity_id FROM identities WHERE pool_id = $1)",
                    "DELETE FROM sync_devices WHERE pool_id = $1",
                    "DELETE FROM sync_pool_settings WHERE pool_id = $1",
                    "DELETE FROM sts_sessions WHERE pool_id = $1",
                    "DELETE FROM identity_logins WHERE pool_id = $1",
                    "DELETE FROM identities WHERE pool_id = $1",
                ] {
                    sqlx::query(statement)
                        .bind(id.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                }
                let done = sqlx::query("DELETE FROM identity_pools WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_identity_pools(&mut self, after: Option<&tessera_domain::identity::IdentityPoolId>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::identity::IdentityPool>> {
                let rows = sqlx::query("SELECT id, name, created_at, modified_at, config FROM identity_pools WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after.map(|a| a.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(identity_pool_row).collect()
            }

            async fn insert_identity(&mut self, identity: &tessera_domain::identity::Identity) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO identities (identity_id, pool_id, created_at, modified_at, data) VALUES ($1, $2, $3, $4, $5)")
                    .bind(identity.id.as_str())
                    .bind(identity.pool_id.as_str())
                    .bind(identity.created_at.millis())
                    .bind(identity.modified_at.millis())
                    .bind($crate::codec::to_json(identity)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                self.link_logins(identity).await
            }

            async fn get_identity(&mut self, id: &tessera_domain::identity::IdentityId) -> tessera_store::StoreResult<Option<tessera_domain::identity::Identity>> {
                let row = sqlx::query("SELECT data FROM identities WHERE identity_id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(identity_row).transpose()
            }

            async fn update_identity(&mut self, identity: &tessera_domain::identity::Identity) -> tessera_store::StoreResult<()> {
                // Refuse before writing anything, so a refused update changes nothing (the
                // primary key still settles races between transactions).
                for (provider, subject) in &identity.logins {
                    let owner: Option<(String,)> = sqlx::query_as("SELECT identity_id FROM identity_logins WHERE pool_id = $1 AND provider = $2 AND subject = $3")
                        .bind(identity.pool_id.as_str())
                        .bind(provider)
                        .bind(subject)
                        .fetch_optional(&mut *self.tx)
                        .await
                        .map_err(be)?;
                    if owner.is_some_and(|(id,)| id != identity.id.as_str()) {
                        return Err(tessera_store::StoreError::Conflict(tessera_store::Conflict::Login));
                    }
                }
                sqlx::query("UPDATE identities SET modified_at = $2, data = $3 WHERE identity_id = $1")
                    .bind(identity.id.as_str())
                    .bind(identity.modified_at.millis())
                    .bind($crate::codec::to_json(identity)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                sqlx::query("DELETE FROM identity_logins WHERE identity_id = $1")
                    .bind(identity.id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                self.link_logins(identity).await
            }

            async fn delete_identity(&mut self, id: &tessera_domain::identity::IdentityId) -> tessera_store::StoreResult<bool> {
                for statement in [
                    "DELETE FROM sync_subscriptions WHERE identity_id = $1",
                    "DELETE FROM sync_records WHERE identity_id = $1",
                    "DELETE FROM sync_datasets WHERE identity_id = $1",
                    "DELETE FROM sync_changes WHERE identity_id = $1",
                    "DELETE FROM sync_devices WHERE identity_id = $1",
                    "DELETE FROM sts_sessions WHERE identity_id = $1",
                    "DELETE FROM identity_logins WHERE identity_id = $1",
                ] {
                    sqlx::query(statement)
                        .bind(id.as_str())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                }
                let done = sqlx::query("DELETE FROM identities WHERE identity_id = $1")
                    .bind(id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn identity_by_login(&mut self, pool: &tessera_domain::identity::IdentityPoolId, provider: &str, subject: &str) -> tessera_store::StoreResult<Option<tessera_domain::identity::Identity>> {
                let row = sqlx::query("SELECT i.data FROM identity_logins l JOIN identities i ON i.identity_id = l.identity_id WHERE l.pool_id = $1 AND l.provider = $2 AND l.subject = $3")
                    .bind(pool.as_str())
                    .bind(provider)
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(identity_row).transpose()
            }

            async fn list_identities(&mut self, pool: &tessera_domain::identity::IdentityPoolId, after: Option<&tessera_domain::identity::IdentityId>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::identity::Identity>> {
                let rows = sqlx::query("SELECT data FROM identities WHERE pool_id = $1 AND identity_id > $2 ORDER BY identity_id LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.map(|a| a.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(identity_row).collect()
            }

            async fn insert_sts_session(&mut self, s: &tessera_domain::identity::StsSession) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO sts_sessions (access_key_id, identity_id, pool_id, issued_at, expires_at, token_hash, sealed_secret, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(&s.access_key_id)
                    .bind(s.identity_id.as_str())
                    .bind(s.pool_id.as_str())
                    .bind(s.issued_at.millis())
                    .bind(s.expires_at.millis())
                    .bind(&s.token_hash)
                    .bind(&s.sealed_secret)
                    .bind($crate::codec::to_json(&s.grant)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::AccessKey)))?;
                Ok(())
            }

            async fn get_sts_session(&mut self, access_key_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::identity::StsSession>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT access_key_id, identity_id, pool_id, issued_at, expires_at, token_hash, sealed_secret, data FROM sts_sessions WHERE access_key_id = $1")
                    .bind(access_key_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(None) };
                let corrupt = |e: tessera_domain::DomainError| tessera_store::StoreError::Corrupt(e.to_string());
                let identity: String = row.try_get("identity_id").map_err(be)?;
                let pool: String = row.try_get("pool_id").map_err(be)?;
                let data: String = row.try_get("data").map_err(be)?;
                Ok(Some(tessera_domain::identity::StsSession {
                    access_key_id: row.try_get("access_key_id").map_err(be)?,
                    sealed_secret: row.try_get("sealed_secret").map_err(be)?,
                    token_hash: row.try_get("token_hash").map_err(be)?,
                    identity_id: tessera_domain::identity::IdentityId::parse(&identity).map_err(corrupt)?,
                    pool_id: tessera_domain::identity::IdentityPoolId::parse(&pool).map_err(corrupt)?,
                    issued_at: tessera_domain::Timestamp::from_millis(row.try_get("issued_at").map_err(be)?),
                    expires_at: tessera_domain::Timestamp::from_millis(row.try_get("expires_at").map_err(be)?),
                    grant: $crate::codec::from_json(&data, "sts session")?,
                }))
            }

            async fn insert_identity_signing_key(&mut self, key: &tessera_store::IdentitySigningKey) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO identity_signing_keys (kid, sealed_private, public_jwk, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&key.kid)
                    .bind(&key.sealed_private)
                    .bind(&key.public_jwk)
                    .bind(key.created_at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::SigningKey)))?;
                Ok(())
            }

            async fn delete_identity_signing_key(&mut self, kid: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM identity_signing_keys WHERE kid = $1")
                    .bind(kid)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn identity_signing_keys(&mut self) -> tessera_store::StoreResult<Vec<tessera_store::IdentitySigningKey>> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT kid, sealed_private, public_jwk, created_at FROM identity_signing_keys ORDER BY created_at, kid")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter()
                    .map(|row| {
                        Ok(tessera_store::IdentitySigningKey {
                            kid: row.try_get("kid").map_err(be)?,
                            sealed_private: row.try_get("sealed_private").map_err(be)?,
                            public_jwk: row.try_get("public_jwk").map_err(be)?,
                            created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
                        })
                    })
                    .collect()
            }
        }
    };
}
