//! cognito-idp handlers: wire shapes in, engine calls, wire shapes out.

pub mod auth;
pub mod branding;
pub mod cimd;
pub mod client_tokens;
pub mod clients;
pub mod devices;
pub mod domains;
pub mod groups;
pub mod identity_providers;
pub mod limits;
pub mod mfa;
pub mod passkeys;
pub mod pool_settings;
pub mod pools;
pub mod recovery;
pub mod replicas;
pub mod resource_servers;
pub mod sessions;
pub mod tags;
pub mod terms;
pub mod threat;
pub mod user_import;
pub mod users;

use crate::error::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tessera_domain::user::User;
use tessera_domain::{Timestamp, UserPoolId};
use tessera_wire::idp as wire;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

pub(crate) fn ts(t: Timestamp) -> tessera_wire::Timestamp {
    tessera_wire::Timestamp::from_millis(t.millis())
}

pub(crate) fn pool_id(s: &str) -> ApiResult<UserPoolId> {
    UserPoolId::parse(s).map_err(Into::into)
}

fn encoding_failed(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "wire conversion failed");
    ApiError::internal()
}

/// The members of a request that Tessera stores and returns as given, by wire name.
pub(crate) fn stored_settings<T: Serialize>(
    req: &T,
    keys: &[&str],
) -> ApiResult<BTreeMap<String, Value>> {
    let Value::Object(map) = serde_json::to_value(req).map_err(encoding_failed)? else {
        return Ok(BTreeMap::new());
    };
    Ok(map
        .into_iter()
        .filter(|(k, v)| keys.contains(&k.as_str()) && !v.is_null())
        .collect())
}

/// A wire value with stored settings merged in (settings fill members the value lacks).
pub(crate) fn with_settings<T: Serialize + DeserializeOwned>(
    value: T,
    settings: &BTreeMap<String, Value>,
) -> ApiResult<T> {
    let mut map = match serde_json::to_value(&value).map_err(encoding_failed)? {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in settings {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
    serde_json::from_value(Value::Object(map)).map_err(encoding_failed)
}

pub(crate) fn delivery_out(
    d: &tessera_domain::messages::DeliveryDetails,
) -> wire::CodeDeliveryDetailsType {
    wire::CodeDeliveryDetailsType {
        attribute_name: Some(d.attribute.clone()),
        delivery_medium: wire::DeliveryMediumType::parse(d.channel.medium()),
        destination: Some(d.destination.clone()),
    }
}

/// ValidationData (a list of name/value pairs) as the map trigger events carry.
pub(crate) fn validation_data(
    list: Vec<wire::AttributeType>,
) -> std::collections::BTreeMap<String, String> {
    attributes_in(list).into_iter().collect()
}

pub(crate) fn attributes_in(list: Vec<wire::AttributeType>) -> Vec<(String, String)> {
    list.into_iter()
        .map(|a| (a.name, a.value.unwrap_or_default()))
        .collect()
}

/// A user's attributes on the wire (`sub` first), optionally only the named ones.
pub(crate) fn attributes_out(user: &User, only: Option<&[String]>) -> Vec<wire::AttributeType> {
    user.attributes_with_sub()
        .into_iter()
        .filter(|(k, _)| only.is_none_or(|o| o.contains(k)))
        .map(|(name, value)| wire::AttributeType {
            name,
            value: Some(value),
        })
        .collect()
}

pub(crate) fn status_out(user: &User) -> Option<wire::UserStatusType> {
    wire::UserStatusType::parse(user.status.as_str())
}

pub(crate) fn user_type(user: &User, only: Option<&[String]>) -> wire::UserType {
    wire::UserType {
        attributes: Some(attributes_out(user, only)),
        enabled: Some(user.enabled),
        mfa_options: None,
        user_create_date: Some(ts(user.created_at)),
        user_last_modified_date: Some(ts(user.modified_at)),
        user_status: status_out(user),
        username: Some(user.username.to_string()),
    }
}
