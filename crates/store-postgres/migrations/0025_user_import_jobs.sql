-- User import jobs (issue 19): the job as JSON with its status and cursor beside it (start-up
-- resumes unfinished jobs; each batch advances the cursor by compare-and-set in the transaction
-- that inserts its users), the uploaded CSV, and the per-row error log. All go with their pool.
-- Lockstep with the SQLite 0025.
CREATE TABLE user_import_jobs (
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    job_id     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    status     TEXT   NOT NULL,
    next_row   BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (pool_id, job_id)
);
CREATE INDEX user_import_jobs_by_age ON user_import_jobs (pool_id, created_at, job_id);
CREATE INDEX user_import_jobs_by_status ON user_import_jobs (status);
CREATE TABLE user_import_csv (
    pool_id TEXT  NOT NULL,
    job_id  TEXT  NOT NULL,
    csv     BYTEA NOT NULL,
    PRIMARY KEY (pool_id, job_id),
    FOREIGN KEY (pool_id, job_id) REFERENCES user_import_jobs (pool_id, job_id) ON DELETE CASCADE
);
CREATE TABLE user_import_errors (
    pool_id    TEXT   NOT NULL,
    job_id     TEXT   NOT NULL,
    row_number BIGINT NOT NULL,
    username   TEXT,
    message    TEXT   NOT NULL,
    PRIMARY KEY (pool_id, job_id, row_number),
    FOREIGN KEY (pool_id, job_id) REFERENCES user_import_jobs (pool_id, job_id) ON DELETE CASCADE
);
