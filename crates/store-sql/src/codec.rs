//! How domain values become columns and back, the same for every SQL backend.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tessera_domain::attributes::Attributes;
use tessera_domain::filter::{FilterField, FilterOp, UserFilter};
use tessera_domain::lockout::SignInFailures;
use tessera_domain::pool::{SignInAttribute, UserPool};
use tessera_domain::tokens::TokenFamily;
use tessera_domain::user::{PasswordCredential, SrpCredential, User, UserStatus};
use tessera_domain::{ClientId, Sub, Timestamp, UserPoolId, Username};
use tessera_store::{StoreError, StoreResult};
use uuid::Uuid;

pub fn to_json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub fn pool_id(s: &str) -> StoreResult<UserPoolId> {
    UserPoolId::parse(s).map_err(|e| StoreError::Corrupt(e.message))
}

pub fn client_id(s: &str) -> StoreResult<ClientId> {
    ClientId::parse(s).map_err(|e| StoreError::Corrupt(e.message))
}

pub fn uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn sub(s: &str) -> StoreResult<Sub> {
    uuid(s).map(Sub)
}

pub fn pool_from_row(
    id: &str,
    name: String,
    created_at: i64,
    modified_at: i64,
    config: &str,
) -> StoreResult<UserPool> {
    Ok(UserPool {
        id: pool_id(id)?,
        name,
        created_at: Timestamp::from_millis(created_at),
        modified_at: Timestamp::from_millis(modified_at),
        config: from_json(config, "pool config")?,
    })
}

/// The parts of a user kept in its JSON `data` column (everything without a column of its own).
#[derive(Serialize, Deserialize)]
pub struct UserData {
    pub attributes: Attributes,
    pub password: Option<PasswordCredential>,
    #[serde(default)]
    pub mfa: tessera_domain::mfa::UserMfa,
}

pub fn user_data(user: &User) -> StoreResult<String> {
    to_json(&UserData {
        attributes: user.attributes.clone(),
        password: user.password.clone(),
        mfa: user.mfa.clone(),
    })
}

/// The SRP columns of a user: `(srp_salt, srp_verifier)`.
pub fn srp_columns(user: &User) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    match &user.srp {
        Some(c) => (Some(c.salt.clone()), Some(c.sealed_verifier.clone())),
        None => (None, None),
    }
}

/// One `users` row as read.
pub struct UserRow {
    pub pool_id: String,
    pub sub: String,
    pub username: String,
    pub status: String,
    pub enabled: bool,
    pub failure_count: i64,
    pub last_failure_at: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
    pub data: String,
    pub srp_salt: Option<Vec<u8>>,
    pub srp_verifier: Option<Vec<u8>>,
}

impl UserRow {
    pub fn into_user(self) -> StoreResult<User> {
        let data: UserData = from_json(&self.data, "user data")?;
        Ok(User {
            pool_id: pool_id(&self.pool_id)?,
            sub: sub(&self.sub)?,
            username: Username::parse(&self.username)
                .map_err(|e| StoreError::Corrupt(e.message))?,
            status: UserStatus::parse(&self.status)
                .ok_or_else(|| StoreError::Corrupt(format!("user status {}", self.status)))?,
            enabled: self.enabled,
            attributes: data.attributes,
            password: data.password,
            mfa: data.mfa,
            srp: match (self.srp_salt, self.srp_verifier) {
                (Some(salt), Some(sealed_verifier)) => Some(SrpCredential {
                    salt,
                    sealed_verifier,
                }),
                _ => None,
            },
            failures: SignInFailures {
                count: u32::try_from(self.failure_count).unwrap_or(u32::MAX),
                last_failure: self.last_failure_at.map(Timestamp::from_millis),
            },
            created_at: Timestamp::from_millis(self.created_at),
            modified_at: Timestamp::from_millis(self.modified_at),
        })
    }
}

/// The searchable attributes, each with a column of its own, in this order.
pub const SEARCH_COLUMNS: [&str; 6] = [
    "email",
    "phone_number",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
];

