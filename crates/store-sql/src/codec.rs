//! How domain values become columns and back, the same for every SQL backend.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tessera_domain::attributes::Attributes;
use tessera_domain::client::{AppClient, ClientSecret, SealedSecret};
use tessera_domain::filter::{FilterField, FilterOp, UserFilter};
use tessera_domain::lockout::SignInFailures;
use tessera_domain::pool::{SignInAttribute, UserPool};
use tessera_domain::tokens::TokenFamily;
use tessera_domain::user::{PasswordCredential, SrpCredential, User, UserStatus};
use tessera_domain::{ClientId, Sub, Timestamp, UserPoolId, Username};
use tessera_store::{AccessRead, FamilyState, StoreError, StoreResult};
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

/// A user's columns, as every read of a whole user selects them (`u` is `users`).
pub const USER_COLUMNS: &str = "u.pool_id, u.sub, u.username, u.status, u.enabled, \
    u.failure_count, u.last_failure_at, u.created_at, u.modified_at, u.data, u.username_key, \
    u.srp_salt, u.srp_verifier";

/// An app client's columns as `get_client` selects them, and as `access_read` names them.
pub const CLIENT_NAMES: [&str; 10] = [
    "client_id",
    "pool_id",
    "name",
    "sealed_secret",
    "secret_created_at",
    "sealed_secret_2",
    "secret_2_created_at",
    "created_at",
    "modified_at",
    "config",
];

/// `access_read` prefixes them, since the user's columns share some of their names.
pub static CLIENT_NAMES_C: std::sync::LazyLock<[String; 10]> =
    std::sync::LazyLock::new(|| CLIENT_NAMES.map(|c| format!("c_{c}")));

/// `Store::access_read`'s one statement, the same on every backend (`$1` the token's origin
/// jti, `$2` pool, `$3` sub, `$4` client): always one row, whose family (`f_sub`,
/// `f_revoked_at`), user (`USER_COLUMNS`) and client (`c_` and `CLIENT_NAMES`) columns are null
/// where that one doesn't exist.
pub fn access_read_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let client = CLIENT_NAMES
            .iter()
            .zip(CLIENT_NAMES_C.iter())
            .map(|(c, alias)| format!("c.{c} AS {alias}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT f.sub AS f_sub, f.revoked_at AS f_revoked_at, {client}, {USER_COLUMNS} \
             FROM (SELECT 1 AS one) k \
             LEFT JOIN token_families f ON f.origin_jti = $1 \
             LEFT JOIN users u ON u.pool_id = $2 AND u.sub = $3 \
             LEFT JOIN app_clients c ON c.client_id = $4"
        )
    });
    SQL.as_str()
}

/// The names [`access_read_sql`]'s columns come back under, in order: the family's two, then
/// the client's from [`ACCESS_CLIENT_AT`], then the user's from [`ACCESS_USER_AT`].
pub fn access_read_columns() -> Vec<String> {
    ["f_sub", "f_revoked_at"]
        .into_iter()
        .map(str::to_owned)
        .chain(CLIENT_NAMES_C.iter().cloned())
        .chain(user_column_names().map(str::to_owned))
        .collect()
}

/// Where the client's columns (in [`CLIENT_NAMES`]' order) start in [`access_read_sql`]'s row.
pub const ACCESS_CLIENT_AT: usize = 2;
/// Where the user's columns (in [`USER_COLUMNS`]' order) start in [`access_read_sql`]'s row.
pub const ACCESS_USER_AT: usize = ACCESS_CLIENT_AT + CLIENT_NAMES.len();

/// One `app_clients` row as read.
pub struct ClientRow {
    pub client_id: String,
    pub pool_id: String,
    pub name: String,
    pub sealed_secret: Option<Vec<u8>>,
    pub secret_created_at: Option<i64>,
    pub sealed_secret_2: Option<Vec<u8>>,
    pub secret_2_created_at: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
    pub config: String,
}

impl ClientRow {
    pub fn into_client(self) -> StoreResult<AppClient> {
        let created_at = self.created_at;
        let secrets = [
            (self.sealed_secret, self.secret_created_at),
            (self.sealed_secret_2, self.secret_2_created_at),
        ]
        .into_iter()
        .filter_map(|(sealed, at)| {
            Some(ClientSecret {
                sealed: SealedSecret(sealed?),
                created_at: Timestamp::from_millis(at.unwrap_or(created_at)),
            })
        })
        .collect();
        Ok(AppClient {
            pool_id: pool_id(&self.pool_id)?,
            client_id: client_id(&self.client_id)?,
            name: self.name,
            secrets,
            created_at: Timestamp::from_millis(created_at),
            modified_at: Timestamp::from_millis(self.modified_at),
            config: from_json(&self.config, "client config")?,
        })
    }
}

/// The one row of [`access_read_sql`] as read.
pub struct AccessRow {
    pub family_sub: Option<String>,
    pub family_revoked_at: Option<i64>,
    pub user: Option<UserRow>,
    pub client: Option<ClientRow>,
}

