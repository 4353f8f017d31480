//! The master-key rotation part of the SQL transaction ([`tessera_store::ResealTx`]),
//! instantiated by [`sql_tx!`](crate::sql_tx): where each kind of sealed value is kept, and the
//! compare-and-set that replaces one.
//!
//! A value in a column of its own is replaced by one `UPDATE … WHERE column = expected`. A value
//! inside a JSON document is replaced by decoding the document into its domain type, swapping the
//! field and writing the document back only while the stored text is the one decoded (so a
//! concurrent write to the same row makes the replace return false instead of being lost).

use serde::{Serialize, de::DeserializeOwned};
use tessera_store::reseal::{SealedPlace, SealedSlot, UserSecret};
use tessera_store::{StoreError, StoreResult};

/// A value bound in a key condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyValue {
    Text(String),
    Int(i64),
}

/// How one place's rows are paged: table, primary-key columns (in order; `true` for a BIGINT
/// column), the other columns read, and which rows hold sealed values.
pub struct PlaceRows {
    pub table: &'static str,
    pub keys: &'static [(&'static str, bool)],
    pub columns: &'static str,
    pub only: &'static str,
}

pub fn place_rows(place: SealedPlace) -> PlaceRows {
    let rows = |table, keys, columns, only| PlaceRows {
        table,
        keys,
        columns,
        only,
    };
    match place {
        SealedPlace::SigningKeys => rows(
            "signing_keys",
            &[("pool_id", false), ("kid", false)],
            "sealed_private",
            "TRUE",
        ),
        SealedPlace::ClientSecrets => rows(
            "app_clients",
            &[("client_id", false)],
            "pool_id, created_at, sealed_secret, secret_created_at, sealed_secret_2, secret_2_created_at",
            "(sealed_secret IS NOT NULL OR sealed_secret_2 IS NOT NULL)",
        ),
        SealedPlace::UserCredentials => rows(
            "users",
            &[("pool_id", false), ("sub", false)],
            "srp_verifier, data",
            "TRUE",
        ),
        SealedPlace::DeviceVerifiers => rows("devices", &[("device_key", false)], "data", "TRUE"),
        SealedPlace::IdentityProviderSecrets => rows(
            "identity_providers",
            &[("pool_id", false), ("name", false)],
            "data",
            "TRUE",
        ),
        SealedPlace::SamlSpKeys => rows("saml_sp_keys", &[("pool_id", false)], "data", "TRUE"),
        SealedPlace::IdentitySigningKeys => rows(
            "identity_signing_keys",
            &[("kid", false)],
            "sealed_private",
            "TRUE",
        ),
        SealedPlace::IdentityCredentials => rows(
            "sts_sessions",
            &[("access_key_id", false)],
            "sealed_secret",
            "TRUE",
        ),
        SealedPlace::RoleSessionCredentials => rows(
            "iam_role_sessions",
            &[("access_key_id", false)],
            "sealed_secret",
            "TRUE",
        ),
        SealedPlace::ImportUploadTokens => rows(
            "user_import_jobs",
            &[("pool_id", false), ("job_id", false)],
            "data",
            "TRUE",
        ),
        SealedPlace::UserHistory => rows(
            "pool_history",
            &[("seq", true)],
            "pool_id, before_image",
            "entity = 'user' AND before_image IS NOT NULL",
        ),
    }
}

/// The page query of `place`: after a cursor of as many values as the place has key columns.
pub fn page_sql(place: SealedPlace, after: bool, rows: usize) -> String {
    let p = place_rows(place);
    let keys: Vec<&str> = p.keys.iter().map(|(k, _)| *k).collect();
    let keys = keys.join(", ");
    let cursor = if after {
        let params: Vec<String> = (1..=p.keys.len()).map(|i| format!("${i}")).collect();
        format!(" AND ({keys}) > ({})", params.join(", "))
    } else {
        String::new()
    };
    format!(
        "SELECT {keys}, {} FROM {} WHERE {}{cursor} ORDER BY {keys} LIMIT {rows}",
        p.columns, p.table, p.only
    )
}

