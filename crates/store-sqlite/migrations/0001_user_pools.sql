-- Tessera schema v1 (SQLite). Kept in lockstep with store-postgres/migrations/0001_user_pools.sql;
-- a test compares the two logical schemas.

CREATE TABLE user_pools (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    modified_at BIGINT  NOT NULL,
    config      TEXT    NOT NULL
);

CREATE TABLE signing_keys (
    pool_id        TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    kid            TEXT   NOT NULL,
    key_use        TEXT   NOT NULL,
    sealed_private BLOB   NOT NULL,
    public_jwk     TEXT   NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT,
    PRIMARY KEY (pool_id, kid)
);

CREATE TABLE app_clients (
    client_id     TEXT   NOT NULL PRIMARY KEY,
    pool_id       TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    sealed_secret BLOB,
    created_at    BIGINT NOT NULL,
    modified_at   BIGINT NOT NULL,
    config        TEXT   NOT NULL
);
CREATE INDEX app_clients_by_pool ON app_clients (pool_id, client_id);

CREATE TABLE users (
    pool_id            TEXT    NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    sub                TEXT    NOT NULL,
    username           TEXT    NOT NULL,
    username_key       TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    enabled            BOOLEAN NOT NULL,
    email              TEXT,
    phone_number       TEXT,
    name               TEXT,
    given_name         TEXT,
    family_name        TEXT,
    preferred_username TEXT,
    failure_count      BIGINT  NOT NULL DEFAULT 0,
    last_failure_at    BIGINT,
    created_at         BIGINT  NOT NULL,
    modified_at        BIGINT  NOT NULL,
    data               TEXT    NOT NULL,
    PRIMARY KEY (pool_id, sub),
    CONSTRAINT users_username_key UNIQUE (pool_id, username_key)
);
CREATE INDEX users_by_email ON users (pool_id, email);
CREATE INDEX users_by_phone_number ON users (pool_id, phone_number);
CREATE INDEX users_by_name ON users (pool_id, name);
CREATE INDEX users_by_given_name ON users (pool_id, given_name);
CREATE INDEX users_by_family_name ON users (pool_id, family_name);
CREATE INDEX users_by_preferred_username ON users (pool_id, preferred_username);
CREATE INDEX users_by_status ON users (pool_id, status);

CREATE TABLE user_aliases (
    pool_id   TEXT NOT NULL,
    kind      TEXT NOT NULL,
    alias_key TEXT NOT NULL,
    sub       TEXT NOT NULL,
    PRIMARY KEY (pool_id, kind, alias_key),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX user_aliases_by_user ON user_aliases (pool_id, sub);

CREATE TABLE token_families (
    origin_jti         TEXT   NOT NULL PRIMARY KEY,
    pool_id            TEXT   NOT NULL,
    client_id          TEXT   NOT NULL,
    sub                TEXT   NOT NULL,
    auth_time          BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    revoked_at         BIGINT,
    data               TEXT   NOT NULL,
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX token_families_by_user ON token_families (pool_id, sub);
CREATE INDEX token_families_by_expiry ON token_families (refresh_expires_at);

CREATE TABLE refresh_tokens (
    hash          BLOB   NOT NULL PRIMARY KEY,
    origin_jti    TEXT   NOT NULL REFERENCES token_families (origin_jti) ON DELETE CASCADE,
    pool_id       TEXT   NOT NULL,
    issued_at     BIGINT NOT NULL,
    superseded_at BIGINT
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (origin_jti);

CREATE TABLE auth_sessions (
    hash       BLOB   NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    data       TEXT   NOT NULL
);
CREATE INDEX auth_sessions_by_expiry ON auth_sessions (expires_at);
