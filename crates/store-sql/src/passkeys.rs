//! The passkey part of the SQL transaction ([`tessera_store::PasskeyTx`]), instantiated by
//! [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// Implements `tessera_store::PasskeyTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! passkey_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::PasskeyTx for $tx {
            async fn insert_webauthn_credential(&mut self, c: &tessera_domain::passkeys::WebAuthnCredential) -> tessera_store::StoreResult<()> {
                self.journal(&c.pool_id, tessera_domain::recovery::HistoryEntity::Passkey, &c.credential_id, None).await?;
                sqlx::query("INSERT INTO webauthn_credentials (pool_id, credential_id, sub, created_at, data) VALUES ($1, $2, $3, $4, $5)")
                    .bind(c.pool_id.as_str())
                    .bind(&c.credential_id)
                    .bind(c.sub.to_string())
                    .bind(c.created_at.millis())
                    .bind($crate::codec::to_json(c)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::WebAuthnCredential)))?;
                Ok(())
            }

            async fn get_webauthn_credential(&mut self, pool: &tessera_domain::UserPoolId, credential_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::passkeys::WebAuthnCredential>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM webauthn_credentials WHERE pool_id = $1 AND credential_id = $2")
                    .bind(pool.as_str())
                    .bind(credential_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "WebAuthn credential")).transpose()
            }

            async fn webauthn_credentials(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<Vec<tessera_domain::passkeys::WebAuthnCredential>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM webauthn_credentials WHERE pool_id = $1 AND sub = $2 ORDER BY created_at, credential_id")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "WebAuthn credential")).collect()
            }

            async fn update_webauthn_credential(&mut self, c: &tessera_domain::passkeys::WebAuthnCredential) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE webauthn_credentials SET data = $4 WHERE pool_id = $1 AND credential_id = $2 AND sub = $3")
                    .bind(c.pool_id.as_str())
                    .bind(&c.credential_id)
                    .bind(c.sub.to_string())
                    .bind($crate::codec::to_json(c)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_webauthn_credential(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, credential_id: &str) -> tessera_store::StoreResult<bool> {
                let before = sqlx::query_scalar::<_, String>("SELECT data FROM webauthn_credentials WHERE pool_id = $1 AND credential_id = $2 AND sub = $3")
                    .bind(pool.as_str())
                    .bind(credential_id)
                    .bind(sub.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(before) = before else {
                    return Ok(false);
                };
                self.journal(pool, tessera_domain::recovery::HistoryEntity::Passkey, credential_id, Some(before)).await?;
                let done = sqlx::query("DELETE FROM webauthn_credentials WHERE pool_id = $1 AND credential_id = $2 AND sub = $3")
                    .bind(pool.as_str())
                    .bind(credential_id)
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
