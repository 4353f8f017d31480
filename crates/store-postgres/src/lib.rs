//! The PostgreSQL backend: for running many stateless Tessera nodes against one database.
//!
//! Transactions run at READ COMMITTED with explicit row locks (`FOR UPDATE`) where a read
//! decides a write, and compare-and-swap updates for counters. Serialization failures and
//! deadlocks surface as `StoreError::Contended`, which the engine retries.

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use std::str::FromStr;
use std::time::Duration;
use tessera_store::{Store, StoreError, StoreResult, Tx};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

tessera_store_sql::sql_tx!(
    PgTx,
    sqlx::Postgres,
    for_update = " FOR UPDATE OF u",
    contended = retryable
);

/// serialization_failure, deadlock_detected, lock_not_available.
fn retryable(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "55P03")
}

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

#[derive(Clone, Debug)]
pub struct PgSettings {
    pub max_connections: u32,
    /// Run in this schema (created if missing) instead of `public`: for tests and for sharing a
    /// database between deployments.
    pub schema: Option<String>,
}

impl Default for PgSettings {
    fn default() -> Self {
        Self {
            max_connections: 16,
            schema: None,
        }
    }
}

impl PgStore {
    /// Connects to a `postgres://…` URL and applies migrations.
    pub async fn connect(url: &str, settings: &PgSettings) -> StoreResult<Self> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .log_statements(tracing::log::LevelFilter::Trace);
        if let Some(schema) = &settings.schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Backend(format!("invalid schema name {schema}")));
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.clone())
                .await
                .map_err(be)?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}"
            )))
            .execute(&admin)
            .await
            .map_err(be)?;
            admin.close().await;
            options = options.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(be)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
            .fetch_one(&pool)
            .await
            .map_err(be)?;
        if autovacuum != "on" {
            tracing::warn!(
                "PostgreSQL's autovacuum is off: planner statistics go stale as pools grow (Tessera \
                 refreshes them after user imports); run VACUUM ANALYZE regularly"
            );
        }
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.pool.begin().await.map_err(be)?;
        Ok(Box::new(PgTx::new(tx, true)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(be)?;
        Ok(Box::new(PgTx::new(tx, false)))
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn access_read(
        &self,
        origin_jti: &uuid::Uuid,
        pool: &tessera_domain::UserPoolId,
        sub: &tessera_domain::Sub,
        client: &tessera_domain::ClientId,
    ) -> StoreResult<tessera_store::AccessRead> {
        access_read(&self.pool, origin_jti, pool, sub, client).await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE users, user_aliases")
            .execute(&self.pool)
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn ready(&self) -> StoreResult<()> {
        let (applied,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(be)?;
        tessera_store_sql::schema_current(applied, MIGRATOR.iter().map(|m| m.version).max())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The test database: `TESSERA_TEST_POSTGRES_URL`, or CI's local server.
    pub fn url() -> String {
        std::env::var("TESSERA_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// A store in a fresh schema of the test database, or `None` (skip) when the server isn't
    /// reachable — unless `TESSERA_REQUIRE_POSTGRES` is set, as CI sets it, so nothing is
    /// skipped silently there. Schemas left by earlier runs (of other processes) are dropped
    /// first, so the database doesn't grow run after run.
    async fn make() -> Option<Arc<dyn Store>> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let pid = std::process::id();
        store_in(format!(
            "tessera_t_{pid}_{}",
            N.fetch_add(1, Ordering::SeqCst)
        ))
        .await
    }

    async fn store_in(schema: String) -> Option<Arc<dyn Store>> {
        let pid = std::process::id();
        let admin = match PgPoolOptions::new()
            .max_connections(1)
            .connect(&url())
            .await
        {
            Ok(a) => a,
            Err(e) if std::env::var_os("TESSERA_REQUIRE_POSTGRES").is_none() => {
                eprintln!("PostgreSQL at {} unreachable ({e}); skipping", url());
                return None;
            }
            Err(e) => panic!(
                "PostgreSQL at {} is required (TESSERA_REQUIRE_POSTGRES): {e}",
                url()
            ),
        };
        let stale: Vec<(String,)> =
            sqlx::query_as("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tessera_t_%'")
                .fetch_all(&admin)
                .await
                .unwrap_or_default();
        for (name,) in stale {
            let owner_pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
            let alive = owner_pid
                .is_some_and(|p| p == pid || std::path::Path::new(&format!("/proc/{p}")).exists());
            if !alive {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {name} CASCADE"
                )))
                .execute(&admin)
                .await;
            }
        }
        admin.close().await;
        let store = PgStore::connect(
            &url(),
            &PgSettings {
                max_connections: 8,
                schema: Some(schema),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        Some(Arc::new(store))
    }

    tessera_store::store_conformance!(make);

    /// A connection plans a username lookup while its pool is empty and keeps that plan; the
    /// pool then grows by a bulk insert the database never measures (autovacuum off, as on a
    /// test box). Refreshing the statistics must replace the kept plan with one that uses the
    /// (pool, username) key rather than walking the pool through another index.
    #[tokio::test]
    async fn refreshed_statistics_replan_username_lookups_by_their_key() {
        if make().await.is_none() {
            return;
        }
        let schema = format!("tessera_t_{}_stats", std::process::id());
        let store = PgStore::connect(
            &url(),
            &PgSettings {
                max_connections: 2,
                schema: Some(schema),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let mut conn = store.pool().acquire().await.unwrap();
        async fn plan(conn: &mut sqlx::PgConnection) -> String {
            let lines: Vec<String> =
                sqlx::query_scalar("EXPLAIN EXECUTE lookup('us-east-1_stats', 'u7')")
                    .fetch_all(conn)
                    .await
                    .unwrap();
            lines.join("\n")
        }
        for sql in [
            "ALTER TABLE users SET (autovacuum_enabled = false)",
            "INSERT INTO user_pools (id, name, created_at, modified_at, config) VALUES ('us-east-1_stats', 'p', 0, 0, '{}')",
            "SET plan_cache_mode = force_generic_plan",
            "PREPARE lookup(text, text) AS SELECT sub FROM users WHERE pool_id = $1 AND username_key = $2",
        ] {
            sqlx::query(sql).execute(&mut *conn).await.unwrap();
        }
        let empty = plan(&mut conn).await;
        sqlx::query(
            "INSERT INTO users (pool_id, sub, username, username_key, status, enabled, created_at, modified_at, data) \
                SELECT 'us-east-1_stats', 'sub-' || i, 'u' || i, 'u' || i, 'CONFIRMED', true, 0, 0, '{}' \
                FROM generate_series(1, 5000) i",
        )
        .execute(&mut *conn)
        .await
        .unwrap();

        store.refresh_statistics().await.unwrap();

        let measured: f32 =
            sqlx::query_scalar("SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        assert_eq!(measured, 5000.0);
        let grown = plan(&mut conn).await;
        assert!(
            grown.contains("using users_username_key"),
            "planned while empty:\n{empty}\nafter the refresh:\n{grown}"
        );
    }

    /// The two backends' migrations must describe the same logical schema: same tables, same
    /// columns, same nullability.
    #[tokio::test]
    async fn migrations_are_in_lockstep() {
        type Columns = std::collections::BTreeSet<(String, String, bool)>;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("schema.db");
        tessera_store_sqlite::SqliteStore::open(&path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let lite = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut sqlite = Columns::new();
        let tables: Vec<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
        )
        .fetch_all(&lite)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        for (table,) in tables {
            let cols: Vec<(String, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT name, \"notnull\", pk FROM pragma_table_info('{table}')"
            )))
            .fetch_all(&lite)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            for (name, notnull, pk) in cols {
                sqlite.insert((table.clone(), name, notnull == 1 || pk > 0));
            }
        }

        let schema = format!("tessera_t_{}_lockstep", std::process::id());
        let Some(store) = store_in(schema.clone()).await else {
            return;
        };
        drop(store);
        let pg = PgPoolOptions::new()
            .connect(&url())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text, is_nullable::text FROM information_schema.columns \
             WHERE table_schema = $1 AND table_name NOT LIKE '_sqlx%'",
        )
        .bind(&schema)
        .fetch_all(&pg)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let postgres: Columns = rows
            .into_iter()
            .map(|(t, c, nullable)| (t, c, nullable == "NO"))
            .collect();
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }
}
