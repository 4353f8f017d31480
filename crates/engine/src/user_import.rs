//! User import jobs: CreateUserImportJob, StartUserImportJob, StopUserImportJob,
//! DescribeUserImportJob, ListUserImportJobs, the upload behind the pre-signed URL, and the
//! background run — with imported password hashes, the migration Cognito doesn't offer.
//!
//! - Create returns a PreSignedUrl on Tessera itself (`{public url}/user-import/{pool}/{job}`
//!   with a random token, sealed in the job so Describe shows the same URL); a PUT of the CSV
//!   to it within an hour stores the file with the job.
//! - Start checks the header against GetCSVHeader, then imports in batches of
//!   [`BATCH_ROWS`] rows. Each batch is one transaction: its users, its error-log lines and the
//!   job's cursor and counts, the cursor advanced by compare-and-set. A batch is therefore
//!   imported exactly once whatever happens to the node running it, and a node that starts
//!   resumes unfinished jobs ([`Engine::resume_import_jobs`]). A row whose user can't be
//!   inserted (the name or an alias already taken) fails alone: the batch is retried row by
//!   row.
//! - Stop asks a running job to stop at its next batch; the rows it never reached count as
//!   skipped.
//! - Rows without a password hash become RESET_REQUIRED users, as in Cognito; rows with one
//!   (`cognito:password_hash`, checked by `tessera_crypto::imported`) become CONFIRMED users who
//!   sign in with their old password, which is then rehashed with argon2id and gets an SRP
//!   verifier. (Until that first sign-in they can only use a flow that sends the password:
//!   USER_PASSWORD_AUTH or the hosted UI; SRP needs a verifier made from the password.)

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use tessera_domain::attributes::Writer;
use tessera_domain::user::{PasswordCredential, UserStatus};
use tessera_domain::user_import::{
    BATCH_ROWS, ImportCsv, ImportJobStatus, ImportRowError, UserImportJob, parse_csv, read_row,
    row_username,
};
use tessera_domain::{DomainError, ErrorKind, Timestamp, UserPoolId};
use tessera_store::Tx;

/// How long a pre-signed upload URL works.
const UPLOAD_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
/// Jobs a pool may have unfinished at once.
const MAX_ACTIVE_JOBS: usize = 4;
const ALGORITHMS: &[&str] = &[
    "BCRYPT",
    "SCRYPT",
    "ARGON2ID",
    "PBKDF2_SHA256",
    "FIREBASE_SCRYPT",
];

pub(crate) fn token_purpose(pool: &UserPoolId, job_id: &str) -> String {
    format!("user-import-upload:{pool}:{job_id}")
}

fn job_not_found(job_id: &str) -> EngineError {
    DomainError::resource_not_found(format!("Import job {job_id} does not exist.")).into()
}

fn precondition(message: String) -> EngineError {
    DomainError::new(ErrorKind::PreconditionNotMet, message).into()
}

/// Why an upload was refused (the HTTP layer answers as S3 would).
#[derive(Debug, PartialEq, Eq)]
pub enum UploadRefusal {
    /// No such job, or the token doesn't match.
    Forbidden,
    /// The URL's hour has passed.
    Expired,
    /// The job has already started.
    TooLate,
    TooLarge,
}

/// A job as the API shows it.
#[derive(Clone, Debug)]
pub struct ImportJobView {
    pub job: UserImportJob,
    pub pre_signed_url: String,
}

impl Engine {
    fn import_view(&self, job: UserImportJob) -> ImportJobView {
        let token = self
            .inner
            .master
            .open(
                &token_purpose(&job.pool_id, &job.job_id),
                &job.sealed_upload_token,
            )
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        let pre_signed_url = format!(
            "{}/user-import/{}/{}?token={token}",
            self.inner.settings.issuer_base, job.pool_id, job.job_id
        );
        ImportJobView {
            job,
            pre_signed_url,
        }
    }

