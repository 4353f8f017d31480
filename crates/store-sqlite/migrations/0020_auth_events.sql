-- Threat protection (issue 17): each user's auth events, one row per sign-in attempt (and
-- sign-up or password change where a compromised password was looked for), written in the same
-- transaction as the attempt's outcome. The columns beside `data` are what adaptive
-- authentication queries: a user's known addresses, failures from an address, the newest events
-- of a user. Rows go with their user and pool, and are pruned after the retention.
-- Lockstep with the PostgreSQL 0020.
CREATE TABLE auth_events (
    pool_id    TEXT   NOT NULL,
    event_id   TEXT   NOT NULL,
    sub        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    event_type TEXT   NOT NULL,
    response   TEXT   NOT NULL,
    ip         TEXT,
    feedback   TEXT,
    data       TEXT   NOT NULL,
    PRIMARY KEY (pool_id, event_id),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX auth_events_by_user ON auth_events (pool_id, sub, created_at, event_id);
CREATE INDEX auth_events_by_ip ON auth_events (pool_id, ip, created_at);
CREATE INDEX auth_events_by_age ON auth_events (created_at);
