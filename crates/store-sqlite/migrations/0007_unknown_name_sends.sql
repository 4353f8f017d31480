-- Code sends (ForgotPassword, ResendConfirmationCode) to names that match no user, so that with
-- PreventUserExistenceErrors ENABLED an unknown name hits the same hourly send limit, and costs
-- the same write, as a real user. Rows are forgotten an hour after their last send. Lockstep with
-- the other backend's 0007.
CREATE TABLE unknown_name_sends (
    pool_id      TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    name_key     TEXT NOT NULL,
    purpose      TEXT   NOT NULL,
    last_sent_at BIGINT NOT NULL,
    data         TEXT   NOT NULL,
    PRIMARY KEY (pool_id, name_key, purpose)
);
CREATE INDEX unknown_name_sends_by_time ON unknown_name_sends (last_sent_at);
