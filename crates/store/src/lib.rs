//! Storage for Tessera: traits in domain types, scoped by pool, with no SQL in sight.
//!
//! The engine opens a transaction ([`Store::begin`] for writes, [`Store::read`] for reads), calls
//! methods on it and commits; dropping a transaction rolls it back. Backends live in their own
//! crates and must pass [`conformance`], which is written once and run against each of them.
//!
//! Rules every backend keeps:
//! - every write is durable once `commit` returns;
//! - uniqueness (usernames under the pool's case rule, aliases, client ids) is enforced by the
//!   store, so two nodes can't both win a race;
//! - sign-in failure counters change only through [`Tx::charge_sign_in`] and
//!   [`Tx::reset_sign_in_failures`] (never through `update_user`), as a compare-and-swap.

pub mod cimd;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod console;
pub mod federation;
pub mod history;
pub mod iam;
pub mod identity;
pub mod passkeys;
pub mod reseal;
pub mod sync;
pub mod terms;
pub mod threat;
pub mod user_import;

pub use cimd::CimdTx;
pub use console::ConsoleTx;
pub use federation::FederationTx;
pub use history::HistoryTx;
pub use iam::IamTx;
pub use identity::{IdentitySigningKey, IdentityTx};
pub use passkeys::PasskeyTx;
pub use reseal::ResealTx;
pub use sync::SyncTx;
pub use terms::TermsTx;
pub use threat::ThreatTx;
pub use user_import::UserImportTx;

use async_trait::async_trait;
use tessera_domain::branding::ManagedLoginBranding;
use tessera_domain::client::{AppClient, ClientSecret};
use tessera_domain::codes::VerificationCode;
use tessera_domain::domains::{DomainName, UserPoolDomain};
use tessera_domain::filter::UserFilter;
use tessera_domain::flow::AuthSession;
use tessera_domain::groups::Group;
use tessera_domain::lockout::SignInFailures;
use tessera_domain::messages::{DeliveryOutcome, OutboundMessage, OutboxEntry, OutboxStatus};
use tessera_domain::oauth::{AuthorizationCode, HostedSession};
use tessera_domain::pool::{Alias, SignInAttribute, UserPool};
use tessera_domain::resource_servers::{ResourceServer, ResourceServerIdentifier};
use tessera_domain::tokens::{RefreshTokenRecord, TokenFamily};
use tessera_domain::user::User;
use tessera_domain::{ClientId, Sub, Timestamp, UserPoolId};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0:?} already exists")]
    Conflict(Conflict),
    /// A concurrent transaction interfered (serialization failure, deadlock, busy); retryable.
    #[error("concurrent update, retry")]
    Contended,
    #[error("stored record is unreadable: {0}")]
    Corrupt(String),
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The pool's user data is being recovered to a past point; writes wait until it ends.
    #[error("writes to the user pool are paused by a point-in-time recovery")]
    WritesPaused,
}

/// Which uniqueness rule a write broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    Pool,
    Client,
    Username,
    Alias(SignInAttribute),
    SigningKey,
    TokenFamily,
    RefreshToken,
    AuthSession,
    Group,
    /// The domain name belongs to a pool already (this one or another).
    Domain,
    /// The pool already has a domain of that kind (one prefix and one custom domain at most).
    PoolDomainKind,
    ResourceServer,
    /// The app client already has a managed-login branding style.
    ManagedLoginBranding,
    /// An IAM role of that name (ignoring case).
    IamRole,
    /// A managed policy of that name (ignoring case) or ARN.
    IamPolicy,
    /// An OIDC or SAML provider of that ARN.
    IamProvider,
    IdentityPool,
    /// A login (provider and subject) already linked to an identity of the pool.
    Login,
    AccessKey,
    /// A Cognito Sync dataset row of that identity and name.
    Dataset,
    SyncDevice,
    /// A user-pool identity provider of that name.
    IdentityProvider,
    /// An IdpIdentifier another provider of the pool has.
    IdpIdentifier,
    /// A provider identity linked to a user already.
    FederatedLink,
    /// The app client already has a terms document of that kind.
    Terms,
    /// A WebAuthn credential id the pool holds already.
    WebAuthnCredential,
    /// The pool has a point-in-time recovery in progress already.
    Recovery,
    /// A console operator of that name.
    Operator,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// How to find one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserLookup {
    /// By username in its indexed form (see `Username::key`).
    UsernameKey(String),
    Sub(Sub),
    Alias(Alias),
}

