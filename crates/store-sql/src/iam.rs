//! The IAM part of the SQL transaction ([`tessera_store::IamTx`]), instantiated by
//! [`sql_tx!`](crate::sql_tx) beside the user-pool part. Records are JSON in `data`; the
//! columns beside it are what uniqueness, ordering and filtering need.

/// Implements `tessera_store::IamTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! iam_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::IamTx for $tx {
            async fn insert_iam_role(&mut self, role: &tessera_domain::iam::Role) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO iam_roles (name_key, role_id, path, data) VALUES ($1, $2, $3, $4)")
                    .bind(tessera_domain::iam::name_key(&role.name))
                    .bind(&role.id)
                    .bind(&role.path)
                    .bind($crate::codec::to_json(role)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IamRole)))?;
                Ok(())
            }

            async fn get_iam_role(&mut self, name: &str) -> tessera_store::StoreResult<Option<tessera_domain::iam::Role>> {
                let row = sqlx::query_scalar::<_, String>("SELECT data FROM iam_roles WHERE name_key = $1")
                    .bind(tessera_domain::iam::name_key(name))
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|d| $crate::codec::from_json(&d, "iam role")).transpose()
            }

            async fn update_iam_role(&mut self, role: &tessera_domain::iam::Role) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE iam_roles SET data = $2 WHERE name_key = $1")
                    .bind(tessera_domain::iam::name_key(&role.name))
                    .bind($crate::codec::to_json(role)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_iam_role(&mut self, name: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_roles WHERE name_key = $1")
                    .bind(tessera_domain::iam::name_key(name))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_iam_roles(&mut self, path_prefix: &str, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::iam::Role>> {
                let rows = sqlx::query_scalar::<_, String>(
                    "SELECT data FROM iam_roles WHERE substr(path, 1, length($1)) = $1 AND name_key > $2 ORDER BY name_key LIMIT $3",
                )
                .bind(path_prefix)
                .bind(after.unwrap_or(""))
                .bind(limit as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "iam role")).collect()
            }

            async fn put_role_policy(&mut self, role: &str, policy: &tessera_domain::iam::InlinePolicy) -> tessera_store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO iam_role_policies (role_key, name, document) VALUES ($1, $2, $3) \
                     ON CONFLICT (role_key, name) DO UPDATE SET document = excluded.document",
                )
                .bind(tessera_domain::iam::name_key(role))
                .bind(&policy.name)
                .bind(&policy.document)
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(())
            }

            async fn role_policies(&mut self, role: &str) -> tessera_store::StoreResult<Vec<tessera_domain::iam::InlinePolicy>> {
                let rows = sqlx::query_as::<_, (String, String)>(
                    "SELECT name, document FROM iam_role_policies WHERE role_key = $1 ORDER BY name",
                )
                .bind(tessera_domain::iam::name_key(role))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(rows
                    .into_iter()
                    .map(|(name, document)| tessera_domain::iam::InlinePolicy { name, document })
                    .collect())
            }

            async fn delete_role_policy(&mut self, role: &str, name: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_role_policies WHERE role_key = $1 AND name = $2")
                    .bind(tessera_domain::iam::name_key(role))
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_managed_policy(&mut self, policy: &tessera_domain::iam::ManagedPolicy) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO iam_policies (arn, name_key, path, data) VALUES ($1, $2, $3, $4)")
                    .bind(&policy.arn)
                    .bind(tessera_domain::iam::name_key(&policy.name))
                    .bind(&policy.path)
                    .bind($crate::codec::to_json(policy)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IamPolicy)))?;
                Ok(())
            }

            async fn get_managed_policy(&mut self, arn: &str) -> tessera_store::StoreResult<Option<tessera_domain::iam::ManagedPolicy>> {
                let row = sqlx::query_scalar::<_, String>("SELECT data FROM iam_policies WHERE arn = $1")
                    .bind(arn)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|d| $crate::codec::from_json(&d, "managed policy")).transpose()
            }

            async fn update_managed_policy(&mut self, policy: &tessera_domain::iam::ManagedPolicy) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE iam_policies SET data = $2 WHERE arn = $1")
                    .bind(&policy.arn)
                    .bind($crate::codec::to_json(policy)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_managed_policy(&mut self, arn: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_policies WHERE arn = $1")
                    .bind(arn)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_managed_policies(&mut self, path_prefix: &str, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::iam::ManagedPolicy>> {
                let rows = sqlx::query_scalar::<_, String>(
                    "SELECT data FROM iam_policies WHERE substr(path, 1, length($1)) = $1 AND arn > $2 ORDER BY arn LIMIT $3",
                )
                .bind(path_prefix)
                .bind(after.unwrap_or(""))
                .bind(limit as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "managed policy")).collect()
            }

            async fn attach_role_policy(&mut self, role: &str, policy_arn: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO iam_role_attachments (role_key, policy_arn) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(tessera_domain::iam::name_key(role))
                .bind(policy_arn)
                .execute(&mut *self.tx)
                .await
                .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn detach_role_policy(&mut self, role: &str, policy_arn: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_role_attachments WHERE role_key = $1 AND policy_arn = $2")
                    .bind(tessera_domain::iam::name_key(role))
                    .bind(policy_arn)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn attached_role_policies(&mut self, role: &str) -> tessera_store::StoreResult<Vec<String>> {
                sqlx::query_scalar::<_, String>(
                    "SELECT policy_arn FROM iam_role_attachments WHERE role_key = $1 ORDER BY policy_arn",
                )
                .bind(tessera_domain::iam::name_key(role))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)
            }

            async fn policy_attachment_count(&mut self, policy_arn: &str) -> tessera_store::StoreResult<u64> {
                let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM iam_role_attachments WHERE policy_arn = $1")
                    .bind(policy_arn)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn insert_oidc_provider(&mut self, provider: &tessera_domain::iam::OidcProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO iam_oidc_providers (arn, data) VALUES ($1, $2)")
                    .bind(&provider.arn)
                    .bind($crate::codec::to_json(provider)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IamProvider)))?;
                Ok(())
            }

            async fn get_oidc_provider(&mut self, arn: &str) -> tessera_store::StoreResult<Option<tessera_domain::iam::OidcProvider>> {
                let row = sqlx::query_scalar::<_, String>("SELECT data FROM iam_oidc_providers WHERE arn = $1")
                    .bind(arn)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|d| $crate::codec::from_json(&d, "oidc provider")).transpose()
            }

            async fn update_oidc_provider(&mut self, provider: &tessera_domain::iam::OidcProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE iam_oidc_providers SET data = $2 WHERE arn = $1")
                    .bind(&provider.arn)
                    .bind($crate::codec::to_json(provider)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_oidc_provider(&mut self, arn: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_oidc_providers WHERE arn = $1")
                    .bind(arn)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_oidc_providers(&mut self) -> tessera_store::StoreResult<Vec<tessera_domain::iam::OidcProvider>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM iam_oidc_providers ORDER BY arn")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "oidc provider")).collect()
            }

            async fn insert_saml_provider(&mut self, provider: &tessera_domain::iam::SamlProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO iam_saml_providers (arn, data) VALUES ($1, $2)")
                    .bind(&provider.arn)
                    .bind($crate::codec::to_json(provider)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::IamProvider)))?;
                Ok(())
            }

            async fn get_saml_provider(&mut self, arn: &str) -> tessera_store::StoreResult<Option<tessera_domain::iam::SamlProvider>> {
                let row = sqlx::query_scalar::<_, String>("SELECT data FROM iam_saml_providers WHERE arn = $1")
                    .bind(arn)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|d| $crate::codec::from_json(&d, "saml provider")).transpose()
            }

            async fn update_saml_provider(&mut self, provider: &tessera_domain::iam::SamlProvider) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE iam_saml_providers SET data = $2 WHERE arn = $1")
                    .bind(&provider.arn)
                    .bind($crate::codec::to_json(provider)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_saml_provider(&mut self, arn: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM iam_saml_providers WHERE arn = $1")
                    .bind(arn)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_saml_providers(&mut self) -> tessera_store::StoreResult<Vec<tessera_domain::iam::SamlProvider>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM iam_saml_providers ORDER BY arn")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "saml provider")).collect()
            }

            async fn insert_role_session(&mut self, s: &tessera_domain::iam::RoleSession) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO iam_role_sessions (access_key_id, issued_at, expires_at, token_hash, sealed_secret, data) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&s.access_key_id)
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

            async fn get_role_session(&mut self, access_key_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::iam::RoleSession>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT access_key_id, issued_at, expires_at, token_hash, sealed_secret, data FROM iam_role_sessions WHERE access_key_id = $1")
                    .bind(access_key_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(None) };
                let data: String = row.try_get("data").map_err(be)?;
                Ok(Some(tessera_domain::iam::RoleSession {
                    access_key_id: row.try_get("access_key_id").map_err(be)?,
                    sealed_secret: row.try_get("sealed_secret").map_err(be)?,
                    token_hash: row.try_get("token_hash").map_err(be)?,
                    issued_at: tessera_domain::Timestamp::from_millis(row.try_get("issued_at").map_err(be)?),
                    expires_at: tessera_domain::Timestamp::from_millis(row.try_get("expires_at").map_err(be)?),
                    grant: $crate::codec::from_json(&data, "role session")?,
                }))
            }

            async fn sweep_role_sessions(&mut self, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM iam_role_sessions WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }
        }
    };
}
