//! The federation part of the SQL transaction ([`tessera_store::FederationTx`]), instantiated by
//! [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// Implements `tessera_store::FederationTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! federation_tx {
    ($tx:ident, $db:ty) => {
        impl $tx {
            async fn put_idp_identifiers(&mut self, p: &tessera_domain::identity_providers::IdentityProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("DELETE FROM identity_provider_identifiers WHERE pool_id = $1 AND name = $2")
                    .bind(p.pool_id.as_str())
                    .bind(&p.name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                for id in &p.idp_identifiers {
                    sqlx::query("INSERT INTO identity_provider_identifiers (pool_id, identifier, name) VALUES ($1, $2, $3)")
                        .bind(p.pool_id.as_str())
                        .bind(id)
                        .bind(&p.name)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(|e| store_error(e, Some(tessera_store::Conflict::IdpIdentifier)))?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl tessera_store::FederationTx for $tx {
            async fn insert_identity_provider(&mut self, p: &tessera_domain::identity_providers::IdentityProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO identity_providers (pool_id, name, created_at, data) VALUES ($1, $2, $3, $4)")
                    .bind(p.pool_id.as_str())
                    .bind(&p.name)
                    .bind(p.created_at.millis())
                    .bind($crate::codec::to_json(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IdentityProvider)))?;
                self.put_idp_identifiers(p).await
            }

            async fn get_identity_provider(&mut self, pool: &tessera_domain::UserPoolId, name: &str) -> tessera_store::StoreResult<Option<tessera_domain::identity_providers::IdentityProvider>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM identity_providers WHERE pool_id = $1 AND name = $2")
                    .bind(pool.as_str())
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "identity provider")).transpose()
            }

            async fn identity_provider_by_identifier(&mut self, pool: &tessera_domain::UserPoolId, identifier: &str) -> tessera_store::StoreResult<Option<tessera_domain::identity_providers::IdentityProvider>> {
                let data = sqlx::query_scalar::<_, String>("SELECT p.data FROM identity_provider_identifiers i \
                        JOIN identity_providers p ON p.pool_id = i.pool_id AND p.name = i.name \
                        WHERE i.pool_id = $1 AND i.identifier = $2")
                    .bind(pool.as_str())
                    .bind(identifier)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "identity provider")).transpose()
            }

            async fn update_identity_provider(&mut self, p: &tessera_domain::identity_providers::IdentityProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE identity_providers SET data = $3 WHERE pool_id = $1 AND name = $2")
                    .bind(p.pool_id.as_str())
                    .bind(&p.name)
                    .bind($crate::codec::to_json(p)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                self.put_idp_identifiers(p).await
            }

            async fn delete_identity_provider(&mut self, pool: &tessera_domain::UserPoolId, name: &str) -> tessera_store::StoreResult<bool> {
                // Identifiers go by the foreign key's cascade.
                let done = sqlx::query("DELETE FROM identity_providers WHERE pool_id = $1 AND name = $2")
                    .bind(pool.as_str())
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_identity_providers(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::identity_providers::IdentityProvider>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM identity_providers WHERE pool_id = $1 AND name > $2 ORDER BY name LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "identity provider")).collect()
            }

            async fn insert_federation_state(&mut self, hash: &[u8], state: &tessera_domain::identity_providers::FederationState) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO federation_states (hash, pool_id, expires_at, data) VALUES ($1, $2, $3, $4)")
                    .bind(hash)
                    .bind(state.pool_id.as_str())
                    .bind(state.expires_at.millis())
                    .bind($crate::codec::to_json(state)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn take_federation_state(&mut self, hash: &[u8], now: tessera_domain::Timestamp) -> tessera_store::StoreResult<Option<tessera_domain::identity_providers::FederationState>> {
                // DELETE … RETURNING: of two requests with the same state only one gets the row.
                let data = sqlx::query_scalar::<_, String>("DELETE FROM federation_states WHERE hash = $1 RETURNING data")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let state: Option<tessera_domain::identity_providers::FederationState> =
                    data.map(|d| $crate::codec::from_json(&d, "federation state")).transpose()?;
                Ok(state.filter(|s| s.expires_at > now))
            }

            async fn link_federated_identity(&mut self, pool: &tessera_domain::UserPoolId, provider: &str, subject: &str, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO federated_links (pool_id, provider, subject, sub) VALUES ($1, $2, $3, $4)")
                    .bind(pool.as_str())
                    .bind(provider)
                    .bind(subject)
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::FederatedLink)))?;
                Ok(())
            }

            async fn federated_link(&mut self, pool: &tessera_domain::UserPoolId, provider: &str, subject: &str) -> tessera_store::StoreResult<Option<tessera_domain::Sub>> {
                let sub = sqlx::query_scalar::<_, String>("SELECT sub FROM federated_links WHERE pool_id = $1 AND provider = $2 AND subject = $3")
                    .bind(pool.as_str())
                    .bind(provider)
                    .bind(subject)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                sub.map(|s| $crate::codec::sub(&s)).transpose()
            }

            async fn unlink_federated_identity(&mut self, pool: &tessera_domain::UserPoolId, provider: &str, subject: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM federated_links WHERE pool_id = $1 AND provider = $2 AND subject = $3")
                    .bind(pool.as_str())
                    .bind(provider)
                    .bind(subject)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn federated_links_of_user(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<Vec<(String, String)>> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT provider, subject FROM federated_links WHERE pool_id = $1 AND sub = $2 ORDER BY provider, subject")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter()
                    .map(|r| Ok((r.try_get("provider").map_err(be)?, r.try_get("subject").map_err(be)?)))
                    .collect()
            }

            async fn insert_saml_sp_keys(&mut self, keys: &tessera_domain::identity_providers::SamlSpKeys) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("INSERT INTO saml_sp_keys (pool_id, created_at, data) VALUES ($1, $2, $3) ON CONFLICT (pool_id) DO NOTHING")
                    .bind(keys.pool_id.as_str())
                    .bind(keys.created_at.millis())
                    .bind($crate::codec::to_json(keys)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn saml_sp_keys(&mut self, pool: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<Option<tessera_domain::identity_providers::SamlSpKeys>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM saml_sp_keys WHERE pool_id = $1")
                    .bind(pool.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "SAML SP keys")).transpose()
            }

            async fn record_saml_assertion(&mut self, pool: &tessera_domain::UserPoolId, issuer: &str, assertion_id: &str, keep_until: tessera_domain::Timestamp, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                // A record past its time no longer protects anything (the assertion itself has
                // expired): it gives way. Then the primary key lets one insert win.
                sqlx::query("DELETE FROM saml_assertions WHERE pool_id = $1 AND issuer = $2 AND assertion_id = $3 AND keep_until <= $4")
                    .bind(pool.as_str())
                    .bind(issuer)
                    .bind(assertion_id)
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let done = sqlx::query("INSERT INTO saml_assertions (pool_id, issuer, assertion_id, keep_until) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                    .bind(pool.as_str())
                    .bind(issuer)
                    .bind(assertion_id)
                    .bind(keep_until.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