    pub async fn create_user_import_job(
        &self,
        pool_id: &UserPoolId,
        job_name: String,
        role_arn: String,
        algorithm: Option<String>,
    ) -> EngineResult<ImportJobView> {
        if let Some(a) = &algorithm
            && !ALGORITHMS.contains(&a.as_str())
        {
            return Err(DomainError::invalid_parameter(format!(
                "1 validation error detected: Value '{a}' at 'passwordHashingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [BCRYPT, SCRYPT, ARGON2ID, PBKDF2_SHA256]"
            ))
            .into());
        }
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        crate::recovery::refuse_while_paused(&mut *tx, pool_id, now).await?;
        let active = tx
            .list_import_jobs(pool_id, None, 1000)
            .await?
            .iter()
            .filter(|j| !j.status.is_final())
            .count();
        if active >= MAX_ACTIVE_JOBS {
            return Err(DomainError::new(
                ErrorKind::LimitExceeded,
                format!("A user pool can have at most {MAX_ACTIVE_JOBS} import jobs that have not finished."),
            )
            .into());
        }
        let job_id = format!(
            "import-{}",
            tessera_crypto::random::string_from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                10
            )
        );
        let token = tessera_crypto::random::token(32);
        let job = UserImportJob {
            pool_id: pool_id.clone(),
            sealed_upload_token: self
                .inner
                .master
                .seal(&token_purpose(pool_id, &job_id), token.as_bytes()),
            job_id,
            job_name,
            cloud_watch_logs_role_arn: role_arn,
            password_hashing_algorithm: algorithm,
            status: ImportJobStatus::Created,
            created_at: now,
            started_at: None,
            completed_at: None,
            imported_users: 0,
            skipped_users: 0,
            failed_users: 0,
            completion_message: None,
            upload_expires_at: now.plus(UPLOAD_WINDOW),
            uploaded: false,
            next_row: 0,
            total_rows: 0,
        };
        tx.insert_import_job(&job).await?;
        tx.commit().await?;
        tracing::info!(target: "audit", pool = %pool_id, job = %job.job_id, "user import job created");
        Ok(self.import_view(job))
    }

    async fn load_import_job(
        &self,
        tx: &mut dyn Tx,
        pool_id: &UserPoolId,
        job_id: &str,
    ) -> EngineResult<UserImportJob> {
        self.load_pool(tx, pool_id).await?;
        tx.get_import_job(pool_id, job_id)
            .await?
            .ok_or_else(|| job_not_found(job_id))
    }

    pub async fn describe_user_import_job(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
    ) -> EngineResult<ImportJobView> {
        let mut tx = self.inner.store.read().await?;
        let job = self.load_import_job(&mut *tx, pool_id, job_id).await?;
        Ok(self.import_view(job))
    }

    /// A page of a pool's jobs, newest first, and the next page's token (the last job's id).
    pub async fn list_user_import_jobs(
        &self,
        pool_id: &UserPoolId,
        limit: usize,
        after: Option<&str>,
    ) -> EngineResult<(Vec<ImportJobView>, Option<String>)> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if let Some(a) = after
            && tx.get_import_job(pool_id, a).await?.is_none()
        {
            return Err(DomainError::invalid_parameter("Invalid pagination token.").into());
        }
        let mut jobs = tx.list_import_jobs(pool_id, after, limit + 1).await?;
        let next = (jobs.len() > limit).then(|| {
            jobs.truncate(limit);
            jobs.last().map(|j| j.job_id.clone())
        });
        Ok((
            jobs.into_iter().map(|j| self.import_view(j)).collect(),
            next.flatten(),
        ))
    }

    /// The PUT behind the pre-signed URL.
    pub async fn upload_import_csv(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
        token: &str,
        body: &[u8],
    ) -> EngineResult<Result<(), UploadRefusal>> {
        if body.len() > tessera_domain::user_import::MAX_CSV_BYTES {
            return Ok(Err(UploadRefusal::TooLarge));
        }
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let Some(mut job) = tx.get_import_job(pool_id, job_id).await? else {
            return Ok(Err(UploadRefusal::Forbidden));
        };
        let expected = self
            .inner
            .master
            .open(&token_purpose(pool_id, job_id), &job.sealed_upload_token)
            .map_err(|_| EngineError::Internal("an upload token can't be opened".into()))?;
        if !tessera_crypto::constant_time_eq(&expected, token.as_bytes()) {
            return Ok(Err(UploadRefusal::Forbidden));
        }
        if now >= job.upload_expires_at {
            return Ok(Err(UploadRefusal::Expired));
        }
        if job.status != ImportJobStatus::Created {
            return Ok(Err(UploadRefusal::TooLate));
        }
        tx.put_import_csv(pool_id, job_id, body).await?;
        let read = (job.next_row, job.status);
        job.uploaded = true;
        if !tx.advance_import_job(&job, read).await? {
            return Err(
                DomainError::new(ErrorKind::ConcurrentModification, "Please retry.").into(),
            );
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn start_user_import_job(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
    ) -> EngineResult<ImportJobView> {
        let now = self.now();
        let job = {
            let mut tx = self.inner.store.begin().await?;
            let mut job = self.load_import_job(&mut *tx, pool_id, job_id).await?;
            crate::recovery::refuse_while_paused(&mut *tx, pool_id, now).await?;
            if job.status != ImportJobStatus::Created {
                return Err(precondition(format!(
                    "Import job {job_id} can't be started: its status is {}.",
                    job.status.as_str()
                )));
            }
            let read = (job.next_row, job.status);
            job.status = ImportJobStatus::Pending;
            job.started_at = Some(now);
            if !tx.advance_import_job(&job, read).await? {
                return Err(
                    DomainError::new(ErrorKind::ConcurrentModification, "Please retry.").into(),
                );
            }
            tx.commit().await?;
            job
        };
        tracing::info!(target: "audit", pool = %pool_id, job = %job_id, "user import job started");
        self.spawn_import(pool_id.clone(), job_id.to_string());
        Ok(self.import_view(job))
    }

    pub async fn stop_user_import_job(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
    ) -> EngineResult<ImportJobView> {
        let now = self.now();
        loop {
            let mut tx = self.inner.store.begin().await?;
            let mut job = self.load_import_job(&mut *tx, pool_id, job_id).await?;
            let read = (job.next_row, job.status);
            match job.status {
                ImportJobStatus::Pending | ImportJobStatus::InProgress => {
                    job.status = ImportJobStatus::Stopping;
                }
                ImportJobStatus::Created => {
                    job.status = ImportJobStatus::Stopped;
                    job.completed_at = Some(now);
                    job.completion_message = Some("StoppedBeforeStart".into());
                }
                other => {
                    return Err(precondition(format!(
                        "Import job {job_id} can't be stopped: its status is {}.",
                        other.as_str()
                    )));
                }
            }
            if !tx.advance_import_job(&job, read).await? {
                // The runner moved the job meanwhile: read its copy and ask again.
                continue;
            }
            tx.commit().await?;
            tracing::info!(target: "audit", pool = %pool_id, job = %job_id, "user import job stop requested");
            return Ok(self.import_view(job));
        }
    }

    /// A job's error log (`tessera users import-log`).
    pub async fn user_import_errors(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
    ) -> EngineResult<Vec<ImportRowError>> {
        let mut tx = self.inner.store.read().await?;
        self.load_import_job(&mut *tx, pool_id, job_id).await?;
        Ok(tx.import_errors(pool_id, job_id).await?)
    }

    /// A page of a pool's users as `tessera users export` writes them (JSON objects), and the
    /// cursor of the next page: username, sub, status, enabled, dates, attributes, MFA
    /// settings, and the password hash (a PHC string, argon2id or as imported), which is
    /// what Cognito never lets out. Secrets sealed with the master key (TOTP secrets, SRP
    /// verifiers) are not written: they are only good with this deployment's key, and a
    /// verifier is made again from the password at the next sign-in.
    pub async fn export_user_page(
        &self,
        pool_id: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> EngineResult<(Vec<serde_json::Value>, Option<String>)> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let users = tx
            .list_users(
                pool_id,
                &tessera_store::UserQuery {
                    filter: None,
                    case_sensitive: pool.config.sign_in.case_sensitive,
                    after,
                    limit,
                },
            )
            .await?;
        let next = (users.len() == limit)
            .then(|| users.last().map(|(key, _)| key.clone()))
            .flatten();
        let page = users
            .into_iter()
            .map(|(_, u)| {
                serde_json::json!({
                    "username": u.username.as_str(),
                    "sub": u.sub.to_string(),
                    "status": u.status.as_str(),
                    "enabled": u.enabled,
                    "created_at": u.created_at.millis(),
                    "modified_at": u.modified_at.millis(),
                    "attributes": u.attributes,
                    "mfa": {
                        "sms": u.mfa.sms,
                        "email": u.mfa.email,
                        "software_token": u.mfa.software_token,
                    },
                    "password_hash": u.password.as_ref().map(|p| p.phc.as_str()),
                    "password_set_at": u.password.as_ref().map(|p| p.set_at.millis()),
                })
            })
            .collect();
        Ok((page, next))
    }

    /// Resumes every unfinished job (at start-up). Returns how many.
    pub async fn resume_import_jobs(&self) -> EngineResult<usize> {
        let jobs = {
            let mut tx = self.inner.store.read().await?;
            tx.unfinished_import_jobs().await?
        };
        for job in &jobs {
            tracing::info!(pool = %job.pool_id, job = %job.job_id, next_row = job.next_row, "resuming user import job");
            self.spawn_import(job.pool_id.clone(), job.job_id.clone());
        }
        Ok(jobs.len())
    }

    fn spawn_import(&self, pool_id: UserPoolId, job_id: String) {
        let engine = self.clone();
        tokio::spawn(async move {
            // A store hiccup interrupts a run between committed batches; it goes on from the
            // last one (a few tries here, and at every node's start).
            for attempt in 1..=5u64 {
                match engine.run_import_job(&pool_id, &job_id).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(pool = %pool_id, job = %job_id, attempt, error = %e, "user import job interrupted");
                        tokio::time::sleep(std::time::Duration::from_secs(2 * attempt)).await;
                    }
                }
            }
            tracing::error!(pool = %pool_id, job = %job_id, "user import job left unfinished; it resumes when a node starts");
        });
    }

    /// Runs a job to its end from its cursor.
    pub async fn run_import_job(&self, pool_id: &UserPoolId, job_id: &str) -> EngineResult<()> {
        let (csv, pool) = {
            let mut tx = self.inner.store.read().await?;
            let pool = self.load_pool(&mut *tx, pool_id).await?;
            (tx.get_import_csv(pool_id, job_id).await?, pool)
        };
        let expected = tessera_domain::pool_settings::csv_header(&pool.config.schema);
        let parsed = match csv {
            None => Err((
                "CsvFileNotUploaded",
                "No CSV file was uploaded to the job's pre-signed URL.".to_string(),
            )),
            Some(bytes) => parse_csv(bytes, &expected).map_err(|e| ("CsvFileInvalid", e)),
        };
        let csv = match parsed {
            Ok(csv) => csv,
            Err((code, why)) => return self.fail_import_job(pool_id, job_id, code, why).await,
        };
        let total = csv.len() as u64;
        // Rows this run has imported, and at how many the planner's statistics are next
        // refreshed: after the first batch, then each time the count doubles, and at the end.
        let mut imported = 0u64;
        let mut measure_at = BATCH_ROWS as u64;
        loop {
            let now = self.now();
            let mut tx = self.inner.store.begin().await?;
            let Some(mut job) = tx.get_import_job(pool_id, job_id).await? else {
                return Ok(());
            };
            let cursor = job.next_row;
            let read = (cursor, job.status);
            job.total_rows = total;
            if job.status.is_final() {
                return Ok(());
            }
            if job.status == ImportJobStatus::Stopping || cursor >= total {
                let stopping = job.status == ImportJobStatus::Stopping;
                job.skipped_users += total.saturating_sub(cursor);
                job.next_row = total;
                job.status = if stopping {
                    ImportJobStatus::Stopped
                } else {
                    ImportJobStatus::Succeeded
                };
                job.completion_message = Some(
                    if stopping {
                        "ImportStopped"
                    } else {
                        "ImportCompleted"
                    }
                    .into(),
                );
                job.completed_at = Some(now);
                if tx.advance_import_job(&job, read).await? {
                    tx.commit().await?;
                    tracing::info!(target: "audit", pool = %pool_id, job = %job_id, imported = job.imported_users, failed = job.failed_users, skipped = job.skipped_users, status = job.status.as_str(), "user import job finished");
                }
                if imported > 0 {
                    self.refresh_statistics().await;
                }
                return Ok(());
            }
            job.status = ImportJobStatus::InProgress;
            let end = (cursor + BATCH_ROWS as u64).min(total);
            let range = usize::try_from(cursor).unwrap_or(usize::MAX)
                ..usize::try_from(end).unwrap_or(usize::MAX);
            // The whole batch in this transaction; if any insert fails (a name taken since
            // the check), redo it a row per transaction so only that row fails.
            match self
                .import_rows(&mut *tx, &pool, &mut job, &csv, range.clone(), now)
                .await
            {
                Ok(()) => {
                    job.next_row = end;
                    if tx.advance_import_job(&job, read).await? {
                        tx.commit().await?;
                        imported += end - cursor;
                        if imported >= measure_at {
                            self.refresh_statistics().await;
                            measure_at = imported.saturating_mul(2);
                        }
                    }
                }
                Err(_) => {
                    drop(tx);
                    for row in range {
                        self.import_one_row(pool_id, job_id, &pool, &csv, row)
                            .await?;
                    }
                }
            }
        }
    }

    /// Asks the store to measure the user tables again (see `Store::refresh_statistics`). A
    /// failure costs only speed, so the job goes on.
    async fn refresh_statistics(&self) {
        if let Err(e) = self.inner.store.refresh_statistics().await {
            tracing::warn!(error = %e, "refreshing planner statistics after imported users failed");
        }
    }

    /// One row in its own transaction (after a batch failed), advancing the cursor by one.
    async fn import_one_row(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
        pool: &tessera_domain::pool::UserPool,
        csv: &ImportCsv,
        row: usize,
    ) -> EngineResult<()> {
        let now = self.now();
        let row_number = row as u64;
        let mut tx = self.inner.store.begin().await?;
        let Some(mut job) = tx.get_import_job(pool_id, job_id).await? else {
            return Ok(());
        };
        if job.next_row != row_number || job.status.is_final() {
            return Ok(());
        }
        let mut read = (job.next_row, job.status);
        job.status = running(job.status);
        job.next_row = row_number + 1;
        let outcome = self
            .import_rows(&mut *tx, pool, &mut job, csv, row..row + 1, now)
            .await;
        if let Err(e) = outcome {
            // The insert itself was refused (a name or alias taken meanwhile): log the row as
            // failed in a fresh transaction. Anything else is the store's, and stops the run.
            let EngineError::Client(refusal) = e else {
                return Err(e);
            };
            drop(tx);
            tx = self.inner.store.begin().await?;
            let Some(mut fresh) = tx.get_import_job(pool_id, job_id).await? else {
                return Ok(());
            };
            if fresh.next_row != row_number {
                return Ok(());
            }
            read = (fresh.next_row, fresh.status);
            fresh.status = running(fresh.status);
            fresh.next_row = row_number + 1;
            fresh.failed_users += 1;
            let username = csv.row(row).and_then(|r| row_username(&csv.header, &r));
            tx.add_import_errors(
                pool_id,
                job_id,
                &[ImportRowError {
                    row: row_number + 1,
                    username,
                    message: format!("{}: {}", refusal.kind.name(), refusal.message),
                }],
            )
            .await?;
            job = fresh;
        }
        if tx.advance_import_job(&job, read).await? {
            tx.commit().await?;
        }
        Ok(())
    }

    /// Imports `rows` of the CSV into `tx`, counting into `job` and logging refused rows.
    async fn import_rows(
        &self,
        tx: &mut dyn Tx,
        pool: &tessera_domain::pool::UserPool,
        job: &mut UserImportJob,
        csv: &ImportCsv,
        rows: std::ops::Range<usize>,
        now: Timestamp,
    ) -> EngineResult<()> {
        let mut errors = Vec::new();
        for i in rows {
            let Some(row) = csv.row(i) else { break };
            let number = i as u64 + 1;
            match self.import_row(tx, pool, job, &csv.header, &row, now).await {
                Ok(()) => job.imported_users += 1,
                Err(RowError::Refused(username, message)) => {
                    job.failed_users += 1;
                    errors.push(ImportRowError {
                        row: number,
                        username,
                        message,
                    });
                }
                Err(RowError::Store(e)) => return Err(e),
            }
        }
        if !errors.is_empty() {
            tx.add_import_errors(&pool.id, &job.job_id, &errors).await?;
        }
        Ok(())
    }

    async fn import_row(
        &self,
        tx: &mut dyn Tx,
        pool: &tessera_domain::pool::UserPool,
        job: &UserImportJob,
        header: &[String],
        row: &[String],
        now: Timestamp,
    ) -> Result<(), RowError> {
        let read =
            read_row(header, row).map_err(|m| RowError::Refused(row_username(header, row), m))?;
        let refused = |m: String| RowError::Refused(Some(read.username.clone()), m);
        if let Some(hash) = &read.password_hash {
            let Some(algorithm) = tessera_crypto::imported::check(hash) else {
                return Err(refused(
                    "cognito:password_hash is not a hash Tessera accepts (or its cost is beyond the limits).".into(),
                ));
            };
            if let Some(declared) = &job.password_hashing_algorithm
                && declared != algorithm.name()
            {
                return Err(refused(format!(
                    "cognito:password_hash is {}, but the job's PasswordHashingAlgorithm is {declared}.",
                    algorithm.name()
                )));
            }
        }
        if self
            .find_user(tx, pool, &read.username)
            .await
            .map_err(RowError::Store)?
            .is_some()
        {
            return Err(refused(
                "UsernameExistsException: User account already exists.".into(),
            ));
        }
        let status = if read.password_hash.is_some() {
            UserStatus::Confirmed
        } else {
            UserStatus::ResetRequired
        };
        let mut user = self
            .new_user(
                pool,
                &read.username,
                &read.attributes,
                Writer::Admin,
                status,
                now,
            )
            .map_err(|e| match e {
                EngineError::Client(d) => refused(format!("{}: {}", d.kind.name(), d.message)),
                other => RowError::Store(other),
            })?;
        user.password = read.password_hash.clone().map(|phc| PasswordCredential {
            phc,
            set_at: now,
            expires_at: None,
        });
        if read.mfa_enabled {
            user.mfa.sms = true;
        }
        // A failed insert (an alias taken) can leave the transaction unusable (PostgreSQL):
        // the batch is then redone a row per transaction, where it fails alone.
        self.insert_new_user(tx, pool, &user, "User account already exists")
            .await
            .map_err(RowError::Store)
    }

    async fn fail_import_job(
        &self,
        pool_id: &UserPoolId,
        job_id: &str,
        code: &str,
        why: String,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let Some(mut job) = tx.get_import_job(pool_id, job_id).await? else {
            return Ok(());
        };
        if job.status.is_final() {
            return Ok(());
        }
        let read = (job.next_row, job.status);
        job.status = ImportJobStatus::Failed;
        job.completion_message = Some(code.into());
        job.completed_at = Some(now);
        tx.add_import_errors(
            pool_id,
            job_id,
            &[ImportRowError {
                row: 0,
                username: None,
                message: why,
            }],
        )
        .await?;
        if tx.advance_import_job(&job, read).await? {
            tx.commit().await?;
        }
        tracing::info!(target: "audit", pool = %pool_id, job = %job_id, reason = code, "user import job failed");
        Ok(())
    }
}

/// The status a batch writes: a job being stopped stays Stopping (the next batch ends it).
fn running(status: ImportJobStatus) -> ImportJobStatus {
    match status {
        ImportJobStatus::Stopping => ImportJobStatus::Stopping,
        _ => ImportJobStatus::InProgress,
    }
}

/// A refused row (logged; the job goes on) or a store failure (the batch is retried).
enum RowError {
    Refused(Option<String>, String),
    Store(EngineError),
}
