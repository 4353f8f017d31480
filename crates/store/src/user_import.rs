//! Storage for user import jobs: the job (with its progress cursor), the uploaded CSV, and the
//! per-row error log. A supertrait of [`crate::Tx`].
//!
//! A job advances by compare-and-set on its cursor and status ([`UserImportTx::advance_import_job`]) in the
//! same transaction as the users its batch inserts, so a batch is imported exactly once even if
//! a node dies mid-batch or two nodes resume the same job.

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::UserPoolId;
use tessera_domain::user_import::{ImportJobStatus, ImportRowError, UserImportJob};

#[async_trait]
pub trait UserImportTx: Send {
    async fn insert_import_job(&mut self, job: &UserImportJob) -> StoreResult<()>;
    async fn get_import_job(
        &mut self,
        pool: &UserPoolId,
        job_id: &str,
    ) -> StoreResult<Option<UserImportJob>>;
    /// Replaces the job if its cursor and status are still `expected` (as the caller read
    /// them), so neither a batch nor a Stop request is lost to a concurrent writer; returns
    /// whether it did.
    async fn advance_import_job(
        &mut self,
        job: &UserImportJob,
        expected: (u64, ImportJobStatus),
    ) -> StoreResult<bool>;
    /// A pool's jobs, newest first, after the job id of the previous page's last.
    async fn list_import_jobs(
        &mut self,
        pool: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<UserImportJob>>;
    /// Jobs in every pool that are Pending, InProgress or Stopping (to resume at start-up).
    async fn unfinished_import_jobs(&mut self) -> StoreResult<Vec<UserImportJob>>;
    async fn put_import_csv(
        &mut self,
        pool: &UserPoolId,
        job_id: &str,
        csv: &[u8],
    ) -> StoreResult<()>;
    async fn get_import_csv(
        &mut self,
        pool: &UserPoolId,
        job_id: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
    async fn add_import_errors(
        &mut self,
        pool: &UserPoolId,
        job_id: &str,
        errors: &[ImportRowError],
    ) -> StoreResult<()>;
    /// A job's error log in row order.
    async fn import_errors(
        &mut self,
        pool: &UserPoolId,
        job_id: &str,
    ) -> StoreResult<Vec<ImportRowError>>;
}
