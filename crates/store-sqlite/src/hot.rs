//! The hot reads without a thread hand-off.
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every statement to it
//! and each row back: two wake-ups across threads per statement, and one more per row, which
//! under load cost more than the reads themselves (a `perf` profile of GetUser put a third of
//! the server's CPU in the scheduler; of ListUsers, a quarter in the scheduler and in copying
//! each value for the trip). Two reads instead run on the calling thread, on a small set of
//! read-only connections of their own over the same file: `Store::access_read` — one indexed
//! statement per GetUser, the hot path of every signed-in app — and `Store::list_users` for
//! a listing that reads an index range (a page of at most 60 users, each a few hundred bytes).
//! Each reads the WAL snapshot current when it starts, as a pooled reader would, so a write
//! committed before it (a revocation, a new user) is seen.
//!
//! They never wait: they ask SQLite for no busy timeout, and when SQLite says busy (a writer
//! recovering the WAL index) or a connection can't be opened they answer `None`, and the caller
//! takes the pooled, asynchronous path. An access read of a few cached pages takes 10–20 µs;
//! a listing page of 60 users about 0.2 ms of SQLite stepping and copying (measured with
//! `perf` under load, release build) — more than a task should usually hold a runtime thread,
//! less than the hand-offs it replaces cost the whole server (ListUsers at c = 16 went from
//! 1,300–1,500 to 2,400–2,550 pages/s and p99 from 18–23 to 12–13 ms). A page the OS must
//! fetch from disk is the worst case. A listing that may walk the pool (`status ^=`,
//! `enabled`) always takes the pool.

use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::Mutex;
use tessera_domain::user::User;
use tessera_store::{AccessRead, StoreError, StoreResult, UserQuery};
use tessera_store_sql::codec;

/// Connections kept between reads. A read holds its connection only while it runs, so no more
/// are in use at once than there are runtime threads; this is a ceiling above that.
const KEEP: usize = 8;

/// A failure to open a read connection is logged at most this often: each GetUser tries again,
/// and a warning per request would bury the log while the pooled path keeps answering.
const WARN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub(crate) struct HotReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// When an open failure was last logged.
    warned_at: Mutex<Option<std::time::Instant>>,
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
            warned_at: Mutex::new(None),
        })
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        // Listings are statements per filter kind and page size; keep them all prepared.
        conn.set_prepared_statement_cache_capacity(64);
        conn.pragma_update(None, "query_only", "ON")?;
        if !columns_match(&conn)? {
            return Err(rusqlite::Error::InvalidQuery);
        }
        Ok(conn)
    }

    /// Whether an open failure at `now` is logged: the first, then one per [`WARN_EVERY`].
    fn should_warn(&self, now: std::time::Instant) -> bool {
        let Ok(mut at) = self.warned_at.lock() else {
            return false;
        };
        match *at {
            Some(last) if now.duration_since(last) < WARN_EVERY => false,
            _ => {
                *at = Some(now);
                true
            }
        }
    }

    /// Runs `read` on an idle connection (or a new one), or answers `None` — take the pooled
    /// path — when no connection can be had or SQLite is busy.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Option<StoreResult<T>> {
        let idle = self.idle.lock().ok()?.pop();
        let conn = match idle {
            Some(c) => c,
            None => match self.open() {
                Ok(c) => c,
                Err(e) => {
                    if self.should_warn(std::time::Instant::now()) {
                        tracing::warn!(error = %e, "opening a read connection; reads take the pool");
                    }
                    return None;
                }
            },
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP
        {
            idle.push(conn);
        }
        match result {
            Ok(value) => Some(Ok(value)),
            Err(e) if busy(&e) => None,
            Err(e) => Some(Err(StoreError::Backend(e.to_string()))),
        }
    }

    /// `Store::access_read` on the calling thread, or `None` to take the pooled path.
    pub(crate) fn access_read(
        &self,
        origin_jti: &uuid::Uuid,
        pool: &tessera_domain::UserPoolId,
        sub: &tessera_domain::Sub,
        client: &tessera_domain::ClientId,
    ) -> Option<StoreResult<AccessRead>> {
        let rows = self.with_connection(|conn| {
            read(
                conn,
                &origin_jti.to_string(),
                pool.as_str(),
                &sub.to_string(),
                client.as_str(),
            )
        })?;
        Some(rows.and_then(codec::AccessRow::into_access_read))
    }

    /// `Store::list_users` on the calling thread, or `None` to take the pooled path — always
    /// for a listing that walks the pool ([`codec::UserListing::walks`]), which must not hold a
    /// runtime thread. A page of any other listing is its `LIMIT` rows read in index order.
    pub(crate) fn list_users(
        &self,
        pool: &tessera_domain::UserPoolId,
        query: &UserQuery<'_>,
    ) -> Option<StoreResult<Vec<(String, User)>>> {
        let Some(listing) = codec::user_listing(query.filter, query.case_sensitive, query.after)
        else {
            return Some(Ok(Vec::new()));
        };
        if listing.walks {
            return None;
        }
        let rows = self.with_connection(|conn| {
            let mut statement = conn.prepare_cached(&listing.sql(query.limit))?;
            statement.raw_bind_parameter(1, pool.as_str())?;
            for (i, value) in listing.binds.iter().enumerate() {
                match value {
                    codec::FilterValue::Text(v) => {
                        statement.raw_bind_parameter(i + 2, v.as_str())?
                    }
                    codec::FilterValue::Bool(v) => statement.raw_bind_parameter(i + 2, *v)?,
                }
            }
            let mut rows = statement.raw_query();
            let mut out = Vec::with_capacity(query.limit);
            while let Some(row) = rows.next()? {
                let key: String = row.get(codec::USER_KEY_AT)?;
                out.push((key, user_at(row, 0)?));
            }
            Ok(out)
        })?;
        Some(rows.and_then(|rows| {
            rows.into_iter()
                .map(|(key, row)| {
                    let user = row.into_user()?;
                    Ok((listing.cursor(key, &user), user))
                })
                .collect()
        }))
    }
}

