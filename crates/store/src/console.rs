//! Storage for the admin console: retrying a failed message, each pool's hourly sign-in
//! counts, and console operator accounts. A supertrait of [`crate::Tx`].

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::console::{ConsoleOperator, SignInCounts};
use tessera_domain::{Timestamp, UserPoolId};
use uuid::Uuid;

#[async_trait]
pub trait ConsoleTx: Send {
    /// Makes a failed message of `pool` that still has its body pending again, due at `now`,
    /// with its attempts counted from zero. Returns whether it did (false: no such message in
    /// the pool, not failed, or its body already removed).
    async fn retry_message(
        &mut self,
        pool: &UserPoolId,
        id: &Uuid,
        now: Timestamp,
    ) -> StoreResult<bool>;

    /// Adds `counts` to the pool's row for `hour` (the hour's first millisecond).
    async fn add_sign_in_counts(
        &mut self,
        pool: &UserPoolId,
        hour: Timestamp,
        counts: &SignInCounts,
    ) -> StoreResult<()>;
    /// The pool's hourly counts for hours in `[from, to)`, oldest first (hours without a row
    /// are absent).
    async fn sign_in_counts(
        &mut self,
        pool: &UserPoolId,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreResult<Vec<(Timestamp, SignInCounts)>>;

    /// Names are unique: `Conflict::Operator` if taken.
    async fn insert_console_operator(&mut self, operator: &ConsoleOperator) -> StoreResult<()>;
    async fn get_console_operator(&mut self, name: &str) -> StoreResult<Option<ConsoleOperator>>;
    /// Every operator, by name.
    async fn list_console_operators(&mut self) -> StoreResult<Vec<ConsoleOperator>>;
    /// Returns whether it existed.
    async fn delete_console_operator(&mut self, name: &str) -> StoreResult<bool>;
}
