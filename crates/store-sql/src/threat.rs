//! The threat-protection part of the SQL transaction ([`tessera_store::ThreatTx`]), instantiated
//! by [`sql_tx!`](crate::sql_tx) beside the user-pool half.

/// Implements `tessera_store::ThreatTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! threat_tx {
    ($tx:ident, $db:ty) => {
        #[async_trait::async_trait]
        impl tessera_store::ThreatTx for $tx {
            async fn insert_auth_event(&mut self, e: &tessera_domain::threat::AuthEvent) -> tessera_store::StoreResult<()> {
                sqlx::query("INSERT INTO auth_events (pool_id, event_id, sub, created_at, event_type, response, ip, feedback, data) \
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(e.pool_id.as_str())
                    .bind(&e.event_id)
                    .bind(e.sub.to_string())
                    .bind(e.created_at.millis())
                    .bind($crate::threat::event_type(e))
                    .bind($crate::threat::response(e))
                    .bind(e.context.ip.as_deref())
                    .bind($crate::threat::feedback(e))
                    .bind($crate::codec::to_json(e)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(())
            }

            async fn update_auth_event(&mut self, e: &tessera_domain::threat::AuthEvent) -> tessera_store::StoreResult<bool> {
                let done = sqlx::query("UPDATE auth_events SET response = $3, feedback = $4, data = $5 WHERE pool_id = $1 AND event_id = $2")
                    .bind(e.pool_id.as_str())
                    .bind(&e.event_id)
                    .bind($crate::threat::response(e))
                    .bind($crate::threat::feedback(e))
                    .bind($crate::codec::to_json(e)?)
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected() == 1)
            }

            async fn get_auth_event(&mut self, pool: &tessera_domain::UserPoolId, event_id: &str) -> tessera_store::StoreResult<Option<tessera_domain::threat::AuthEvent>> {
                let data = sqlx::query_scalar::<_, String>("SELECT data FROM auth_events WHERE pool_id = $1 AND event_id = $2")
                    .bind(pool.as_str())
                    .bind(event_id)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(be)?;
                data.map(|d| $crate::codec::from_json(&d, "auth event")).transpose()
            }

            async fn list_auth_events(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, after: Option<(tessera_domain::Timestamp, &str)>, limit: usize) -> tessera_store::StoreResult<Vec<tessera_domain::threat::AuthEvent>> {
                // Keyset paging on (created_at, event_id), newest first.
                let rows = match after {
                    Some((at, id)) => sqlx::query_scalar::<_, String>("SELECT data FROM auth_events WHERE pool_id = $1 AND sub = $2 \
                            AND (created_at < $3 OR (created_at = $3 AND event_id < $4)) \
                            ORDER BY created_at DESC, event_id DESC LIMIT $5")
                        .bind(pool.as_str())
                        .bind(sub.to_string())
                        .bind(at.millis())
                        .bind(id)
                        .bind(limit as i64)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(be)?,
                    None => sqlx::query_scalar::<_, String>("SELECT data FROM auth_events WHERE pool_id = $1 AND sub = $2 \
                            ORDER BY created_at DESC, event_id DESC LIMIT $3")
                        .bind(pool.as_str())
                        .bind(sub.to_string())
                        .bind(limit as i64)
                        .fetch_all(&mut *self.tx)
                        .await
                        .map_err(be)?,
                };
                rows.iter().map(|d| $crate::codec::from_json(d, "auth event")).collect()
            }

            async fn known_ip(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, ip: &str) -> tessera_store::StoreResult<bool> {
                let found = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM auth_events WHERE pool_id = $1 AND sub = $2 AND ip = $3 \
                        AND (feedback = 'Valid' OR (response = 'Pass' AND feedback IS NULL))")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(ip)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(found > 0)
            }

            async fn disowned_ip(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub, ip: &str) -> tessera_store::StoreResult<bool> {
                let found = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM auth_events WHERE pool_id = $1 AND sub = $2 AND ip = $3 AND feedback = 'Invalid'")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .bind(ip)
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(found > 0)
            }

            async fn has_auth_events(&mut self, pool: &tessera_domain::UserPoolId, sub: &tessera_domain::Sub) -> tessera_store::StoreResult<bool> {
                let found = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM (SELECT 1 AS one FROM auth_events WHERE pool_id = $1 AND sub = $2 LIMIT 1) AS first")
                    .bind(pool.as_str())
                    .bind(sub.to_string())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(found > 0)
            }

            async fn failures_from_ip(&mut self, pool: &tessera_domain::UserPoolId, ip: &str, since: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let n = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM auth_events WHERE pool_id = $1 AND ip = $2 AND created_at >= $3 \
                        AND event_type = 'SignIn' AND response = 'Fail'")
                    .bind(pool.as_str())
                    .bind(ip)
                    .bind(since.millis())
                    .fetch_one(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(n.max(0) as u64)
            }

            async fn prune_auth_events(&mut self, before: tessera_domain::Timestamp) -> tessera_store::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM auth_events WHERE created_at < $1")
                    .bind(before.millis())
                    .execute(&mut *self.tx)
                    .await
                    .map_err(be)?;
                Ok(done.rows_affected())
            }
        }
    };
}

/// The `event_type` column: the variant's name, as the wire spells it.
pub fn event_type(e: &tessera_domain::threat::AuthEvent) -> &'static str {
    use tessera_domain::threat::AuthEventType::*;
    match e.event_type {
        SignIn => "SignIn",
        SignUp => "SignUp",
        ForgotPassword => "ForgotPassword",
        PasswordChange => "PasswordChange",
        ResendCode => "ResendCode",
    }
}

pub fn response(e: &tessera_domain::threat::AuthEvent) -> &'static str {
    use tessera_domain::threat::EventResponse::*;
    match e.response {
        Pass => "Pass",
        Fail => "Fail",
        InProgress => "InProgress",
    }
}

pub fn feedback(e: &tessera_domain::threat::AuthEvent) -> Option<&'static str> {
    use tessera_domain::threat::FeedbackValue::*;
    e.feedback.as_ref().map(|f| match f.value {
        Valid => "Valid",
        Invalid => "Invalid",
    })
}
