-- Managed-login branding styles (ManagedLoginVersion 2). Lockstep with the PostgreSQL 0013.
--
-- A style is found by its UUID within a pool, or by the app client it belongs to; an app client
-- has at most one (the unique constraint) and loses it with the client or the pool. The Settings
-- document, the assets and the times live in data.
CREATE TABLE managed_login_brandings (
    id         TEXT   NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    client_id  TEXT   NOT NULL REFERENCES app_clients (client_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    CONSTRAINT managed_login_brandings_one_per_client UNIQUE (client_id)
);
CREATE INDEX managed_login_brandings_by_pool ON managed_login_brandings (pool_id, id);
