//! The access-token read without a thread hand-off.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement to it
//! and the rows back: two wake-ups across threads per statement, which under load cost more
//! than the read itself (a `perf` profile of GetUser put a third of the server's CPU in the
//! scheduler). `Store::access_read` — one indexed statement per GetUser, the hot path of every
//! signed-in app — instead runs on the calling thread, on a small set of read-only connections
//! of its own over the same file. It reads the WAL snapshot current when it starts, as a
//! pooled reader would, so a revocation committed before it is seen.
//!
//! It never waits: it asks SQLite for no busy timeout, and when SQLite says busy (a writer
//! recovering the WAL index) or a connection can't be opened it answers `None`, and the caller
//! takes the pooled, asynchronous path. An indexed read of a few pages takes microseconds,
//! well under what a task may hold a runtime thread; a page the OS must fetch from disk is
//! the worst case.

use rusqlite::{Connection, OpenFlags, ffi::ErrorCode};
use std::path::PathBuf;
use std::sync::Mutex;
use tessera_store::{AccessRead, StoreError, StoreResult};
use tessera_store_sql::codec;

/// Connections kept between reads: one per runtime thread is all that can run at once.
const KEEP: usize = 8;

pub(crate) struct HotReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for HotReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotReads")
            .field("path", &self.path)
            .finish()
    }
}

/// Whether a failure is SQLite being busy or locked: the pooled path waits for it instead.
fn busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

impl HotReads {
    /// Reads of the database file at `path`; `None` when there is no such file (an in-memory
    /// database, which another connection could not see).
    pub(crate) fn new(path: PathBuf) -> Option<Self> {
        path.is_file().then(|| HotReads {
            path,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "query_only", "ON")?;
        if !columns_match(&conn)? {
            return Err(rusqlite::Error::InvalidQuery);
        }
        Ok(conn)
    }

    /// `Store::access_read` on the calling thread, or `None` to take the pooled path.
    pub(crate) fn access_read(
        &self,
        origin_jti: &uuid::Uuid,
        pool: &tessera_domain::UserPoolId,
        sub: &tessera_domain::Sub,
        client: &tessera_domain::ClientId,
    ) -> Option<StoreResult<AccessRead>> {
        let idle = self.idle.lock().ok()?.pop();
        let conn = match idle {
            Some(c) => c,
            None => match self.open() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "opening a read connection; reads take the pool");
                    return None;
                }
            },
        };
        let read = read(
            &conn,
            &origin_jti.to_string(),
            pool.as_str(),
            &sub.to_string(),
            client.as_str(),
        );
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP
        {
            idle.push(conn);
        }
        match read {
            Ok(rows) => Some(rows.into_access_read()),
            Err(e) if busy(&e) => None,
            Err(e) => Some(Err(StoreError::Backend(e.to_string()))),
        }
    }
}

/// The columns of `codec::access_read_sql`, in its order: read by position, which spares
/// SQLite a search of 25 names per value. [`HotReads::open`] checks the statement against this
/// before a connection is used.
const COLUMNS: [&str; 25] = [
    "f_sub",
    "f_revoked_at",
    "c_client_id",
    "c_pool_id",
    "c_name",
    "c_sealed_secret",
    "c_secret_created_at",
    "c_sealed_secret_2",
    "c_secret_2_created_at",
    "c_created_at",
    "c_modified_at",
    "c_config",
    "pool_id",
    "sub",
    "username",
    "status",
    "enabled",
    "failure_count",
    "last_failure_at",
    "created_at",
    "modified_at",
    "data",
    "username_key",
    "srp_salt",
    "srp_verifier",
];

/// Whether `codec::access_read_sql` names the columns [`COLUMNS`] expects, in that order.
fn columns_match(conn: &Connection) -> rusqlite::Result<bool> {
    let statement = conn.prepare_cached(codec::access_read_sql())?;
    Ok(statement.column_names() == COLUMNS)
}

fn read(
    conn: &Connection,
    origin_jti: &str,
    pool: &str,
    sub: &str,
    client: &str,
) -> rusqlite::Result<codec::AccessRow> {
    let mut statement = conn.prepare_cached(codec::access_read_sql())?;
    statement.query_row((origin_jti, pool, sub, client), |row| {
        let client = match row.get::<_, Option<String>>(2)? {
            Some(client_id) => Some(codec::ClientRow {
                client_id,
                pool_id: row.get(3)?,
                name: row.get(4)?,
                sealed_secret: row.get(5)?,
                secret_created_at: row.get(6)?,
                sealed_secret_2: row.get(7)?,
                secret_2_created_at: row.get(8)?,
                created_at: row.get(9)?,
                modified_at: row.get(10)?,
                config: row.get(11)?,
            }),
            None => None,
        };
        let user = match row.get::<_, Option<String>>(13)? {
            Some(sub) => Some(codec::UserRow {
                pool_id: row.get(12)?,
                sub,
                username: row.get(14)?,
                status: row.get(15)?,
                enabled: row.get(16)?,
                failure_count: row.get(17)?,
                last_failure_at: row.get(18)?,
                created_at: row.get(19)?,
                modified_at: row.get(20)?,
                data: row.get(21)?,
                srp_salt: row.get(23)?,
                srp_verifier: row.get(24)?,
            }),
            None => None,
        };
        Ok(codec::AccessRow {
            family_sub: row.get(0)?,
            family_revoked_at: row.get(1)?,
            user,
            client,
        })
    })
}
