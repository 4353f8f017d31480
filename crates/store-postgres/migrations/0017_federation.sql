-- Federation (issue 14): a user pool's external identity providers, their IdpIdentifiers
-- (unique within the pool), federated sign-ins waiting for the provider's answer (stored under
-- the SHA-256 of the state sent to the provider, five minutes, taken once), and provider
-- identities linked to users by AdminLinkProviderForUser. Lockstep with the SQLite 0017.
CREATE TABLE identity_providers (
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    data       TEXT   NOT NULL,
    PRIMARY KEY (pool_id, name)
);

CREATE TABLE identity_provider_identifiers (
    pool_id    TEXT NOT NULL,
    identifier TEXT NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (pool_id, identifier),
    FOREIGN KEY (pool_id, name) REFERENCES identity_providers (pool_id, name) ON DELETE CASCADE
);
CREATE INDEX identity_provider_identifiers_by_name ON identity_provider_identifiers (pool_id, name);

CREATE TABLE federation_states (
    hash       BYTEA  NOT NULL PRIMARY KEY,
    pool_id    TEXT   NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    data       TEXT   NOT NULL
);
CREATE INDEX federation_states_by_expiry ON federation_states (expires_at);

CREATE TABLE federated_links (
    pool_id  TEXT NOT NULL,
    provider TEXT NOT NULL,
    subject  TEXT NOT NULL,
    sub      TEXT NOT NULL,
    PRIMARY KEY (pool_id, provider, subject),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX federated_links_by_user ON federated_links (pool_id, sub);
