-- User-pool domains and OAuth resource servers. Lockstep with the other backend's 0009.
--
-- A domain name belongs to one pool of the deployment (the primary key), and a pool has at most
-- one domain of each kind, 'prefix' or 'custom' (the unique constraint). Everything else about a
-- domain or a resource server lives in data.
CREATE TABLE user_pool_domains (
    domain     TEXT   NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    CONSTRAINT user_pool_domains_one_per_kind UNIQUE (pool_id, kind)
);

CREATE TABLE resource_servers (
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    identifier TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (pool_id, identifier)
);
