-- Lockout counters for sign-in names that match no user, so that (with PreventUserExistenceErrors
-- ENABLED) an unknown user locks out, answers and costs exactly like a real one. Rows are forgotten
-- 15 minutes after their last failure. Lockstep with the other backend's 0003.
CREATE TABLE unknown_user_failures (
    pool_id         TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    name_key        TEXT COLLATE "C" NOT NULL,
    failure_count   BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    PRIMARY KEY (pool_id, name_key)
);
CREATE INDEX unknown_user_failures_by_time ON unknown_user_failures (last_failure_at);
