-- Terms documents and Client ID Metadata Document policies. Lockstep with the SQLite 0023.
--
-- Terms: at most one document of each kind (terms-of-use, privacy-policy) per app client (the
-- unique constraint); they go with the client or the pool. Links and times live in data.
CREATE TABLE terms (
    id         TEXT   NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    client_id  TEXT   NOT NULL REFERENCES app_clients (client_id) ON DELETE CASCADE,
    kind       TEXT   NOT NULL,
    data       TEXT   NOT NULL,
    CONSTRAINT terms_one_kind_per_client UNIQUE (client_id, kind)
);
CREATE INDEX terms_by_pool ON terms (pool_id, id);

-- CIMD policies outlive the app client they name (Cognito then omits its id), so client_id is
-- not a foreign key; they go with the pool.
CREATE TABLE cimd_policies (
    id      TEXT NOT NULL PRIMARY KEY,
    pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    data    TEXT NOT NULL
);
CREATE INDEX cimd_policies_by_pool ON cimd_policies (pool_id, id);

-- The metadata documents fetched for URLs a policy admitted, until they expire (in data).
CREATE TABLE cimd_documents (
    policy_id TEXT NOT NULL REFERENCES cimd_policies (id) ON DELETE CASCADE,
    url       TEXT NOT NULL,
    pool_id   TEXT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (policy_id, url)
);
