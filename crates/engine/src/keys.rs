//! Per-pool signing keys: generated with the pool (one for ID tokens, one for access tokens, as
//! Cognito does), stored sealed with the master key, and cached parsed in memory. The cache is
//! only a cache: any node rebuilds it from the store, so tokens verify on every node.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tessera_crypto::jwt::{Jwk, SigningKey};
use tessera_domain::{DomainError, Timestamp, UserPoolId};
use tessera_store::{KeyUse, StoredKey, Tx};

pub(crate) struct PoolKeys {
    pub id: SigningKey,
    pub access: SigningKey,
    /// Every published key with its use, for verification and the JWKS.
    pub public: Vec<(KeyUse, Jwk)>,
}

impl PoolKeys {
    pub fn signer(&self, key_use: KeyUse) -> &SigningKey {
        match key_use {
            KeyUse::Id => &self.id,
            KeyUse::Access => &self.access,
        }
    }

    pub fn public_key(&self, kid: &str, key_use: KeyUse) -> Option<&Jwk> {
        self.public
            .iter()
            .find(|(u, k)| *u == key_use && k.kid == kid)
            .map(|(_, k)| k)
    }
}

/// A pool's JSON Web Key Set, as served at `/{pool}/.well-known/jwks.json`.
#[derive(Clone, Debug, Serialize)]
pub struct PoolJwks {
    pub keys: Vec<Jwk>,
}

#[derive(Default)]
pub(crate) struct KeyRing {
    pools: RwLock<HashMap<UserPoolId, Arc<PoolKeys>>>,
}

fn purpose(pool: &UserPoolId, kid: &str) -> String {
    format!("signing-key:{pool}:{kid}")
}

impl Engine {
    /// Generates and stores a new pool's two signing keys inside the caller's transaction.
    pub(crate) async fn create_pool_keys(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        now: Timestamp,
    ) -> EngineResult<()> {
        let generated = tokio::task::spawn_blocking(|| {
            let id = SigningKey::generate()?;
            let access = SigningKey::generate()?;
            Ok::<_, tessera_crypto::CryptoError>([(KeyUse::Id, id), (KeyUse::Access, access)])
        })
        .await??;
        for (key_use, (key, der)) in generated {
            let stored = StoredKey {
                pool_id: pool.clone(),
                kid: key.kid().to_string(),
                key_use,
                sealed_private: self.inner.master.seal(&purpose(pool, key.kid()), &der),
                public_jwk: serde_json::to_string(key.jwk())
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
                created_at: now,
                retired_at: None,
            };
            tx.insert_signing_key(&stored).await?;
        }
        Ok(())
    }

    /// The pool's keys, from the cache or the store.
    pub(crate) async fn pool_keys(&self, pool: &UserPoolId) -> EngineResult<Arc<PoolKeys>> {
        if let Some(keys) = self
            .inner
            .keys
            .pools
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(pool)
        {
            return Ok(keys.clone());
        }
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.signing_keys(pool).await?
        };
        if stored.is_empty() {
            return Err(DomainError::pool_not_found(pool.as_str()).into());
        }
        let mut public = Vec::new();
        let mut signers: HashMap<&'static str, SigningKey> = HashMap::new();
        for key in stored.iter().filter(|k| k.retired_at.is_none()) {
            let der = self
                .inner
                .master
                .open(&purpose(pool, &key.kid), &key.sealed_private)
                .map_err(|_| {
                    EngineError::Internal(format!(
                        "signing key {} of {pool} can't be opened: is the master key the one it was sealed with?",
                        key.kid
                    ))
                })?;
            let signer = SigningKey::from_pkcs8(&der)?;
            public.push((key.key_use, signer.jwk().clone()));
            // The newest key of each use signs.
            signers.insert(key.key_use.as_str(), signer);
        }
        let (Some(id), Some(access)) = (signers.remove("id"), signers.remove("access")) else {
            return Err(EngineError::Internal(format!(
                "pool {pool} lacks an active ID or access signing key"
            )));
        };
        let keys = Arc::new(PoolKeys { id, access, public });
        self.inner
            .keys
            .pools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(pool.clone(), keys.clone());
        Ok(keys)
    }

    pub(crate) fn forget_pool_keys(&self, pool: &UserPoolId) {
        self.inner
            .keys
            .pools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(pool);
    }

    /// The pool's JWKS.
    pub async fn jwks(&self, pool: &UserPoolId) -> EngineResult<PoolJwks> {
        let keys = self.pool_keys(pool).await?;
        Ok(PoolJwks {
            keys: keys.public.iter().map(|(_, k)| k.clone()).collect(),
        })
    }
}
