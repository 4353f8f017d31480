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

use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Mutex;
use tessera_store::{AccessRead, StoreError, StoreResult};
use tessera_store_sql::codec;

/// Connections kept between reads. A read holds its connection only while it runs, so no more
/// are in use at once than there are runtime threads; this is a ceiling above that.
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

/// Whether a failure is SQLite being busy or locked (the store's own rule, [`crate::busy`]):
/// the pooled path waits for it instead.
fn busy(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => crate::busy(&f.extended_code.to_string()),
        _ => false,
    }
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

/// Whether `codec::access_read_sql` comes back under the names `codec::access_read_columns`
/// gives, in that order: [`read`] reads by position (which spares SQLite a search of 25 names
/// per value), so [`HotReads::open`] checks this before a connection is used.
fn columns_match(conn: &Connection) -> rusqlite::Result<bool> {
    let statement = conn.prepare_cached(codec::access_read_sql())?;
    Ok(statement.column_names() == codec::access_read_columns())
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
        let c = codec::ACCESS_CLIENT_AT;
        let client = match row.get::<_, Option<String>>(c)? {
            Some(client_id) => Some(codec::ClientRow {
                client_id,
                pool_id: row.get(c + 1)?,
                name: row.get(c + 2)?,
                sealed_secret: row.get(c + 3)?,
                secret_created_at: row.get(c + 4)?,
                sealed_secret_2: row.get(c + 5)?,
                secret_2_created_at: row.get(c + 6)?,
                created_at: row.get(c + 7)?,
                modified_at: row.get(c + 8)?,
                config: row.get(c + 9)?,
            }),
            None => None,
        };
        let u = codec::ACCESS_USER_AT;
        let user = match row.get::<_, Option<String>>(u + 1)? {
            Some(sub) => Some(codec::UserRow {
                pool_id: row.get(u)?,
                sub,
                username: row.get(u + 2)?,
                status: row.get(u + 3)?,
                enabled: row.get(u + 4)?,
                failure_count: row.get(u + 5)?,
                last_failure_at: row.get(u + 6)?,
                created_at: row.get(u + 7)?,
                modified_at: row.get(u + 8)?,
                data: row.get(u + 9)?,
                // u + 10 is username_key, which an access read doesn't need.
                srp_salt: row.get(u + 11)?,
                srp_verifier: row.get(u + 12)?,
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
