//! AdminLinkProviderForUser and AdminDisableProviderForUser: an administrator joins a provider
//! identity to an existing user (the only way identities merge — a provider asserting a native
//! user's email never does), or takes a provider identity (or a native user's password sign-in)
//! away.
//!
//! A linked identity signs in as the user it was linked to (that user's sub and groups); the
//! user's `identities` attribute lists it with `primary: false`.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use serde_json::{Value, json};
use tessera_domain::identity_providers::{IdentityProvider, ProviderType};
use tessera_domain::user::{User, UserStatus};
use tessera_domain::{DomainError, ErrorKind, UserPoolId};
use tessera_store::{Conflict, Tx, UserLookup};

/// A user may hold at most this many linked identities (Cognito's quota).
pub const MAX_LINKS: usize = 5;

/// `ProviderUserIdentifierType` as the request gives it.
#[derive(Clone, Debug, Default)]
pub struct ProviderUser {
    pub provider_name: Option<String>,
    pub attribute_name: Option<String>,
    pub attribute_value: Option<String>,
}

fn invalid(m: impl Into<String>) -> crate::EngineError {
    DomainError::invalid_parameter(m).into()
}

fn value_of(u: &ProviderUser, what: &str) -> EngineResult<String> {
    u.attribute_value
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("{what}.ProviderAttributeValue is required.")))
}

fn is_cognito(name: &str) -> bool {
    name.eq_ignore_ascii_case("Cognito")
}

/// The `identities` attribute with `entry` added or (when `entry` is None) the identity of
/// `provider`/`subject` removed.
fn with_identity(user: &mut User, provider: &str, subject: &str, entry: Option<Value>) {
    let mut list: Vec<Value> = user
        .attributes
        .get("identities")
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    list.retain(|v| {
        !(v.get("providerName").and_then(Value::as_str) == Some(provider)
            && v.get("userId").and_then(Value::as_str) == Some(subject))
    });
    if let Some(e) = entry {
        list.push(e);
    }
    if list.is_empty() {
        user.attributes.remove("identities");
    } else {
        user.attributes
            .insert("identities".into(), Value::Array(list).to_string());
    }
}

impl Engine {
    async fn source_provider(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        source: &ProviderUser,
    ) -> EngineResult<IdentityProvider> {
        let name = source.provider_name.clone().unwrap_or_default();
        if name.is_empty() || is_cognito(&name) {
            return Err(invalid(
                "SourceUser.ProviderName must be an identity provider of the user pool.",
            ));
        }
        let provider = tx
            .get_identity_provider(pool, &name)
            .await?
            .ok_or_else(|| {
                invalid(format!(
                    "The provider {name} does not exist for User Pool {pool}"
                ))
            })?;
        let attribute = source.attribute_name.as_deref().unwrap_or_default();
        if attribute != "Cognito_Subject" {
            return Err(invalid(if provider.provider_type == ProviderType::Saml {
                "Only Cognito_Subject can be linked on this server.".to_string()
            } else {
                format!("ProviderAttributeName must be Cognito_Subject for provider {name}.")
            }));
        }
        Ok(provider)
    }

    pub async fn admin_link_provider_for_user(
        &self,
        pool_id: &UserPoolId,
        destination: ProviderUser,
        source: ProviderUser,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let provider = self.source_provider(&mut *tx, pool_id, &source).await?;
        let subject = value_of(&source, "SourceUser")?;
        let dest_provider = destination.provider_name.clone().unwrap_or_default();
        let dest_value = value_of(&destination, "DestinationUser")?;
        let mut user = if is_cognito(&dest_provider) {
            let user = self
                .find_user(&mut *tx, &pool, &dest_value)
                .await?
                .ok_or_else(DomainError::user_not_found)?;
            if user.status == UserStatus::ExternalProvider {
                return Err(invalid(
                    "DestinationUser must be a native user when its ProviderName is Cognito.",
                ));
            }
            user
        } else {
            // An existing federated user of another provider.
            let name = format!("{dest_provider}_{dest_value}");
            tx.get_user(
                pool_id,
                &UserLookup::UsernameKey(pool.config.sign_in.key(&name)),
            )
            .await?
            .ok_or_else(DomainError::user_not_found)?
        };
        // The source must not have signed in on its own: merging two users isn't supported.
        let own = format!("{}_{subject}", provider.name);
        if tx
            .get_user(
                pool_id,
                &UserLookup::UsernameKey(pool.config.sign_in.key(&own)),
            )
            .await?
            .is_some()
        {
            return Err(invalid(
                "Merging is not currently supported, provide a SourceUser that has not been used to sign into the user pool.",
            ));
        }
        if tx.federated_links_of_user(pool_id, &user.sub).await?.len() >= MAX_LINKS {
            return Err(DomainError::new(
                ErrorKind::LimitExceeded,
                format!("A user can have at most {MAX_LINKS} linked identities."),
            )
            .into());
        }
        tx.link_federated_identity(pool_id, &provider.name, &subject, &user.sub)
            .await
            .map_err(|e| {
                on_conflict(e, |c| {
                    (*c == Conflict::FederatedLink).then(|| {
                        DomainError::new(
                            ErrorKind::AliasExists,
                            "The SourceUser is already linked to a user.",
                        )
                    })
                })
            })?;
        with_identity(
            &mut user,
            &provider.name,
            &subject,
            Some(json!({
                "userId": subject,
                "providerName": provider.name,
                "providerType": provider.provider_type.as_str(),
                "issuer": null,
                "primary": false,
                "dateCreated": now.millis(),
            })),
        );
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A linked identity is unlinked (its next sign-in makes a new user); an identity that
    /// signed in on its own has its user disabled; a native user (`Cognito`) loses password
    /// sign-in.
    pub async fn admin_disable_provider_for_user(
        &self,
        pool_id: &UserPoolId,
        who: ProviderUser,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let provider_name = who.provider_name.clone().unwrap_or_default();
        let value = value_of(&who, "User")?;
        if is_cognito(&provider_name) {
            let mut user = self
                .find_user(&mut *tx, &pool, &value)
                .await?
                .ok_or_else(DomainError::user_not_found)?;
            user.password = None;
            user.srp = None;
            user.modified_at = now;
            self.save_user(&mut *tx, &pool, &user).await?;
            tx.commit().await?;
            return Ok(());
        }
        let provider = self.source_provider(&mut *tx, pool_id, &who).await?;
        if let Some(sub) = tx.federated_link(pool_id, &provider.name, &value).await? {
            tx.unlink_federated_identity(pool_id, &provider.name, &value)
                .await?;
            if let Some(mut user) = tx.get_user(pool_id, &UserLookup::Sub(sub)).await? {
                with_identity(&mut user, &provider.name, &value, None);
                user.modified_at = now;
                self.save_user(&mut *tx, &pool, &user).await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        let own = format!("{}_{value}", provider.name);
        let Some(mut user) = tx
            .get_user(
                pool_id,
                &UserLookup::UsernameKey(pool.config.sign_in.key(&own)),
            )
            .await?
        else {
            return Err(DomainError::user_not_found().into());
        };
        user.enabled = false;
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        Ok(())
    }
}
