//! User-pool domains: CreateUserPoolDomain, DescribeUserPoolDomain, UpdateUserPoolDomain,
//! DeleteUserPoolDomain, and the domains DescribeUserPool shows.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use tessera_domain::UserPoolId;
use tessera_domain::domains::{
    self, DomainName, DomainUpdate, NewDomain, UserPoolDomain, domain_taken, no_such_domain,
    pool_has_domain,
};
use tessera_store::{Conflict, Tx};

/// The domain `name` if `pool` holds it; one error for an unknown pool, an unknown name and a
/// name another pool holds, as Cognito answers.
async fn owned_domain(
    tx: &mut dyn Tx,
    pool: &UserPoolId,
    name: &str,
) -> EngineResult<UserPoolDomain> {
    let name = DomainName::lookup(name).ok_or_else(no_such_domain)?;
    match tx.domain_by_name(&name).await? {
        Some(d) if &d.pool_id == pool => Ok(d),
        _ => Err(no_such_domain().into()),
    }
}

impl Engine {
    pub async fn create_user_pool_domain(
        &self,
        pool_id: &UserPoolId,
        new: NewDomain,
    ) -> EngineResult<UserPoolDomain> {
        let domain = UserPoolDomain::new(pool_id.clone(), new, self.now())?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        tx.insert_domain(&domain).await.map_err(|e| {
            on_conflict(e, |c| match c {
                Conflict::PoolDomainKind => Some(pool_has_domain()),
                Conflict::Domain => Some(domain_taken()),
                _ => None,
            })
        })?;
        tx.commit().await?;
        tracing::info!(pool = %pool_id, domain = %domain.name, "user pool domain created");
        Ok(domain)
    }

    /// The domain of that name in any pool; `None` (not an error) when there is none, as
    /// Cognito answers an empty DomainDescription.
    pub async fn describe_user_pool_domain(
        &self,
        name: &str,
    ) -> EngineResult<Option<UserPoolDomain>> {
        let Some(name) = DomainName::lookup(name) else {
            return Ok(None);
        };
        let mut tx = self.inner.store.read().await?;
        Ok(tx.domain_by_name(&name).await?)
    }

    pub async fn update_user_pool_domain(
        &self,
        pool_id: &UserPoolId,
        name: &str,
        update: DomainUpdate,
    ) -> EngineResult<UserPoolDomain> {
        let mut tx = self.inner.store.begin().await?;
        let mut domain = owned_domain(&mut *tx, pool_id, name).await?;
        domain.apply(update, self.now())?;
        tx.update_domain(&domain).await?;
        tx.commit().await?;
        Ok(domain)
    }

    pub async fn delete_user_pool_domain(
        &self,
        pool_id: &UserPoolId,
        name: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let domain = owned_domain(&mut *tx, pool_id, name).await?;
        tx.delete_domain(pool_id, &domain.name).await?;
        tx.commit().await?;
        tracing::info!(pool = %pool_id, domain = %domain.name, "user pool domain deleted");
        Ok(())
    }

    /// A pool's domains (prefix first), for DescribeUserPool's `Domain` and `CustomDomain`.
    pub async fn pool_domains(&self, pool_id: &UserPoolId) -> EngineResult<Vec<UserPoolDomain>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.pool_domains(pool_id).await?)
    }

    /// Where a domain's traffic must be sent: this deployment's public host.
    pub fn domain_host(&self) -> String {
        domains::serving_host(&self.inner.settings.issuer_base)
    }
}
