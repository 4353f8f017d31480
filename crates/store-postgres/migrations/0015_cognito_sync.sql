-- Cognito Sync: datasets and records per identity, each identity pool's sync settings, and
-- devices registered for push sync with their subscriptions. Lockstep with the SQLite 0015.
--
-- A deleted dataset keeps its row as a tombstone (live = false) holding its sync count, so a
-- re-created dataset numbers above every count a client saw; removed records keep theirs
-- (value NULL) for the same reason. Deleting an identity or its pool deletes all of it (the
-- store does it explicitly: identities merge and are deleted without foreign keys here).
CREATE TABLE sync_datasets (
    identity_id      TEXT    COLLATE "C" NOT NULL,
    name             TEXT    COLLATE "C" NOT NULL,
    pool_id          TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    modified_at      BIGINT  NOT NULL,
    last_modified_by TEXT    NOT NULL,
    sync_count       BIGINT  NOT NULL,
    deleted_at_count BIGINT  NOT NULL,
    live             BOOLEAN NOT NULL,
    data_storage     BIGINT  NOT NULL,
    num_records      BIGINT  NOT NULL,
    PRIMARY KEY (identity_id, name)
);
CREATE INDEX sync_datasets_by_pool ON sync_datasets (pool_id);

CREATE TABLE sync_records (
    identity_id        TEXT   NOT NULL,
    dataset            TEXT   NOT NULL,
    record_key         TEXT   COLLATE "C" NOT NULL,
    value              TEXT,
    sync_count         BIGINT NOT NULL,
    modified_at        BIGINT NOT NULL,
    last_modified_by   TEXT   NOT NULL,
    device_modified_at BIGINT,
    PRIMARY KEY (identity_id, dataset, record_key)
);
CREATE INDEX sync_records_by_count ON sync_records (identity_id, dataset, sync_count);

CREATE TABLE sync_pool_settings (
    pool_id       TEXT   NOT NULL PRIMARY KEY,
    config        TEXT   NOT NULL,
    sync_sessions BIGINT NOT NULL
);

CREATE TABLE sync_devices (
    device_id   TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    pool_id     TEXT   NOT NULL,
    identity_id TEXT   NOT NULL,
    platform    TEXT   NOT NULL,
    token       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sync_devices_by_identity ON sync_devices (identity_id, platform, token);
CREATE INDEX sync_devices_by_pool ON sync_devices (pool_id);

CREATE TABLE sync_subscriptions (
    identity_id TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    PRIMARY KEY (identity_id, dataset, device_id)
);
CREATE INDEX sync_subscriptions_by_device ON sync_subscriptions (device_id);

-- Durable deliveries of sync changes: stream records for a Kinesis-compatible endpoint and push
-- notifications for the push webhook, written in the same transaction as the change and sent
-- by a courier with retries, so an outage loses nothing.
CREATE TABLE sync_deliveries (
    id              TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    kind            TEXT   NOT NULL,
    pool_id         TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    status          TEXT   NOT NULL,
    last_error      TEXT
);
CREATE INDEX sync_deliveries_due ON sync_deliveries (status, next_attempt_at);

-- The change feed server-sent events read: one row per committed change to a dataset, ordered
-- by (created_at, id), which is also the event id a client resumes from.
CREATE TABLE sync_changes (
    id          TEXT   COLLATE "C" NOT NULL PRIMARY KEY,
    identity_id TEXT   NOT NULL,
    dataset     TEXT   NOT NULL,
    sync_count  BIGINT NOT NULL,
    device_id   TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sync_changes_by_identity ON sync_changes (identity_id, created_at, id);