/// A cursor (the last row's key values) as the page token.
pub fn encode_cursor(values: &[KeyValue]) -> StoreResult<String> {
    let json: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            KeyValue::Text(s) => s.clone().into(),
            KeyValue::Int(i) => (*i).into(),
        })
        .collect();
    crate::codec::to_json(&json)
}

pub fn decode_cursor(place: SealedPlace, cursor: &str) -> StoreResult<Vec<KeyValue>> {
    let values: Vec<serde_json::Value> = crate::codec::from_json(cursor, "sealed-value cursor")?;
    let keys = place_rows(place).keys;
    if values.len() != keys.len() {
        return Err(StoreError::Corrupt("sealed-value cursor".into()));
    }
    keys.iter()
        .zip(values)
        .map(|((_, int), v)| match (int, v) {
            (true, serde_json::Value::Number(n)) => n.as_i64().map(KeyValue::Int),
            (false, serde_json::Value::String(s)) => Some(KeyValue::Text(s)),
            _ => None,
        })
        .map(|v| v.ok_or_else(|| StoreError::Corrupt("sealed-value cursor".into())))
        .collect()
}

/// Where a slot held in a column of its own is: table, column, and the conditions (SQL
/// expression = value) finding its row. Several candidates are tried in turn (a client secret
/// is in one of two columns).
pub struct ColumnSlot {
    pub table: &'static str,
    pub column: &'static str,
    pub find: Vec<(&'static str, KeyValue)>,
}

/// Where a slot held inside a JSON document is.
pub struct JsonSlot {
    pub table: &'static str,
    pub column: &'static str,
    pub find: Vec<(&'static str, KeyValue)>,
}

pub enum SlotLocation {
    Columns(Vec<ColumnSlot>),
    Json(JsonSlot),
}

pub fn locate(slot: &SealedSlot) -> SlotLocation {
    use KeyValue::{Int, Text};
    let text = |s: &str| Text(s.to_string());
    let column = |table, column, find| {
        SlotLocation::Columns(vec![ColumnSlot {
            table,
            column,
            find,
        }])
    };
    let json = |table, column, find| {
        SlotLocation::Json(JsonSlot {
            table,
            column,
            find,
        })
    };
    match slot {
        SealedSlot::SigningKey { pool, kid } => column(
            "signing_keys",
            "sealed_private",
            vec![("pool_id", text(pool.as_str())), ("kid", text(kid))],
        ),
        SealedSlot::ClientSecret {
            pool,
            client,
            created_at,
        } => {
            let find = |at| {
                vec![
                    ("client_id", text(client.as_str())),
                    ("pool_id", text(pool.as_str())),
                    (at, Int(created_at.millis())),
                ]
            };
            SlotLocation::Columns(vec![
                ColumnSlot {
                    table: "app_clients",
                    column: "sealed_secret",
                    find: find("COALESCE(secret_created_at, created_at)"),
                },
                ColumnSlot {
                    table: "app_clients",
                    column: "sealed_secret_2",
                    find: find("secret_2_created_at"),
                },
            ])
        }
        SealedSlot::User { pool, sub, secret } => {
            let find = vec![
                ("pool_id", text(pool.as_str())),
                ("sub", Text(sub.to_string())),
            ];
            match secret {
                UserSecret::SrpVerifier => column("users", "srp_verifier", find),
                UserSecret::TotpSecret | UserSecret::PendingTotpSecret => {
                    json("users", "data", find)
                }
            }
        }
        SealedSlot::DeviceVerifier { pool, device_key } => json(
            "devices",
            "data",
            vec![
                ("device_key", text(device_key)),
                ("pool_id", text(pool.as_str())),
            ],
        ),
        SealedSlot::IdentityProviderSecret { pool, provider, .. } => json(
            "identity_providers",
            "data",
            vec![("pool_id", text(pool.as_str())), ("name", text(provider))],
        ),
        SealedSlot::SamlSpKey { pool, .. } => json(
            "saml_sp_keys",
            "data",
            vec![("pool_id", text(pool.as_str()))],
        ),
        SealedSlot::IdentitySigningKey { kid } => column(
            "identity_signing_keys",
            "sealed_private",
            vec![("kid", text(kid))],
        ),
        SealedSlot::IdentityCredentials { access_key_id } => column(
            "sts_sessions",
            "sealed_secret",
            vec![("access_key_id", text(access_key_id))],
        ),
        SealedSlot::RoleSessionCredentials { access_key_id } => column(
            "iam_role_sessions",
            "sealed_secret",
            vec![("access_key_id", text(access_key_id))],
        ),
        SealedSlot::ImportUploadToken { pool, job_id } => json(
            "user_import_jobs",
            "data",
            vec![("pool_id", text(pool.as_str())), ("job_id", text(job_id))],
        ),
        SealedSlot::UserHistory { seq, pool, .. } => json(
            "pool_history",
            "before_image",
            vec![("seq", Int(*seq)), ("pool_id", text(pool.as_str()))],
        ),
    }
}

/// `document` with `slot`'s value replaced by `sealed`, or None when the slot doesn't hold
/// `expected` (any more).
pub fn replace_in_document(
    slot: &SealedSlot,
    document: &str,
    expected: &[u8],
    sealed: &[u8],
) -> StoreResult<Option<String>> {
    use tessera_domain::devices::Device;
    use tessera_domain::identity_providers::{IdentityProvider, SamlSpKeys};
    use tessera_domain::user::User;
    use tessera_domain::user_import::UserImportJob;
    use tessera_store::reseal::SamlKeyUse;
    match slot {
        SealedSlot::User { secret, .. } => {
            edit::<crate::codec::UserData>(document, "user data", expected, sealed, |d| {
                user_field(&mut d.mfa, None, *secret)
            })
        }
        SealedSlot::UserHistory { secret, .. } => {
            edit::<User>(document, "journaled user", expected, sealed, |u| {
                user_field(&mut u.mfa, u.srp.as_mut(), *secret)
            })
        }
        SealedSlot::DeviceVerifier { .. } => {
            edit::<Device>(document, "device", expected, sealed, |d| {
                d.sealed_verifier.as_mut()
            })
        }
        SealedSlot::IdentityProviderSecret { detail, .. } => {
            edit::<IdentityProvider>(document, "identity provider", expected, sealed, |p| {
                p.sealed.get_mut(detail)
            })
        }
        SealedSlot::SamlSpKey { key_use, .. } => {
            edit::<SamlSpKeys>(document, "SAML SP keys", expected, sealed, |k| {
                Some(match key_use {
                    SamlKeyUse::Signing => &mut k.sealed_signing_key,
                    SamlKeyUse::Encryption => &mut k.sealed_encryption_key,
                })
            })
        }
        SealedSlot::ImportUploadToken { .. } => {
            edit::<UserImportJob>(document, "user import job", expected, sealed, |j| {
                Some(&mut j.sealed_upload_token)
            })
        }
        _ => Err(StoreError::Backend(
            "that sealed value is not kept in a document".into(),
        )),
    }
}

fn user_field<'a>(
    mfa: &'a mut tessera_domain::mfa::UserMfa,
    srp: Option<&'a mut tessera_domain::user::SrpCredential>,
    secret: UserSecret,
) -> Option<&'a mut Vec<u8>> {
    match secret {
        UserSecret::SrpVerifier => srp.map(|c| &mut c.sealed_verifier),
        UserSecret::TotpSecret => mfa.totp_secret.as_mut(),
        UserSecret::PendingTotpSecret => mfa.pending_totp_secret.as_mut(),
    }
}

