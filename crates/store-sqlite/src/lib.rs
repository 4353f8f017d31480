//! The embedded SQLite backend: Tessera's default store, one file in the data directory.
//!
//! One writer connection (SQLite allows one writer at a time; a dedicated connection with
//! `BEGIN IMMEDIATE` turns contention into a queue instead of busy errors) and a pool of readers
//! over WAL snapshots. `synchronous = FULL`: a commit is on disk before it is acknowledged.

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};
use std::path::Path;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tessera_store::{Store, StoreError, StoreResult, Tx};

mod hot;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

tessera_store_sql::sql_tx!(SqliteTx, sqlx::Sqlite, for_update = "", contended = busy);

/// SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended forms: another writer holds the lock.
fn busy(code: &str) -> bool {
    code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// `access_read` on the calling thread (see [`hot`]); `None` for an in-memory database.
    hot: Option<Arc<hot::HotReads>>,
    options: SqliteConnectOptions,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` and applies migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::connect(options).await
    }

    /// Opens a `sqlite://…` URL.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend(e.to_string()))?;
        Self::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .log_statements(tracing::log::LevelFilter::Trace);
        // sqlx pings a pooled connection before handing it out unless told not to: for SQLite
        // that is one more hand-off to the connection's thread per transaction, and it tests
        // nothing, since an in-process connection can't lose its server.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("query_only", "ON"))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let hot = hot::HotReads::new(options.get_filename().to_path_buf()).map(Arc::new);
        Ok(Self {
            writer,
            reader,
            hot,
            options,
        })
    }

    /// Writes a consistent copy of the whole database to `dest` (which must not exist) while the
    /// store stays online: `VACUUM INTO` copies one read snapshot, so every write acknowledged
    /// before the backup began is in it, and writers go on meanwhile (WAL). The copy is checked
    /// before this returns.
    pub async fn backup_to(&self, dest: &Path) -> StoreResult<()> {
        if dest.exists() {
            return Err(StoreError::Backend(format!(
                "{} exists; a backup never overwrites a file",
                dest.display()
            )));
        }
        let dest_text = dest
            .to_str()
            .ok_or_else(|| StoreError::Backend("the backup path must be UTF-8".into()))?;
        // Its own connection: the readers are query_only, and the writer must stay free.
        let mut conn = self.options.connect().await.map_err(be)?;
        sqlx::query("VACUUM INTO ?")
            .bind(dest_text)
            .execute(&mut conn)
            .await
            .map_err(be)?;
        conn.close().await.map_err(be)?;
        check_backup(dest).await.map(drop)
    }
}

/// The database file a `sqlite://…` URL names.
pub fn path_of_url(url: &str) -> StoreResult<PathBuf> {
    let options =
        SqliteConnectOptions::from_str(url).map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(options.get_filename().to_path_buf())
}

