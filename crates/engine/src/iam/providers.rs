//! IAM's OIDC and SAML identity providers: what AssumeRoleWithWebIdentity trusts for tokens of
//! other issuers, and what identity pools name in OpenIdConnectProviderARNs/SamlProviderARNs.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use tessera_domain::iam::{self, OidcProvider, SamlProvider, Tag};
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::{Conflict, Tx};

async fn load_oidc(tx: &mut dyn Tx, arn: &str) -> EngineResult<OidcProvider> {
    tx.get_oidc_provider(arn)
        .await?
        .ok_or_else(|| iam::no_such_oidc_provider(arn).into())
}

async fn load_saml(tx: &mut dyn Tx, arn: &str) -> EngineResult<SamlProvider> {
    tx.get_saml_provider(arn)
        .await?
        .ok_or_else(|| iam::no_such_saml_provider(arn).into())
}

fn check_thumbprints(list: &[String]) -> EngineResult<()> {
    if list.len() > iam::MAX_OIDC_THUMBPRINTS {
        return Err(DomainError::new(
            ErrorKind::IamLimitExceeded,
            format!(
                "Thumbprint list must contain at most {} entries.",
                iam::MAX_OIDC_THUMBPRINTS
            ),
        )
        .into());
    }
    for t in list {
        iam::check_thumbprint(t)?;
    }
    Ok(())
}

/// The metadata document: XML, 1000–10,000,000 characters in the model; we ask only that it
/// looks like SAML metadata, and read its `validUntil` if present.
fn check_metadata(doc: &str) -> EngineResult<Option<Timestamp>> {
    if doc.chars().count() < 1000 || !doc.contains("EntityDescriptor") {
        return Err(
            DomainError::new(ErrorKind::IamInvalidInput, "Could not parse metadata").into(),
        );
    }
    Ok(valid_until(doc))
}

/// `validUntil="2030-01-01T00:00:00Z"` on the EntityDescriptor, if any.
fn valid_until(doc: &str) -> Option<Timestamp> {
    let at = doc.find("validUntil=")? + "validUntil=".len();
    let quote = doc[at..].chars().next()?;
    let rest = &doc[at + 1..];
    let value = &rest[..rest.find(quote)?];
    let date = value.get(..10)?;
    let time = value.get(11..19)?;
    let mut d = date.split('-').map(|p| p.parse::<u32>().ok());
    let mut t = time.split(':').map(|p| p.parse::<u32>().ok());
    Timestamp::from_civil(
        i64::from(d.next()??),
        d.next()??,
        d.next()??,
        t.next()??,
        t.next()??,
        t.next()??,
    )
}