/// Where a sign-in waiting for a device's proof (DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER) is
/// found when the client sends no Session: pycognito and older amazon-cognito-identity-js
/// answer the device steps without one, and Cognito accepts that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceChallengeKey {
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub sub: Sub,
    pub device_key: String,
}

/// A page request for ListUsers.
#[derive(Clone, Debug)]
pub struct UserQuery<'a> {
    pub filter: Option<&'a UserFilter>,
    /// The pool's case rule, for filters on `username`.
    pub case_sensitive: bool,
    /// Continue after this cursor: the one `list_users` returned beside the last user of the
    /// previous page of the same query. Pages of a prefix filter on an attribute are ordered by
    /// that attribute, all others by username key.
    pub after: Option<&'a str>,
    pub limit: usize,
}

/// What a signing key is for; each pool has one key for ID tokens and one for access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUse {
    Id,
    Access,
}

impl KeyUse {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUse::Id => "id",
            KeyUse::Access => "access",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "id" => Some(KeyUse::Id),
            "access" => Some(KeyUse::Access),
            _ => None,
        }
    }
}

/// A pool's signing key as stored: the private half sealed with the master key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub pool_id: UserPoolId,
    pub kid: String,
    pub key_use: KeyUse,
    pub sealed_private: Vec<u8>,
    /// The public JWK as JSON, so verification never needs to unseal anything.
    pub public_jwk: String,
    /// Published from creation; signs from activation (None: the next key, published ahead).
    pub created_at: Timestamp,
    pub activated_at: Option<Timestamp>,
    /// Stopped signing; still published until the tokens it signed have expired.
    pub retired_at: Option<Timestamp>,
    /// Withdrawn: neither published nor accepted.
    pub revoked_at: Option<Timestamp>,
}

/// An authorization code as the store holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    pub code: AuthorizationCode,
    /// Set once redeemed: when, and the token family the redemption started.
    pub redeemed: Option<(Timestamp, Uuid)>,
}

/// What an access-token call reads, in one statement: the token's family, the user it names
/// and the client it was issued to (`None` for each that doesn't exist).
#[derive(Clone, Debug)]
pub struct AccessRead {
    pub family: Option<FamilyState>,
    pub user: Option<User>,
    pub client: Option<AppClient>,
}

/// The part of a token family every access-token call checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyState {
    pub sub: Sub,
    pub revoked: bool,
}

