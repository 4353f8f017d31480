-- SAML federation (issue 14): each user pool's SP key pairs (generated on first use; the
-- private keys sealed with the master key inside data), and the assertion ids accepted from
-- each SAML identity provider, kept until the assertion has expired so that a replay is refused
-- on every node. Lockstep with the SQLite 0019.
CREATE TABLE saml_sp_keys (
    pool_id    TEXT   NOT NULL PRIMARY KEY REFERENCES user_pools (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL
);

CREATE TABLE saml_assertions (
    pool_id      TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    issuer       TEXT   NOT NULL,
    assertion_id TEXT   NOT NULL,
    keep_until   BIGINT NOT NULL,
    PRIMARY KEY (pool_id, issuer, assertion_id)
);
CREATE INDEX saml_assertions_by_expiry ON saml_assertions (keep_until);
