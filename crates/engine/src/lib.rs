//! Tessera's engine: one function per Cognito operation.
//!
//! Each operation reads "now" once from the [`Clock`], opens short store transactions, applies the
//! domain's rules and commits. Slow cryptography (argon2, RSA) runs on a bounded blocking pool
//! between transactions, never while holding the store's writer. The engine speaks domain types:
//! it knows nothing of HTTP or the wire format.

pub mod audit;
mod auth;
pub mod aws_saml;
mod branding;
mod choice;
mod cimd;
mod client_tokens;
mod clients;
mod console;
mod custom;
mod devices;
mod domains;
mod error;
pub mod federated_signin;
pub mod federation;
mod flow;
pub mod forward_auth;
pub mod gateway;
mod groups;
mod hashing;
pub mod iam;
pub mod identity;
pub mod identity_providers;
mod keys;
pub mod log_delivery;
pub mod master_key;
mod mfa;
mod migration;
mod oauth;
mod outbox;
mod passkeys;
mod pool_settings;
mod pools;
mod ports;
pub mod provider_links;
pub mod quotas;
pub mod recovery;
mod resource_servers;
pub mod saml;
mod sessions;
mod signin;
mod srp;
pub mod sts;
pub mod sync;
mod tags;
pub mod telemetry;
mod terms;
pub mod threat;
mod tokens;
mod triggers;
mod user_import;
mod users;
mod verification;
mod verified;

pub use branding::{ClassicLogo, HostedLook};
pub use cimd::{CachedUrlPage, CimdCacheAction, CimdClient, CimdPolicyPage, CimdPolicyView};
pub use client_tokens::{DerivedToken, DerivedTokenRequest};
pub use clients::{ClientUpdate, NewClient, SecretDescriptor};
pub use devices::DevicePage;
pub use error::{EngineError, EngineResult};
pub use flow::{AuthOutcome, AuthRequest, ChallengeResponse, TokenSet};
pub use groups::{GroupPage, NewGroup};
pub use keys::{KeyInfo, KeyState, PoolJwks, RETIRED_KEY_GRACE};
pub use mfa::{FactorPreference, MfaPreferences, PoolMfaConfig, TokenSetup};
pub use oauth::{
    AuthorizeGrant, OAuthError, OAuthFailure, OAuthResult, OAuthTokens, TokenGrantRequest,
    UserInfoError,
};
pub use outbox::Delivery;
pub use passkeys::Registrant;
pub use pool_settings::FoundUiCustomization;
pub use pools::{PoolPage, PoolUpdate};
pub use ports::{
    Clock, DeliveryError, InvokeError, ManualClock, Messenger, SystemClock, TriggerInvoker,
};
pub use resource_servers::{ResourceServerPage, ScopeSpec};
pub use sessions::{SessionKind, UserSession};
pub use terms::TermsPage;
pub use tokens::ClientProof;
pub use user_import::{ImportJobView, UploadRefusal};
pub use users::{AdminCreateUser, SignUp, SignedUp, UserPage, UserRef};
pub use verification::{ConfirmForgotPassword, ConfirmSignUp};

use std::sync::Arc;
use tessera_crypto::password::HashCost;
use tessera_crypto::seal::Keyring;
use tessera_store::Store;

