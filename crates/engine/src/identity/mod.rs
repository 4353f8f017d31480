//! Identity pools (cognito-identity): pool administration here; identities in [`identities`],
//! login verification in [`logins`], temporary credentials in [`credentials`].

pub(crate) mod credentials;
mod identities;
mod logins;
pub(crate) mod openid;
mod public_logins;

pub use credentials::{IssuedCredentials, StsCaller, StsRefusal};
pub use identities::IdentityPage;
pub use logins::LoginProof;
pub use openid::{IDENTITY_KEY_GRACE, IDENTITY_KEY_PUBLISH_AHEAD, IdentityKeyInfo, OpenIdToken};

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use std::collections::BTreeMap;
use tessera_domain::DomainError;
use tessera_domain::identity::{
    IdentityPool, IdentityPoolConfig, IdentityPoolId, PrincipalTagMap, RoleMapping, is_role_arn,
    pool_not_found,
};
use tessera_store::{Conflict, Tx};

/// A page of ListIdentityPools.
pub struct IdentityPoolPage {
    pub pools: Vec<IdentityPool>,
    pub next: Option<IdentityPoolId>,
}

impl Engine {
    /// `arn:aws:cognito-identity:{region}:{account}:identitypool/{id}`.
    pub fn identity_pool_arn(&self, id: &IdentityPoolId) -> String {
        self.identity_pool_arn_of(id.as_str())
    }

    /// The same ARN for an id as a caller gave it (authorization names the resource before
    /// anything checks that it exists).
    pub fn identity_pool_arn_of(&self, id: &str) -> String {
        let s = &self.inner.settings;
        format!(
            "arn:aws:cognito-identity:{}:{}:identitypool/{id}",
            s.region, s.account_id
        )
    }

    /// `arn:aws:cognito-idp:{region}:{account}:userpool/{id}`.
    pub fn user_pool_arn(&self, id: &str) -> String {
        let s = &self.inner.settings;
        format!(
            "arn:aws:cognito-idp:{}:{}:userpool/{id}",
            s.region, s.account_id
        )
    }

