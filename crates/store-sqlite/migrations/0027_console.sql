-- The admin console (issue 21). Kept in lockstep with the PostgreSQL migration of the same number.

-- A failed message keeps its body until this time (then the sweeper removes it, as delivery
-- does at once), so an operator can retry it; NULL once the body is gone or never kept.
ALTER TABLE outbox ADD COLUMN body_until BIGINT;
CREATE INDEX outbox_bodies_kept ON outbox (body_until) WHERE body_until IS NOT NULL;

-- Each pool's sign-ins, failures and lockouts per hour (hour: its first millisecond), added to
-- as sign-ins end; the console charts the last 24 hours. Pruned after 8 days.
CREATE TABLE sign_in_counts (
    pool_id  TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    hour     BIGINT NOT NULL,
    sign_ins BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    lockouts BIGINT NOT NULL,
    PRIMARY KEY (pool_id, hour)
);
CREATE INDEX sign_in_counts_by_hour ON sign_in_counts (hour);

-- Console operators created by `tessera admin create`: a name and an argon2id PHC string.
CREATE TABLE console_operators (
    name       TEXT   NOT NULL PRIMARY KEY,
    password   TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