/// What an engine needs to know about its deployment.
#[derive(Clone, Debug)]
pub struct EngineSettings {
    /// The AWS region this deployment pretends to be (pool ids start with it).
    pub region: String,
    /// The 12-digit account id in every ARN this deployment writes.
    pub account_id: String,
    /// Base of token issuers: a pool's issuer is `{issuer_base}/{pool id}`.
    pub issuer_base: String,
    /// Hosted-UI domains answer at `{prefix}.{domain_base}` (behind wildcard DNS and a TLS
    /// proxy); without it, at `{issuer_base}/domain/{name}`.
    pub domain_base: Option<String>,
    /// Origins passkey ceremonies accept besides `https://{RelyingPartyId}` and the pool's
    /// hosted-UI domains.
    pub webauthn_origins: Vec<String>,
    pub hash_cost: HashCost,
    /// Password hashes computed at once (each holds ~19 MiB); defaults to the core count.
    pub hash_concurrency: usize,
    pub delivery: Delivery,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// The master key (seals) and the keys it replaced (open only, during a rotation).
    master: Keyring,
    /// Invokes the functions named in pools' LambdaConfig.
    triggers: Arc<dyn TriggerInvoker>,
    hasher: hashing::Hasher,
    keys: keys::KeyRing,
    /// Access tokens already verified (signature and claims), by digest.
    verified: verified::VerifiedTokens,
    /// The identity pools' OpenID signing keys, once loaded.
    identity_keys: std::sync::RwLock<Option<Arc<identity::openid::IdentityKeys>>>,
    settings: EngineSettings,
    /// Fetches external OIDC providers' discovery documents and keys, when the server has one.
    oidc_documents: std::sync::OnceLock<Arc<dyn federation::OidcDocuments>>,
    /// External providers' key sets, as last fetched.
    jwks_cache: federation::JwksCache,
    /// The deployment's `[federation.<Type>]` endpoint overrides for social providers.
    federation_endpoints: std::sync::OnceLock<
        std::collections::BTreeMap<
            tessera_domain::identity_providers::ProviderType,
            tessera_domain::identity_providers::SocialEndpoints,
        >,
    >,
    /// Password proofs actually checked (argon2 verifications and SRP proofs of real users).
    password_checks: std::sync::atomic::AtomicU64,
    /// Signalled when a message is queued, so the delivery worker needn't poll fast.
    outbox_ready: Arc<tokio::sync::Notify>,
    /// The ALB signing key and revocation answers of the forward-auth endpoint.
    forward_auth: forward_auth::ForwardAuthState,
    /// The breach corpus and threat-protection settings, once the server installs them.
    threat: std::sync::OnceLock<threat::ThreatConfig>,
    /// Request-rate quotas per pool and category.
    quotas: quotas::Quotas,
    /// Where configured pool logs go, once the server installs a sink.
    log_sink: std::sync::OnceLock<Arc<dyn log_delivery::LogSink>>,
    /// How far in the past a point-in-time recovery point must be, once the server sets it.
    recovery_min_age: std::sync::OnceLock<std::time::Duration>,
    /// Sign-in outcomes counted on this node, not yet added to the store.
    sign_in_tally: console::SignInTally,
    /// Large pools' user counts, as DescribeUserPool last took them.
    user_counts: pools::UserCounts,
}

impl Engine {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        master: impl Into<Keyring>,
        triggers: Arc<dyn TriggerInvoker>,
        settings: EngineSettings,
    ) -> EngineResult<Self> {
        let hasher = hashing::Hasher::new(settings.hash_cost, settings.hash_concurrency)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clock,
                master: master.into(),
                triggers,
                hasher,
                keys: keys::KeyRing::default(),
                verified: verified::VerifiedTokens::default(),
                identity_keys: Default::default(),
                settings,
                oidc_documents: Default::default(),
                jwks_cache: Default::default(),
                federation_endpoints: Default::default(),
                password_checks: Default::default(),
                outbox_ready: Default::default(),
                sign_in_tally: Default::default(),
                forward_auth: Default::default(),
                threat: Default::default(),
                quotas: Default::default(),
                log_sink: Default::default(),
                recovery_min_age: Default::default(),
                user_counts: Default::default(),
            }),
        })
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    fn now(&self) -> tessera_domain::Timestamp {
        self.inner.clock.now()
    }

    /// The issuer of a pool's tokens.
    pub fn issuer(&self, pool: &tessera_domain::UserPoolId) -> String {
        format!("{}/{}", self.inner.settings.issuer_base, pool)
    }

    /// How many password proofs this node has actually checked: wrong guesses refused by
    /// lockout before any check don't count. (For tests and metrics.)
    pub fn password_checks(&self) -> u64 {
        self.inner
            .password_checks
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_password_check(&self) {
        self.inner
            .password_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The outbox's depth, also set as the [`telemetry::OUTBOX_PENDING`] gauge (read at scrape
    /// time, so every node reports the shared queue as it is).
    pub async fn outbox_depth(&self) -> EngineResult<u64> {
        let mut tx = self.inner.store.read().await?;
        let n = tx.count_pending_messages().await?;
        telemetry::outbox_pending(n);
        Ok(n)
    }

    /// Removes state nobody can use any more (expired sessions and token families).
    pub async fn sweep(&self) -> EngineResult<u64> {
        let mut tx = self.inner.store.begin().await?;
        let n = tx.sweep_expired(self.now()).await?
            + tx.sweep_role_sessions(self.now()).await?
            + sync::sweep(&mut *tx, self.now()).await?
            + tx.prune_history(
                self.now()
                    .minus(tessera_domain::recovery::HISTORY_RETENTION),
            )
            .await?;
        tx.commit().await?;
        Ok(n + self.prune_journals().await?)
    }
}

/// A random (version 4) UUID, as Cognito's `jti`, `event_id` and `origin_jti` are.
pub(crate) fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(tessera_crypto::random::bytes::<16>()).into_uuid()
}
