//! A user pool's external identity providers: CreateIdentityProvider, DescribeIdentityProvider,
//! UpdateIdentityProvider, DeleteIdentityProvider, ListIdentityProviders and
//! GetIdentityProviderByIdentifier, and the check that an app client's
//! SupportedIdentityProviders exist.
//!
//! Secrets in ProviderDetails (`client_secret`, `private_key`) are sealed with the master key,
//! bound to pool, provider and key; Describe opens `client_secret` (Cognito returns it) and never
//! returns `private_key`. The derived keys Describe adds come from the provider type's endpoints,
//! which the deployment may override per type (`[federation.Google]` …).

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use crate::pools::{decode_token, paged};
use std::collections::BTreeMap;
use tessera_domain::identity_providers::{
    IdentityProvider, MAX_PROVIDERS, ProviderType, SECRET_KEYS, SocialEndpoints, check_details,
    check_identifiers, check_mapping, check_name, default_mapping, derived_details,
    duplicate_identifier, duplicate_provider, identifier_not_found, provider_not_found,
};
use tessera_domain::pool::UserPool;
use tessera_domain::{DomainError, ErrorKind, UserPoolId};
use tessera_store::{Conflict, Tx};

/// A create or update request. On update, `None` leaves a part as it is.
#[derive(Clone, Debug, Default)]
pub struct ProviderSpec {
    pub details: Option<BTreeMap<String, String>>,
    pub attribute_mapping: Option<BTreeMap<String, String>>,
    pub idp_identifiers: Option<Vec<String>>,
    pub acr_mapping: Option<BTreeMap<String, String>>,
}

/// A provider as the API describes it: its ProviderDetails with the client secret opened and
/// the derived keys added.
#[derive(Clone, Debug)]
pub struct ProviderView {
    pub provider: IdentityProvider,
    pub details: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct ProviderPage {
    pub providers: Vec<IdentityProvider>,
    pub next_token: Option<String>,
}

pub(crate) fn secret_purpose(pool: &UserPoolId, provider: &str, key: &str) -> String {
    format!("idp-secret:{pool}:{provider}:{key}")
}

/// The pool's attributes a mapping may name (the schema's, custom ones with their prefix).
fn is_pool_attribute(pool: &UserPool, name: &str) -> bool {
    pool.config.schema.iter().any(|a| a.name == name)
}

/// Every SupportedIdentityProviders name but COGNITO must be a provider of the pool.
pub(crate) async fn check_client_providers(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    names: &[String],
) -> EngineResult<()> {
    for name in names.iter().filter(|n| n.as_str() != "COGNITO") {
        if tx.get_identity_provider(pool, name).await?.is_none() {
            return Err(DomainError::invalid_parameter(format!(
                "The provider {name} does not exist for User Pool {pool}"
            ))
            .into());
        }
    }
    Ok(())
}

impl Engine {
    /// The deployment's `[federation.<Type>]` endpoint overrides (set once at start).
    pub fn set_federation_endpoints(&self, overrides: BTreeMap<ProviderType, SocialEndpoints>) {
        let _ = self.inner.federation_endpoints.set(overrides);
    }

    /// The endpoints a provider's type uses here: Cognito's, with the deployment's overrides.
    pub fn social_endpoints(&self, p: &IdentityProvider) -> SocialEndpoints {
        let version = p
            .details
            .get("api_version")
            .map(String::as_str)
            .unwrap_or("v17.0");
        self.endpoints_of_type(p.provider_type, version)
    }

    /// A provider type's endpoints (Facebook's at Graph API `version`), with the deployment's
    /// `[federation.<Type>]` overrides: for user-pool federation and identity-pool logins alike.
    pub(crate) fn endpoints_of_type(&self, t: ProviderType, version: &str) -> SocialEndpoints {
        SocialEndpoints::builtin(t, version).overridden_by(
            self.inner
                .federation_endpoints
                .get()
                .and_then(|m| m.get(&t)),
        )
    }

