//! Resource servers: CreateResourceServer, DescribeResourceServer, UpdateResourceServer,
//! DeleteResourceServer, ListResourceServers, and the check that an app client's
//! AllowedOAuthScopes name only scopes that exist.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use crate::pools::{decode_token, paged};
use std::collections::BTreeMap;
use tessera_domain::resource_servers::{
    OAuthScope, ResourceServer, ResourceServerIdentifier, resource_server_exists,
    resource_server_not_found, scope_does_not_exist,
};
use tessera_domain::{DomainError, UserPoolId};
use tessera_store::{Conflict, Tx};

#[derive(Clone, Debug)]
pub struct ResourceServerPage {
    pub servers: Vec<ResourceServer>,
    pub next_token: Option<String>,
}

/// A scope as the request gives it: `(ScopeName, ScopeDescription)`.
pub type ScopeSpec = (String, String);

async fn load_server(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    identifier: &str,
) -> EngineResult<ResourceServer> {
    let not_found = || resource_server_not_found(identifier);
    let id = ResourceServerIdentifier::parse(identifier).map_err(|_| not_found())?;
    tx.get_resource_server(pool, &id)
        .await?
        .ok_or_else(|| not_found().into())
}

/// Every scope a client names must be a standard one or defined by a resource server of its
/// pool: ScopeDoesNotExistException names the first that isn't.
pub(crate) async fn check_client_scopes(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    scopes: &[&str],
) -> EngineResult<()> {
    let mut servers: BTreeMap<&str, Option<ResourceServer>> = BTreeMap::new();
    for scope in scopes {
        let exists = match OAuthScope::parse(scope) {
            Some(OAuthScope::Standard(_)) => true,
            Some(OAuthScope::Custom {
                resource_server,
                scope: name,
            }) => {
                if !servers.contains_key(resource_server) {
                    let server = match ResourceServerIdentifier::parse(resource_server) {
                        Ok(id) => tx.get_resource_server(pool, &id).await?,
                        Err(_) => None,
                    };
                    servers.insert(resource_server, server);
                }
                servers
                    .get(resource_server)
                    .and_then(Option::as_ref)
                    .is_some_and(|s| s.defines(name))
            }
            None => false,
        };
        if !exists {
            return Err(scope_does_not_exist(scope).into());
        }
    }
    Ok(())
}

impl Engine {
    pub async fn create_resource_server(
        &self,
        pool_id: &UserPoolId,
        identifier: &str,
        name: &str,
        scopes: &[ScopeSpec],
    ) -> EngineResult<ResourceServer> {
        let server = ResourceServer::new(pool_id.clone(), identifier, name, scopes, self.now())?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        tx.insert_resource_server(&server).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::ResourceServer)
                    .then(|| resource_server_exists(identifier, pool_id))
            })
        })?;
        tx.commit().await?;
        Ok(server)
    }

    pub async fn describe_resource_server(
        &self,
        pool_id: &UserPoolId,
        identifier: &str,
    ) -> EngineResult<ResourceServer> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        load_server(&mut *tx, pool_id, identifier).await
    }

    /// Replaces the name and every scope. Clients that name a removed scope keep it; it just
    /// stops being granted, as in Cognito.
    pub async fn update_resource_server(
        &self,
        pool_id: &UserPoolId,
        identifier: &str,
        name: &str,
        scopes: &[ScopeSpec],
    ) -> EngineResult<ResourceServer> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut server = load_server(&mut *tx, pool_id, identifier).await?;
        server.replace(name, scopes, self.now())?;
        tx.update_resource_server(&server).await?;
        tx.commit().await?;
        Ok(server)
    }

    pub async fn delete_resource_server(
        &self,
        pool_id: &UserPoolId,
        identifier: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let server = load_server(&mut *tx, pool_id, identifier).await?;
        tx.delete_resource_server(pool_id, &server.identifier)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_resource_servers(
        &self,
        pool_id: &UserPoolId,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<ResourceServerPage> {
        let after = decode_token(token)?
            .map(|s| ResourceServerIdentifier::parse(&s))
            .transpose()
            .map_err(|_| DomainError::invalid_parameter("Invalid pagination token provided."))?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let rows = tx
            .list_resource_servers(pool_id, after.as_ref(), limit + 1)
            .await?;
        let (servers, next_token) = paged(rows, limit, |r| r.identifier.as_str());
        Ok(ResourceServerPage {
            servers,
            next_token,
        })
    }
}