    /// The pool an ARN names, if it is one of this deployment's identity pool ARNs.
    fn identity_pool_of_arn(&self, arn: &str) -> EngineResult<IdentityPoolId> {
        let not_found = || {
            DomainError::resource_not_found(format!(
                "The resource {} does not exist.",
                tessera_domain_echo(arn)
            ))
        };
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", _, "cognito-identity", _region, account, resource] = parts.as_slice() else {
            return Err(not_found().into());
        };
        if *account != self.inner.settings.account_id {
            return Err(not_found().into());
        }
        let id = resource
            .strip_prefix("identitypool/")
            .ok_or_else(not_found)?;
        IdentityPoolId::parse(id).map_err(|_| not_found().into())
    }

    pub(crate) async fn load_identity_pool(
        &self,
        tx: &mut dyn Tx,
        id: &IdentityPoolId,
    ) -> EngineResult<IdentityPool> {
        tx.get_identity_pool(id)
            .await?
            .ok_or_else(|| pool_not_found(id.as_str()).into())
    }

    pub async fn create_identity_pool(
        &self,
        name: String,
        config: IdentityPoolConfig,
    ) -> EngineResult<IdentityPool> {
        check_pool_config(&config)?;
        let now = self.now();
        let pool = IdentityPool {
            id: IdentityPoolId::generate(
                &self.inner.settings.region,
                tessera_crypto::random::bytes::<16>(),
            ),
            name,
            created_at: now,
            modified_at: now,
            config: IdentityPoolConfig {
                roles: BTreeMap::new(),
                role_mappings: BTreeMap::new(),
                principal_tag_maps: BTreeMap::new(),
                ..config
            },
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_identity_pool(&pool).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::IdentityPool).then(|| {
                    DomainError::new(
                        tessera_domain::ErrorKind::ResourceConflict,
                        "An identity pool with this id exists already; retry.",
                    )
                })
            })
        })?;
        tx.commit().await?;
        Ok(pool)
    }

    pub async fn describe_identity_pool(&self, id: &str) -> EngineResult<IdentityPool> {
        let id = parse_pool_id(id)?;
        let mut tx = self.inner.store.read().await?;
        self.load_identity_pool(&mut *tx, &id).await
    }

    /// UpdateIdentityPool replaces the whole configuration (omitted members take their
    /// defaults), but keeps roles, role mappings and principal tag maps, which have their own
    /// operations. The developer provider name can't change once set.
    pub async fn update_identity_pool(
        &self,
        id: &str,
        name: String,
        config: IdentityPoolConfig,
    ) -> EngineResult<IdentityPool> {
        let id = parse_pool_id(id)?;
        check_pool_config(&config)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_identity_pool(&mut *tx, &id).await?;
        if let Some(old) = &pool.config.developer_provider_name
            && config.developer_provider_name.as_ref() != Some(old)
        {
            return Err(DomainError::invalid_parameter(
                "The DeveloperProviderName of an identity pool cannot be changed once it is set.",
            )
            .into());
        }
        let old = std::mem::take(&mut pool.config);
        pool.config = IdentityPoolConfig {
            roles: old.roles,
            role_mappings: old.role_mappings,
            principal_tag_maps: old.principal_tag_maps,
            ..config
        };
        pool.name = name;
        pool.modified_at = self.now();
        tx.update_identity_pool(&pool).await?;
        tx.commit().await?;
        Ok(pool)
    }

    /// Deletes the pool, its identities and every credential issued to them.
    pub async fn delete_identity_pool(&self, id: &str) -> EngineResult<()> {
        let id = parse_pool_id(id)?;
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_identity_pool(&id).await? {
            return Err(pool_not_found(id.as_str()).into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_identity_pools(
        &self,
        limit: usize,
        next: Option<&str>,
    ) -> EngineResult<IdentityPoolPage> {
        let after = next
            .map(|n| {
                IdentityPoolId::parse(n)
                    .map_err(|_| DomainError::invalid_parameter("Invalid pagination token"))
            })
            .transpose()?;
        let mut tx = self.inner.store.read().await?;
        let mut pools = tx.list_identity_pools(after.as_ref(), limit + 1).await?;
        let next = if pools.len() > limit {
            pools.truncate(limit);
            pools.last().map(|p| p.id.clone())
        } else {
            None
        };
        Ok(IdentityPoolPage { pools, next })
    }

    pub async fn identity_pool_tags(&self, arn: &str) -> EngineResult<BTreeMap<String, String>> {
        let id = self.identity_pool_of_arn(arn)?;
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_identity_pool(&mut *tx, &id).await?;
        Ok(pool.config.identity_pool_tags)
    }

    /// Adds (or overwrites) `add` and removes `remove`, in one transaction.
    pub async fn retag_identity_pool(
        &self,
        arn: &str,
        add: BTreeMap<String, String>,
        remove: &[String],
    ) -> EngineResult<()> {
        let id = self.identity_pool_of_arn(arn)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_identity_pool(&mut *tx, &id).await?;
        let tags = &mut pool.config.identity_pool_tags;
        for key in remove {
            tags.remove(key);
        }
        tags.extend(add);
        if tags.len() > 50 {
            return Err(DomainError::new(
                tessera_domain::ErrorKind::LimitExceeded,
                "An identity pool can have at most 50 tags.",
            )
            .into());
        }
        pool.modified_at = self.now();
        tx.update_identity_pool(&pool).await?;
        tx.commit().await?;
        Ok(())
    }

    /// SetIdentityPoolRoles: the default roles and per-provider role mappings, replaced whole.
    pub async fn set_identity_pool_roles(
        &self,
        id: &str,
        roles: BTreeMap<String, String>,
        mappings: BTreeMap<String, RoleMapping>,
    ) -> EngineResult<()> {
        let id = parse_pool_id(id)?;
        for arn in roles.values() {
            if !is_role_arn(arn) {
                return Err(DomainError::invalid_parameter(format!(
                    "Invalid role ARN: {}",
                    tessera_domain_echo(arn)
                ))
                .into());
            }
        }
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_identity_pool(&mut *tx, &id).await?;
        for (provider, mapping) in &mappings {
            if !mapping_key_is_a_provider(&pool, provider) {
                return Err(DomainError::invalid_parameter(format!(
                    "The role mapping key {} is not an identity provider of this identity pool.",
                    tessera_domain_echo(provider)
                ))
                .into());
            }
            mapping.validate(provider, is_role_arn)?;
        }
        pool.config.roles = roles;
        pool.config.role_mappings = mappings;
        pool.modified_at = self.now();
        tx.update_identity_pool(&pool).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_principal_tag_map(
        &self,
        id: &str,
        provider: &str,
        map: PrincipalTagMap,
    ) -> EngineResult<PrincipalTagMap> {
        let id = parse_pool_id(id)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_identity_pool(&mut *tx, &id).await?;
        pool.config
            .principal_tag_maps
            .insert(provider.to_string(), map.clone());
        pool.modified_at = self.now();
        tx.update_identity_pool(&pool).await?;
        tx.commit().await?;
        Ok(map)
    }

    /// The provider's principal tag map; a provider never configured has none (no tags).
    pub async fn principal_tag_map(
        &self,
        id: &str,
        provider: &str,
    ) -> EngineResult<PrincipalTagMap> {
        let pool = self.describe_identity_pool(id).await?;
        Ok(pool
            .config
            .principal_tag_maps
            .get(provider)
            .cloned()
            .unwrap_or_default())
    }
}

/// A value from the request, cut short for a message.
fn tessera_domain_echo(s: &str) -> String {
    s.chars().take(256).collect()
}

fn parse_pool_id(id: &str) -> EngineResult<IdentityPoolId> {
    IdentityPoolId::parse(id).map_err(|_| pool_not_found(id).into())
}

fn check_pool_config(c: &IdentityPoolConfig) -> EngineResult<()> {
    if c.identity_pool_tags.len() > 50 {
        return Err(
            DomainError::invalid_parameter("An identity pool can have at most 50 tags.").into(),
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &c.cognito_identity_providers {
        let (Some(name), Some(client)) = (&p.provider_name, &p.client_id) else {
            return Err(DomainError::invalid_parameter(
                "CognitoIdentityProviders need a ProviderName and a ClientId.",
            )
            .into());
        };
        if !seen.insert((name, client)) {
            return Err(DomainError::invalid_parameter(format!(
                "Duplicate provider {}:{} in CognitoIdentityProviders.",
                tessera_domain_echo(name),
                tessera_domain_echo(client)
            ))
            .into());
        }
    }
    Ok(())
}

/// Role mappings are keyed by a provider of the pool: `{ProviderName}:{ClientId}` for a user
/// pool, the login key of a supported public provider, an OIDC provider's host, a SAML ARN.
fn mapping_key_is_a_provider(pool: &IdentityPool, key: &str) -> bool {
    let c = &pool.config;
    c.cognito_identity_providers.iter().any(|p| {
        matches!((&p.provider_name, &p.client_id), (Some(n), Some(id)) if key == format!("{n}:{id}"))
    }) || c.supported_login_providers.contains_key(key)
        || c.saml_provider_arns.iter().any(|a| a == key)
        || c.open_id_connect_provider_arns
            .iter()
            .any(|a| a.rsplit_once("oidc-provider/").is_some_and(|(_, host)| host == key))
}