    /// A sealed secret detail of a provider, opened.
    pub(crate) fn provider_secret(
        &self,
        p: &IdentityProvider,
        key: &str,
    ) -> EngineResult<Option<String>> {
        let Some(sealed) = p.sealed.get(key) else {
            return Ok(None);
        };
        let plain = self
            .inner
            .master
            .open(&secret_purpose(&p.pool_id, &p.name, key), sealed)?;
        String::from_utf8(plain.to_vec())
            .map(Some)
            .map_err(|_| crate::EngineError::Internal("provider secret is not UTF-8".into()))
    }

    /// Splits checked details into the kept ones and sealed secrets.
    fn seal_details(
        &self,
        pool: &UserPoolId,
        name: &str,
        details: BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, Vec<u8>>) {
        let mut kept = BTreeMap::new();
        let mut sealed = BTreeMap::new();
        for (k, v) in details {
            if SECRET_KEYS.contains(&k.as_str()) {
                let s = self
                    .inner
                    .master
                    .seal(&secret_purpose(pool, name, &k), v.as_bytes());
                sealed.insert(k, s);
            } else {
                kept.insert(k, v);
            }
        }
        (kept, sealed)
    }

    fn view(&self, provider: IdentityProvider) -> EngineResult<ProviderView> {
        let mut details = provider.details.clone();
        if let Some(secret) = self.provider_secret(&provider, "client_secret")? {
            details.insert("client_secret".into(), secret);
        }
        details.extend(derived_details(
            &provider,
            &self.social_endpoints(&provider),
        ));
        Ok(ProviderView { provider, details })
    }

    pub async fn create_identity_provider(
        &self,
        pool_id: &UserPoolId,
        name: &str,
        provider_type: &str,
        spec: ProviderSpec,
    ) -> EngineResult<ProviderView> {
        let provider_type = ProviderType::parse(provider_type).ok_or_else(|| {
            DomainError::invalid_parameter(format!("Invalid provider type {provider_type}."))
        })?;
        check_name(name, provider_type)?;
        let mut details = check_details(provider_type, &spec.details.unwrap_or_default())?;
        let saml_metadata = if provider_type == ProviderType::Saml {
            Some(self.saml_metadata_for(pool_id, &mut details).await?)
        } else {
            None
        };
        let mapping = default_mapping(provider_type, spec.attribute_mapping.unwrap_or_default());
        let identifiers = spec.idp_identifiers.unwrap_or_default();
        check_identifiers(&identifiers)?;
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        check_mapping(&mapping, |a| is_pool_attribute(&pool, a))?;
        if tx
            .list_identity_providers(pool_id, None, MAX_PROVIDERS)
            .await?
            .len()
            >= MAX_PROVIDERS
        {
            return Err(DomainError::new(
                ErrorKind::LimitExceeded,
                format!("A user pool can have at most {MAX_PROVIDERS} identity providers."),
            )
            .into());
        }
        let (details, sealed) = self.seal_details(pool_id, name, details);
        let now = self.now();
        let provider = IdentityProvider {
            pool_id: pool_id.clone(),
            name: name.to_string(),
            provider_type,
            details,
            sealed,
            attribute_mapping: mapping,
            idp_identifiers: identifiers,
            acr_mapping: spec.acr_mapping,
            saml_metadata,
            created_at: now,
            modified_at: now,
        };
        tx.insert_identity_provider(&provider)
            .await
            .map_err(|e| self.provider_conflict(e, &provider))?;
        tx.commit().await?;
        self.view(provider)
    }

    fn provider_conflict(
        &self,
        e: tessera_store::StoreError,
        p: &IdentityProvider,
    ) -> crate::EngineError {
        on_conflict(e, |c| match c {
            Conflict::IdentityProvider => Some(duplicate_provider(&p.name)),
            // The store says which rule broke, not which identifier: name the first, as the
            // message is about the set.
            Conflict::IdpIdentifier => Some(duplicate_identifier(
                p.idp_identifiers.first().map(String::as_str).unwrap_or(""),
            )),
            _ => None,
        })
    }

