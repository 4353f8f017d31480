//! Client ID Metadata Document policies: CreateCIMDPolicy, DescribeCIMDPolicy,
//! UpdateCIMDPolicy, DeleteCIMDPolicy, ListCIMDPolicies, ListClientMetadataURLs,
//! UpdateClientMetadataURLState, and [`Engine::cimd_client`], which the authorize and token
//! endpoints use to admit a client named by an `https://` URL (see `tessera_domain::cimd`).
//!
//! Documents are fetched through the [`OidcDocuments`](crate::federation::OidcDocuments) port
//! (the server's goes through the outbound guard, with short timeouts and a size cap) and kept
//! in the store, so every node sees one cache, until they expire or are invalidated.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::pools::{decode_token, paged};
use std::time::Duration;
use tessera_domain::cimd::{
    CachedDocument, CimdPolicy, ClientMetadata, cached_url_not_found, metadata_url_shape,
    policy_not_found,
};
use tessera_domain::client::AppClient;
use tessera_domain::{DomainError, UserPoolId};
use tessera_store::Tx;

/// Page size when MaxResults is absent.
const DEFAULT_PAGE: usize = 60;
/// The most policies a pool may have (each holds up to five patterns).
const MAX_POLICIES: usize = 20;

/// A policy as Describe and List show it: `client_id` only while that app client exists.
#[derive(Clone, Debug)]
pub struct CimdPolicyView {
    pub policy: CimdPolicy,
    pub client_exists: bool,
}

#[derive(Clone, Debug)]
pub struct CimdPolicyPage {
    pub policies: Vec<CimdPolicyView>,
    pub next_token: Option<String>,
}

#[derive(Clone, Debug)]
pub struct CachedUrlPage {
    pub documents: Vec<CachedDocument>,
    pub next_token: Option<String>,
}

/// What UpdateClientMetadataURLState does to a cached document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CimdCacheAction {
    Refresh,
    Invalidate,
}

/// A client named by a metadata URL, as the OAuth endpoints see it: the policy's app client
/// narrowed by the document.
#[derive(Clone, Debug)]
pub struct CimdClient {
    pub client: AppClient,
    pub metadata: ClientMetadata,
    pub policy_id: String,
}

async fn load_policy(tx: &mut dyn Tx, pool: &UserPoolId, id: &str) -> EngineResult<CimdPolicy> {
    Ok(tx
        .get_cimd_policy(pool, id)
        .await?
        .ok_or_else(policy_not_found)?)
}

async fn view(tx: &mut dyn Tx, policy: CimdPolicy) -> EngineResult<CimdPolicyView> {
    let client_exists = tx
        .get_client(&policy.client_id)
        .await?
        .is_some_and(|c| c.pool_id == policy.pool_id);
    Ok(CimdPolicyView {
        policy,
        client_exists,
    })
}

/// The client's settings for a CIMD client: redirect URIs from the document; the app client's
/// OAuth flows only where the document's grant and response types allow them; its scopes,
/// narrowed to the document's `scope` when it names one. CIMD clients are public: no secret.
fn narrowed(mut client: AppClient, metadata: &ClientMetadata) -> AppClient {
    use serde_json::{Value, json};
    let settings = &mut client.config.settings;
    settings.insert("CallbackURLs".into(), json!(metadata.redirect_uris));
    settings.remove("DefaultRedirectURI");
    let allowed = |flow: &str| match flow {
        "code" => {
            metadata
                .grant_types
                .iter()
                .any(|g| g == "authorization_code")
                && metadata.response_types.iter().any(|r| r == "code")
        }
        "implicit" => {
            metadata.grant_types.iter().any(|g| g == "implicit")
                && metadata.response_types.iter().any(|r| r == "token")
        }
        _ => false,
    };
    if let Some(Value::Array(flows)) = settings.get_mut("AllowedOAuthFlows") {
        flows.retain(|f| f.as_str().is_some_and(allowed));
    }
    if let Some(scope) = &metadata.scope {
        let asked: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
        if let Some(Value::Array(scopes)) = settings.get_mut("AllowedOAuthScopes") {
            scopes.retain(|s| s.as_str().is_some_and(|s| asked.contains(&s)));
        }
    }
    client.secrets.clear();
    client
}