impl AccessRow {
    pub fn into_access_read(self) -> StoreResult<AccessRead> {
        Ok(AccessRead {
            family: match self.family_sub {
                Some(s) => Some(FamilyState {
                    sub: sub(&s)?,
                    revoked: self.family_revoked_at.is_some(),
                }),
                None => None,
            },
            user: self.user.map(UserRow::into_user).transpose()?,
            client: self.client.map(ClientRow::into_client).transpose()?,
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

/// How one ListUsers query reads: a keyset scan of one index, so every page costs the same
/// however large the pool (no walk past users that don't match).
///
/// Unfiltered, equality-filtered and `username ^=` listings are ordered by username key and
/// continue after the last key returned. An attribute prefix (`email ^= "ann"`) is ordered by
/// that attribute and then username key, so it reads the attribute's index as a range; its
/// cursor carries both (`cursor`), and the range bound on the prefix replaces a per-row test.
pub struct UserListing {
    /// SQL after `WHERE u.pool_id = $1 AND `, its parameters numbered from `$2`.
    pub condition: String,
    pub order: String,
    pub binds: Vec<FilterValue>,
    /// The attribute leading the order, when it isn't the username key.
    pub keyed_by: Option<&'static str>,
    /// Whether the listing reads the pool in username order and tests each row (`enabled`,
    /// `status ^=`, `sub ^=`): a walk that may cross the whole pool to fill a page, where every
    /// other listing reads an index range and costs about its `LIMIT` in rows.
    pub walks: bool,
}

impl UserListing {
    /// The whole statement, reading `limit` rows. The limit is written into it rather than
    /// bound: SQLite (3.50 on) plans a bound LIMIT as the constant it was first bound to and so
    /// prepares the statement again every time it is bound, which was 4 % of a ListUsers call.
    pub fn sql(&self, limit: usize) -> String {
        format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.pool_id = $1 AND {} ORDER BY {} LIMIT {limit}",
            self.condition, self.order
        )
    }

    /// The cursor a row continues from: its username key, or the attribute and key together.
    pub fn cursor(&self, username_key: String, user: &User) -> String {
        match self.keyed_by {
            None => username_key,
            Some(attribute) => {
                let value = user
                    .attributes
                    .get(attribute)
                    .map(String::as_str)
                    .unwrap_or("");
                format!("{value}\0{username_key}")
            }
        }
    }
}

/// The names [`USER_COLUMNS`] come back under, in order.
pub fn user_column_names() -> impl Iterator<Item = &'static str> {
    USER_COLUMNS
        .split(',')
        .map(|c| c.trim().trim_start_matches("u."))
}

/// Where the username key is among [`USER_COLUMNS`].
pub const USER_KEY_AT: usize = 10;

/// The least string greater than every string that starts with `prefix` (in code-point order,
/// which is byte order for UTF-8: SQLite's BINARY and PostgreSQL's "C" collations); `None`
/// when there is none (an empty prefix, or one of only U+10FFFF).
pub fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=0x10FFFF).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The plan for a ListUsers query continuing after `after` (a cursor this module made).
/// Returns `None` when the filter can match nothing (e.g. `status = "Sleeping"`).
pub fn user_listing(
    filter: Option<&UserFilter>,
    case_sensitive: bool,
    after: Option<&str>,
) -> Option<UserListing> {
    let after = after.unwrap_or("");
    let by_key = |condition: String, binds: Vec<FilterValue>| UserListing {
        condition: if condition.is_empty() {
            "u.username_key > $2".to_owned()
        } else {
            format!("u.username_key > $2 AND {condition}")
        },
        order: "u.username_key".to_owned(),
        binds: std::iter::once(FilterValue::Text(after.to_owned()))
            .chain(binds)
            .collect(),
        keyed_by: None,
        walks: false,
    };
    let Some(filter) = filter else {
        return Some(by_key(String::new(), Vec::new()));
    };
    let text = |v: &str| FilterValue::Text(v.to_owned());
    let (column, value) = match filter.field {
        FilterField::Username => (
            "username_key",
            tessera_domain::ids::username_key(&filter.value, case_sensitive),
        ),
        FilterField::UserStatus => ("status", filter.value.clone()),
        FilterField::Sub => ("sub", filter.value.clone()),
        FilterField::Enabled => {
            let enabled = match filter.value.as_str() {
                "Enabled" => true,
                "Disabled" => false,
                _ => return None,
            };
            return Some(UserListing {
                walks: true,
                ..by_key(
                    "u.enabled = $3".to_owned(),
                    vec![FilterValue::Bool(enabled)],
                )
            });
        }
        other => (other.attribute()?, filter.value.clone()),
    };
    match filter.op {
        FilterOp::Equals => Some(by_key(format!("u.{column} = $3"), vec![text(&value)])),
        // One lower bound in each prefix condition, the greater of the cursor and the prefix:
        // given both, SQLite may seek by the lesser and test the other on every row after it —
        // a walk from the pool's first user.
        FilterOp::StartsWith if column == "username_key" => {
            let (condition, lower) = if after >= value.as_str() {
                ("u.username_key > $2", after.to_owned())
            } else {
                ("u.username_key >= $2", value.clone())
            };
            Some(below_successor(
                UserListing {
                    condition: condition.to_owned(),
                    order: "u.username_key".to_owned(),
                    binds: vec![FilterValue::Text(lower)],
                    keyed_by: None,
                    walks: false,
                },
                column,
                &value,
            ))
        }
        // Status and sub prefixes match much of a pool or one user: read in username order.
        FilterOp::StartsWith if column == "status" || column == "sub" => Some(below_successor(
            UserListing {
                walks: true,
                ..by_key(format!("u.{column} >= $3"), vec![text(&value)])
            },
            column,
            &value,
        )),
        FilterOp::StartsWith => {
            // The cursor is `value NUL key`; a username key never holds a NUL, so the last one
            // splits it. A cursor without one (not made here) reads as a value alone.
            let (after_value, after_key) = after.rsplit_once('\0').unwrap_or((after, ""));
            let (condition, binds) = if after_value >= value.as_str() {
                (
                    format!("(u.{column}, u.username_key) > ($2, $3)"),
                    vec![text(after_value), text(after_key)],
                )
            } else {
                (format!("u.{column} >= $2"), vec![text(&value)])
            };
            Some(below_successor(
                UserListing {
                    condition,
                    order: format!("u.{column}, u.username_key"),
                    binds,
                    keyed_by: filter.field.attribute(),
                    walks: false,
                },
                column,
                &value,
            ))
        }
    }
}

/// `listing` with `column` also below the prefix's successor, bound as the next parameter;
/// unchanged when nothing is above every string with the prefix.
fn below_successor(mut listing: UserListing, column: &str, prefix: &str) -> UserListing {
    if let Some(upper) = prefix_successor(prefix) {
        let n = listing.binds.len() + 2;
        listing
            .condition
            .push_str(&format!(" AND u.{column} < ${n}"));
        listing.binds.push(FilterValue::Text(upper));
    }
    listing
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_exactly_the_strings_with_the_prefix() {
        assert_eq!(prefix_successor("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        for prefix in ["ab", "a\u{10FFFF}", "é", "z"] {
            let upper = prefix_successor(prefix).unwrap();
            for tail in ["", "\u{0}", "zzz", "\u{10FFFF}\u{10FFFF}"] {
                let s = format!("{prefix}{tail}");
                assert!(
                    s.as_str() >= prefix && s < upper,
                    "{s:?} in [{prefix:?}, {upper:?})"
                );
            }
            assert!(!upper.starts_with(prefix));
        }
    }

    #[test]
    fn the_username_key_is_where_listings_read_it() {
        assert_eq!(
            user_column_names().position(|c| c == "username_key"),
            Some(USER_KEY_AT)
        );
    }

    #[test]
    fn only_enabled_and_status_or_sub_prefixes_walk_the_pool() {
        let walks = |text: &str| {
            let filter = UserFilter::parse(text).unwrap().unwrap();
            user_listing(Some(&filter), true, None).unwrap().walks
        };
        for walking in [
            r#"status = "Enabled""#,
            r#"cognito:user_status ^= "CONF""#,
            r#"sub ^= "a""#,
        ] {
            assert!(walks(walking), "{walking}");
        }
        for range in [
            r#"username ^= "a""#,
            r#"username = "a""#,
            r#"email ^= "a""#,
            r#"given_name = "a""#,
            r#"cognito:user_status = "CONFIRMED""#,
            r#"sub = "a""#,
        ] {
            assert!(!walks(range), "{range}");
        }
        assert!(!user_listing(None, true, None).unwrap().walks);
    }

    #[test]
    fn attribute_prefix_cursors_split_at_the_last_nul() {
        let filter = UserFilter::parse(r#"email ^= "a""#).unwrap().unwrap();
        let listing = user_listing(Some(&filter), true, Some("a\u{0}b@x\u{0}carol")).unwrap();
        let texts: Vec<&str> = listing
            .binds
            .iter()
            .filter_map(|b| match b {
                FilterValue::Text(t) => Some(t.as_str()),
                FilterValue::Bool(_) => None,
            })
            .collect();
        assert_eq!(texts, ["a\u{0}b@x", "carol", "b"]);
        assert_eq!(listing.order, "u.email, u.username_key");
        // The first page seeks to the prefix itself, never to a lesser cursor.
        let first = user_listing(Some(&filter), true, None).unwrap();
        assert_eq!(first.condition, "u.email >= $2 AND u.email < $3");
        let by_name = UserFilter::parse(r#"username ^= "user01""#)
            .unwrap()
            .unwrap();
        let first = user_listing(Some(&by_name), true, None).unwrap();
        assert_eq!(
            first.condition,
            "u.username_key >= $2 AND u.username_key < $3"
        );
        let next = user_listing(Some(&by_name), true, Some("user0105")).unwrap();
        assert_eq!(
            next.condition,
            "u.username_key > $2 AND u.username_key < $3"
        );
    }
}
