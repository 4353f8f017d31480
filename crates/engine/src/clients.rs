//! App clients: CreateUserPoolClient, DescribeUserPoolClient, UpdateUserPoolClient,
//! DeleteUserPoolClient, ListUserPoolClients, and secret rotation: AddUserPoolClientSecret,
//! ListUserPoolClientSecrets, DeleteUserPoolClientSecret.
//!
//! Client secrets are stored sealed with the master key and bound to their client id. A client
//! holds at most two while one is rotated; either proves the client. Describe returns the oldest,
//! the one the client was configured with before the rotation began. The custom scopes a client
//! names must exist in its pool's resource servers.

use crate::Engine;
use crate::error::EngineResult;
use crate::identity_providers::check_client_providers;
use crate::pools::{decode_token, paged};
use crate::resource_servers::check_client_scopes;
use tessera_domain::Timestamp;
use tessera_domain::client::{
    AppClient, ClientConfig, ClientSecret, MAX_CLIENT_SECRETS, SealedSecret,
};
use tessera_domain::error::ErrorKind;
use tessera_domain::oauth::OAuthSettings;
use tessera_domain::pool::UserPool;
use tessera_domain::{ClientId, DomainError, UserPoolId};
use tessera_store::{Conflict, StoreError, Tx};

#[derive(Clone, Debug)]
pub struct NewClient {
    pub name: String,
    pub generate_secret: bool,
    /// A secret the caller chose (CreateUserPoolClient's `ClientSecret`).
    pub secret: Option<String>,
    pub config: ClientConfig,
}

/// UpdateUserPoolClient: like Cognito, unspecified settings return to their defaults.
#[derive(Clone, Debug)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub config: ClientConfig,
}

const SECRET_ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

pub(crate) fn secret_purpose(client: &ClientId) -> String {
    format!("client-secret:{client}")
}

fn check_attributes(pool: &UserPool, config: &ClientConfig) -> EngineResult<()> {
    let known = |name: &String| pool.config.schema.iter().any(|s| &s.name == name);
    if let Some(read) = &config.read_attributes
        && !read.iter().all(known)
    {
        return Err(DomainError::invalid_parameter(
            "Invalid read attributes specified while creating a client",
        )
        .into());
    }
    if let Some(write) = &config.write_attributes
        && !write.iter().all(|w| known(w) && w != "sub")
    {
        return Err(DomainError::invalid_parameter(
            "Invalid write attributes specified while creating a client",
        )
        .into());
    }
    Ok(())
}

fn check_name(name: &str) -> EngineResult<()> {
    if name.is_empty() || name.chars().count() > 128 {
        return Err(DomainError::invalid_parameter("Invalid client name.").into());
    }
    Ok(())
}

impl Engine {
    fn seal_secret(&self, client: &ClientId, plain: &str, created_at: Timestamp) -> ClientSecret {
        ClientSecret {
            sealed: SealedSecret(
                self.inner
                    .master
                    .seal(&secret_purpose(client), plain.as_bytes()),
            ),
            created_at,
        }
    }

    /// Every current secret of the client, oldest first, opened.
    pub(crate) fn client_secrets(&self, client: &AppClient) -> EngineResult<Vec<String>> {
        client
            .secrets
            .iter()
            .map(|s| {
                let plain = self
                    .inner
                    .master
                    .open(&secret_purpose(&client.client_id), &s.sealed.0)?;
                String::from_utf8(plain.to_vec())
                    .map_err(|_| crate::EngineError::Internal("client secret is not UTF-8".into()))
            })
            .collect()
    }

    /// The secret Describe returns: the oldest.
    fn described_secret(&self, client: &AppClient) -> EngineResult<Option<String>> {
        Ok(self.client_secrets(client)?.into_iter().next())
    }

