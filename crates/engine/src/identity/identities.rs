//! GetId, DescribeIdentity, ListIdentities, DeleteIdentities, UnlinkIdentity, and linking
//! verified logins to identities.
//!
//! A login (provider, subject) is linked to at most one identity of a pool (the store enforces
//! it), so the same login always finds the same identity. A guest identity that later presents
//! logins keeps its id and becomes authenticated. Merging two identities that both have logins
//! is not done yet: such a request is refused rather than silently re-linked.

use super::LoginProof;
use super::logins::logins_dont_match;
use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use std::collections::BTreeMap;
use tessera_domain::identity::{Identity, IdentityId, IdentityPool, identity_not_found};
use tessera_domain::{DomainError, ErrorKind};
use tessera_store::{Conflict, Tx};

pub struct IdentityPage {
    pub identities: Vec<Identity>,
    pub next: Option<IdentityId>,
}

fn unauthenticated_not_supported() -> DomainError {
    DomainError::not_authorized("Unauthenticated access is not supported for this identity pool.")
}

pub(crate) fn forbidden(id: &IdentityId) -> DomainError {
    DomainError::not_authorized(format!("Access to Identity '{id}' is forbidden."))
}

fn login_conflict() -> DomainError {
    DomainError::new(
        ErrorKind::ResourceConflict,
        "A login for this provider is already linked to the identity.",
    )
}

impl Engine {
    pub(crate) async fn load_identity(&self, tx: &mut dyn Tx, id: &str) -> EngineResult<Identity> {
        let parsed = IdentityId::parse(id).map_err(|_| identity_not_found(id))?;
        tx.get_identity(&parsed)
            .await?
            .ok_or_else(|| identity_not_found(id).into())
    }

    /// Links `proofs` to `identity` inside `tx`: each login must be unlinked or already this
    /// identity's, and an identity has one subject per provider.
    pub(crate) async fn link_logins(
        &self,
        tx: &mut dyn Tx,
        identity: &mut Identity,
        proofs: &[LoginProof],
    ) -> EngineResult<()> {
        let mut changed = false;
        for proof in proofs {
            match tx
                .identity_by_login(&identity.pool_id, &proof.provider, &proof.subject)
                .await?
            {
                Some(owner) if owner.id == identity.id => {}
                Some(_) => return Err(forbidden(&identity.id).into()),
                None => {
                    if identity.logins.contains_key(&proof.provider) {
                        return Err(login_conflict().into());
                    }
                    identity
                        .logins
                        .insert(proof.provider.clone(), proof.subject.clone());
                    changed = true;
                }
            }
        }
        if changed {
            identity.modified_at = self.now();
            tx.update_identity(identity).await.map_err(|e| {
                on_conflict(e, |c| {
                    (*c == Conflict::Login).then(|| forbidden(&identity.id))
                })
            })?;
        }
        Ok(())
    }

    /// GetId: the identity of the given logins (created at first use), or a new guest identity.
    pub async fn get_id(
        &self,
        pool_id: &str,
        logins: &BTreeMap<String, String>,
    ) -> EngineResult<IdentityId> {
        let pool = self.describe_identity_pool(pool_id).await?;
        if logins.is_empty() {
            if !pool.config.allow_unauthenticated_identities {
                return Err(unauthenticated_not_supported().into());
            }
            let identity = self.new_identity(&pool, BTreeMap::new());
            let mut tx = self.inner.store.begin().await?;
            tx.insert_identity(&identity).await?;
            tx.commit().await?;
            return Ok(identity.id);
        }
        // Verify first (signatures are slow-ish), then decide in one short transaction.
        let proofs = self.verify_logins(&pool, logins).await?;
        let mut tx = self.inner.store.begin().await?;
        let mut found: Option<Identity> = None;
        for proof in &proofs {
            if let Some(owner) = tx
                .identity_by_login(&pool.id, &proof.provider, &proof.subject)
                .await?
            {
                match &found {
                    Some(f) if f.id != owner.id => {
                        return Err(DomainError::new(
                            ErrorKind::ResourceConflict,
                            "The logins belong to different identities; merging them is not supported.",
                        )
                        .into());
                    }
                    _ => found = Some(owner),
                }
            }
        }
        let id = match found {
            Some(mut identity) => {
                self.link_logins(&mut *tx, &mut identity, &proofs).await?;
                identity.id
            }
            None => {
                let identity = self.new_identity(
                    &pool,
                    proofs
                        .iter()
                        .map(|p| (p.provider.clone(), p.subject.clone()))
                        .collect(),
                );
                tx.insert_identity(&identity).await.map_err(|e| {
                    on_conflict(e, |c| {
                        (*c == Conflict::Login).then(|| {
                            DomainError::new(
                                ErrorKind::ConcurrentModification,
                                "The login was linked concurrently; retry.",
                            )
                        })
                    })
                })?;
                identity.id
            }
        };
        tx.commit().await?;
        Ok(id)
    }

