//! Push sync: RegisterDevice, SubscribeToDataset, UnsubscribeFromDataset. Only an identity's
//! own credentials may call them, and only in a pool whose PushSync is configured.

use super::{Access, SyncCaller};
use crate::Engine;
use crate::error::EngineResult;
use tessera_domain::sync::SyncDevice;
use tessera_domain::{DomainError, ErrorKind};

fn not_configured() -> DomainError {
    DomainError::new(
        ErrorKind::InvalidConfiguration,
        "Push sync is not configured for this identity pool; set PushSync with SetIdentityPoolConfiguration.",
    )
}

fn device_not_found(id: &str) -> DomainError {
    DomainError::resource_not_found(format!(
        "Device '{}' not found.",
        id.chars().take(256).collect::<String>()
    ))
}

impl Engine {
    /// The pool and identity of a push-sync call: the identity's own credentials, in a pool
    /// whose PushSync is configured.
    async fn push_identity(
        &self,
        tx: &mut dyn tessera_store::Tx,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
    ) -> EngineResult<(
        tessera_domain::identity::IdentityPool,
        tessera_domain::identity::Identity,
    )> {
        let (pool, identity) = self
            .sync_identity(tx, caller, pool_id, identity_id, Access::Identity)
            .await?;
        if self.sync_config(tx, &pool.id).await?.0.push_sync.is_none() {
            return Err(not_configured().into());
        }
        Ok((pool, identity))
    }

    /// RegisterDevice: the same platform and token of an identity keep their device id.
    pub async fn register_device(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        platform: &str,
        token: &str,
    ) -> EngineResult<String> {
        let mut tx = self.inner.store.begin().await?;
        let (pool, identity) = self
            .push_identity(&mut *tx, caller, pool_id, identity_id)
            .await?;
        if let Some(d) = tx.find_sync_device(&identity.id, platform, token).await? {
            return Ok(d.device_id);
        }
        let device = SyncDevice {
            pool_id: pool.id,
            identity_id: identity.id,
            device_id: crate::random_uuid().to_string(),
            platform: platform.to_string(),
            token: token.to_string(),
            created_at: self.now(),
        };
        tx.insert_sync_device(&device).await?;
        tx.commit().await?;
        Ok(device.device_id)
    }

    /// SubscribeToDataset (`subscribe`) or UnsubscribeFromDataset.
    pub async fn subscribe_to_dataset(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        dataset: &str,
        device_id: &str,
        subscribe: bool,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let (_, identity) = self
            .push_identity(&mut *tx, caller, pool_id, identity_id)
            .await?;
        tx.get_sync_device(device_id)
            .await?
            .filter(|d| d.identity_id == identity.id)
            .ok_or_else(|| device_not_found(device_id))?;
        if subscribe {
            tx.subscribe_device(&identity.id, dataset, device_id)
                .await?;
        } else if !tx
            .unsubscribe_device(&identity.id, dataset, device_id)
            .await?
        {
            return Err(DomainError::resource_not_found(
                "The device is not subscribed to this dataset.",
            )
            .into());
        }
        tx.commit().await?;
        Ok(())
    }
}