/// Checks a backup file: SQLite's integrity check passes and it holds no migration this build
/// doesn't know. Returns its schema version (the newest migration applied).
pub async fn check_backup(path: &Path) -> StoreResult<i64> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut conn = options.connect().await.map_err(be)?;
    let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(be)?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{} fails SQLite's integrity check: {verdict}",
            path.display()
        )));
    }
    let (version,): (Option<i64>,) =
        sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .map_err(|e| {
                StoreError::Corrupt(format!("{} is not a Tessera store: {e}", path.display()))
            })?;
    conn.close().await.map_err(be)?;
    let version = version
        .ok_or_else(|| StoreError::Corrupt(format!("{} holds no migrations", path.display())))?;
    let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if version > known {
        return Err(StoreError::Backend(format!(
            "{} is from a newer Tessera (schema {version}; this build knows {known})",
            path.display()
        )));
    }
    Ok(version)
}

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(be)?;
        Ok(Box::new(SqliteTx::new(tx, true)))
    }

    async fn read(&self) -> StoreResult<Box<dyn Tx>> {
        let tx = self.reader.begin().await.map_err(be)?;
        Ok(Box::new(SqliteTx::new(tx, false)))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn access_read(
        &self,
        origin_jti: &uuid::Uuid,
        pool: &tessera_domain::UserPoolId,
        sub: &tessera_domain::Sub,
        client: &tessera_domain::ClientId,
    ) -> StoreResult<tessera_store::AccessRead> {
        if let Some(read) = self
            .hot
            .as_ref()
            .and_then(|hot| hot.access_read(origin_jti, pool, sub, client))
        {
            return read;
        }
        access_read(&self.reader, origin_jti, pool, sub, client).await
    }

    async fn list_users(
        &self,
        pool: &tessera_domain::UserPoolId,
        query: &tessera_store::UserQuery<'_>,
    ) -> StoreResult<Vec<(String, tessera_domain::user::User)>> {
        if let Some(page) = self
            .hot
            .as_ref()
            .and_then(|hot| hot.list_users(pool, query))
        {
            return page;
        }
        let mut tx = self.read().await?;
        tx.list_users(pool, query).await
    }

    async fn ready(&self) -> StoreResult<()> {
        let (applied,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.reader)
                .await
                .map_err(be)?;
        tessera_store_sql::schema_current(applied, MIGRATOR.iter().map(|m| m.version).max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn make() -> Option<Arc<dyn Store>> {
        // Each test gets its own file; the directory lives as long as the process.
        let dir = tempfile::tempdir()
            .map(|d| d.keep())
            .unwrap_or_else(|e| panic!("{e}"));
        let store = SqliteStore::open(&dir.join("tessera.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Some(Arc::new(store))
    }

    tessera_store::store_conformance!(make);

    /// A client with a secret from before migration 0010 keeps it, dated (and so named) by
    /// the client's creation.
    #[tokio::test]
    async fn a_secret_from_before_rotation_gets_an_id() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("tessera.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let old = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let before = sqlx::migrate::Migrator {
            migrations: MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < 10)
                .cloned()
                .collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        before.run(&old).await.unwrap_or_else(|e| panic!("{e}"));
        let config = serde_json::to_string(&tessera_domain::client::ClientConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for statement in [
            "INSERT INTO user_pools (id, name, created_at, modified_at, config) VALUES ('us-east-1_OLD', 'old', 1000, 1000, '{}')",
            "INSERT INTO app_clients (client_id, pool_id, name, sealed_secret, created_at, modified_at, config) \
             VALUES ('oldclient', 'us-east-1_OLD', 'old', x'010203', 1234, 1234, $1)",
        ] {
            sqlx::query(statement)
                .bind(&config)
                .execute(&old)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        old.close().await;
        let store = SqliteStore::open(&path)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut tx = store.read().await.unwrap_or_else(|e| panic!("{e}"));
        let id = tessera_domain::ClientId::parse("oldclient").unwrap_or_else(|e| panic!("{e}"));
        let client = tx
            .get_client(&id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("client lost"));
        assert_eq!(
            client.secrets,
            vec![tessera_domain::client::ClientSecret {
                sealed: tessera_domain::client::SealedSecret(vec![1, 2, 3]),
                created_at: tessera_domain::Timestamp::from_millis(1234),
            }]
        );
        assert_eq!(client.secrets[0].id(&id), "oldclient--1234");
    }

    #[test]
    fn busy_codes() {
        assert!(busy("5"));
        assert!(busy("517"));
        assert!(busy("6"));
        assert!(!busy("19"));
        assert!(!busy("2067"));
    }

    /// A store on a file of its own (kept while the directory is), and its calling-thread reads.
    async fn file_store() -> (tempfile::TempDir, SqliteStore, Arc<hot::HotReads>) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = SqliteStore::open(&dir.path().join("tessera.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let hot = store.hot.clone().unwrap_or_else(|| panic!("no hot reads"));
        (dir, store, hot)
    }

    /// The access read on the calling thread answers itself (it doesn't fall back to the
    /// pool), reads what the pooled path reads, sees a revocation the moment it commits, and
    /// doesn't wait for a writer holding the lock: it reads the snapshot from before.
    #[tokio::test]
    async fn the_hot_access_read_matches_the_pool_and_never_waits() {
        use tessera_store::conformance::{client, family, pool, t, user};
        let (_dir, store, hot) = file_store().await;
        let p = pool("us-east-1_HOT");
        let mut u = user(&p, 1, "ann");
        u.srp = Some(tessera_domain::user::SrpCredential {
            salt: vec![1, 2],
            sealed_verifier: vec![3, 4, 5],
        });
        let c = client(&p, "hot1");
        let family = family(&u, &c.client_id, 7);
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.insert_pool(&p).await.unwrap_or_else(|e| panic!("{e}"));
        tx.insert_user(&u, &u.username.key(true), &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.insert_client(&c).await.unwrap_or_else(|e| panic!("{e}"));
        tx.insert_token_family(&family)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

        let read_hot = || {
            hot.access_read(&family.origin_jti, &p.id, &u.sub, &c.client_id)
                .unwrap_or_else(|| panic!("the hot read fell back"))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let pooled = access_read(
            &store.reader,
            &family.origin_jti,
            &p.id,
            &u.sub,
            &c.client_id,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let hot_read = read_hot();
        assert_eq!(hot_read.family, pooled.family);
        assert_eq!(hot_read.user, Some(u.clone()));
        assert_eq!(hot_read.client, Some(c.clone()));
        assert_eq!(hot_read.client, pooled.client);

        // A writer holds the lock with the revocation not yet committed: the read answers at
        // once with the snapshot before it; committed, the next read sees it.
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.revoke_token_family(&family.origin_jti, t(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_hot().family.map(|f| f.revoked), Some(false));
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_hot().family.map(|f| f.revoked), Some(true));

        // An in-memory database has no file another connection could read: no hot reads.
        let memory = SqliteStore::open_url("sqlite::memory:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(memory.hot.is_none());
    }

    /// A ListUsers page of an index range is read on the calling thread (it doesn't fall back
    /// to the pool), the snapshot before an uncommitted write, without waiting for it; a
    /// listing that may walk the pool (`status = "Enabled"`) always takes the pool.
    #[tokio::test]
    async fn a_listing_of_a_range_is_read_on_the_calling_thread_and_a_walk_is_not() {
        use tessera_domain::filter::UserFilter;
        use tessera_store::UserQuery;
        use tessera_store::conformance::{pool, user};
        let (_dir, store, hot) = file_store().await;
        let p = pool("us-east-1_LISTHOT");
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.insert_pool(&p).await.unwrap_or_else(|e| panic!("{e}"));
        for (i, name) in ["ann", "anna", "bob"].iter().enumerate() {
            let u = user(&p, i as u8 + 1, name);
            tx.insert_user(&u, &u.username.key(true), &[])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let prefix = UserFilter::parse(r#"username ^= "ann""#)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("no filter"));
        let query = UserQuery {
            filter: Some(&prefix),
            case_sensitive: true,
            after: None,
            limit: 60,
        };
        let names = |page: Vec<(String, tessera_domain::user::User)>| {
            page.into_iter()
                .map(|(key, u)| (key, u.username.as_str().to_owned()))
                .collect::<Vec<_>>()
        };
        let read_hot = || {
            names(
                hot.list_users(&p.id, &query)
                    .unwrap_or_else(|| panic!("the hot listing fell back"))
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        };
        let expected = vec![
            ("ann".to_owned(), "ann".to_owned()),
            ("anna".to_owned(), "anna".to_owned()),
        ];
        assert_eq!(read_hot(), expected);

        // A writer holds the lock with a new matching user not yet committed: the listing
        // answers at once without it; committed, the next listing has it.
        let annabel = user(&p, 9, "annabel");
        let mut tx = store.begin().await.unwrap_or_else(|e| panic!("{e}"));
        tx.insert_user(&annabel, &annabel.username.key(true), &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_hot(), expected);
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_hot().len(), 3);

        let walk = UserFilter::parse(r#"status = "Enabled""#)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .unwrap_or_else(|| panic!("no filter"));
        let walking = UserQuery {
            filter: Some(&walk),
            ..query
        };
        assert!(hot.list_users(&p.id, &walking).is_none());
        // The store answers it all the same, through the pool.
        let page = store
            .list_users(&p.id, &walking)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.len(), 4);
    }
}
