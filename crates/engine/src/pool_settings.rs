//! GetCSVHeader, Set/GetLogDeliveryConfiguration and Set/GetUICustomization (which, as Cognito
//! documents, needs a pool with a domain to show the branding on). The last two are
//! kept in the pool's settings (keys [`LOG_DELIVERY`] and [`UI_CUSTOMIZATION`]), so UpdateUserPool
//! carries them over untouched.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::pools::{put_setting, setting};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::collections::BTreeMap;
use tessera_domain::pool_settings::{self, ALL_CLIENTS, LogConfiguration, Logo, UiCustomization};
use tessera_domain::{DomainError, UserPoolId};

pub(crate) const LOG_DELIVERY: &str = "LogDeliveryConfiguration";
pub(crate) const UI_CUSTOMIZATION: &str = "UICustomization";

/// Settings these operations own: kept when UpdateUserPool replaces the others.
pub(crate) const OWNED_SETTINGS: &[&str] = &[
    LOG_DELIVERY,
    UI_CUSTOMIZATION,
    crate::threat::RISK_CONFIGURATIONS,
    tessera_domain::passkeys::SETTING,
    tessera_domain::sessions::SETTING,
];

/// A UI customization with the client it was found under ([`ALL_CLIENTS`] for the pool default).
pub struct FoundUiCustomization {
    pub client_id: String,
    pub customization: UiCustomization,
}

impl Engine {
    pub async fn csv_header(&self, id: &UserPoolId) -> EngineResult<Vec<String>> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        Ok(pool_settings::csv_header(&pool.config.schema))
    }

    pub async fn log_delivery_configuration(
        &self,
        id: &UserPoolId,
    ) -> EngineResult<Vec<LogConfiguration>> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        Ok(setting(&pool, LOG_DELIVERY))
    }

    pub async fn set_log_delivery_configuration(
        &self,
        id: &UserPoolId,
        configs: Vec<LogConfiguration>,
    ) -> EngineResult<Vec<LogConfiguration>> {
        pool_settings::check_log_configurations(&configs)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, id).await?;
        put_setting(&mut pool, LOG_DELIVERY, &configs)?;
        pool.modified_at = self.now();
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(configs)
    }

    /// The client key a request names: ALL (or no client) for the pool default, otherwise a
    /// client of this pool.
    async fn ui_client_key(
        &self,
        tx: &mut dyn tessera_store::Tx,
        pool: &UserPoolId,
        client_id: Option<&str>,
    ) -> EngineResult<String> {
        match client_id {
            None | Some(ALL_CLIENTS) => Ok(ALL_CLIENTS.into()),
            Some(c) => {
                let client = self.load_client(tx, c).await?;
                if &client.pool_id != pool {
                    return Err(DomainError::client_not_found(c).into());
                }
                Ok(client.client_id.as_str().to_string())
            }
        }
    }

    pub async fn set_ui_customization(
        &self,
        id: &UserPoolId,
        client_id: Option<&str>,
        css: Option<String>,
        image_base64: Option<String>,
    ) -> EngineResult<FoundUiCustomization> {
        // Stored as given (GetUICustomization echoes it); the pages embed the normalised form.
        if let Some(css) = &css {
            tessera_domain::ui_css::sanitize(css)?;
        }
        let logo = match image_base64 {
            Some(b64) => {
                let bytes = STANDARD.decode(&b64).map_err(|_| {
                    DomainError::invalid_parameter("The image file must be a PNG or JPEG image.")
                })?;
                Some(Logo::new(&bytes, b64)?)
            }
            None => None,
        };
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, id).await?;
        let key = self.ui_client_key(&mut *tx, id, client_id).await?;
        if tx.pool_domains(id).await?.is_empty() {
            return Err(pool_settings::branding_needs_domain().into());
        }
        let mut all: BTreeMap<String, UiCustomization> = setting(&pool, UI_CUSTOMIZATION);
        let now = self.now();
        let ui = UiCustomization::set(all.get(&key), css, logo, now);
        all.insert(key.clone(), ui.clone());
        put_setting(&mut pool, UI_CUSTOMIZATION, &all)?;
        pool.modified_at = now;
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(FoundUiCustomization {
            client_id: key,
            customization: ui,
        })
    }

    /// The logo of the customization stored under `key` (a client id or ALL) as its media type
    /// and bytes; `None` when the pool, the customization or its logo does not exist.
    pub async fn ui_logo(
        &self,
        id: &UserPoolId,
        key: &str,
    ) -> EngineResult<Option<(String, Vec<u8>)>> {
        let mut tx = self.inner.store.read().await?;
        let Some(pool) = tx.get_pool(id).await? else {
            return Ok(None);
        };
        let mut all: BTreeMap<String, UiCustomization> = setting(&pool, UI_CUSTOMIZATION);
        let Some(logo) = all.remove(key).and_then(|ui| ui.logo) else {
            return Ok(None);
        };
        let bytes = STANDARD
            .decode(&logo.base64)
            .map_err(|e| EngineError::Internal(format!("stored logo: {e}")))?;
        Ok(Some((logo.media_type, bytes)))
    }

    /// The client's own customization, else the pool default, else none.
    pub async fn ui_customization(
        &self,
        id: &UserPoolId,
        client_id: Option<&str>,
    ) -> EngineResult<Option<FoundUiCustomization>> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        let key = self.ui_client_key(&mut *tx, id, client_id).await?;
        let mut all: BTreeMap<String, UiCustomization> = setting(&pool, UI_CUSTOMIZATION);
        if let Some(ui) = all.remove(&key) {
            return Ok(Some(FoundUiCustomization {
                client_id: key,
                customization: ui,
            }));
        }
        Ok(all.remove(ALL_CLIENTS).map(|ui| FoundUiCustomization {
            client_id: ALL_CLIENTS.into(),
            customization: ui,
        }))
    }
}
