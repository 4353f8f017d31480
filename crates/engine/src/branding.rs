//! Managed-login branding: CreateManagedLoginBranding, DescribeManagedLoginBranding,
//! DescribeManagedLoginBrandingByClient, UpdateManagedLoginBranding,
//! DeleteManagedLoginBranding, and [`Engine::hosted_look`], what the hosted pages of a client
//! apply (classic CSS and logo, and the managed-login style).

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use crate::random_uuid;
use tessera_domain::branding::{
    BrandingChange, BrandingLook, ManagedLoginBranding, branding_exists, branding_not_found,
    client_has_no_branding, default_settings,
};
use tessera_domain::{ClientId, UserPoolId};
use tessera_store::Conflict;
use uuid::Uuid;

/// What a client's hosted pages apply.
#[derive(Clone, Debug, Default)]
pub struct HostedLook {
    /// The classic UICustomization CSS (the client's own, else the pool's ALL), normalised by
    /// the allow-list and safe to inline in `<style>`.
    pub classic_css: Option<String>,
    /// The classic logo: its key for `/_tessera/ui/{pool}/{key}/logo`, media type and bytes.
    pub classic_logo: Option<ClassicLogo>,
    /// The client's managed-login style, with Tessera's defaults filled in.
    pub managed: Option<BrandingLook>,
}

#[derive(Clone, Debug)]
pub struct ClassicLogo {
    /// The client id or `ALL` the logo is stored under.
    pub key: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// A style as Describe returns it: with `ReturnMergedResources`, defaults merged in.
fn described(mut style: ManagedLoginBranding, merged: bool) -> ManagedLoginBranding {
    if merged {
        style.settings = Some(style.merged_settings());
    }
    style
}

/// The wire's id is a UUID v4 (the model's pattern); anything else names no style.
fn style_id(id: &str) -> EngineResult<Uuid> {
    Uuid::parse_str(id).map_err(|_| branding_not_found().into())
}

impl Engine {
    pub async fn create_managed_login_branding(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        change: BrandingChange,
    ) -> EngineResult<ManagedLoginBranding> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        let style = ManagedLoginBranding::new(
            random_uuid(),
            pool_id.clone(),
            client.client_id,
            change,
            self.now(),
        )?;
        tx.insert_managed_login_branding(&style)
            .await
            .map_err(|e| {
                on_conflict(e, |c| {
                    (*c == Conflict::ManagedLoginBranding).then(branding_exists)
                })
            })?;
        tx.commit().await?;
        Ok(style)
    }

    pub async fn describe_managed_login_branding(
        &self,
        pool_id: &UserPoolId,
        id: &str,
        merged: bool,
    ) -> EngineResult<ManagedLoginBranding> {
        let id = style_id(id)?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let style = tx
            .get_managed_login_branding(pool_id, &id)
            .await?
            .ok_or_else(branding_not_found)?;
        Ok(described(style, merged))
    }

    pub async fn describe_managed_login_branding_by_client(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        merged: bool,
    ) -> EngineResult<ManagedLoginBranding> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        let style = tx
            .managed_login_branding_of_client(pool_id, &client.client_id)
            .await?
            .ok_or_else(|| client_has_no_branding(client_id))?;
        Ok(described(style, merged))
    }

    pub async fn update_managed_login_branding(
        &self,
        pool_id: &UserPoolId,
        id: &str,
        change: BrandingChange,
    ) -> EngineResult<ManagedLoginBranding> {
        let id = style_id(id)?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut style = tx
            .get_managed_login_branding(pool_id, &id)
            .await?
            .ok_or_else(branding_not_found)?;
        style.update(change, self.now())?;
        tx.update_managed_login_branding(&style).await?;
        tx.commit().await?;
        Ok(style)
    }

    pub async fn delete_managed_login_branding(
        &self,
        pool_id: &UserPoolId,
        id: &str,
    ) -> EngineResult<()> {
        let id = style_id(id)?;
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        if !tx.delete_managed_login_branding(pool_id, &id).await? {
            return Err(branding_not_found().into());
        }
        tx.commit().await?;
        Ok(())
    }

    /// What `client`'s hosted pages apply: its classic UICustomization (falling back to the
    /// pool's ALL), with the CSS passed through the allow-list, and its managed-login style.
    pub async fn hosted_look(
        &self,
        pool_id: &UserPoolId,
        client_id: &ClientId,
    ) -> EngineResult<HostedLook> {
        let mut look = HostedLook::default();
        if let Some(found) = self
            .ui_customization(pool_id, Some(client_id.as_str()))
            .await?
        {
            // CSS stored before the allow-list was enforced may not pass it: it is left out
            // rather than inlined.
            look.classic_css = found.customization.css.as_deref().and_then(|css| {
                tessera_domain::ui_css::sanitize(css)
                    .inspect_err(
                        |e| tracing::warn!(pool = %pool_id, error = %e, "stored UI CSS refused"),
                    )
                    .ok()
                    .filter(|c| !c.is_empty())
            });
            if found.customization.logo.is_some()
                && let Some((media_type, bytes)) = self.ui_logo(pool_id, &found.client_id).await?
            {
                look.classic_logo = Some(ClassicLogo {
                    key: found.client_id,
                    media_type,
                    bytes,
                });
            }
        }
        let mut tx = self.inner.store.read().await?;
        if let Some(style) = tx
            .managed_login_branding_of_client(pool_id, client_id)
            .await?
        {
            let settings = if style.use_cognito_provided_values {
                default_settings()
            } else {
                style.merged_settings()
            };
            look.managed = Some(BrandingLook::from_settings(&settings, &style.assets));
        }
        Ok(look)
    }
}