pub fn search_values(user: &User) -> [Option<String>; 6] {
    SEARCH_COLUMNS.map(|c| user.attributes.get(c).cloned())
}

pub fn alias_kind(kind: SignInAttribute) -> &'static str {
    kind.attribute()
}

/// A ListUsers filter as a SQL condition on parameter `$param` and the value to bind there.
/// Returns `None` when the filter can match nothing (e.g. `status = "Sleeping"`).
pub fn filter_condition(
    filter: &UserFilter,
    case_sensitive: bool,
    param: usize,
) -> Option<(String, FilterValue)> {
    let column = match filter.field {
        FilterField::Username => "u.username_key",
        FilterField::UserStatus => "u.status",
        FilterField::Sub => "u.sub",
        FilterField::Enabled => {
            let enabled = match filter.value.as_str() {
                "Enabled" => true,
                "Disabled" => false,
                _ => return None,
            };
            return Some((format!("u.enabled = ${param}"), FilterValue::Bool(enabled)));
        }
        other => match other.attribute() {
            Some("email") => "u.email",
            Some("phone_number") => "u.phone_number",
            Some("name") => "u.name",
            Some("given_name") => "u.given_name",
            Some("family_name") => "u.family_name",
            Some("preferred_username") => "u.preferred_username",
            _ => return None,
        },
    };
    let value = if filter.field == FilterField::Username {
        tessera_domain::ids::username_key(&filter.value, case_sensitive)
    } else {
        filter.value.clone()
    };
    let condition = match filter.op {
        FilterOp::Equals => format!("{column} = ${param}"),
        FilterOp::StartsWith => format!("substr({column}, 1, length(${param})) = ${param}"),
    };
    Some((condition, FilterValue::Text(value)))
}

pub enum FilterValue {
    Text(String),
    Bool(bool),
}

/// The parts of a token family kept as JSON.
#[derive(Serialize, Deserialize)]
pub struct FamilyData {
    pub scopes: Vec<String>,
    pub device_key: Option<String>,
}

pub fn family_data(f: &TokenFamily) -> StoreResult<String> {
    to_json(&FamilyData {
        scopes: f.scopes.clone(),
        device_key: f.device_key.clone(),
    })
}

#[allow(clippy::too_many_arguments)]
pub fn family_from_row(
    origin_jti: &str,
    pool: &str,
    client: &str,
    user: &str,
    auth_time: i64,
    created_at: i64,
    refresh_expires_at: i64,
    revoked_at: Option<i64>,
    data: &str,
) -> StoreResult<TokenFamily> {
    let data: FamilyData = from_json(data, "token family")?;
    Ok(TokenFamily {
        origin_jti: uuid(origin_jti)?,
        pool_id: pool_id(pool)?,
        client_id: client_id(client)?,
        sub: sub(user)?,
        auth_time: Timestamp::from_millis(auth_time),
        created_at: Timestamp::from_millis(created_at),
        refresh_expires_at: Timestamp::from_millis(refresh_expires_at),
        revoked_at: revoked_at.map(Timestamp::from_millis),
        scopes: data.scopes,
        device_key: data.device_key,
    })
}

/// An outbox row's message with its body removed (after delivery or failure).
pub fn redacted(data: &str) -> StoreResult<String> {
    let mut message: tessera_domain::messages::OutboundMessage = from_json(data, "outbox message")?;
    message.body = String::new();
    message.sender = None;
    to_json(&message)
}

#[allow(clippy::too_many_arguments)]
pub fn outbox_entry(
    data: &str,
    status: &str,
    attempts: i64,
    last_error: Option<String>,
    delivered_at: Option<i64>,
) -> StoreResult<tessera_domain::messages::OutboxEntry> {
    Ok(tessera_domain::messages::OutboxEntry {
        message: from_json(data, "outbox message")?,
        status: tessera_domain::messages::OutboxStatus::parse(status)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox status {status}")))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        last_error,
        delivered_at: delivered_at.map(Timestamp::from_millis),
    })
}