fn edit<T: Serialize + DeserializeOwned>(
    document: &str,
    what: &str,
    expected: &[u8],
    sealed: &[u8],
    field: impl FnOnce(&mut T) -> Option<&mut Vec<u8>>,
) -> StoreResult<Option<String>> {
    let mut value: T = crate::codec::from_json(document, what)?;
    match field(&mut value) {
        Some(slot) if slot.as_slice() == expected => {
            *slot = sealed.to_vec();
        }
        _ => return Ok(None),
    }
    crate::codec::to_json(&value).map(Some)
}

/// The sealed values of one document row of `place` (the key values name the row).
pub fn values_in_document(
    place: SealedPlace,
    document: &str,
) -> StoreResult<Vec<(SealedSlot, Vec<u8>)>> {
    use tessera_domain::devices::Device;
    use tessera_domain::identity_providers::{IdentityProvider, SamlSpKeys};
    use tessera_domain::user_import::UserImportJob;
    use tessera_store::reseal::SamlKeyUse;
    Ok(match place {
        SealedPlace::DeviceVerifiers => {
            let d: Device = crate::codec::from_json(document, "device")?;
            d.sealed_verifier
                .map(|v| {
                    let slot = SealedSlot::DeviceVerifier {
                        pool: d.pool_id,
                        device_key: d.key,
                    };
                    (slot, v)
                })
                .into_iter()
                .collect()
        }
        SealedPlace::IdentityProviderSecrets => {
            let p: IdentityProvider = crate::codec::from_json(document, "identity provider")?;
            p.sealed
                .into_iter()
                .map(|(detail, v)| {
                    let slot = SealedSlot::IdentityProviderSecret {
                        pool: p.pool_id.clone(),
                        provider: p.name.clone(),
                        detail,
                    };
                    (slot, v)
                })
                .collect()
        }
        SealedPlace::SamlSpKeys => {
            let k: SamlSpKeys = crate::codec::from_json(document, "SAML SP keys")?;
            let slot = |key_use| SealedSlot::SamlSpKey {
                pool: k.pool_id.clone(),
                key_use,
            };
            vec![
                (slot(SamlKeyUse::Signing), k.sealed_signing_key.clone()),
                (
                    slot(SamlKeyUse::Encryption),
                    k.sealed_encryption_key.clone(),
                ),
            ]
        }
        SealedPlace::ImportUploadTokens => {
            let j: UserImportJob = crate::codec::from_json(document, "user import job")?;
            let slot = SealedSlot::ImportUploadToken {
                pool: j.pool_id,
                job_id: j.job_id,
            };
            vec![(slot, j.sealed_upload_token)]
        }
        _ => Vec::new(),
    })
}