impl From<&TokenFamily> for FamilyState {
    fn from(f: &TokenFamily) -> Self {
        FamilyState {
            sub: f.sub,
            revoked: f.revoked_at.is_some(),
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A read-write transaction. On SQLite this takes the single writer; keep it short.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// A read-only transaction over a consistent snapshot.
    async fn read(&self) -> StoreResult<Box<dyn Tx>>;
    /// The backend's name, for logs and `/health`.
    fn backend(&self) -> &'static str;
    /// Ok when the database answers a trivial query and holds every migration this build knows
    /// (readiness probes: cheap, touches no user data).
    async fn ready(&self) -> StoreResult<()>;
    /// Brings the planner's statistics for the user tables up to date after a bulk write (a
    /// user import). A database that has never measured a table plans its lookups as if it were
    /// empty, and a connection keeps such a plan: on PostgreSQL a username lookup then walked a
    /// whole pool through another index (650 imported rows/s at 250,000 users, 6,500 once
    /// measured). The database's own maintenance (autovacuum) does this too, in its own time
    /// and only where it is on. A no-op where the planner needs no statistics for these lookups.
    async fn refresh_statistics(&self) -> StoreResult<()> {
        Ok(())
    }
    /// The hot read of an access-token call (GetUser): the family `origin_jti`, the user `sub`
    /// of `pool` and the client, as one statement (its own consistent snapshot) outside any
    /// transaction: one round trip to the database instead of BEGIN, three reads and COMMIT.
    async fn access_read(
        &self,
        origin_jti: &Uuid,
        pool: &UserPoolId,
        sub: &Sub,
        client: &ClientId,
    ) -> StoreResult<AccessRead>;

    /// A page of ListUsers as one statement outside any transaction (its own snapshot): what
    /// [`Tx::list_users`] reads, with no transaction to begin and end around it. A backend may
    /// answer it more cheaply than a read transaction (SQLite: on the calling thread).
    async fn list_users(
        &self,
        pool: &UserPoolId,
        query: &UserQuery<'_>,
    ) -> StoreResult<Vec<(String, User)>> {
        let mut tx = self.read().await?;
        tx.list_users(pool, query).await
    }
}

#[async_trait]
pub trait Tx:
    Send
    + IamTx
    + IdentityTx
    + SyncTx
    + FederationTx
    + ThreatTx
    + UserImportTx
    + TermsTx
    + CimdTx
    + PasskeyTx
    + HistoryTx
    + ResealTx
    + ConsoleTx
{
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    // Pools.
    async fn insert_pool(&mut self, pool: &UserPool) -> StoreResult<()>;
    async fn get_pool(&mut self, id: &UserPoolId) -> StoreResult<Option<UserPool>>;
    async fn update_pool(&mut self, pool: &UserPool) -> StoreResult<()>;
    /// Deletes the pool and everything in it. Returns whether it existed.
    async fn delete_pool(&mut self, id: &UserPoolId) -> StoreResult<bool>;
    /// Pools ordered by id, after `after`.
    async fn list_pools(
        &mut self,
        after: Option<&UserPoolId>,
        limit: usize,
    ) -> StoreResult<Vec<UserPool>>;

    // Signing keys.
    async fn insert_signing_key(&mut self, key: &StoredKey) -> StoreResult<()>;
    async fn signing_keys(&mut self, pool: &UserPoolId) -> StoreResult<Vec<StoredKey>>;
    /// A key by its id, in whichever pool holds it.
    async fn find_signing_key(&mut self, kid: &str) -> StoreResult<Option<StoredKey>>;
    /// Starts a next key signing. False (nothing written) unless it is unactivated and unrevoked,
    /// so two nodes rotating at once can't both win.
    async fn activate_signing_key(
        &mut self,
        pool: &UserPoolId,
        kid: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Stops an active key signing. False (nothing written) unless it is active.
    async fn retire_signing_key(
        &mut self,
        pool: &UserPoolId,
        kid: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Withdraws a key. False (nothing written) when it is already revoked or doesn't exist.
    async fn revoke_signing_key(
        &mut self,
        pool: &UserPoolId,
        kid: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;

    /// Pools with key upkeep due, by id: created before `created_before` and lacking a next key
    /// of either use, or with a key that has been signing since before `activated_before`.
    async fn pools_due_key_upkeep(
        &mut self,
        created_before: Timestamp,
        activated_before: Option<Timestamp>,
        limit: usize,
    ) -> StoreResult<Vec<UserPoolId>>;

    // Deployment-wide values.
    async fn get_meta(&mut self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Writes a value unless one is there; returns whether it wrote.
    async fn insert_meta(&mut self, name: &str, value: &[u8]) -> StoreResult<bool>;
    /// Writes a value, replacing the one there.
    async fn put_meta(&mut self, name: &str, value: &[u8]) -> StoreResult<()>;

    // App clients. Client ids are unique across pools (InitiateAuth names only the client).
    async fn insert_client(&mut self, client: &AppClient) -> StoreResult<()>;
    async fn get_client(&mut self, id: &ClientId) -> StoreResult<Option<AppClient>>;
    /// Writes a client's name, settings and modification time; never its secrets.
    async fn update_client(&mut self, client: &AppClient) -> StoreResult<()>;
    /// Gives a client that has exactly one secret a second one, atomically: false (and nothing
    /// written) when the client has no secret or already has two, so concurrent calls can never
    /// leave more than two.
    async fn add_client_secret(
        &mut self,
        pool: &UserPoolId,
        id: &ClientId,
        secret: &ClientSecret,
    ) -> StoreResult<bool>;
    /// Removes the secret created at `created_at` from a client, only while the client has
    /// another one left; false (and nothing written) otherwise.
    async fn delete_client_secret(
        &mut self,
        pool: &UserPoolId,
        id: &ClientId,
        created_at: Timestamp,
    ) -> StoreResult<bool>;
    async fn delete_client(&mut self, pool: &UserPoolId, id: &ClientId) -> StoreResult<bool>;
    /// A pool's clients ordered by id, after `after`.
    async fn list_clients(
        &mut self,
        pool: &UserPoolId,
        after: Option<&ClientId>,
        limit: usize,
    ) -> StoreResult<Vec<AppClient>>;

    /// Code sends within the last hour to a name that matches no user, for `purpose`.
    async fn unknown_name_sends(
        &mut self,
        pool: &UserPoolId,
        name_key: &str,
        purpose: &str,
    ) -> StoreResult<Vec<Timestamp>>;
    async fn put_unknown_name_sends(
        &mut self,
        pool: &UserPoolId,
        name_key: &str,
        purpose: &str,
        sends: &[Timestamp],
    ) -> StoreResult<()>;

    // Users.
    /// Inserts a user holding `aliases`; fails with `Conflict::Username` or `Conflict::Alias`.
    async fn insert_user(
        &mut self,
        user: &User,
        username_key: &str,
        aliases: &[Alias],
    ) -> StoreResult<()>;
    async fn get_user(&mut self, pool: &UserPoolId, by: &UserLookup) -> StoreResult<Option<User>>;
    /// Replaces the user's attributes, status and credentials (not its failure counters) and
    /// sets its aliases to exactly `aliases`.
    async fn update_user(&mut self, user: &User, aliases: &[Alias]) -> StoreResult<()>;
    async fn delete_user(&mut self, pool: &UserPoolId, sub: &Sub) -> StoreResult<bool>;
    /// Users ordered by username key. Returns each with its username key (the page cursor).
    async fn list_users(
        &mut self,
        pool: &UserPoolId,
        query: &UserQuery<'_>,
    ) -> StoreResult<Vec<(String, User)>>;
    async fn count_users(&mut self, pool: &UserPoolId) -> StoreResult<u64>;
    /// Sets the failure counters to `next` only if they still equal `expected`.
    async fn charge_sign_in(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        expected: &SignInFailures,
        next: &SignInFailures,
    ) -> StoreResult<bool>;
    async fn reset_sign_in_failures(&mut self, pool: &UserPoolId, sub: &Sub) -> StoreResult<()>;
    /// Failure counters of a sign-in name that matches no user (default when none).
    async fn unknown_user_failures(
        &mut self,
        pool: &UserPoolId,
        name_key: &str,
    ) -> StoreResult<SignInFailures>;
    /// Compare-and-swap of an unknown name's counters, as [`Tx::charge_sign_in`].
    async fn charge_unknown_user(
        &mut self,
        pool: &UserPoolId,
        name_key: &str,
        expected: &SignInFailures,
        next: &SignInFailures,
    ) -> StoreResult<bool>;
    /// Drops every SRP verifier of a pool (when the pool turns SRP off). Returns how many.
    async fn clear_srp_verifiers(&mut self, pool: &UserPoolId) -> StoreResult<u64>;

    // Token families and refresh tokens.
    async fn insert_token_family(&mut self, family: &TokenFamily) -> StoreResult<()>;
    async fn get_token_family(&mut self, origin_jti: &Uuid) -> StoreResult<Option<TokenFamily>>;
    async fn revoke_token_family(&mut self, origin_jti: &Uuid, at: Timestamp) -> StoreResult<bool>;
    /// Revokes every live family of a user (global sign-out). Returns how many.
    async fn revoke_user_token_families(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        at: Timestamp,
    ) -> StoreResult<u64>;
    /// A user's active token families (not revoked, refresh not expired at `now`) — their token
    /// sessions — oldest first (ties by origin_jti), each with its last activity: when its
    /// newest refresh token was issued.
    async fn active_token_families(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        now: Timestamp,
    ) -> StoreResult<Vec<(TokenFamily, Timestamp)>>;
    async fn insert_refresh_token(&mut self, token: &RefreshTokenRecord) -> StoreResult<()>;
    async fn get_refresh_token(&mut self, hash: &[u8]) -> StoreResult<Option<RefreshTokenRecord>>;
    /// Marks a refresh token as replaced, only if it wasn't already. Returns whether it was now.
    async fn supersede_refresh_token(&mut self, hash: &[u8], at: Timestamp) -> StoreResult<bool>;

    // Auth sessions (pending challenges), keyed by the hash of the session token.
    async fn insert_auth_session(&mut self, hash: &[u8], session: &AuthSession) -> StoreResult<()>;
    async fn get_auth_session(&mut self, hash: &[u8]) -> StoreResult<Option<AuthSession>>;
    async fn update_auth_session(&mut self, hash: &[u8], session: &AuthSession) -> StoreResult<()>;
    /// Consumes a session; only one caller can get `true` for the same session.
    async fn delete_auth_session(&mut self, hash: &[u8]) -> StoreResult<bool>;
    /// Makes the session `hash` findable by `key` as well, replacing the session the key found
    /// before. The session stays one piece of state: consuming or expiring it (by either way of
    /// finding it) removes the key too.
    async fn index_device_challenge(
        &mut self,
        key: &DeviceChallengeKey,
        hash: &[u8],
    ) -> StoreResult<()>;
    /// The session `key` finds (its hash and contents), if it still exists.
    async fn find_device_challenge(
        &mut self,
        key: &DeviceChallengeKey,
    ) -> StoreResult<Option<(Vec<u8>, AuthSession)>>;

    // The hosted UI's authorization codes and sign-in sessions, keyed by the hash of the value
    // the client or browser holds.
    async fn insert_authorization_code(
        &mut self,
        hash: &[u8],
        code: &AuthorizationCode,
    ) -> StoreResult<()>;
    /// The code and, once redeemed, when and the token family it started.
    async fn get_authorization_code(&mut self, hash: &[u8]) -> StoreResult<Option<StoredCode>>;
    /// Marks a code redeemed by the family `origin_jti`; only one caller can get `true`.
    async fn redeem_authorization_code(
        &mut self,
        hash: &[u8],
        at: Timestamp,
        origin_jti: &Uuid,
    ) -> StoreResult<bool>;
    async fn insert_hosted_session(
        &mut self,
        hash: &[u8],
        session: &HostedSession,
    ) -> StoreResult<()>;
    async fn get_hosted_session(&mut self, hash: &[u8]) -> StoreResult<Option<HostedSession>>;
    async fn delete_hosted_session(&mut self, hash: &[u8]) -> StoreResult<bool>;
    /// A user's hosted sessions alive at `now` (cookie hash and session), oldest sign-in first.
    async fn hosted_sessions_of(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        now: Timestamp,
    ) -> StoreResult<Vec<(Vec<u8>, HostedSession)>>;

    // One-time codes: at most one live code per user and purpose (`CodePurpose::key`).
    async fn get_code(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        purpose: &str,
    ) -> StoreResult<Option<VerificationCode>>;
    /// Inserts or replaces the user's code for its purpose.
    async fn put_code(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        code: &VerificationCode,
    ) -> StoreResult<()>;
    async fn delete_code(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        purpose: &str,
    ) -> StoreResult<bool>;

    // Devices.
    async fn insert_device(&mut self, device: &tessera_domain::devices::Device) -> StoreResult<()>;
    async fn get_device(
        &mut self,
        pool: &UserPoolId,
        key: &str,
    ) -> StoreResult<Option<tessera_domain::devices::Device>>;
    async fn update_device(&mut self, device: &tessera_domain::devices::Device) -> StoreResult<()>;
    async fn delete_device(&mut self, pool: &UserPoolId, key: &str) -> StoreResult<bool>;
    /// A user's devices ordered by key, after `after`.
    async fn list_devices(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<tessera_domain::devices::Device>>;

    // Groups.
    async fn insert_group(&mut self, group: &Group) -> StoreResult<()>;
    async fn get_group(&mut self, pool: &UserPoolId, name: &str) -> StoreResult<Option<Group>>;
    async fn update_group(&mut self, group: &Group) -> StoreResult<()>;
    /// Deletes the group and its memberships.
    async fn delete_group(&mut self, pool: &UserPoolId, name: &str) -> StoreResult<bool>;
    /// A pool's groups ordered by name, after `after`.
    async fn list_groups(
        &mut self,
        pool: &UserPoolId,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Group>>;
    /// Adds a member; false when the user already was one.
    async fn add_group_member(
        &mut self,
        pool: &UserPoolId,
        group: &str,
        sub: &Sub,
    ) -> StoreResult<bool>;
    async fn remove_group_member(
        &mut self,
        pool: &UserPoolId,
        group: &str,
        sub: &Sub,
    ) -> StoreResult<bool>;
    /// The groups a user belongs to, ordered by name, after `after`.
    async fn groups_of_user(
        &mut self,
        pool: &UserPoolId,
        sub: &Sub,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<Group>>;
    /// A group's members as ListUsers pages them (by username key, after `after`).
    async fn group_members(
        &mut self,
        pool: &UserPoolId,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<(String, User)>>;

    // User-pool domains. A name belongs to one pool of the deployment; a pool has at most one
    // domain of each kind.
    /// Fails with `Conflict::PoolDomainKind` when the pool already has a domain of this kind,
    /// else `Conflict::Domain` when the name is taken (by this pool or another).
    async fn insert_domain(&mut self, domain: &UserPoolDomain) -> StoreResult<()>;
    /// The domain of that name, whichever pool holds it (for DescribeUserPoolDomain and for
    /// routing hosted-UI requests by host).
    async fn domain_by_name(&mut self, name: &DomainName) -> StoreResult<Option<UserPoolDomain>>;
    /// A pool's domains, prefix before custom.
    async fn pool_domains(&mut self, pool: &UserPoolId) -> StoreResult<Vec<UserPoolDomain>>;
    /// Replaces a domain's settings; its pool and name stay.
    async fn update_domain(&mut self, domain: &UserPoolDomain) -> StoreResult<()>;
    /// Deletes the domain only if `pool` holds it. Returns whether it did.
    async fn delete_domain(&mut self, pool: &UserPoolId, name: &DomainName) -> StoreResult<bool>;

    // Resource servers, unique by identifier within a pool.
    async fn insert_resource_server(&mut self, server: &ResourceServer) -> StoreResult<()>;
    async fn get_resource_server(
        &mut self,
        pool: &UserPoolId,
        identifier: &ResourceServerIdentifier,
    ) -> StoreResult<Option<ResourceServer>>;
    async fn update_resource_server(&mut self, server: &ResourceServer) -> StoreResult<()>;
    async fn delete_resource_server(
        &mut self,
        pool: &UserPoolId,
        identifier: &ResourceServerIdentifier,
    ) -> StoreResult<bool>;
    /// A pool's resource servers ordered by identifier, after `after`.
    async fn list_resource_servers(
        &mut self,
        pool: &UserPoolId,
        after: Option<&ResourceServerIdentifier>,
        limit: usize,
    ) -> StoreResult<Vec<ResourceServer>>;

    // Managed-login branding styles: one per app client, found by id within a pool or by client.
    /// Fails with `Conflict::ManagedLoginBranding` when the client already has a style.
    async fn insert_managed_login_branding(
        &mut self,
        style: &ManagedLoginBranding,
    ) -> StoreResult<()>;
    async fn get_managed_login_branding(
        &mut self,
        pool: &UserPoolId,
        id: &Uuid,
    ) -> StoreResult<Option<ManagedLoginBranding>>;
    async fn managed_login_branding_of_client(
        &mut self,
        pool: &UserPoolId,
        client: &ClientId,
    ) -> StoreResult<Option<ManagedLoginBranding>>;
    /// Replaces a style's settings, assets and times; its id, pool and client stay.
    async fn update_managed_login_branding(
        &mut self,
        style: &ManagedLoginBranding,
    ) -> StoreResult<()>;
    /// Deletes the style only if `pool` holds it. Returns whether it did.
    async fn delete_managed_login_branding(
        &mut self,
        pool: &UserPoolId,
        id: &Uuid,
    ) -> StoreResult<bool>;

    // The outbox.
    async fn enqueue_message(
        &mut self,
        message: &OutboundMessage,
        status: OutboxStatus,
    ) -> StoreResult<()>;
    /// Takes up to `limit` pending messages due at `now`, counting an attempt and hiding them
    /// from other claimers until `lease_until`. Two nodes never claim the same message.
    async fn claim_messages(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> StoreResult<Vec<(OutboundMessage, u32)>>;
    /// Records an attempt's outcome. Delivered messages lose their body (it holds a code or a
    /// temporary password); failed ones keep it for [`FAILED_BODY_KEPT`] after `now`, so an
    /// operator can retry them ([`ConsoleTx::retry_message`]), and then lose it in the sweep.
    ///
    /// [`FAILED_BODY_KEPT`]: tessera_domain::messages::FAILED_BODY_KEPT
    async fn record_delivery(
        &mut self,
        id: &Uuid,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> StoreResult<()>;
    /// How many messages are neither delivered nor given up on (the outbox's depth, for
    /// metrics): due, leased to a sender, or waiting to be retried. Held messages don't count.
    async fn count_pending_messages(&mut self) -> StoreResult<u64>;
    /// The newest messages, optionally of one pool (for `tessera outbox` and `--dev`).
    async fn list_outbox(
        &mut self,
        pool: Option<&UserPoolId>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxEntry>>;

    /// Removes expired auth sessions, token families past their refresh expiry, and unknown-name
    /// failure counters nobody has touched for the lockout's memory (15 minutes), unknown-name
    /// send records older than an hour, expired codes, and delivered or failed messages older
    /// than a week, and STS sessions past their expiry. Failed messages past their kept time
    /// lose their body; hourly sign-in counts older than `SIGN_IN_COUNTS_KEPT` go.
    async fn sweep_expired(&mut self, now: Timestamp) -> StoreResult<u64>;
}