    async fn load_provider(
        &self,
        tx: &mut dyn Tx,
        pool_id: &UserPoolId,
        name: &str,
    ) -> EngineResult<IdentityProvider> {
        tx.get_identity_provider(pool_id, name)
            .await?
            .ok_or_else(|| provider_not_found(name).into())
    }

    pub async fn describe_identity_provider(
        &self,
        pool_id: &UserPoolId,
        name: &str,
    ) -> EngineResult<ProviderView> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let provider = self.load_provider(&mut *tx, pool_id, name).await?;
        self.view(provider)
    }

    pub async fn identity_provider_by_identifier(
        &self,
        pool_id: &UserPoolId,
        identifier: &str,
    ) -> EngineResult<ProviderView> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let provider = tx
            .identity_provider_by_identifier(pool_id, identifier)
            .await?
            .ok_or_else(|| identifier_not_found(identifier))?;
        self.view(provider)
    }

    /// Given details are merged over the stored ones (a secret left out stays), then the whole
    /// set is checked again; mapping and identifiers, when given, replace the old ones.
    pub async fn update_identity_provider(
        &self,
        pool_id: &UserPoolId,
        name: &str,
        spec: ProviderSpec,
    ) -> EngineResult<ProviderView> {
        // New details are checked (and a SAML provider's metadata fetched, its pool's keys
        // made) before the write transaction, which must wait on neither the network nor
        // another write.
        let prepared = match spec.details {
            Some(given) => {
                let current = {
                    let mut tx = self.inner.store.read().await?;
                    self.load_pool(&mut *tx, pool_id).await?;
                    self.load_provider(&mut *tx, pool_id, name).await?
                };
                let mut merged = current.details.clone();
                for key in SECRET_KEYS {
                    if let Some(v) = self.provider_secret(&current, key)? {
                        merged.insert(key.to_string(), v);
                    }
                }
                // A SAML provider changes its metadata source as a whole.
                if given.contains_key("MetadataFile") || given.contains_key("MetadataURL") {
                    merged.remove("MetadataFile");
                    merged.remove("MetadataURL");
                }
                merged.extend(given);
                let mut checked = check_details(current.provider_type, &merged)?;
                let metadata = if current.provider_type == ProviderType::Saml {
                    Some(self.saml_metadata_for(pool_id, &mut checked).await?)
                } else {
                    None
                };
                Some((checked, metadata))
            }
            None => None,
        };
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let mut provider = self.load_provider(&mut *tx, pool_id, name).await?;
        if let Some((checked, metadata)) = prepared {
            let (details, sealed) = self.seal_details(pool_id, name, checked);
            provider.details = details;
            provider.sealed = sealed;
            if metadata.is_some() {
                provider.saml_metadata = metadata;
            }
        }
        if let Some(mapping) = spec.attribute_mapping {
            let mapping = default_mapping(provider.provider_type, mapping);
            check_mapping(&mapping, |a| is_pool_attribute(&pool, a))?;
            provider.attribute_mapping = mapping;
        }
        if let Some(ids) = spec.idp_identifiers {
            check_identifiers(&ids)?;
            provider.idp_identifiers = ids;
        }
        if spec.acr_mapping.is_some() {
            provider.acr_mapping = spec.acr_mapping;
        }
        provider.modified_at = self.now();
        tx.update_identity_provider(&provider)
            .await
            .map_err(|e| self.provider_conflict(e, &provider))?;
        tx.commit().await?;
        self.view(provider)
    }

    pub async fn delete_identity_provider(
        &self,
        pool_id: &UserPoolId,
        name: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if !tx.delete_identity_provider(pool_id, name).await? {
            return Err(provider_not_found(name).into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_identity_providers(
        &self,
        pool_id: &UserPoolId,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<ProviderPage> {
        let after = decode_token(token)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let rows = tx
            .list_identity_providers(pool_id, after.as_deref(), limit + 1)
            .await?;
        let (providers, next_token) = paged(rows, limit, |p| p.name.as_str());
        Ok(ProviderPage {
            providers,
            next_token,
        })
    }
}