/// A user's sealed credentials, as slots of `to_slot(secret)`.
pub fn user_values(
    mfa: &tessera_domain::mfa::UserMfa,
    srp_verifier: Option<&Vec<u8>>,
    to_slot: impl Fn(UserSecret) -> SealedSlot,
) -> Vec<(SealedSlot, Vec<u8>)> {
    [
        (UserSecret::SrpVerifier, srp_verifier),
        (UserSecret::TotpSecret, mfa.totp_secret.as_ref()),
        (
            UserSecret::PendingTotpSecret,
            mfa.pending_totp_secret.as_ref(),
        ),
    ]
    .into_iter()
    .filter_map(|(secret, v)| v.map(|v| (to_slot(secret), v.clone())))
    .collect()
}

/// Implements `tessera_store::ResealTx` for `$tx` (see [`sql_tx!`](crate::sql_tx)).
#[macro_export]
macro_rules! reseal_tx {
    ($tx:ident, $db:ty) => {
        impl $tx {
            /// The sealed values in one row of `place`, and the row's key values (the cursor).
            fn sealed_row(
                place: tessera_store::reseal::SealedPlace,
                row: &<$db as sqlx::Database>::Row,
            ) -> tessera_store::StoreResult<(
                Vec<$crate::reseal::KeyValue>,
                Vec<tessera_store::reseal::SealedValue>,
            )> {
                use sqlx::Row;
                use tessera_store::reseal::{SealedPlace, SealedSlot};
                use $crate::reseal::KeyValue;
                let keys = $crate::reseal::place_rows(place)
                    .keys
                    .iter()
                    .map(|(k, int)| {
                        Ok(if *int {
                            KeyValue::Int(row.try_get(*k).map_err(be)?)
                        } else {
                            KeyValue::Text(row.try_get(*k).map_err(be)?)
                        })
                    })
                    .collect::<tessera_store::StoreResult<Vec<_>>>()?;
                let text =
                    |k: &str| -> tessera_store::StoreResult<String> { row.try_get(k).map_err(be) };
                let bytes = |k: &str| -> tessera_store::StoreResult<Option<Vec<u8>>> {
                    row.try_get(k).map_err(be)
                };
                let values: Vec<(SealedSlot, Vec<u8>)> = match place {
                    SealedPlace::SigningKeys => vec![(
                        SealedSlot::SigningKey {
                            pool: $crate::codec::pool_id(&text("pool_id")?)?,
                            kid: text("kid")?,
                        },
                        bytes("sealed_private")?.unwrap_or_default(),
                    )],
                    SealedPlace::ClientSecrets => {
                        let pool = $crate::codec::pool_id(&text("pool_id")?)?;
                        let client = $crate::codec::client_id(&text("client_id")?)?;
                        let created_at: i64 = row.try_get("created_at").map_err(be)?;
                        let mut out = Vec::new();
                        for (sealed, at) in [
                            ("sealed_secret", "secret_created_at"),
                            ("sealed_secret_2", "secret_2_created_at"),
                        ] {
                            let at: Option<i64> = row.try_get(at).map_err(be)?;
                            if let Some(sealed) = bytes(sealed)? {
                                let slot = SealedSlot::ClientSecret {
                                    pool: pool.clone(),
                                    client: client.clone(),
                                    created_at: tessera_domain::Timestamp::from_millis(
                                        at.unwrap_or(created_at),
                                    ),
                                };
                                out.push((slot, sealed));
                            }
                        }
                        out
                    }
                    SealedPlace::UserCredentials => {
                        let pool = $crate::codec::pool_id(&text("pool_id")?)?;
                        let sub = $crate::codec::sub(&text("sub")?)?;
                        let data: $crate::codec::UserData =
                            $crate::codec::from_json(&text("data")?, "user data")?;
                        $crate::reseal::user_values(
                            &data.mfa,
                            bytes("srp_verifier")?.as_ref(),
                            |secret| SealedSlot::User {
                                pool: pool.clone(),
                                sub,
                                secret,
                            },
                        )
                    }
                    SealedPlace::IdentitySigningKeys => vec![(
                        SealedSlot::IdentitySigningKey { kid: text("kid")? },
                        bytes("sealed_private")?.unwrap_or_default(),
                    )],
                    SealedPlace::IdentityCredentials => vec![(
                        SealedSlot::IdentityCredentials {
                            access_key_id: text("access_key_id")?,
                        },
                        bytes("sealed_secret")?.unwrap_or_default(),
                    )],
                    SealedPlace::RoleSessionCredentials => vec![(
                        SealedSlot::RoleSessionCredentials {
                            access_key_id: text("access_key_id")?,
                        },
                        bytes("sealed_secret")?.unwrap_or_default(),
                    )],
                    SealedPlace::UserHistory => {
                        let seq: i64 = row.try_get("seq").map_err(be)?;
                        let user: tessera_domain::user::User =
                            $crate::codec::from_json(&text("before_image")?, "journaled user")?;
                        let pool = user.pool_id.clone();
                        $crate::reseal::user_values(
                            &user.mfa,
                            user.srp.as_ref().map(|c| &c.sealed_verifier),
                            |secret| SealedSlot::UserHistory {
                                seq,
                                pool: pool.clone(),
                                sub: user.sub,
                                secret,
                            },
                        )
                    }
                    SealedPlace::DeviceVerifiers
                    | SealedPlace::IdentityProviderSecrets
                    | SealedPlace::SamlSpKeys
                    | SealedPlace::ImportUploadTokens => {
                        $crate::reseal::values_in_document(place, &text("data")?)?
                    }
                };
                let values = values
                    .into_iter()
                    .map(|(slot, sealed)| tessera_store::reseal::SealedValue { slot, sealed })
                    .collect();
                Ok((keys, values))
            }
        }

        #[async_trait::async_trait]
        impl tessera_store::ResealTx for $tx {
            async fn sealed_values(
                &mut self,
                place: tessera_store::reseal::SealedPlace,
                after: Option<&str>,
                rows: usize,
            ) -> tessera_store::StoreResult<tessera_store::reseal::SealedPage> {
                use $crate::reseal::KeyValue;
                let cursor = after
                    .map(|c| $crate::reseal::decode_cursor(place, c))
                    .transpose()?;
                let sql = $crate::reseal::page_sql(place, cursor.is_some(), rows.max(1));
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for v in cursor.unwrap_or_default() {
                    query = match v {
                        KeyValue::Text(s) => query.bind(s),
                        KeyValue::Int(i) => query.bind(i),
                    };
                }
                let found = query.fetch_all(&mut *self.tx).await.map_err(be)?;
                let mut page = tessera_store::reseal::SealedPage::default();
                let mut last = None;
                for row in &found {
                    let (keys, values) = Self::sealed_row(place, row)?;
                    page.values.extend(values);
                    last = Some(keys);
                }
                if found.len() >= rows.max(1) {
                    page.next = last
                        .map(|k| $crate::reseal::encode_cursor(&k))
                        .transpose()?;
                }
                Ok(page)
            }

            async fn replace_sealed_value(
                &mut self,
                slot: &tessera_store::reseal::SealedSlot,
                expected: &[u8],
                sealed: &[u8],
            ) -> tessera_store::StoreResult<bool> {
                use $crate::reseal::{KeyValue, SlotLocation};
                fn condition(find: &[(&str, KeyValue)], from: usize) -> String {
                    find.iter()
                        .enumerate()
                        .map(|(i, (expr, _))| format!("{expr} = ${}", from + i))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                }
                match $crate::reseal::locate(slot) {
                    SlotLocation::Columns(candidates) => {
                        for c in candidates {
                            let sql = format!(
                                "UPDATE {} SET {col} = $1 WHERE {col} = $2 AND {}",
                                c.table,
                                condition(&c.find, 3),
                                col = c.column
                            );
                            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                                .bind(sealed.to_vec())
                                .bind(expected.to_vec());
                            for (_, v) in c.find {
                                query = match v {
                                    KeyValue::Text(s) => query.bind(s),
                                    KeyValue::Int(i) => query.bind(i),
                                };
                            }
                            if query
                                .execute(&mut *self.tx)
                                .await
                                .map_err(be)?
                                .rows_affected()
                                > 0
                            {
                                return Ok(true);
                            }
                        }
                        Ok(false)
                    }
                    SlotLocation::Json(j) => {
                        let select = format!(
                            "SELECT {} FROM {} WHERE {}",
                            j.column,
                            j.table,
                            condition(&j.find, 1)
                        );
                        let mut query =
                            sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(select));
                        for (_, v) in &j.find {
                            query = match v {
                                KeyValue::Text(s) => query.bind(s.clone()),
                                KeyValue::Int(i) => query.bind(*i),
                            };
                        }
                        let Some(Some(document)) =
                            query.fetch_optional(&mut *self.tx).await.map_err(be)?
                        else {
                            return Ok(false);
                        };
                        let Some(replaced) =
                            $crate::reseal::replace_in_document(slot, &document, expected, sealed)?
                        else {
                            return Ok(false);
                        };
                        let update = format!(
                            "UPDATE {} SET {col} = $1 WHERE {col} = $2 AND {}",
                            j.table,
                            condition(&j.find, 3),
                            col = j.column
                        );
                        let mut query = sqlx::query(sqlx::AssertSqlSafe(update))
                            .bind(replaced)
                            .bind(document);
                        for (_, v) in j.find {
                            query = match v {
                                KeyValue::Text(s) => query.bind(s),
                                KeyValue::Int(i) => query.bind(i),
                            };
                        }
                        Ok(query
                            .execute(&mut *self.tx)
                            .await
                            .map_err(be)?
                            .rows_affected()
                            > 0)
                    }
                }
            }
        }
    };
}
