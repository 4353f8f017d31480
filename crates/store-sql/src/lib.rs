//! What Tessera's SQL backends share.
//!
//! SQLite and PostgreSQL accept the same SQL for everything Tessera does (`$n` parameters,
//! `ON CONFLICT`, `RETURNING`), so the transaction code is written once, in [`sql_tx!`], and
//! instantiated by each backend crate with its sqlx database type and its few differences (row
//! locks, which error codes mean "retry"). Schemas and migrations stay in the backend crates,
//! and the conformance suite proves each instantiation.
//!
//! This crate doesn't depend on sqlx: the macro expands inside the backend crate, against the
//! sqlx the backend chose.

pub mod cimd;
pub mod codec;
pub mod console;
pub mod federation;
pub mod history;
pub mod iam;
pub mod identity;
pub mod passkeys;
pub mod reseal;
pub mod sync;
pub mod terms;
pub mod threat;
pub mod user_import;

/// Readiness from the highest migration version the database has applied and the highest this
/// build knows: a database behind the build (or with no migrations table) is not ready.
pub fn schema_current(applied: Option<i64>, known: Option<i64>) -> tessera_store::StoreResult<()> {
    if applied >= known {
        Ok(())
    } else {
        Err(tessera_store::StoreError::Backend(format!(
            "database schema at migration {} but this build needs {}",
            applied.unwrap_or(0),
            known.unwrap_or(0)
        )))
    }
}

