-- The hosted UI's short-lived state, stored under the SHA-256 of what the browser or client
-- holds (never the value itself): authorization codes (kind 'code', five minutes, single use;
-- a redeemed code keeps the origin_jti it minted so a replay can revoke it) and sign-in
-- sessions behind the hosted UI's cookie (kind 'session', one hour). Lockstep with the
-- PostgreSQL 0012.
CREATE TABLE oauth_grants (
    hash        BLOB   NOT NULL PRIMARY KEY,
    kind        TEXT   NOT NULL,
    pool_id     TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    sub         TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    origin_jti  TEXT,
    data        TEXT   NOT NULL
);
CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);
CREATE INDEX oauth_grants_by_user ON oauth_grants (pool_id, sub);
