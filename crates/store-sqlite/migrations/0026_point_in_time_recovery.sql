-- Point-in-time recovery: a journal of before-images of users, groups, memberships and
-- passkeys, written in the same transaction as each write, and the pool's recoveries.
-- Kept in lockstep with the PostgreSQL migration of the same number.

CREATE TABLE pool_history (
    seq          INTEGER PRIMARY KEY,
    pool_id      TEXT    NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    entity       TEXT    NOT NULL,
    entity_key   TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    before_image TEXT
);
CREATE INDEX pool_history_by_pool_time ON pool_history (pool_id, at);
CREATE INDEX pool_history_by_time ON pool_history (at);

CREATE TABLE pool_recoveries (
    pool_id     TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    restore_id  TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    restore_at  BIGINT NOT NULL,
    trigger_at  BIGINT NOT NULL,
    preview     TEXT,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (pool_id, restore_id)
);
CREATE INDEX pool_recoveries_by_age ON pool_recoveries (pool_id, created_at);
-- One recovery at a time pauses a pool's writes.
CREATE UNIQUE INDEX pool_recoveries_one_active ON pool_recoveries (pool_id)
    WHERE status IN ('PREVIEW_GENERATING', 'PREVIEW_GENERATED', 'RESTORING');