/// Implements `tessera_store::Tx` for a struct wrapping a `sqlx::Transaction<'static, $db>`.
///
/// - `for_update`: the clause locking user rows read in write transactions (`" FOR UPDATE OF u"`
///   on PostgreSQL; `""` on SQLite, whose write transactions are already exclusive).
/// - `contended`: `fn(&str) -> bool` telling whether a database error code means "retry".
#[macro_export]
macro_rules! sql_tx {
    ($tx:ident, $db:ty, for_update = $for_update:expr, contended = $contended:path) => {
        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
            write: bool,
            /// The point-in-time recovery's own transaction may write while writes are paused.
            paused_ok: bool,
        }

        impl $tx {
            pub fn new(tx: sqlx::Transaction<'static, $db>, write: bool) -> Self {
                Self { tx, write, paused_ok: false }
            }

            fn lock(&self) -> &'static str {
                if self.write { $for_update } else { "" }
            }
        }

        /// Maps a database error, naming the uniqueness rule a unique violation broke.
        fn store_error(
            e: sqlx::Error,
            conflict: Option<tessera_store::Conflict>,
        ) -> tessera_store::StoreError {
            use tessera_store::StoreError;
            if let sqlx::Error::Database(db) = &e {
                if db.is_unique_violation() {
                    if let Some(c) = conflict {
                        return StoreError::Conflict(c);
                    }
                }
                if db.code().is_some_and(|c| $contended(&c)) {
                    return StoreError::Contended;
                }
            }
            if matches!(e, sqlx::Error::PoolTimedOut) {
                return StoreError::Contended;
            }
            StoreError::Backend(e.to_string())
        }

        fn be(e: sqlx::Error) -> tessera_store::StoreError {
            store_error(e, None)
        }

        const USER_COLUMNS: &str = $crate::codec::USER_COLUMNS;

        fn user_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<(String, tessera_domain::user::User)> {
            use sqlx::Row;
            let key: String = row.try_get("username_key").map_err(be)?;
            Ok((key, user_columns(row)?.into_user()?))
        }

        fn user_columns(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<$crate::codec::UserRow> {
            use sqlx::Row;
            Ok($crate::codec::UserRow {
                pool_id: row.try_get("pool_id").map_err(be)?,
                sub: row.try_get("sub").map_err(be)?,
                username: row.try_get("username").map_err(be)?,
                status: row.try_get("status").map_err(be)?,
                enabled: row.try_get("enabled").map_err(be)?,
                failure_count: row.try_get("failure_count").map_err(be)?,
                last_failure_at: row.try_get("last_failure_at").map_err(be)?,
                created_at: row.try_get("created_at").map_err(be)?,
                modified_at: row.try_get("modified_at").map_err(be)?,
                data: row.try_get("data").map_err(be)?,
                srp_salt: row.try_get("srp_salt").map_err(be)?,
                srp_verifier: row.try_get("srp_verifier").map_err(be)?,
            })
        }

        fn pool_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::pool::UserPool> {
            use sqlx::Row;
            let id: String = row.try_get("id").map_err(be)?;
            let config: String = row.try_get("config").map_err(be)?;
            $crate::codec::pool_from_row(
                &id,
                row.try_get("name").map_err(be)?,
                row.try_get("created_at").map_err(be)?,
                row.try_get("modified_at").map_err(be)?,
                &config,
            )
        }

        /// Moves a signing key to its next state with a conditional UPDATE (`$1` pool, `$2` kid,
        /// `$3` time); whether a row moved.
        async fn key_transition(
            tx: &mut sqlx::Transaction<'static, $db>,
            sql: &'static str,
            pool: &tessera_domain::UserPoolId,
            kid: &str,
            at: tessera_domain::Timestamp,
        ) -> tessera_store::StoreResult<bool> {
            let done = sqlx::query(sql)
                .bind(pool.as_str())
                .bind(kid)
                .bind(at.millis())
                .execute(&mut **tx)
                .await
                .map_err(be)?;
            Ok(done.rows_affected() == 1)
        }

        fn signing_key_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_store::StoredKey> {
            use sqlx::Row;
            let time = |name: &str| -> tessera_store::StoreResult<Option<tessera_domain::Timestamp>> {
                let v: Option<i64> = row.try_get(name).map_err(be)?;
                Ok(v.map(tessera_domain::Timestamp::from_millis))
            };
            let pool: String = row.try_get("pool_id").map_err(be)?;
            let key_use: String = row.try_get("key_use").map_err(be)?;
            Ok(tessera_store::StoredKey {
                pool_id: $crate::codec::pool_id(&pool)?,
                kid: row.try_get("kid").map_err(be)?,
                key_use: tessera_store::KeyUse::parse(&key_use)
                    .ok_or_else(|| tessera_store::StoreError::Corrupt(format!("key use {key_use}")))?,
                sealed_private: row.try_get("sealed_private").map_err(be)?,
                public_jwk: row.try_get("public_jwk").map_err(be)?,
                created_at: tessera_domain::Timestamp::from_millis(row.try_get("created_at").map_err(be)?),
                activated_at: time("activated_at")?,
                retired_at: time("retired_at")?,
                revoked_at: time("revoked_at")?,
            })
        }

        use $crate::codec::CLIENT_NAMES;

        fn client_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::client::AppClient> {
            client_columns(row, &CLIENT_NAMES)?.into_client()
        }

        /// An `app_clients` row's columns, under `names` (in `CLIENT_NAMES`' order).
        fn client_columns<S: AsRef<str>>(row: &<$db as sqlx::Database>::Row, names: &[S; 10]) -> tessera_store::StoreResult<$crate::codec::ClientRow> {
            use sqlx::Row;
            let n: [&str; 10] = std::array::from_fn(|i| names[i].as_ref());
            Ok($crate::codec::ClientRow {
                client_id: row.try_get(n[0]).map_err(be)?,
                pool_id: row.try_get(n[1]).map_err(be)?,
                name: row.try_get(n[2]).map_err(be)?,
                sealed_secret: row.try_get(n[3]).map_err(be)?,
                secret_created_at: row.try_get(n[4]).map_err(be)?,
                sealed_secret_2: row.try_get(n[5]).map_err(be)?,
                secret_2_created_at: row.try_get(n[6]).map_err(be)?,
                created_at: row.try_get(n[7]).map_err(be)?,
                modified_at: row.try_get(n[8]).map_err(be)?,
                config: row.try_get(n[9]).map_err(be)?,
            })
        }

        /// `tessera_store::Store::access_read` on a pool (or connection) of this backend: one
        /// statement, so one snapshot, and no transaction around it.
        pub async fn access_read<'e, E>(
            e: E,
            origin_jti: &uuid::Uuid,
            pool: &tessera_domain::UserPoolId,
            sub: &tessera_domain::Sub,
            client: &tessera_domain::ClientId,
        ) -> tessera_store::StoreResult<tessera_store::AccessRead>
        where
            E: sqlx::Executor<'e, Database = $db>,
        {
            use sqlx::Row;
            let row = sqlx::query($crate::codec::access_read_sql())
                .bind(origin_jti.to_string())
                .bind(pool.as_str())
                .bind(sub.to_string())
                .bind(client.as_str())
                .fetch_one(e)
                .await
                .map_err(be)?;
            $crate::codec::AccessRow {
                family_sub: row.try_get("f_sub").map_err(be)?,
                family_revoked_at: row.try_get("f_revoked_at").map_err(be)?,
                user: match row.try_get::<Option<String>, _>("sub").map_err(be)? {
                    Some(_) => Some(user_columns(&row)?),
                    None => None,
                },
                client: match row.try_get::<Option<String>, _>("c_client_id").map_err(be)? {
                    Some(_) => Some(client_columns(&row, &*$crate::codec::CLIENT_NAMES_C)?),
                    None => None,
                },
            }
            .into_access_read()
        }

        fn family_row(row: &<$db as sqlx::Database>::Row) -> tessera_store::StoreResult<tessera_domain::tokens::TokenFamily> {
            use sqlx::Row;
            let jti: String = row.try_get("origin_jti").map_err(be)?;
            let pool: String = row.try_get("pool_id").map_err(be)?;
            let client: String = row.try_get("client_id").map_err(be)?;
            let sub: String = row.try_get("sub").map_err(be)?;
            let data: String = row.try_get("data").map_err(be)?;
            $crate::codec::family_from_row(
                &jti,
                &pool,
                &client,
                &sub,
                row.try_get("auth_time").map_err(be)?,
                row.try_get("created_at").map_err(be)?,
                row.try_get("refresh_expires_at").map_err(be)?,
                row.try_get("revoked_at").map_err(be)?,
                &data,
            )
        }

        #[async_trait::async_trait]
        impl tessera_store::Tx for $tx {
            async fn commit(self: Box<Self>) -> tessera_store::StoreResult<()> {
                self.tx.commit().await.map_err(be)
            }

            async fn insert_pool(&mut self, pool: &tessera_domain::pool::UserPool) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO user_pools (id, name, created_at, modified_at, config) VALUES ($1, $2, $3, $4, $5)")
                    .bind(pool.id.as_str())
                    .bind(&pool.name)
                    .bind(pool.created_at.millis())
                    .bind(pool.modified_at.millis())
                    .bind($crate::codec::to_json(&pool.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Pool)))?;
                Ok(())
            }

            async fn get_pool(&mut self, id: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<Option<tessera_domain::pool::UserPool>> {
                let row = sqlx::query("SELECT id, name, created_at, modified_at, config FROM user_pools WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(pool_row).transpose()
            }

            async fn update_pool(&mut self, pool: &tessera_domain::pool::UserPool) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE user_pools SET name = $2, modified_at = $3, config = $4 WHERE id = $1")
                    .bind(pool.id.as_str())
                    .bind(&pool.name)
                    .bind(pool.modified_at.millis())
                    .bind($crate::codec::to_json(&pool.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_pool(&mut self, id: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM user_pools WHERE id = $1")
                    .bind(id.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_pools(&mut self, after: Option<&tessera_domain::UserPoolId>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::pool::UserPool>> {
                let rows = sqlx::query("SELECT id, name, created_at, modified_at, config FROM user_pools WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after.map(|a| a.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(pool_row).collect()
            }

            async fn insert_signing_key(&mut self, key: &tessera_store::StoredKey) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO signing_keys (pool_id, kid, key_use, sealed_private, public_jwk, created_at, activated_at, retired_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(key.pool_id.as_str())
                    .bind(&key.kid)
                    .bind(key.key_use.as_str())
                    .bind(&key.sealed_private)
                    .bind(&key.public_jwk)
                    .bind(key.created_at.millis())
                    .bind(key.activated_at.map(|t| t.millis()))
                    .bind(key.retired_at.map(|t| t.millis()))
                    .bind(key.revoked_at.map(|t| t.millis()))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::SigningKey)))?;
                Ok(())
            }

            async fn signing_keys(&mut self, pool: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<Vec<tessera_store::StoredKey>> {
                let rows = sqlx::query("SELECT pool_id, kid, key_use, sealed_private, public_jwk, created_at, activated_at, retired_at, revoked_at FROM signing_keys WHERE pool_id = $1 ORDER BY created_at, kid")
                    .bind(pool.as_str())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(signing_key_row).collect()
            }

            async fn find_signing_key(&mut self, kid: &str) -> tessera_store::StoreResult<Option<tessera_store::StoredKey>> {
                let row = sqlx::query("SELECT pool_id, kid, key_use, sealed_private, public_jwk, created_at, activated_at, retired_at, revoked_at FROM signing_keys WHERE kid = $1")
                    .bind(kid)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(signing_key_row).transpose()
            }

            async fn activate_signing_key(&mut self, pool: &tessera_domain::UserPoolId, kid: &str, at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                key_transition(&mut self.tx, "UPDATE signing_keys SET activated_at = $3 WHERE pool_id = $1 AND kid = $2 AND activated_at IS NULL AND revoked_at IS NULL", pool, kid, at).await
            }

            async fn retire_signing_key(&mut self, pool: &tessera_domain::UserPoolId, kid: &str, at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                key_transition(&mut self.tx, "UPDATE signing_keys SET retired_at = $3 WHERE pool_id = $1 AND kid = $2 AND activated_at IS NOT NULL AND retired_at IS NULL AND revoked_at IS NULL", pool, kid, at).await
            }

            async fn revoke_signing_key(&mut self, pool: &tessera_domain::UserPoolId, kid: &str, at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                key_transition(&mut self.tx, "UPDATE signing_keys SET revoked_at = $3 WHERE pool_id = $1 AND kid = $2 AND revoked_at IS NULL", pool, kid, at).await
            }

            async fn pools_due_key_upkeep(&mut self, created_before: tessera_domain::Timestamp, activated_before: Option<tessera_domain::Timestamp>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::UserPoolId>> {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT p.id AS pool_id FROM user_pools p WHERE p.created_at < $1 AND \
                       (SELECT COUNT(DISTINCT k.key_use) FROM signing_keys k \
                        WHERE k.pool_id = p.id AND k.activated_at IS NULL AND k.revoked_at IS NULL) < 2 \
                     UNION \
                     SELECT pool_id FROM signing_keys \
                       WHERE activated_at < $2 AND retired_at IS NULL AND revoked_at IS NULL \
                     ORDER BY pool_id LIMIT $3",
                )
                .bind(created_before.millis())
                .bind(activated_before.map(|t| t.millis()).unwrap_or(i64::MIN))
                .bind(limit as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(be)?;
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get("pool_id").map_err(be)?;
                        $crate::codec::pool_id(&id)
                    })
                    .collect()
            }

            async fn get_meta(&mut self, name: &str) -> tessera_store::StoreResult<Option<Vec<u8>>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT value FROM deployment_meta WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.map(|r| r.try_get("value").map_err(be)).transpose()
            }

            async fn insert_meta(&mut self, name: &str, value: &[u8]) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("INSERT INTO deployment_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                    .bind(name)
                    .bind(value)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn put_meta(&mut self, name: &str, value: &[u8]) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO deployment_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
                    .bind(name)
                    .bind(value)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn insert_client(&mut self, c: &tessera_domain::client::AppClient) -> tessera_store::StoreResult<()> {
                let slot = |i: usize| c.secrets.get(i).map(|s| (s.sealed.0.clone(), s.created_at.millis())).unzip();
                let ((first, first_at), (second, second_at)) = (slot(0), slot(1));
                sqlx::query("INSERT INTO app_clients (client_id, pool_id, name, sealed_secret, secret_created_at, sealed_secret_2, secret_2_created_at, created_at, modified_at, config) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                    .bind(c.client_id.as_str())
                    .bind(c.pool_id.as_str())
                    .bind(&c.name)
                    .bind(first)
                    .bind(first_at)
                    .bind(second)
                    .bind(second_at)
                    .bind(c.created_at.millis())
                    .bind(c.modified_at.millis())
                    .bind($crate::codec::to_json(&c.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Client)))?;
                Ok(())
            }

            async fn get_client(&mut self, id: &tessera_domain::ClientId) -> tessera_store::StoreResult<Option<tessera_domain::client::AppClient>> {
                static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
                    format!("SELECT {} FROM app_clients WHERE client_id = $1", CLIENT_NAMES.join(", "))
                });
                let row = sqlx::query(SQL.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(client_row).transpose()
            }

            async fn update_client(&mut self, c: &tessera_domain::client::AppClient) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE app_clients SET name = $3, modified_at = $4, config = $5 WHERE client_id = $1 AND pool_id = $2")
                    .bind(c.client_id.as_str())
                    .bind(c.pool_id.as_str())
                    .bind(&c.name)
                    .bind(c.modified_at.millis())
                    .bind($crate::codec::to_json(&c.config)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn add_client_secret(&mut self, pool: &tessera_domain::UserPoolId, id: &tessera_domain::ClientId, secret: &tessera_domain::client::ClientSecret) -> tessera_store::StoreResult<bool> {
                // One conditional statement: of two concurrent calls, the second finds slot 2
                // taken (PostgreSQL re-checks the WHERE clause after the first commits).
                let done = sqlx::query("UPDATE app_clients SET sealed_secret_2 = $3, secret_2_created_at = $4 \
                        WHERE client_id = $1 AND pool_id = $2 AND sealed_secret IS NOT NULL AND sealed_secret_2 IS NULL")
                    .bind(id.as_str())
                    .bind(pool.as_str())
                    .bind(secret.sealed.0.clone())
                    .bind(secret.created_at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn delete_client_secret(&mut self, pool: &tessera_domain::UserPoolId, id: &tessera_domain::ClientId, created_at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                // The newer secret goes while the older stays; the older goes by moving the newer
                // into its slot. Either only while both exist, so the last secret never goes.
                const NEWER: &str = "UPDATE app_clients SET sealed_secret_2 = NULL, secret_2_created_at = NULL \
                    WHERE client_id = $1 AND pool_id = $2 AND sealed_secret IS NOT NULL AND secret_2_created_at = $3";
                const OLDER: &str = "UPDATE app_clients SET sealed_secret = sealed_secret_2, secret_created_at = secret_2_created_at, \
                    sealed_secret_2 = NULL, secret_2_created_at = NULL \
                    WHERE client_id = $1 AND pool_id = $2 AND sealed_secret_2 IS NOT NULL AND COALESCE(secret_created_at, created_at) = $3";
                for statement in [NEWER, OLDER] {
                    let done = sqlx::query(statement)
                        .bind(id.as_str())
                        .bind(pool.as_str())
                        .bind(created_at.millis())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                    if done.rows_affected() > 0 {
                        return Ok(true);
                    }
                }
                Ok(false)
            }

            async fn delete_client(&mut self, pool: &tessera_domain::UserPoolId, id: &tessera_domain::ClientId) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM app_clients WHERE client_id = $1 AND pool_id = $2")
                    .bind(id.as_str())
                    .bind(pool.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_clients(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&tessera_domain::ClientId>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::client::AppClient>> {
                let rows = sqlx::query("SELECT client_id, pool_id, name, sealed_secret, secret_created_at, sealed_secret_2, secret_2_created_at, created_at, modified_at, config FROM app_clients WHERE pool_id = $1 AND client_id > $2 ORDER BY client_id LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.map(|a| a.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(client_row).collect()
            }

            async fn insert_user(&mut self, user: &tessera_domain::user::User, username_key: &str, aliases: &[tessera_domain::pool::Alias]) -> tessera_store::StoreResult<()> {
                self.journal(&user.pool_id, tessera_domain::recovery::HistoryEntity::User, &user.sub.to_string(), None).await?;
                let [email, phone, name, given, family, preferred] = $crate::codec::search_values(user);
                let (srp_salt, srp_verifier) = $crate::codec::srp_columns(user);
                sqlx::query("INSERT INTO users (pool_id, sub, username, username_key, status, enabled, \
                        email, phone_number, name, given_name, family_name, preferred_username, \
                        failure_count, last_failure_at, created_at, modified_at, data, srp_salt, srp_verifier) \
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)")
                    .bind(user.pool_id.as_str())
                    .bind(user.sub.to_string())
                    .bind(user.username.as_str())
                    .bind(username_key)
                    .bind(user.status.as_str())
                    .bind(user.enabled)
                    .bind(email)
                    .bind(phone)
                    .bind(name)
                    .bind(given)
                    .bind(family)
                    .bind(preferred)
                    .bind(i64::from(user.failures.count))
                    .bind(user.failures.last_failure.map(|t| t.millis()))
                    .bind(user.created_at.millis())
                    .bind(user.modified_at.millis())
                    .bind($crate::codec::user_data(user)?)
                    .bind(srp_salt)
                    .bind(srp_verifier)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Username)))?;
                self.insert_aliases(user, aliases).await
            }

            async fn get_user(&mut self, pool: &tessera_domain::UserPoolId, by: &tessera_store::UserLookup) -> tessera_store::StoreResult<Option<tessera_domain::user::User>> {
                use tessera_store::UserLookup;
                let lock = self.lock();
                let row = match by {
                    UserLookup::UsernameKey(key) => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool_id = $1 AND u.username_key = $2{lock}")))
                            .bind(pool.as_str())
                            .bind(key.as_str())
                            .fetch_optional(&mut *self.tx)
                            .await
                    }
                    UserLookup::Sub(sub) => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.pool_id = $1 AND u.sub = $2{lock}")))
                            .bind(pool.as_str())
                            .bind(sub.to_string())
                            .fetch_optional(&mut *self.tx)
                            .await
                    }
                    UserLookup::Alias(alias) => {
                        sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users u JOIN user_aliases a ON a.pool_id = u.pool_id AND a.sub = u.sub \
                                WHERE a.pool_id = $1 AND a.kind = $2 AND a.alias_key = $3{lock}")))
                            .bind(pool.as_str())
                            .bind($crate::codec::alias_kind(alias.kind))
                            .bind(alias.key.as_str())
                            .fetch_optional(&mut *self.tx)
                            .await
                    }
                }
                .map_err(be)?;
                Ok(row.as_ref().map(user_row).transpose()?.map(|(_, u)| u))
            }

            async fn update_user(&mut self, user: &tessera_domain::user::User, aliases: &[tessera_domain::pool::Alias]) -> tessera_store::StoreResult<()> {
                let before = self.get_user(&user.pool_id, &tessera_store::UserLookup::Sub(user.sub)).await?;
                if let Some(before) = before {
                    self.journal(&user.pool_id, tessera_domain::recovery::HistoryEntity::User, &user.sub.to_string(), Some($crate::codec::to_json(&before)?)).await?;
                }
                let [email, phone, name, given, family, preferred] = $crate::codec::search_values(user);
                let (srp_salt, srp_verifier) = $crate::codec::srp_columns(user);
                sqlx::query("UPDATE users SET status = $3, enabled = $4, email = $5, phone_number = $6, name = $7, \
                        given_name = $8, family_name = $9, preferred_username = $10, modified_at = $11, data = $12, \
                        srp_salt = $13, srp_verifier = $14 \
                        WHERE pool_id = $1 AND sub = $2")
                    .bind(user.pool_id.as_str())
                    .bind(user.sub.to_string())
                    .bind(user.status.as_str())
                    .bind(user.enabled)
                    .bind(email)
                    .bind(phone)
                    .bind(name)
                    .bind(given)
                    .bind(family)
                    .bind(preferred)
                    .bind(user.modified_at.millis())
                    .bind($crate::codec::user_data(user)?)
                    .bind(srp_salt)
                    .bind(srp_verifier)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                sqlx::query("DELETE FROM user_aliases WHERE pool_id = $1 AND sub = $2")
                    .bind(user.pool_id.as_str())
                    .bind(user.sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                self.insert_aliases(user, aliases).await
            }

            async fn delete_user(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<bool> {
                let Some(before) = self.get_user(pool, &tessera_store::UserLookup::Sub(*sub)).await? else {
                    return Ok(false);
                };
                self.journal_user_belongings(pool, sub).await?;
                self.journal(pool, tessera_domain::recovery::HistoryEntity::User, &sub.to_string(), Some($crate::codec::to_json(&before)?)).await?;
                let done = sqlx::query("DELETE FROM users WHERE pool_id = $1 AND sub = $2")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_users(&mut self, pool: &tessera_domain::UserPoolId, query: &tessera_store::UserQuery<'_>) -> tessera_store::StoreResult<Vec<(String, tessera_domain::user::User)>> {
                let Some(listing) = $crate::codec::user_listing(query.filter, query.case_sensitive, query.after) else {
                    return Ok(Vec::new());
                };
                let sql = listing.sql(query.limit);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pool.as_str());
                for value in &listing.binds {
                    q = match value {
                        $crate::codec::FilterValue::Text(v) => q.bind(v.as_str()),
                        $crate::codec::FilterValue::Bool(v) => q.bind(*v),
                    };
                }
                let rows = q.fetch_all(&mut *self.tx).await.map_err(be)?;
                rows.iter()
                    .map(|row| user_row(row).map(|(key, user)| (listing.cursor(key, &user), user)))
                    .collect()
            }

            async fn count_users(&mut self, pool: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<u64> {
                use sqlx::Row;
                let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE pool_id = $1")
                    .bind(pool.as_str())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let n: i64 = row.try_get("n").map_err(be)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn charge_sign_in(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, expected: &tessera_domain::lockout::SignInFailures, next: &tessera_domain::lockout::SignInFailures) -> tessera_store::StoreResult<bool> {
                // A NULL-safe compare-and-swap: `IS NOT DISTINCT FROM` in both dialects' spelling
                // would differ, so compare with an explicit sentinel instead.
                let done = sqlx::query("UPDATE users SET failure_count = $3, last_failure_at = $4 \
                        WHERE pool_id = $1 AND sub = $2 AND failure_count = $5 AND COALESCE(last_failure_at, -1) = $6")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(i64::from(next.count))
                    .bind(next.last_failure.map(|t| t.millis()))
                    .bind(i64::from(expected.count))
                    .bind(expected.last_failure.map(|t| t.millis()).unwrap_or(-1))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn reset_sign_in_failures(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE users SET failure_count = 0, last_failure_at = NULL WHERE pool_id = $1 AND sub = $2")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn unknown_user_failures(&mut self, pool: &tessera_domain::UserPoolId, name_key: &str) -> tessera_store::StoreResult<tessera_domain::lockout::SignInFailures> {
                use sqlx::Row;
                let row = sqlx::query("SELECT failure_count, last_failure_at FROM unknown_user_failures WHERE pool_id = $1 AND name_key = $2")
                    .bind(pool.as_str())
                    .bind(name_key)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(Default::default()) };
                let count: i64 = row.try_get("failure_count").map_err(be)?;
                let last: i64 = row.try_get("last_failure_at").map_err(be)?;
                Ok(tessera_domain::lockout::SignInFailures {
                    count: u32::try_from(count).unwrap_or(u32::MAX),
                    last_failure: Some(tessera_domain::Timestamp::from_millis(last)),
                })
            }

            async fn charge_unknown_user(&mut self, pool: &tessera_domain::UserPoolId, name_key: &str, expected: &tessera_domain::lockout::SignInFailures, next: &tessera_domain::lockout::SignInFailures) -> tessera_store::StoreResult<bool> {
                let last = next.last_failure.map(|t| t.millis()).unwrap_or(0);
                let done = match expected.last_failure {
                    // No row yet: only one of concurrent first failures inserts it.
                    None => sqlx::query("INSERT INTO unknown_user_failures (pool_id, name_key, failure_count, last_failure_at) \
                            VALUES ($1, $2, $3, $4) ON CONFLICT (pool_id, name_key) DO NOTHING")
                        .bind(pool.as_str())
                        .bind(name_key)
                        .bind(i64::from(next.count))
                        .bind(last)
                        .execute(&mut *self.tx)
                        .await,
                    Some(prev) => sqlx::query("UPDATE unknown_user_failures SET failure_count = $3, last_failure_at = $4 \
                            WHERE pool_id = $1 AND name_key = $2 AND failure_count = $5 AND last_failure_at = $6")
                        .bind(pool.as_str())
                        .bind(name_key)
                        .bind(i64::from(next.count))
                        .bind(last)
                        .bind(i64::from(expected.count))
                        .bind(prev.millis())
                        .execute(&mut *self.tx)
                        .await,
                }
                .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn unknown_name_sends(&mut self, pool: &tessera_domain::UserPoolId, name_key: &str, purpose: &str) -> tessera_store::StoreResult<Vec<tessera_domain::Timestamp>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM unknown_name_sends WHERE pool_id = $1 AND name_key = $2 AND purpose = $3")
                    .bind(pool.as_str())
                    .bind(name_key)
                    .bind(purpose)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(data
                    .map(|d| $crate::codec::from_json::<Vec<tessera_domain::Timestamp>>(&d, "unknown-name sends"))
                    .transpose()?
                    .unwrap_or_default())
            }

            async fn put_unknown_name_sends(&mut self, pool: &tessera_domain::UserPoolId, name_key: &str, purpose: &str, sends: &[tessera_domain::Timestamp]) -> tessera_store::StoreResult<()> {
                let last = sends.iter().map(|t| t.millis()).max().unwrap_or(0);
                sqlx::query("INSERT INTO unknown_name_sends (pool_id, name_key, purpose, last_sent_at, data) VALUES ($1, $2, $3, $4, $5) \
                        ON CONFLICT (pool_id, name_key, purpose) DO UPDATE SET last_sent_at = excluded.last_sent_at, data = excluded.data")
                    .bind(pool.as_str())
                    .bind(name_key)
                    .bind(purpose)
                    .bind(last)
                    .bind($crate::codec::to_json(&sends)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn clear_srp_verifiers(&mut self, pool: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("UPDATE users SET srp_salt = NULL, srp_verifier = NULL WHERE pool_id = $1 AND srp_verifier IS NOT NULL")
                    .bind(pool.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }

            async fn insert_token_family(&mut self, f: &tessera_domain::tokens::TokenFamily) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO token_families (origin_jti, pool_id, client_id, sub, auth_time, created_at, refresh_expires_at, revoked_at, data) \
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(f.origin_jti.to_string())
                    .bind(f.pool_id.as_str())
                    .bind(f.client_id.as_str())
                    .bind(f.sub.to_string())
                    .bind(f.auth_time.millis())
                    .bind(f.created_at.millis())
                    .bind(f.refresh_expires_at.millis())
                    .bind(f.revoked_at.map(|t| t.millis()))
                    .bind($crate::codec::family_data(f)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::TokenFamily)))?;
                Ok(())
            }

            async fn get_token_family(&mut self, origin_jti: &uuid::Uuid) -> tessera_store::StoreResult<Option<tessera_domain::tokens::TokenFamily>> {
                let row = sqlx::query("SELECT origin_jti, pool_id, client_id, sub, auth_time, created_at, refresh_expires_at, revoked_at, data FROM token_families WHERE origin_jti = $1")
                    .bind(origin_jti.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                row.as_ref().map(family_row).transpose()
            }

            async fn revoke_token_family(&mut self, origin_jti: &uuid::Uuid, at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE token_families SET revoked_at = $2 WHERE origin_jti = $1 AND revoked_at IS NULL")
                    .bind(origin_jti.to_string())
                    .bind(at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_user_token_families(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, at: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("UPDATE token_families SET revoked_at = $3 WHERE pool_id = $1 AND sub = $2 AND revoked_at IS NULL")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }

            async fn active_token_families(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<Vec<(tessera_domain::tokens::TokenFamily, tessera_domain::Timestamp)>> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT f.origin_jti, f.pool_id, f.client_id, f.sub, f.auth_time, f.created_at, f.refresh_expires_at, f.revoked_at, f.data, \
                        (SELECT MAX(r.issued_at) FROM refresh_tokens r WHERE r.origin_jti = f.origin_jti) AS last_active \
                        FROM token_families f WHERE f.pool_id = $1 AND f.sub = $2 AND f.revoked_at IS NULL AND f.refresh_expires_at > $3 \
                        ORDER BY f.created_at, f.origin_jti")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(now.millis())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter()
                    .map(|row| {
                        let family = family_row(row)?;
                        let last: Option<i64> = row.try_get("last_active").map_err(be)?;
                        let last = last.map(tessera_domain::Timestamp::from_millis).unwrap_or(family.created_at);
                        Ok((family, last))
                    })
                    .collect()
            }

            async fn insert_refresh_token(&mut self, t: &tessera_domain::tokens::RefreshTokenRecord) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO refresh_tokens (hash, origin_jti, pool_id, issued_at, superseded_at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&t.hash)
                    .bind(t.origin_jti.to_string())
                    .bind(t.pool_id.as_str())
                    .bind(t.issued_at.millis())
                    .bind(t.superseded_at.map(|t| t.millis()))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::RefreshToken)))?;
                Ok(())
            }

            async fn get_refresh_token(&mut self, hash: &[u8]) -> tessera_store::StoreResult<Option<tessera_domain::tokens::RefreshTokenRecord>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT hash, origin_jti, pool_id, issued_at, superseded_at FROM refresh_tokens WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(None) };
                let jti: String = row.try_get("origin_jti").map_err(be)?;
                let pool: String = row.try_get("pool_id").map_err(be)?;
                let superseded: Option<i64> = row.try_get("superseded_at").map_err(be)?;
                Ok(Some(tessera_domain::tokens::RefreshTokenRecord {
                    hash: row.try_get("hash").map_err(be)?,
                    origin_jti: $crate::codec::uuid(&jti)?,
                    pool_id: $crate::codec::pool_id(&pool)?,
                    issued_at: tessera_domain::Timestamp::from_millis(row.try_get("issued_at").map_err(be)?),
                    superseded_at: superseded.map(tessera_domain::Timestamp::from_millis),
                }))
            }

            async fn supersede_refresh_token(&mut self, hash: &[u8], at: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE refresh_tokens SET superseded_at = $2 WHERE hash = $1 AND superseded_at IS NULL")
                    .bind(hash)
                    .bind(at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_auth_session(&mut self, hash: &[u8], s: &tessera_domain::flow::AuthSession) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO auth_sessions (hash, pool_id, expires_at, data) VALUES ($1, $2, $3, $4)")
                    .bind(hash)
                    .bind(s.pool_id.as_str())
                    .bind(s.expires_at.millis())
                    .bind($crate::codec::to_json(s)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::AuthSession)))?;
                Ok(())
            }

            async fn get_auth_session(&mut self, hash: &[u8]) -> tessera_store::StoreResult<Option<tessera_domain::flow::AuthSession>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM auth_sessions WHERE hash = $1")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "auth session")).transpose()
            }

            async fn update_auth_session(&mut self, hash: &[u8], s: &tessera_domain::flow::AuthSession) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE auth_sessions SET expires_at = $2, data = $3 WHERE hash = $1")
                    .bind(hash)
                    .bind(s.expires_at.millis())
                    .bind($crate::codec::to_json(s)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_auth_session(&mut self, hash: &[u8]) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM auth_sessions WHERE hash = $1")
                    .bind(hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_authorization_code(&mut self, hash: &[u8], code: &tessera_domain::oauth::AuthorizationCode) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO oauth_grants (hash, kind, pool_id, sub, expires_at, data) VALUES ($1, 'code', $2, $3, $4, $5)")
                    .bind(hash)
                    .bind(code.pool_id.as_str())
                    .bind(code.sub.to_string())
                    .bind(code.expires_at.millis())
                    .bind($crate::codec::to_json(code)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_authorization_code(&mut self, hash: &[u8]) -> tessera_store::StoreResult<Option<tessera_store::StoredCode>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT data, consumed_at, origin_jti FROM oauth_grants WHERE hash = $1 AND kind = 'code'")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(None) };
                let code = $crate::codec::from_json(&row.try_get::<String, _>("data").map_err(be)?, "authorization code")?;
                let consumed: Option<i64> = row.try_get("consumed_at").map_err(be)?;
                let origin: Option<String> = row.try_get("origin_jti").map_err(be)?;
                let redeemed = match (consumed, origin) {
                    (Some(at), Some(jti)) => Some((
                        tessera_domain::Timestamp::from_millis(at),
                        $crate::codec::uuid(&jti)?,
                    )),
                    _ => None,
                };
                Ok(Some(tessera_store::StoredCode { code, redeemed }))
            }

            async fn redeem_authorization_code(&mut self, hash: &[u8], at: tessera_domain::Timestamp, origin_jti: &uuid::Uuid) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE oauth_grants SET consumed_at = $2, origin_jti = $3 WHERE hash = $1 AND kind = 'code' AND consumed_at IS NULL")
                    .bind(hash)
                    .bind(at.millis())
                    .bind(origin_jti.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn insert_hosted_session(&mut self, hash: &[u8], session: &tessera_domain::oauth::HostedSession) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO oauth_grants (hash, kind, pool_id, sub, expires_at, data) VALUES ($1, 'session', $2, $3, $4, $5)")
                    .bind(hash)
                    .bind(session.pool_id.as_str())
                    .bind(session.sub.to_string())
                    .bind(session.expires_at.millis())
                    .bind($crate::codec::to_json(session)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_hosted_session(&mut self, hash: &[u8]) -> tessera_store::StoreResult<Option<tessera_domain::oauth::HostedSession>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM oauth_grants WHERE hash = $1 AND kind = 'session'")
                    .bind(hash)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "hosted session")).transpose()
            }

            async fn hosted_sessions_of(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<Vec<(Vec<u8>, tessera_domain::oauth::HostedSession)>> {
                let rows = sqlx::query_as::<_, (Vec<u8>, String)>("SELECT hash, data FROM oauth_grants WHERE pool_id = $1 AND sub = $2 AND kind = 'session' AND expires_at > $3")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(now.millis())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let mut out = rows
                    .into_iter()
                    .map(|(hash, data)| Ok((hash, $crate::codec::from_json::<tessera_domain::oauth::HostedSession>(&data, "hosted session")?)))
                    .collect::<tessera_store::StoreResult<Vec<_>>>()?;
                out.sort_by(|(ha, a), (hb, b)| (a.auth_time, ha).cmp(&(b.auth_time, hb)));
                Ok(out)
            }

            async fn delete_hosted_session(&mut self, hash: &[u8]) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM oauth_grants WHERE hash = $1 AND kind = 'session'")
                    .bind(hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn index_device_challenge(&mut self, key: &tessera_store::DeviceChallengeKey, hash: &[u8]) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO device_challenges (pool_id, client_id, sub, device_key, session_hash) VALUES ($1, $2, $3, $4, $5) \
                        ON CONFLICT (pool_id, client_id, sub, device_key) DO UPDATE SET session_hash = excluded.session_hash")
                    .bind(key.pool_id.as_str())
                    .bind(key.client_id.as_str())
                    .bind(key.sub.to_string())
                    .bind(key.device_key.as_str())
                    .bind(hash)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn find_device_challenge(&mut self, key: &tessera_store::DeviceChallengeKey) -> tessera_store::StoreResult<Option<(Vec<u8>, tessera_domain::flow::AuthSession)>> {
                use sqlx::Row;
                let row = sqlx::query("SELECT s.hash, s.data FROM device_challenges d JOIN auth_sessions s ON s.hash = d.session_hash \
                        WHERE d.pool_id = $1 AND d.client_id = $2 AND d.sub = $3 AND d.device_key = $4")
                    .bind(key.pool_id.as_str())
                    .bind(key.client_id.as_str())
                    .bind(key.sub.to_string())
                    .bind(key.device_key.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let hash: Vec<u8> = row.try_get("hash").map_err(be)?;
                let data: String = row.try_get("data").map_err(be)?;
                Ok(Some((hash, $crate::codec::from_json(&data, "auth session")?)))
            }

            async fn get_code(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, purpose: &str) -> tessera_store::StoreResult<Option<tessera_domain::codes::VerificationCode>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM verification_codes WHERE pool_id = $1 AND sub = $2 AND purpose = $3")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(purpose)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "verification code")).transpose()
            }

            async fn put_code(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, code: &tessera_domain::codes::VerificationCode) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO verification_codes (pool_id, sub, purpose, expires_at, data) VALUES ($1, $2, $3, $4, $5) \
                        ON CONFLICT (pool_id, sub, purpose) DO UPDATE SET expires_at = excluded.expires_at, data = excluded.data")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(code.purpose.key())
                    .bind(code.expires_at.millis())
                    .bind($crate::codec::to_json(code)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_code(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, purpose: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM verification_codes WHERE pool_id = $1 AND sub = $2 AND purpose = $3")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(purpose)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_device(&mut self, d: &tessera_domain::devices::Device) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO devices (device_key, pool_id, sub, created_at, data) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&d.key)
                    .bind(d.pool_id.as_str())
                    .bind(d.sub.to_string())
                    .bind(d.created_at.millis())
                    .bind($crate::codec::to_json(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn get_device(&mut self, pool: &tessera_domain::UserPoolId, key: &str) -> tessera_store::StoreResult<Option<tessera_domain::devices::Device>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM devices WHERE device_key = $1 AND pool_id = $2")
                    .bind(key)
                    .bind(pool.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "device")).transpose()
            }

            async fn update_device(&mut self, d: &tessera_domain::devices::Device) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE devices SET data = $3 WHERE device_key = $1 AND pool_id = $2")
                    .bind(&d.key)
                    .bind(d.pool_id.as_str())
                    .bind($crate::codec::to_json(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_device(&mut self, pool: &tessera_domain::UserPoolId, key: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM devices WHERE device_key = $1 AND pool_id = $2")
                    .bind(key)
                    .bind(pool.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_devices(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::devices::Device>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM devices WHERE pool_id = $1 AND sub = $2 AND device_key > $3 ORDER BY device_key LIMIT $4")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "device")).collect()
            }

            async fn insert_group(&mut self, g: &tessera_domain::groups::Group) -> tessera_store::StoreResult<()> {
                self.journal(&g.pool_id, tessera_domain::recovery::HistoryEntity::Group, &g.name, None).await?;
                sqlx::query("INSERT INTO user_groups (pool_id, name, created_at, data) VALUES ($1, $2, $3, $4)")
                    .bind(g.pool_id.as_str())
                    .bind(&g.name)
                    .bind(g.created_at.millis())
                    .bind($crate::codec::to_json(g)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Group)))?;
                Ok(())
            }

            async fn get_group(&mut self, pool: &tessera_domain::UserPoolId, name: &str) -> tessera_store::StoreResult<Option<tessera_domain::groups::Group>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM user_groups WHERE pool_id = $1 AND name = $2")
                    .bind(pool.as_str())
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "group")).transpose()
            }

            async fn update_group(&mut self, g: &tessera_domain::groups::Group) -> tessera_store::StoreResult<()> {
                if let Some(before) = self.get_group(&g.pool_id, &g.name).await? {
                    self.journal(&g.pool_id, tessera_domain::recovery::HistoryEntity::Group, &g.name, Some($crate::codec::to_json(&before)?)).await?;
                }
                sqlx::query("UPDATE user_groups SET data = $3 WHERE pool_id = $1 AND name = $2")
                    .bind(g.pool_id.as_str())
                    .bind(&g.name)
                    .bind($crate::codec::to_json(g)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_group(&mut self, pool: &tessera_domain::UserPoolId, name: &str) -> tessera_store::StoreResult<bool> {
                let Some(before) = self.get_group(pool, name).await? else {
                    return Ok(false);
                };
                self.journal_group_members(pool, name).await?;
                self.journal(pool, tessera_domain::recovery::HistoryEntity::Group, name, Some($crate::codec::to_json(&before)?)).await?;
                let done = sqlx::query("DELETE FROM user_groups WHERE pool_id = $1 AND name = $2")
                    .bind(pool.as_str())
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_groups(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::groups::Group>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM user_groups WHERE pool_id = $1 AND name > $2 ORDER BY name LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "group")).collect()
            }

            async fn add_group_member(&mut self, pool: &tessera_domain::UserPoolId, group: &str, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("INSERT INTO group_members (pool_id, group_name, sub) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(pool.as_str())
                    .bind(group)
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let added = done.rows_affected() > 0;
                if added {
                    let key = tessera_domain::recovery::membership_key(sub, group);
                    self.journal(pool, tessera_domain::recovery::HistoryEntity::Membership, &key, None).await?;
                }
                Ok(added)
            }

            async fn remove_group_member(&mut self, pool: &tessera_domain::UserPoolId, group: &str, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM group_members WHERE pool_id = $1 AND group_name = $2 AND sub = $3")
                    .bind(pool.as_str())
                    .bind(group)
                    .bind(sub.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let removed = done.rows_affected() > 0;
                if removed {
                    let key = tessera_domain::recovery::membership_key(sub, group);
                    self.journal(pool, tessera_domain::recovery::HistoryEntity::Membership, &key, Some("{}".to_string())).await?;
                }
                Ok(removed)
            }

            async fn groups_of_user(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::groups::Group>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT g.data FROM group_members m JOIN user_groups g ON g.pool_id = m.pool_id AND g.name = m.group_name \
                        WHERE m.pool_id = $1 AND m.sub = $2 AND m.group_name > $3 ORDER BY m.group_name LIMIT $4")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(after.unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "group")).collect()
            }

            async fn group_members(&mut self, pool: &tessera_domain::UserPoolId, group: &str, after: Option<&str>, limit: usize) -> tessera_store::StoreResult<Vec<(String, tessera_domain::user::User)>> {
                let sql = format!("SELECT {USER_COLUMNS} FROM group_members m JOIN users u ON u.pool_id = m.pool_id AND u.sub = m.sub \
                        WHERE m.pool_id = $1 AND m.group_name = $2 AND u.username_key > $3 ORDER BY u.username_key LIMIT {limit}");
                // The limit written in, not bound: see `UserListing::sql`.
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(pool.as_str())
                    .bind(group)
                    .bind(after.unwrap_or(""))
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(user_row).collect()
            }

            async fn insert_domain(&mut self, d: &tessera_domain::domains::UserPoolDomain) -> tessera_store::StoreResult<()> {
                // DO NOTHING rather than an error, so the transaction stays usable to tell which
                // rule the name broke (PostgreSQL aborts a transaction on a failed statement).
                let done = sqlx::query("INSERT INTO user_pool_domains (domain, pool_id, kind, created_at, data) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                    .bind(d.name.as_str())
                    .bind(d.pool_id.as_str())
                    .bind(d.kind().as_str())
                    .bind(d.created_at.millis())
                    .bind($crate::codec::to_json(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                if done.rows_affected() > 0 {
                    return Ok(());
                }
                let same_kind = sqlx::query_scalar::<_, String>("SELECT domain FROM user_pool_domains WHERE pool_id = $1 AND kind = $2")
                    .bind(d.pool_id.as_str())
                    .bind(d.kind().as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Err(tessera_store::StoreError::Conflict(match same_kind {
                    Some(_) => tessera_store::Conflict::PoolDomainKind,
                    None => tessera_store::Conflict::Domain,
                }))
            }

            async fn domain_by_name(&mut self, name: &tessera_domain::domains::DomainName) -> tessera_store::StoreResult<Option<tessera_domain::domains::UserPoolDomain>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM user_pool_domains WHERE domain = $1")
                    .bind(name.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "domain")).transpose()
            }

            async fn pool_domains(&mut self, pool: &tessera_domain::UserPoolId) -> tessera_store::StoreResult<Vec<tessera_domain::domains::UserPoolDomain>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM user_pool_domains WHERE pool_id = $1 ORDER BY kind DESC")
                    .bind(pool.as_str())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "domain")).collect()
            }

            async fn update_domain(&mut self, d: &tessera_domain::domains::UserPoolDomain) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE user_pool_domains SET data = $3 WHERE domain = $1 AND pool_id = $2")
                    .bind(d.name.as_str())
                    .bind(d.pool_id.as_str())
                    .bind($crate::codec::to_json(d)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_domain(&mut self, pool: &tessera_domain::UserPoolId, name: &tessera_domain::domains::DomainName) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM user_pool_domains WHERE domain = $1 AND pool_id = $2")
                    .bind(name.as_str())
                    .bind(pool.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn insert_resource_server(&mut self, r: &tessera_domain::resource_servers::ResourceServer) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO resource_servers (pool_id, identifier, created_at, data) VALUES ($1, $2, $3, $4)")
                    .bind(r.pool_id.as_str())
                    .bind(r.identifier.as_str())
                    .bind(r.created_at.millis())
                    .bind($crate::codec::to_json(r)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::ResourceServer)))?;
                Ok(())
            }

            async fn get_resource_server(&mut self, pool: &tessera_domain::UserPoolId, identifier: &tessera_domain::resource_servers::ResourceServerIdentifier) -> tessera_store::StoreResult<Option<tessera_domain::resource_servers::ResourceServer>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM resource_servers WHERE pool_id = $1 AND identifier = $2")
                    .bind(pool.as_str())
                    .bind(identifier.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "resource server")).transpose()
            }

            async fn update_resource_server(&mut self, r: &tessera_domain::resource_servers::ResourceServer) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE resource_servers SET data = $3 WHERE pool_id = $1 AND identifier = $2")
                    .bind(r.pool_id.as_str())
                    .bind(r.identifier.as_str())
                    .bind($crate::codec::to_json(r)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_resource_server(&mut self, pool: &tessera_domain::UserPoolId, identifier: &tessera_domain::resource_servers::ResourceServerIdentifier) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM resource_servers WHERE pool_id = $1 AND identifier = $2")
                    .bind(pool.as_str())
                    .bind(identifier.as_str())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_resource_servers(&mut self, pool: &tessera_domain::UserPoolId, after: Option<&tessera_domain::resource_servers::ResourceServerIdentifier>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::resource_servers::ResourceServer>> {
                let rows = sqlx::query_scalar::<_, String>("SELECT data FROM resource_servers WHERE pool_id = $1 AND identifier > $2 ORDER BY identifier LIMIT $3")
                    .bind(pool.as_str())
                    .bind(after.map(|a| a.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter().map(|d| $crate::codec::from_json(d, "resource server")).collect()
            }

            async fn insert_managed_login_branding(&mut self, b: &tessera_domain::branding::ManagedLoginBranding) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO managed_login_brandings (id, pool_id, client_id, created_at, data) VALUES ($1, $2, $3, $4, $5)")
                    .bind(b.id.to_string())
                    .bind(b.pool_id.as_str())
                    .bind(b.client_id.as_str())
                    .bind(b.created_at.millis())
                    .bind($crate::codec::to_json(b)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::ManagedLoginBranding)))?;
                Ok(())
            }

            async fn get_managed_login_branding(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid) -> tessera_store::StoreResult<Option<tessera_domain::branding::ManagedLoginBranding>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM managed_login_brandings WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "managed login branding")).transpose()
            }

            async fn managed_login_branding_of_client(&mut self, pool: &tessera_domain::UserPoolId, client: &tessera_domain::ClientId) -> tessera_store::StoreResult<Option<tessera_domain::branding::ManagedLoginBranding>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM managed_login_brandings WHERE pool_id = $1 AND client_id = $2")
                    .bind(pool.as_str())
                    .bind(client.as_str())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "managed login branding")).transpose()
            }

            async fn update_managed_login_branding(&mut self, b: &tessera_domain::branding::ManagedLoginBranding) -> tessera_store::StoreResult<()> {
                sqlx::query("UPDATE managed_login_brandings SET data = $3 WHERE pool_id = $1 AND id = $2")
                    .bind(b.pool_id.as_str())
                    .bind(b.id.to_string())
                    .bind($crate::codec::to_json(b)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn delete_managed_login_branding(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM managed_login_brandings WHERE pool_id = $1 AND id = $2")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() > 0)
            }

            async fn enqueue_message(&mut self, m: &tessera_domain::messages::OutboundMessage, status: tessera_domain::messages::OutboxStatus) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO outbox (id, pool_id, status, attempts, next_attempt_at, created_at, data) VALUES ($1, $2, $3, 0, $4, $4, $5)")
                    .bind(m.id.to_string())
                    .bind(m.pool_id.as_str())
                    .bind(status.as_str())
                    .bind(m.created_at.millis())
                    .bind($crate::codec::to_json(m)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn claim_messages(&mut self, now: tessera_domain::Timestamp, lease_until: tessera_domain::Timestamp, limit: usize) -> tessera_store::StoreResult<Vec<(tessera_domain::messages::OutboundMessage, u32)>> {
                use sqlx::Row;
                // The outer condition repeats the inner one so that, on PostgreSQL, a concurrent
                // claimer re-checking the row after our update no longer matches it.
                let rows = sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $2 \
                        WHERE status = 'pending' AND next_attempt_at <= $1 AND id IN \
                        (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $3) \
                        RETURNING data, attempts")
                    .bind(now.millis())
                    .bind(lease_until.millis())
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter()
                    .map(|row| {
                        let data: String = row.try_get("data").map_err(be)?;
                        let attempts: i64 = row.try_get("attempts").map_err(be)?;
                        Ok(($crate::codec::from_json(&data, "outbox message")?, u32::try_from(attempts).unwrap_or(0)))
                    })
                    .collect()
            }

            async fn record_delivery(&mut self, id: &uuid::Uuid, outcome: &tessera_domain::messages::DeliveryOutcome, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<()> {
                use sqlx::Row;
                use tessera_domain::messages::DeliveryOutcome;
                let row = sqlx::query("SELECT data FROM outbox WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let Some(row) = row else { return Ok(()) };
                let data: String = row.try_get("data").map_err(be)?;
                let q = match outcome {
                    DeliveryOutcome::Delivered => sqlx::query("UPDATE outbox SET status = 'delivered', delivered_at = $2, last_error = NULL, data = $3 WHERE id = $1")
                        .bind(id.to_string())
                        .bind(now.millis())
                        .bind($crate::codec::redacted(&data)?),
                    DeliveryOutcome::Retry { at, error } => sqlx::query("UPDATE outbox SET status = 'pending', next_attempt_at = $2, last_error = $3 WHERE id = $1")
                        .bind(id.to_string())
                        .bind(at.millis())
                        .bind(error.clone()),
                    // A failed message keeps its body for a while, so an operator can retry it;
                    // the sweeper removes it after that.
                    DeliveryOutcome::Failed { error } => sqlx::query("UPDATE outbox SET status = 'failed', last_error = $2, body_until = $3 WHERE id = $1")
                        .bind(id.to_string())
                        .bind(error.clone())
                        .bind(now.plus(tessera_domain::messages::FAILED_BODY_KEPT).millis()),
                };
                q.execute(&mut *self.tx).await.map_err(be)?;
                Ok(())
            }

            async fn count_pending_messages(&mut self) -> tessera_store::StoreResult<u64> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn list_outbox(&mut self, pool: Option<&tessera_domain::UserPoolId>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::messages::OutboxEntry>> {
                use sqlx::Row;
                let rows = sqlx::query("SELECT data, status, attempts, last_error, delivered_at FROM outbox \
                        WHERE ($1 = '' OR pool_id = $1) ORDER BY created_at DESC, id LIMIT $2")
                    .bind(pool.map(|p| p.as_str()).unwrap_or(""))
                    .bind(limit as i64)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                rows.iter()
                    .map(|row| {
                        let data: String = row.try_get("data").map_err(be)?;
                        let status: String = row.try_get("status").map_err(be)?;
                        $crate::codec::outbox_entry(
                            &data,
                            &status,
                            row.try_get("attempts").map_err(be)?,
                            row.try_get("last_error").map_err(be)?,
                            row.try_get("delivered_at").map_err(be)?,
                        )
                    })
                    .collect()
            }

            async fn sweep_expired(&mut self, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let sessions = sqlx::query("DELETE FROM auth_sessions WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let families = sqlx::query("DELETE FROM token_families WHERE refresh_expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let forget = now.minus(tessera_domain::lockout::FORGET_AFTER);
                let unknown = sqlx::query("DELETE FROM unknown_user_failures WHERE last_failure_at <= $1")
                    .bind(forget.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let sends = sqlx::query("DELETE FROM unknown_name_sends WHERE last_sent_at <= $1")
                    .bind(now.millis() - 3_600_000)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                sqlx::query("DELETE FROM federation_states WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                sqlx::query("DELETE FROM saml_assertions WHERE keep_until <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let grants = sqlx::query("DELETE FROM oauth_grants WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let codes = sqlx::query("DELETE FROM verification_codes WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                // Failed messages kept for a retry lose their body now.
                let kept: Vec<(String, String)> = sqlx::query_as("SELECT id, data FROM outbox WHERE body_until IS NOT NULL AND body_until <= $1")
                    .bind(now.millis())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                for (id, data) in kept {
                    sqlx::query("UPDATE outbox SET data = $2, body_until = NULL WHERE id = $1")
                        .bind(id)
                        .bind($crate::codec::redacted(&data)?)
                        .execute(&mut *self.tx)
                        .await
                        .map_err(be)?;
                }
                sqlx::query("DELETE FROM sign_in_counts WHERE hour < $1")
                    .bind(now.minus(tessera_domain::console::SIGN_IN_COUNTS_KEPT).millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let week_ago = now.minus(std::time::Duration::from_secs(7 * 86_400));
                let messages = sqlx::query("DELETE FROM outbox WHERE status IN ('delivered', 'failed') AND created_at <= $1")
                    .bind(week_ago.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let sts = sqlx::query("DELETE FROM sts_sessions WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(sessions.rows_affected()
                    + sts.rows_affected()
                    + families.rows_affected()
                    + unknown.rows_affected()
                    + sends.rows_affected()
                    + codes.rows_affected()
                    + grants.rows_affected()
                    + messages.rows_affected())
            }
        }

        impl $tx {
            async fn insert_aliases(&mut self, user: &tessera_domain::user::User, aliases: &[tessera_domain::pool::Alias]) -> tessera_store::StoreResult<()> {
                for alias in aliases {
                    sqlx::query("INSERT INTO user_aliases (pool_id, kind, alias_key, sub) VALUES ($1, $2, $3, $4)")
                        .bind(user.pool_id.as_str())
                        .bind($crate::codec::alias_kind(alias.kind))
                        .bind(alias.key.as_str())
                        .bind(user.sub.to_string())
                        .execute(&mut *self.tx)
                        .await
                        .map_err(|e| store_error(e, Some(tessera_store::Conflict::Alias(alias.kind))))?;
                }
                Ok(())
            }
        }

        $crate::iam_tx!($tx, $db);
        $crate::identity_tx!($tx, $db);
        $crate::sync_tx!($tx, $db);
        $crate::federation_tx!($tx, $db);
        $crate::threat_tx!($tx, $db);
        $crate::user_import_tx!($tx, $db);
        $crate::terms_tx!($tx, $db);
        $crate::cimd_tx!($tx, $db);
        $crate::passkey_tx!($tx, $db);
        $crate::history_tx!($tx, $db);
        $crate::reseal_tx!($tx, $db);
        $crate::console_tx!($tx, $db);
    };
}