    /// The client named by a request, or ResourceNotFoundException.
    pub(crate) async fn load_client(&self, tx: &mut dyn Tx, id: &str) -> EngineResult<AppClient> {
        let not_found = || DomainError::client_not_found(id);
        let id = ClientId::parse(id).map_err(|_| not_found())?;
        tx.get_client(&id).await?.ok_or_else(|| not_found().into())
    }

    /// The client, checked to belong to `pool`.
    pub(crate) async fn load_pool_client(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        id: &str,
    ) -> EngineResult<AppClient> {
        let client = self.load_client(tx, id).await?;
        if &client.pool_id != pool {
            return Err(DomainError::client_not_found(id).into());
        }
        Ok(client)
    }

    pub async fn create_user_pool_client(
        &self,
        pool_id: &UserPoolId,
        new: NewClient,
    ) -> EngineResult<(AppClient, Option<String>)> {
        check_name(&new.name)?;
        new.config.check()?;
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        check_attributes(&pool, &new.config)?;
        check_client_scopes(&mut *tx, pool_id, &new.config.allowed_oauth_scopes()).await?;
        check_client_providers(
            &mut *tx,
            pool_id,
            &OAuthSettings::from_settings(&new.config.settings).identity_providers,
        )
        .await?;
        let plain_secret = match (new.secret, new.generate_secret) {
            (Some(s), _) => Some(s),
            (None, true) => Some(tessera_crypto::random::string_from(SECRET_ALPHABET, 51)),
            (None, false) => None,
        };
        OAuthSettings::from_settings(&new.config.settings).check(plain_secret.is_some())?;
        for _ in 0..4 {
            let client_id = ClientId::generate(tessera_crypto::random::bytes::<26>());
            let client = AppClient {
                pool_id: pool_id.clone(),
                client_id: client_id.clone(),
                name: new.name.clone(),
                secrets: plain_secret
                    .iter()
                    .map(|s| self.seal_secret(&client_id, s, now))
                    .collect(),
                created_at: now,
                modified_at: now,
                config: new.config.clone(),
            };
            match tx.insert_client(&client).await {
                Err(StoreError::Conflict(Conflict::Client)) => {
                    tx = self.inner.store.begin().await?;
                    continue;
                }
                other => other?,
            }
            tx.commit().await?;
            return Ok((client, plain_secret));
        }
        Err(crate::EngineError::Internal(
            "could not allocate a client id".into(),
        ))
    }