impl Engine {
    pub async fn create_oidc_provider(
        &self,
        url: &str,
        client_ids: Vec<String>,
        thumbprints: Vec<String>,
        tags: Vec<Tag>,
    ) -> EngineResult<OidcProvider> {
        iam::check_oidc_url(url)?;
        for c in &client_ids {
            iam::check_client_id(c)?;
        }
        if client_ids.len() > iam::MAX_OIDC_CLIENT_IDS {
            return Err(DomainError::new(
                ErrorKind::IamLimitExceeded,
                "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
            )
            .into());
        }
        check_thumbprints(&thumbprints)?;
        iam::check_tags(&tags)?;
        let mut ids: Vec<String> = Vec::new();
        for c in client_ids {
            if !ids.contains(&c) {
                ids.push(c);
            }
        }
        let provider = OidcProvider {
            arn: iam::oidc_provider_arn(&self.inner.settings.account_id, url),
            url: url.trim_end_matches('/').to_string(),
            client_ids: ids,
            thumbprints,
            created_at: self.now(),
            tags,
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_oidc_provider(&provider).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::IamProvider).then(|| iam::oidc_provider_exists(url))
            })
        })?;
        tx.commit().await?;
        Ok(provider)
    }

    pub async fn get_oidc_provider(&self, arn: &str) -> EngineResult<OidcProvider> {
        let mut tx = self.inner.store.read().await?;
        load_oidc(&mut *tx, arn).await
    }

    /// The provider registered for an issuer URL, if any (for AssumeRoleWithWebIdentity).
    pub async fn oidc_provider_for_issuer(
        &self,
        issuer: &str,
    ) -> EngineResult<Option<OidcProvider>> {
        let arn = iam::oidc_provider_arn(&self.inner.settings.account_id, issuer);
        let mut tx = self.inner.store.read().await?;
        Ok(tx.get_oidc_provider(&arn).await?)
    }

    pub async fn delete_oidc_provider(&self, arn: &str) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_oidc_provider(arn).await? {
            return Err(iam::no_such_oidc_provider(arn).into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_oidc_providers(&self) -> EngineResult<Vec<OidcProvider>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.list_oidc_providers().await?)
    }

    /// AddClientIDToOpenIDConnectProvider (a client id already there is no error) and
    /// RemoveClientIDFromOpenIDConnectProvider (one not there is no error either).
    pub async fn change_oidc_client_id(
        &self,
        arn: &str,
        client_id: &str,
        add: bool,
    ) -> EngineResult<()> {
        iam::check_client_id(client_id)?;
        let mut tx = self.inner.store.begin().await?;
        let mut provider = load_oidc(&mut *tx, arn).await?;
        if add {
            if !provider.client_ids.iter().any(|c| c == client_id) {
                if provider.client_ids.len() >= iam::MAX_OIDC_CLIENT_IDS {
                    return Err(DomainError::new(
                        ErrorKind::IamLimitExceeded,
                        "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
                    )
                    .into());
                }
                provider.client_ids.push(client_id.to_string());
            }
        } else {
            provider.client_ids.retain(|c| c != client_id);
        }
        tx.update_oidc_provider(&provider).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_oidc_thumbprints(
        &self,
        arn: &str,
        thumbprints: Vec<String>,
    ) -> EngineResult<()> {
        check_thumbprints(&thumbprints)?;
        let mut tx = self.inner.store.begin().await?;
        let mut provider = load_oidc(&mut *tx, arn).await?;
        provider.thumbprints = thumbprints;
        tx.update_oidc_provider(&provider).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn create_saml_provider(
        &self,
        name: &str,
        metadata: &str,
        tags: Vec<Tag>,
    ) -> EngineResult<SamlProvider> {
        iam::check_name("name", name, 128)?;
        iam::check_tags(&tags)?;
        let valid_until = check_metadata(metadata)?;
        let provider = SamlProvider {
            arn: iam::saml_provider_arn(&self.inner.settings.account_id, name),
            name: name.to_string(),
            metadata_document: metadata.to_string(),
            created_at: self.now(),
            valid_until,
            tags,
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_saml_provider(&provider).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::IamProvider).then(|| iam::saml_provider_exists(name))
            })
        })?;
        tx.commit().await?;
        Ok(provider)
    }

    pub async fn get_saml_provider(&self, arn: &str) -> EngineResult<SamlProvider> {
        let mut tx = self.inner.store.read().await?;
        load_saml(&mut *tx, arn).await
    }

    pub async fn update_saml_provider(
        &self,
        arn: &str,
        metadata: &str,
    ) -> EngineResult<SamlProvider> {
        let valid_until = check_metadata(metadata)?;
        let mut tx = self.inner.store.begin().await?;
        let mut provider = load_saml(&mut *tx, arn).await?;
        provider.metadata_document = metadata.to_string();
        provider.valid_until = valid_until;
        tx.update_saml_provider(&provider).await?;
        tx.commit().await?;
        Ok(provider)
    }

    pub async fn delete_saml_provider(&self, arn: &str) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_saml_provider(arn).await? {
            return Err(iam::no_such_saml_provider(arn).into());
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_saml_providers(&self) -> EngineResult<Vec<SamlProvider>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.list_saml_providers().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_valid_until_is_read() {
        let doc = r#"<md:EntityDescriptor validUntil="2030-01-02T03:04:05Z" xmlns:md="x"/>"#;
        let t = valid_until(doc).unwrap_or_else(|| panic!("no date"));
        assert_eq!(t.civil(), (2030, 1, 2, 3, 4, 5));
        assert_eq!(valid_until("<EntityDescriptor/>"), None);
    }
}