impl Engine {
    pub async fn create_cimd_policy(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        name: String,
        cache_seconds: Option<u32>,
        url_patterns: Vec<String>,
    ) -> EngineResult<CimdPolicyView> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        if tx
            .list_cimd_policies(pool_id, None, MAX_POLICIES)
            .await?
            .len()
            >= MAX_POLICIES
        {
            return Err(DomainError::new(
                tessera_domain::ErrorKind::LimitExceeded,
                format!("A user pool can have at most {MAX_POLICIES} CIMD policies."),
            )
            .into());
        }
        let id = crate::random_uuid().simple().to_string();
        let policy = CimdPolicy::new(
            id,
            pool_id.clone(),
            client.client_id,
            name,
            cache_seconds,
            url_patterns,
            self.now(),
        )?;
        tx.insert_cimd_policy(&policy).await?;
        tx.commit().await?;
        Ok(CimdPolicyView {
            policy,
            client_exists: true,
        })
    }

    pub async fn describe_cimd_policy(
        &self,
        pool_id: &UserPoolId,
        id: &str,
    ) -> EngineResult<CimdPolicyView> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let policy = load_policy(&mut *tx, pool_id, id).await?;
        view(&mut *tx, policy).await
    }

    pub async fn update_cimd_policy(
        &self,
        pool_id: &UserPoolId,
        id: &str,
        client_id: &str,
        name: Option<String>,
        cache_seconds: Option<u32>,
        url_patterns: Vec<String>,
    ) -> EngineResult<CimdPolicyView> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut policy = load_policy(&mut *tx, pool_id, id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        policy.update(
            client.client_id,
            name,
            cache_seconds,
            url_patterns,
            self.now(),
        )?;
        tx.update_cimd_policy(&policy).await?;
        tx.commit().await?;
        Ok(CimdPolicyView {
            policy,
            client_exists: true,
        })
    }

    pub async fn delete_cimd_policy(&self, pool_id: &UserPoolId, id: &str) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if !tx.delete_cimd_policy(pool_id, id).await? {
            return Err(policy_not_found().into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_cimd_policies(
        &self,
        pool_id: &UserPoolId,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> EngineResult<CimdPolicyPage> {
        let limit = max_results.unwrap_or(DEFAULT_PAGE);
        let after = decode_token(next_token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let rows = tx
            .list_cimd_policies(pool_id, after.as_deref(), limit + 1)
            .await?;
        let (rows, next_token) = paged(rows, limit, |p| &p.id);
        let mut policies = Vec::with_capacity(rows.len());
        for p in rows {
            policies.push(view(&mut *tx, p).await?);
        }
        Ok(CimdPolicyPage {
            policies,
            next_token,
        })
    }

    pub async fn list_client_metadata_urls(
        &self,
        pool_id: &UserPoolId,
        policy_id: &str,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> EngineResult<CachedUrlPage> {
        let limit = max_results.unwrap_or(DEFAULT_PAGE);
        let after = decode_token(next_token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        load_policy(&mut *tx, pool_id, policy_id).await?;
        let rows = tx
            .list_cimd_documents(pool_id, policy_id, after.as_deref(), limit + 1)
            .await?;
        let (documents, next_token) = paged(rows, limit, |d| &d.url);
        Ok(CachedUrlPage {
            documents,
            next_token,
        })
    }

    pub async fn update_client_metadata_url_state(
        &self,
        pool_id: &UserPoolId,
        policy_id: &str,
        url: &str,
        action: CimdCacheAction,
    ) -> EngineResult<()> {
        let policy = {
            let mut tx = self.inner.store.read().await?;
            self.load_pool(&mut *tx, pool_id).await?;
            let policy = load_policy(&mut *tx, pool_id, policy_id).await?;
            if tx
                .get_cimd_document(pool_id, policy_id, url)
                .await?
                .is_none()
            {
                return Err(cached_url_not_found().into());
            }
            policy
        };
        match action {
            CimdCacheAction::Invalidate => {
                let mut tx = self.inner.store.begin().await?;
                if !tx.delete_cimd_document(pool_id, policy_id, url).await? {
                    return Err(cached_url_not_found().into());
                }
                tx.commit().await?;
            }
            CimdCacheAction::Refresh => {
                self.fetch_client_metadata(&policy, url).await?;
            }
        }
        Ok(())
    }

    /// Fetches and checks `url`'s document and caches it for `policy`.
    async fn fetch_client_metadata(
        &self,
        policy: &CimdPolicy,
        url: &str,
    ) -> EngineResult<CachedDocument> {
        let documents = self.inner.oidc_documents.get().ok_or_else(|| {
            DomainError::invalid_parameter("This server can't fetch client metadata documents.")
        })?;
        let unusable = |why: String| {
            tracing::info!(reason = %why, "client metadata document refused");
            EngineError::from(DomainError::invalid_parameter(format!(
                "The client metadata document at {url} is unusable: {why}"
            )))
        };
        let (body, max_age) = documents.get_client_metadata(url).await.map_err(unusable)?;
        let metadata = ClientMetadata::parse(url, &body).map_err(unusable)?;
        let now = self.now();
        let doc = CachedDocument {
            pool_id: policy.pool_id.clone(),
            policy_id: policy.id.clone(),
            url: url.to_string(),
            metadata,
            cached_at: now,
            expires_at: now.plus(Duration::from_secs(policy.cache_for(max_age))),
        };
        let mut tx = self.inner.store.begin().await?;
        // The policy may have gone meanwhile: then nothing is cached.
        if tx
            .get_cimd_policy(&policy.pool_id, &policy.id)
            .await?
            .is_none()
        {
            return Err(policy_not_found().into());
        }
        tx.put_cimd_document(&doc).await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// The client a metadata URL names in `pool`, if a policy admits it: its cached document
    /// (fetched when missing or expired) applied to the policy's app client.
    pub async fn cimd_client(&self, pool_id: &UserPoolId, url: &str) -> EngineResult<CimdClient> {
        let not_admitted = || DomainError::client_not_found(url);
        metadata_url_shape(url).map_err(|_| not_admitted())?;
        let (policy, cached, client) = {
            let mut tx = self.inner.store.read().await?;
            let policies = tx.list_cimd_policies(pool_id, None, MAX_POLICIES).await?;
            let policy = policies
                .into_iter()
                .find(|p| p.admits(url))
                .ok_or_else(not_admitted)?;
            let cached = tx.get_cimd_document(pool_id, &policy.id, url).await?;
            let client = tx
                .get_client(&policy.client_id)
                .await?
                .filter(|c| &c.pool_id == pool_id)
                .ok_or_else(not_admitted)?;
            (policy, cached, client)
        };
        let doc = match cached {
            Some(d) if d.expires_at > self.now() => d,
            _ => self.fetch_client_metadata(&policy, url).await?,
        };
        Ok(CimdClient {
            client: narrowed(client, &doc.metadata),
            metadata: doc.metadata,
            policy_id: policy.id,
        })
    }
}