    pub async fn describe_user_pool_client(
        &self,
        pool: &UserPoolId,
        client_id: &str,
    ) -> EngineResult<(AppClient, Option<String>)> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool).await?;
        let client = self.load_pool_client(&mut *tx, pool, client_id).await?;
        let secret = self.described_secret(&client)?;
        Ok((client, secret))
    }

    pub async fn update_user_pool_client(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        update: ClientUpdate,
    ) -> EngineResult<(AppClient, Option<String>)> {
        if let Some(name) = &update.name {
            check_name(name)?;
        }
        update.config.check()?;
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        check_attributes(&pool, &update.config)?;
        check_client_scopes(&mut *tx, pool_id, &update.config.allowed_oauth_scopes()).await?;
        check_client_providers(
            &mut *tx,
            pool_id,
            &OAuthSettings::from_settings(&update.config.settings).identity_providers,
        )
        .await?;
        let mut client = self.load_pool_client(&mut *tx, pool_id, client_id).await?;
        OAuthSettings::from_settings(&update.config.settings).check(!client.secrets.is_empty())?;
        if let Some(name) = update.name {
            client.name = name;
        }
        client.config = update.config;
        client.modified_at = self.now();
        tx.update_client(&client).await?;
        tx.commit().await?;
        let secret = self.described_secret(&client)?;
        Ok((client, secret))
    }

    pub async fn delete_user_pool_client(
        &self,
        pool: &UserPoolId,
        client_id: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool).await?;
        let client = self.load_pool_client(&mut *tx, pool, client_id).await?;
        tx.delete_client(pool, &client.client_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_user_pool_clients(
        &self,
        pool: &UserPoolId,
        max: usize,
        next: Option<&str>,
    ) -> EngineResult<(Vec<AppClient>, Option<String>)> {
        let after = decode_token(next)?
            .map(|s| ClientId::parse(&s))
            .transpose()
            .map_err(|_| DomainError::invalid_parameter("Invalid pagination token provided."))?;
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool).await?;
        let rows = tx.list_clients(pool, after.as_ref(), max + 1).await?;
        let (clients, next_token) = paged(rows, max, |c| c.client_id.as_str());
        Ok((clients, next_token))
    }

    /// AddUserPoolClientSecret: a second secret for a confidential client, generated unless
    /// the caller gives one. The value is returned only when generated.
    pub async fn add_user_pool_client_secret(
        &self,
        pool: &UserPoolId,
        client_id: &str,
        given: Option<String>,
    ) -> EngineResult<SecretDescriptor> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool).await?;
        let client = self.load_pool_client(&mut *tx, pool, client_id).await?;
        if client.secrets.is_empty() {
            return Err(DomainError::invalid_parameter(format!(
                "Client {client_id} does not have a client secret."
            ))
            .into());
        }
        if client.secrets.len() >= MAX_CLIENT_SECRETS {
            return Err(too_many_secrets().into());
        }
        // Ids derive from creation times, so a secret created within the same millisecond as
        // the one it joins takes the next millisecond.
        let mut created_at = self.now();
        if let Some(latest) = client.secrets.iter().map(|s| s.created_at).max()
            && created_at <= latest
        {
            created_at = Timestamp::from_millis(latest.millis() + 1);
        }
        let generated = given.is_none();
        let plain =
            given.unwrap_or_else(|| tessera_crypto::random::string_from(SECRET_ALPHABET, 51));
        let secret = self.seal_secret(&client.client_id, &plain, created_at);
        if !tx
            .add_client_secret(pool, &client.client_id, &secret)
            .await?
        {
            return Err(too_many_secrets().into());
        }
        tx.commit().await?;
        Ok(SecretDescriptor {
            id: secret.id(&client.client_id),
            created_at,
            value: generated.then_some(plain),
        })
    }

    /// ListUserPoolClientSecrets: the ids and creation times of a client's secrets, never the
    /// values.
    pub async fn list_user_pool_client_secrets(
        &self,
        pool: &UserPoolId,
        client_id: &str,
    ) -> EngineResult<Vec<SecretDescriptor>> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool).await?;
        let client = self.load_pool_client(&mut *tx, pool, client_id).await?;
        Ok(client
            .secrets
            .iter()
            .map(|s| SecretDescriptor {
                id: s.id(&client.client_id),
                created_at: s.created_at,
                value: None,
            })
            .collect())
    }

    /// DeleteUserPoolClientSecret: removes one of a client's two secrets; the last one stays.
    pub async fn delete_user_pool_client_secret(
        &self,
        pool: &UserPoolId,
        client_id: &str,
        secret_id: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool).await?;
        let client = self.load_pool_client(&mut *tx, pool, client_id).await?;
        let Some(secret) = client
            .secrets
            .iter()
            .find(|s| s.id(&client.client_id) == secret_id)
        else {
            return Err(DomainError::resource_not_found(format!(
                "Client secret {secret_id} does not exist."
            ))
            .into());
        };
        if !tx
            .delete_client_secret(pool, &client.client_id, secret.created_at)
            .await?
        {
            return Err(DomainError::invalid_parameter(
                "Cannot delete the last remaining client secret.",
            )
            .into());
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A client secret as the rotation operations describe it.
#[derive(Clone, Debug)]
pub struct SecretDescriptor {
    pub id: String,
    pub created_at: Timestamp,
    /// Only for a secret just generated.
    pub value: Option<String>,
}

fn too_many_secrets() -> DomainError {
    DomainError::new(
        ErrorKind::LimitExceeded,
        format!("A client can have at most {MAX_CLIENT_SECRETS} client secrets."),
    )
}
