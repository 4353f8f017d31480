//! The admin console's part of the SQL transaction ([`tessera_store::ConsoleTx`]), instantiated
//! by [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// An operator from its row `(name, password, created_at)`.
pub fn operator(
    (name, password_phc, at): (String, String, i64),
) -> tessera_domain::console::ConsoleOperator {
    tessera_domain::console::ConsoleOperator {
        name,
        password_phc,
        created_at: tessera_domain::Timestamp::from_millis(at),
    }
}

/// Implements `tessera_store::ConsoleTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! console_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::ConsoleTx for $tx {
            async fn retry_message(&mut self, pool: &tessera_domain::UserPoolId, id: &uuid::Uuid, now: tessera_domain::Timestamp) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $3, \
                        last_error = NULL, body_until = NULL \
                        WHERE pool_id = $1 AND id = $2 AND status = 'failed' AND body_until IS NOT NULL")
                    .bind(pool.as_str())
                    .bind(id.to_string())
                    .bind(now.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn add_sign_in_counts(&mut self, pool: &tessera_domain::UserPoolId, hour: tessera_domain::Timestamp, c: &tessera_domain::console::SignInCounts) -> tessera_store::StoreResult<()> {
                let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
                sqlx::query("INSERT INTO sign_in_counts (pool_id, hour, sign_ins, failures, lockouts) VALUES ($1, $2, $3, $4, $5) \
                        ON CONFLICT (pool_id, hour) DO UPDATE SET sign_ins = sign_in_counts.sign_ins + excluded.sign_ins, \
                        failures = sign_in_counts.failures + excluded.failures, lockouts = sign_in_counts.lockouts + excluded.lockouts")
                    .bind(pool.as_str())
                    .bind(hour.millis())
                    .bind(n(c.sign_ins))
                    .bind(n(c.failures))
                    .bind(n(c.lockouts))
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn sign_in_counts(&mut self, pool: &tessera_domain::UserPoolId, from: tessera_domain::Timestamp, to: tessera_domain::Timestamp) -> tessera_store::StoreResult<Vec<(tessera_domain::Timestamp, tessera_domain::console::SignInCounts)>> {
                let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as("SELECT hour, sign_ins, failures, lockouts FROM sign_in_counts \
                        WHERE pool_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour")
                    .bind(pool.as_str())
                    .bind(from.millis())
                    .bind(to.millis())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                let n = |v: i64| u64::try_from(v).unwrap_or(0);
                Ok(rows
                    .into_iter()
                    .map(|(hour, s, f, l)| {
                        (
                            tessera_domain::Timestamp::from_millis(hour),
                            tessera_domain::console::SignInCounts { sign_ins: n(s), failures: n(f), lockouts: n(l) },
                        )
                    })
                    .collect())
            }

            async fn insert_console_operator(&mut self, o: &tessera_domain::console::ConsoleOperator) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO console_operators (name, password, created_at) VALUES ($1, $2, $3)")
                    .bind(&o.name)
                    .bind(&o.password_phc)
                    .bind(o.created_at.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(|e| store_error(e, Some(tessera_store::Conflict::Operator)))?;
                Ok(())
            }

            async fn get_console_operator(&mut self, name: &str) -> tessera_store::StoreResult<Option<tessera_domain::console::ConsoleOperator>> {
                let row: Option<(String, String, i64)> = sqlx::query_as("SELECT name, password, created_at FROM console_operators WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(row.map($crate::console::operator))
            }

            async fn list_console_operators(&mut self) -> tessera_store::StoreResult<Vec<tessera_domain::console::ConsoleOperator>> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT name, password, created_at FROM console_operators ORDER BY name")
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(rows.into_iter().map($crate::console::operator).collect())
            }

            async fn delete_console_operator(&mut self, name: &str) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM console_operators WHERE name = $1")
                    .bind(name)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