    fn new_identity(&self, pool: &IdentityPool, logins: BTreeMap<String, String>) -> Identity {
        let now = self.now();
        Identity {
            id: IdentityId::generate(pool.id.region(), tessera_crypto::random::bytes::<16>()),
            pool_id: pool.id.clone(),
            created_at: now,
            modified_at: now,
            logins,
            disabled: false,
        }
    }

    pub async fn describe_identity(&self, id: &str) -> EngineResult<Identity> {
        let mut tx = self.inner.store.read().await?;
        self.load_identity(&mut *tx, id).await
    }

    pub async fn list_identities(
        &self,
        pool_id: &str,
        limit: usize,
        next: Option<&str>,
        hide_disabled: bool,
    ) -> EngineResult<IdentityPage> {
        let pool = self.describe_identity_pool(pool_id).await?;
        let mut after = next
            .map(|n| {
                IdentityId::parse(n)
                    .map_err(|_| DomainError::invalid_parameter("Invalid pagination token"))
            })
            .transpose()?;
        let mut tx = self.inner.store.read().await?;
        let mut identities = Vec::new();
        // Hidden (disabled) identities don't count against the page.
        loop {
            let batch = tx
                .list_identities(&pool.id, after.as_ref(), limit + 1)
                .await?;
            let exhausted = batch.len() <= limit;
            for identity in batch {
                after = Some(identity.id.clone());
                if !(hide_disabled && identity.disabled) {
                    identities.push(identity);
                }
            }
            if exhausted || identities.len() > limit {
                break;
            }
        }
        let next = if identities.len() > limit {
            identities.truncate(limit);
            identities.last().map(|i| i.id.clone())
        } else {
            None
        };
        Ok(IdentityPage { identities, next })
    }

    /// DeleteIdentities: each id deleted with its credentials; the ids that weren't found come
    /// back (Cognito reports them as unprocessed).
    pub async fn delete_identities(&self, ids: &[String]) -> EngineResult<Vec<String>> {
        let mut unprocessed = Vec::new();
        let mut tx = self.inner.store.begin().await?;
        for id in ids {
            let deleted = match IdentityId::parse(id) {
                Ok(parsed) => tx.delete_identity(&parsed).await?,
                Err(_) => false,
            };
            if !deleted {
                unprocessed.push(id.clone());
            }
        }
        tx.commit().await?;
        Ok(unprocessed)
    }

    /// UnlinkIdentity: the caller proves the identity with its current logins, then the named
    /// providers' logins are removed (a removed login is a new identity next time).
    pub async fn unlink_identity(
        &self,
        id: &str,
        logins: &BTreeMap<String, String>,
        remove: &[String],
    ) -> EngineResult<()> {
        let identity = self.describe_identity(id).await?;
        let pool = {
            let mut tx = self.inner.store.read().await?;
            self.load_identity_pool(&mut *tx, &identity.pool_id).await?
        };
        let proofs = self.verify_logins(&pool, logins).await?;
        let proves = proofs
            .iter()
            .any(|p| identity.logins.get(&p.provider) == Some(&p.subject));
        if !proves {
            return Err(logins_dont_match());
        }
        let mut tx = self.inner.store.begin().await?;
        let mut identity = self.load_identity(&mut *tx, id).await?;
        for provider in remove {
            identity.logins.remove(provider);
        }
        identity.modified_at = self.now();
        tx.update_identity(&identity).await?;
        tx.commit().await?;
        Ok(())
    }
}