/// Whether `codec::access_read_sql` comes back under the names `codec::access_read_columns`
/// gives, in that order, and a listing under [`codec::user_column_names`]: [`read`] and
/// [`HotReads::list_users`] read by position (which spares SQLite a search of 25 names per
/// value), so [`HotReads::open`] checks this before a connection is used.
fn columns_match(conn: &Connection) -> rusqlite::Result<bool> {
    let statement = conn.prepare_cached(codec::access_read_sql())?;
    if statement.column_names() != codec::access_read_columns() {
        return Ok(false);
    }
    let listing = codec::user_listing(None, true, None)
        .ok_or(rusqlite::Error::InvalidQuery)?
        .sql(1);
    let statement = conn.prepare(&listing)?;
    Ok(statement
        .column_names()
        .into_iter()
        .eq(codec::user_column_names()))
}

/// The user's columns, in [`codec::USER_COLUMNS`]' order from `u`.
fn user_at(row: &rusqlite::Row<'_>, u: usize) -> rusqlite::Result<codec::UserRow> {
    Ok(codec::UserRow {
        pool_id: row.get(u)?,
        sub: row.get(u + 1)?,
        username: row.get(u + 2)?,
        status: row.get(u + 3)?,
        enabled: row.get(u + 4)?,
        failure_count: row.get(u + 5)?,
        last_failure_at: row.get(u + 6)?,
        created_at: row.get(u + 7)?,
        modified_at: row.get(u + 8)?,
        data: row.get(u + 9)?,
        // u + 10 is username_key (codec::USER_KEY_AT), which a listing reads as its cursor.
        srp_salt: row.get(u + 11)?,
        srp_verifier: row.get(u + 12)?,
    })
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
            Some(_) => Some(user_at(row, u)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn an_open_failure_is_logged_once_a_minute_not_once_a_request() {
        let reads = HotReads {
            path: PathBuf::from("/nonexistent/tessera.db"),
            idle: Mutex::new(Vec::new()),
            warned_at: Mutex::new(None),
        };
        let t0 = Instant::now();
        assert!(reads.should_warn(t0), "the first failure is logged");
        assert!(!reads.should_warn(t0 + Duration::from_secs(1)));
        assert!(!reads.should_warn(t0 + WARN_EVERY - Duration::from_millis(1)));
        assert!(
            reads.should_warn(t0 + WARN_EVERY),
            "and again after a minute"
        );
        assert!(!reads.should_warn(t0 + WARN_EVERY + Duration::from_secs(30)));
        // A file that can't be opened still answers None (take the pool), every time.
        assert!(reads.open().is_err());
    }
}
