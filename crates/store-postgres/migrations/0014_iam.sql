-- IAM: roles and their inline policies, customer managed policies (versions live in data),
-- role–policy attachments, OIDC and SAML identity providers. Names are unique ignoring case:
-- the *_key columns hold them lowercased. Lockstep with the other backend's 0014.
CREATE TABLE iam_roles (
    name_key TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    role_id  TEXT NOT NULL UNIQUE,
    path     TEXT COLLATE "C" NOT NULL,
    data     TEXT NOT NULL
);

CREATE TABLE iam_role_policies (
    role_key TEXT COLLATE "C" NOT NULL REFERENCES iam_roles (name_key) ON DELETE CASCADE,
    name     TEXT COLLATE "C" NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (role_key, name)
);

CREATE TABLE iam_policies (
    arn      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name_key TEXT NOT NULL UNIQUE,
    path     TEXT COLLATE "C" NOT NULL,
    data     TEXT NOT NULL
);

CREATE TABLE iam_role_attachments (
    role_key   TEXT COLLATE "C" NOT NULL REFERENCES iam_roles (name_key) ON DELETE CASCADE,
    policy_arn TEXT COLLATE "C" NOT NULL REFERENCES iam_policies (arn) ON DELETE CASCADE,
    PRIMARY KEY (role_key, policy_arn)
);
CREATE INDEX iam_role_attachments_by_policy ON iam_role_attachments (policy_arn);

CREATE TABLE iam_oidc_providers (
    arn  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    data TEXT NOT NULL
);

CREATE TABLE iam_saml_providers (
    arn  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    data TEXT NOT NULL
);

-- Credentials STS issued for role sessions no identity-pool identity owns (AssumeRole,
-- AssumeRoleWithWebIdentity with user-pool or OIDC tokens). The secret is sealed, the session
-- token stored as its hash; data holds the session's grant.
CREATE TABLE iam_role_sessions (
    access_key_id TEXT   NOT NULL PRIMARY KEY,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    token_hash    BYTEA NOT NULL,
    sealed_secret BYTEA NOT NULL,
    data          TEXT   NOT NULL
);
CREATE INDEX iam_role_sessions_by_expiry ON iam_role_sessions (expires_at);
