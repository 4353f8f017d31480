-- One-time codes (stored as keyed digests) and the outbox of messages to users, written in the
-- same transaction so a code is never issued without its message. Lockstep with the other
-- backend's 0004.
CREATE TABLE verification_codes (
    pool_id    TEXT   NOT NULL,
    sub        TEXT   NOT NULL,
    purpose    TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (pool_id, sub, purpose),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);

CREATE TABLE outbox (
    id              TEXT   NOT NULL PRIMARY KEY,
    pool_id         TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    status          TEXT   NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT,
    data            TEXT   NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_by_time ON outbox (created_at);
