//! The conformance suite: one definition of what a store must do, run against every backend with
//! [`store_conformance!`](crate::store_conformance).
//!
//! Each check takes a fresh, empty store. Assertions panic (this is test code compiled into the
//! library so that backend crates can run it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{
    Conflict, DeviceChallengeKey, FamilyState, KeyUse, Store, StoreError, StoredKey, Tx,
    UserLookup, UserQuery,
};
use std::sync::Arc;
use tessera_domain::attributes::Attributes;
use tessera_domain::branding::{BrandingAsset, BrandingChange, ManagedLoginBranding};
use tessera_domain::client::{AppClient, ClientConfig, ClientSecret, SealedSecret};
use tessera_domain::codes::{CodePurpose, VerificationCode};
use tessera_domain::domains::{
    CustomDomainConfig, DomainName, DomainUpdate, NewDomain, SecurityPolicy, UserPoolDomain,
};
use tessera_domain::filter::UserFilter;
use tessera_domain::flow::{AuthSession, Challenge, SignInContext};
use tessera_domain::lockout::SignInFailures;
use tessera_domain::messages::{Channel, DeliveryOutcome, OutboundMessage, OutboxStatus};
use tessera_domain::pool::{Alias, PoolConfig, SignInAttribute, UserPool};
use tessera_domain::resource_servers::{ResourceServer, ResourceServerIdentifier};
use tessera_domain::tokens::{RefreshTokenRecord, TokenFamily};
use tessera_domain::user::{PasswordCredential, SrpCredential, User, UserStatus};
use tessera_domain::{ClientId, Sub, Timestamp, UserPoolId, Username};
use uuid::Uuid;

mod console;
mod documents;
mod federation;
mod history;
mod iam;
mod passkeys;
mod reseal;
mod sessions;
mod sync;
mod threat;
mod user_import;
pub use console::*;
pub use documents::*;
pub use federation::*;
pub use history::*;
pub use iam::*;
pub use passkeys::*;
pub use reseal::*;
pub use sessions::*;
pub use sync::*;
pub use threat::*;
pub use user_import::*;

/// Runs every conformance check as its own `#[tokio::test]`, each on a store from `$make`
/// (an async fn returning `Option<Arc<dyn Store>>`; `None` skips, e.g. when a database server
/// isn't reachable and isn't required).
#[macro_export]
macro_rules! store_conformance {
    ($make:path) => {
        $crate::store_conformance!(@tests $make;
            pools_round_trip, pool_ids_are_unique, deleting_a_pool_removes_its_contents,
            clients_round_trip, users_round_trip, usernames_are_unique_under_the_case_rule,
            aliases_are_unique, list_users_filters_and_pages, sign_in_charges_are_compare_and_swap,
            concurrent_charges_lose_nothing, token_families_and_refresh_tokens,
            auth_sessions_are_single_use, device_challenges_are_found_and_used_once,
            dropped_transactions_roll_back, signing_keys_round_trip,
            sweep_removes_expired_state, failure_counters_survive_user_updates,
            srp_verifiers_round_trip_and_clear, unknown_user_counters_are_compare_and_swap,
            codes_round_trip, outbox_claims_are_exclusive_and_outcomes_recorded,
            devices_round_trip, groups_and_memberships, unknown_name_sends_round_trip,
            domains_round_trip, domain_names_are_unique_under_concurrent_creates,
            resource_servers_round_trip_and_page, client_secrets_rotate,
            concurrent_secret_adds_leave_two,
            deleting_a_pool_removes_its_domains_and_resource_servers,
            authorization_codes_are_redeemed_once, hosted_sessions_round_trip_and_expire,
            managed_login_branding_one_per_client,
            a_migrated_store_is_ready,
            iam_roles_round_trip_unique_ignoring_case_and_page,
            iam_inline_and_attached_policies, iam_identity_providers_round_trip,
            iam_role_sessions_round_trip_and_sweep,
            identity_pools_round_trip_and_page, identities_link_logins_uniquely,
            sts_sessions_round_trip_and_are_revoked_with_their_identity,
            identity_signing_keys_round_trip, signing_key_states_move_forward_once,
            deployment_meta_is_written_once, key_upkeep_finds_pools_without_next_keys_or_with_old_keys,
            sync_datasets_are_compare_and_swap, sync_records_round_trip_by_count,
            concurrent_sync_writers_never_both_win, sync_usage_settings_and_sessions,
            sync_devices_and_subscriptions, sync_data_merges_and_goes_with_its_identity,
            sync_deliveries_are_claimed_once_and_changes_feed_in_order,
            identity_providers_round_trip_with_unique_identifiers,
            federation_states_are_taken_once_and_expire,
            federated_links_are_unique_and_go_with_the_user,
            auth_events_round_trip_page_newest_first_and_prune,
            saml_sp_keys_are_written_once_and_go_with_the_pool,
            saml_assertions_are_accepted_once_until_they_expire,
            import_jobs_advance_by_compare_and_set_and_go_with_the_pool,
            terms_one_of_each_kind_per_client, cimd_policies_and_cached_documents,
            webauthn_credentials_are_unique_per_pool_and_owned_by_their_user,
            active_token_families_are_a_users_sessions,
            writes_journal_their_before_images, a_recovery_pauses_the_pools_writes,
            sealed_values_are_found_everywhere_and_replaced_by_compare_and_set,
            failed_messages_keep_their_body_for_a_retry_then_lose_it,
            sign_in_counts_add_up_per_pool_and_hour, console_operators_are_unique_by_name,
            access_reads_join_family_user_and_client);
    };
    (@tests $make:path; $($name:ident),+) => {
        $(
            #[tokio::test]
            async fn $name() {
                match $make().await {
                    Some(store) => $crate::conformance::$name(store).await,
                    None => eprintln!("skipped: no store for {}", stringify!($name)),
                }
            }
        )+
    };
}

/// A live token family of `u` signed in at `c`, its origin jti all `n`.
pub fn family(u: &User, c: &ClientId, n: u8) -> TokenFamily {
    TokenFamily {
        origin_jti: Uuid::from_bytes([n; 16]),
        pool_id: u.pool_id.clone(),
        client_id: c.clone(),
        sub: u.sub,
        auth_time: t(0),
        created_at: t(0),
        refresh_expires_at: t(1_000_000),
        revoked_at: None,
        scopes: vec!["aws.cognito.signin.user.admin".into()],
        device_key: None,
    }
}

pub fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_700_000_000_000 + ms)
}

pub fn pool(id: &str) -> UserPool {
    UserPool {
        id: UserPoolId::parse(id).unwrap(),
        name: format!("pool {id}"),
        created_at: t(0),
        modified_at: t(0),
        config: PoolConfig::default(),
    }
}

pub fn client(pool: &UserPool, id: &str) -> AppClient {
    AppClient {
        pool_id: pool.id.clone(),
        client_id: ClientId::parse(id).unwrap(),
        name: format!("client {id}"),
        secrets: vec![ClientSecret {
            sealed: SealedSecret(vec![1, 2, 3]),
            created_at: t(0),
        }],
        created_at: t(0),
        modified_at: t(0),
        config: ClientConfig::default(),
    }
}

pub fn user(pool: &UserPool, n: u8, username: &str) -> User {
    let mut attributes = Attributes::new();
    attributes.insert("email".into(), format!("{username}@example.com"));
    attributes.insert("given_name".into(), format!("Given{n}"));
    User {
        pool_id: pool.id.clone(),
        sub: Sub::from_random([n; 16]),
        username: Username::parse(username).unwrap(),
        status: UserStatus::Confirmed,
        enabled: true,
        attributes,
        password: Some(PasswordCredential {
            phc: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA".into(),
            set_at: t(0),
            expires_at: None,
        }),
        srp: None,
        mfa: Default::default(),
        failures: SignInFailures::default(),
        created_at: t(n as i64),
        modified_at: t(n as i64),
    }
}

pub(crate) async fn seed_pool(store: &dyn Store, p: &UserPool) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_pool(p).await.unwrap();
    tx.commit().await.unwrap();
}

async fn seed_user(store: &dyn Store, u: &User, aliases: &[Alias]) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(u, &u.username.key(true), aliases)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn pools_round_trip(store: Arc<dyn Store>) {
    let mut a = pool("us-east-1_AAAA");
    let b = pool("us-east-1_BBBB");
    let c = pool("us-east-1_CCCC");
    for p in [&c, &a, &b] {
        seed_pool(&*store, p).await;
    }
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_pool(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(
        tx.get_pool(&UserPoolId::parse("us-east-1_none").unwrap())
            .await
            .unwrap(),
        None
    );
    let page = tx.list_pools(None, 2).await.unwrap();
    assert_eq!(
        page.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![a.id.clone(), b.id.clone()]
    );
    let rest = tx.list_pools(Some(&b.id), 2).await.unwrap();
    assert_eq!(rest, vec![c.clone()]);
    drop(tx);

    a.name = "renamed".into();
    a.config.mfa = tessera_domain::pool::MfaMode::Optional;
    a.config
        .settings
        .insert("SmsAuthenticationMessage".into(), "{####}".into());
    a.modified_at = t(5);
    let mut tx = store.begin().await.unwrap();
    tx.update_pool(&a).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_pool(&a.id).await.unwrap(), Some(a));
}

pub async fn pool_ids_are_unique(store: Arc<dyn Store>) {
    let p = pool("us-east-1_DUP");
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    match tx.insert_pool(&p).await {
        Err(StoreError::Conflict(Conflict::Pool)) => {}
        other => panic!("expected a pool conflict, got {other:?}"),
    }
}

pub async fn deleting_a_pool_removes_its_contents(store: Arc<dyn Store>) {
    let p = pool("us-east-1_GONE");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let c = client(&p, "gone1");
    let mut tx = store.begin().await.unwrap();
    tx.insert_client(&c).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_pool(&p.id).await.unwrap());
    assert!(!tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();

    // The same ids are free again, and nothing of the old pool is visible.
    seed_pool(&*store, &p).await;
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Sub(u.sub)).await.unwrap(),
        None
    );
    assert_eq!(tx.get_client(&c.client_id).await.unwrap(), None);
    assert_eq!(tx.count_users(&p.id).await.unwrap(), 0);
}

pub async fn clients_round_trip(store: Arc<dyn Store>) {
    let p = pool("us-east-1_CLI");
    let other = pool("us-east-1_OTHER");
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let mut c1 = client(&p, "c1");
    let c2 = client(&p, "c2");
    let mut c3 = client(&other, "c3");
    c3.secrets.clear();
    let mut tx = store.begin().await.unwrap();
    for c in [&c2, &c1, &c3] {
        tx.insert_client(c).await.unwrap();
    }
    match tx.insert_client(&c1).await {
        Err(StoreError::Conflict(Conflict::Client)) => {}
        other => panic!("expected a client conflict, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    for c in [&c2, &c1, &c3] {
        tx.insert_client(c).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_client(&c3.client_id).await.unwrap(),
        Some(c3.clone())
    );
    let listed = tx.list_clients(&p.id, None, 10).await.unwrap();
    assert_eq!(listed, vec![c1.clone(), c2.clone()]);
    assert_eq!(
        tx.list_clients(&p.id, Some(&c1.client_id), 10)
            .await
            .unwrap(),
        vec![c2.clone()]
    );
    drop(tx);

    c1.name = "renamed".into();
    c1.config.enable_token_revocation = false;
    let mut tx = store.begin().await.unwrap();
    tx.update_client(&c1).await.unwrap();
    // Deleting through the wrong pool does nothing.
    assert!(!tx.delete_client(&other.id, &c2.client_id).await.unwrap());
    assert!(tx.delete_client(&p.id, &c2.client_id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_client(&c1.client_id).await.unwrap(), Some(c1));
    assert_eq!(tx.get_client(&c2.client_id).await.unwrap(), None);
}

pub async fn users_round_trip(store: Arc<dyn Store>) {
    let p = pool("us-east-1_USR");
    seed_pool(&*store, &p).await;
    let mut u = user(&p, 1, "Ann");
    let alias = Alias {
        kind: SignInAttribute::Email,
        key: "ann@example.com".into(),
    };
    seed_user(&*store, &u, std::slice::from_ref(&alias)).await;

    let mut tx = store.read().await.unwrap();
    for by in [
        UserLookup::UsernameKey("Ann".into()),
        UserLookup::Sub(u.sub),
        UserLookup::Alias(alias.clone()),
    ] {
        assert_eq!(
            tx.get_user(&p.id, &by).await.unwrap().as_ref(),
            Some(&u),
            "{by:?}"
        );
    }
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::UsernameKey("ann".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(tx.count_users(&p.id).await.unwrap(), 1);
    drop(tx);

    u.attributes
        .insert("email".into(), "new@example.com".into());
    u.attributes.insert("custom:tier".into(), "gold".into());
    u.status = UserStatus::ResetRequired;
    u.enabled = false;
    u.password = None;
    u.modified_at = t(9);
    let new_alias = Alias {
        kind: SignInAttribute::Email,
        key: "new@example.com".into(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.update_user(&u, std::slice::from_ref(&new_alias))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Alias(new_alias))
            .await
            .unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Alias(alias)).await.unwrap(),
        None
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_user(&p.id, &u.sub).await.unwrap());
    assert!(!tx.delete_user(&p.id, &u.sub).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Sub(u.sub)).await.unwrap(),
        None
    );
}

pub async fn usernames_are_unique_under_the_case_rule(store: Arc<dyn Store>) {
    let p = pool("us-east-1_CASE");
    let q = pool("us-east-1_CASE2");
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &q).await;
    let a = user(&p, 1, "Bob");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&a, "bob", &[]).await.unwrap();
    tx.commit().await.unwrap();
    let b = user(&p, 2, "BOB");
    let mut tx = store.begin().await.unwrap();
    match tx.insert_user(&b, "bob", &[]).await {
        Err(StoreError::Conflict(Conflict::Username)) => {}
        other => panic!("expected a username conflict, got {other:?}"),
    }
    drop(tx);
    // The same name in another pool is fine.
    let c = user(&q, 3, "bob");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&c, "bob", &[]).await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn aliases_are_unique(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ALIAS");
    seed_pool(&*store, &p).await;
    let phone = Alias {
        kind: SignInAttribute::PhoneNumber,
        key: "+15550100".into(),
    };
    let a = user(&p, 1, "a");
    seed_user(&*store, &a, std::slice::from_ref(&phone)).await;
    let b = user(&p, 2, "b");
    let mut tx = store.begin().await.unwrap();
    match tx.insert_user(&b, "b", std::slice::from_ref(&phone)).await {
        Err(StoreError::Conflict(Conflict::Alias(SignInAttribute::PhoneNumber))) => {}
        other => panic!("expected an alias conflict, got {other:?}"),
    }
    drop(tx);
    seed_user(&*store, &b, &[]).await;
    let mut tx = store.begin().await.unwrap();
    match tx.update_user(&b, std::slice::from_ref(&phone)).await {
        Err(StoreError::Conflict(Conflict::Alias(SignInAttribute::PhoneNumber))) => {}
        other => panic!("expected an alias conflict on update, got {other:?}"),
    }
    drop(tx);
    // A user may keep its own alias through an update.
    let mut tx = store.begin().await.unwrap();
    tx.update_user(&a, std::slice::from_ref(&phone))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn list_users_filters_and_pages(store: Arc<dyn Store>) {
    let p = pool("us-east-1_LIST");
    seed_pool(&*store, &p).await;
    let names = ["carol", "alice", "bob", "alfred", "dave"];
    for (i, n) in names.iter().enumerate() {
        let mut u = user(&p, i as u8 + 1, n);
        if *n == "dave" {
            u.enabled = false;
            u.status = UserStatus::Unconfirmed;
        }
        seed_user(&*store, &u, &[]).await;
    }
    let mut tx = store.read().await.unwrap();
    let page1 = tx
        .list_users(
            &p.id,
            &UserQuery {
                filter: None,
                case_sensitive: true,
                after: None,
                limit: 2,
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page1.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["alfred", "alice"]);
    let page2 = tx
        .list_users(
            &p.id,
            &UserQuery {
                filter: None,
                case_sensitive: true,
                after: Some("alice"),
                limit: 10,
            },
        )
        .await
        .unwrap();
    let keys: Vec<&str> = page2.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, vec!["bob", "carol", "dave"]);

    let cases: &[(&str, &[&str])] = &[
        (r#"username ^= "al""#, &["alfred", "alice"]),
        (r#"email = "bob@example.com""#, &["bob"]),
        // An attribute prefix is ordered by the attribute (Given1…Given5), then username.
        (
            r#"given_name ^= "Given""#,
            &["carol", "alice", "bob", "alfred", "dave"],
        ),
        (r#"given_name ^= "Given4""#, &["alfred"]),
        (r#"email ^= "al""#, &["alfred", "alice"]),
        (r#"username ^= "b""#, &["bob"]),
        (r#"username ^= "c""#, &["carol"]),
        (r#"cognito:user_status = "UNCONFIRMED""#, &["dave"]),
        (r#"status = "Disabled""#, &["dave"]),
        (
            r#"status = "Enabled""#,
            &["alfred", "alice", "bob", "carol"],
        ),
        (r#"email ^= "nobody""#, &[]),
    ];
    for (text, expected) in cases {
        let filter = UserFilter::parse(text).unwrap().unwrap();
        let query = |after: Option<&'static str>, limit| UserQuery {
            filter: Some(&filter),
            case_sensitive: true,
            after,
            limit,
        };
        let got = tx.list_users(&p.id, &query(None, 60)).await.unwrap();
        // The store's own listing, outside any transaction (on SQLite, on the calling thread
        // for most filters), reads the same users with the same cursors.
        let direct = store.list_users(&p.id, &query(None, 60)).await.unwrap();
        assert_eq!(direct, got, "{text}, outside a transaction");
        let got: Vec<&str> = got.iter().map(|(_, u)| u.username.as_str()).collect();
        assert_eq!(&got, expected, "{text}");
        // The same listing a page of one at a time, each continuing from the cursor before it,
        // alternately in the transaction and outside it.
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page_query = UserQuery {
                after: after.as_deref(),
                ..query(None, 1)
            };
            let page = if paged.len() % 2 == 1 {
                store.list_users(&p.id, &page_query).await.unwrap()
            } else {
                tx.list_users(&p.id, &page_query).await.unwrap()
            };
            let Some((cursor, u)) = page.into_iter().next() else {
                break;
            };
            paged.push(u.username.as_str().to_owned());
            after = Some(cursor);
        }
        assert_eq!(&paged, expected, "{text}, paged");
    }
    let sub = Sub::from_random([3; 16]);
    let filter = UserFilter::parse(&format!(r#"sub = "{sub}""#))
        .unwrap()
        .unwrap();
    let got = tx
        .list_users(
            &p.id,
            &UserQuery {
                filter: Some(&filter),
                case_sensitive: true,
                after: None,
                limit: 60,
            },
        )
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.username.as_str(), "bob");
}

pub async fn sign_in_charges_are_compare_and_swap(store: Arc<dyn Store>) {
    let p = pool("us-east-1_LOCK");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let zero = SignInFailures::default();
    let one = SignInFailures {
        count: 1,
        last_failure: Some(t(1)),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.charge_sign_in(&p.id, &u.sub, &zero, &one).await.unwrap());
    // A stale expectation loses.
    assert!(!tx.charge_sign_in(&p.id, &u.sub, &zero, &one).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx
        .get_user(&p.id, &UserLookup::Sub(u.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.failures, one);
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.reset_sign_in_failures(&p.id, &u.sub).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx
        .get_user(&p.id, &UserLookup::Sub(u.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.failures, zero);
}

/// Many writers each read the counter and charge it by one; none of their charges may be lost.
pub async fn concurrent_charges_lose_nothing(store: Arc<dyn Store>) {
    let p = pool("us-east-1_RACE");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let mut tasks = Vec::new();
    for i in 0..20i64 {
        let store = store.clone();
        let pool_id = p.id.clone();
        let sub = u.sub;
        tasks.push(tokio::spawn(async move {
            let mut won = 0u32;
            for _attempt in 0..50 {
                let Ok(mut tx) = store.begin().await else {
                    continue;
                };
                let Ok(Some(cur)) = tx.get_user(&pool_id, &UserLookup::Sub(sub)).await else {
                    continue;
                };
                let next = SignInFailures {
                    count: cur.failures.count + 1,
                    last_failure: Some(t(i)),
                };
                match tx
                    .charge_sign_in(&pool_id, &sub, &cur.failures, &next)
                    .await
                {
                    Ok(true) => {
                        if tx.commit().await.is_ok() {
                            won += 1;
                            break;
                        }
                    }
                    _ => continue,
                }
            }
            won
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    let mut tx = store.read().await.unwrap();
    let got = tx
        .get_user(&p.id, &UserLookup::Sub(u.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.failures.count, total,
        "every committed charge is counted"
    );
    assert_eq!(total, 20, "every writer eventually got through");
}

pub async fn token_families_and_refresh_tokens(store: Arc<dyn Store>) {
    let p = pool("us-east-1_TOK");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let family = |n: u8| TokenFamily {
        device_key: Some("us-east-1_dev".into()),
        ..family(&u, &ClientId::parse("c1").unwrap(), n)
    };
    let (f1, f2) = (family(1), family(2));
    let r1 = RefreshTokenRecord {
        hash: vec![7; 32],
        origin_jti: f1.origin_jti,
        pool_id: p.id.clone(),
        issued_at: t(0),
        superseded_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_token_family(&f1).await.unwrap();
    tx.insert_token_family(&f2).await.unwrap();
    tx.insert_refresh_token(&r1).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_token_family(&f1.origin_jti).await.unwrap(),
        Some(f1.clone())
    );
    assert_eq!(
        tx.get_refresh_token(&r1.hash).await.unwrap(),
        Some(r1.clone())
    );
    assert!(tx.supersede_refresh_token(&r1.hash, t(5)).await.unwrap());
    assert!(!tx.supersede_refresh_token(&r1.hash, t(6)).await.unwrap());
    assert!(tx.revoke_token_family(&f1.origin_jti, t(7)).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let got = tx.get_refresh_token(&r1.hash).await.unwrap().unwrap();
    assert_eq!(got.superseded_at, Some(t(5)));
    let f = tx.get_token_family(&f1.origin_jti).await.unwrap().unwrap();
    assert_eq!(f.revoked_at, Some(t(7)));
    // Global sign-out revokes what is still live (f2), not f1 again.
    assert_eq!(
        tx.revoke_user_token_families(&p.id, &u.sub, t(8))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let f = tx.get_token_family(&f2.origin_jti).await.unwrap().unwrap();
    assert_eq!(f.revoked_at, Some(t(8)));
    let f = tx.get_token_family(&f1.origin_jti).await.unwrap().unwrap();
    assert_eq!(f.revoked_at, Some(t(7)));
}

/// The one-statement read of an access-token call sees what transactions committed, and each
/// part that doesn't exist is `None` without hiding the others.
pub async fn access_reads_join_family_user_and_client(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ACCR");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let c = client(&p, "accr1");
    let family = family(&u, &c.client_id, 9);
    let mut tx = store.begin().await.unwrap();
    tx.insert_client(&c).await.unwrap();
    tx.insert_token_family(&family).await.unwrap();
    tx.commit().await.unwrap();

    let read = store
        .access_read(&family.origin_jti, &p.id, &u.sub, &c.client_id)
        .await
        .unwrap();
    assert_eq!(
        read.family,
        Some(FamilyState {
            sub: u.sub,
            revoked: false
        })
    );
    assert_eq!(read.user, Some(u.clone()));
    assert_eq!(read.client, Some(c.clone()));

    // Revoked: seen at once. Unknown family, user or client: that part alone is missing.
    let mut tx = store.begin().await.unwrap();
    tx.revoke_token_family(&family.origin_jti, t(5))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let other = Sub::from_random([42; 16]);
    let read = store
        .access_read(&Uuid::from_bytes([8; 16]), &p.id, &other, &c.client_id)
        .await
        .unwrap();
    assert_eq!((read.family, read.user), (None, None));
    assert_eq!(read.client, Some(c.clone()));
    let read = store
        .access_read(
            &family.origin_jti,
            &p.id,
            &u.sub,
            &ClientId::parse("nosuch").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(read.family.map(|f| f.revoked), Some(true));
    assert_eq!(read.user, Some(u.clone()));
    assert_eq!(read.client, None);
    // A user of another pool with the same sub is not this pool's user.
    let read = store
        .access_read(
            &family.origin_jti,
            &pool("us-east-1_ELSE").id,
            &u.sub,
            &c.client_id,
        )
        .await
        .unwrap();
    assert_eq!(read.user, None);
}

pub async fn auth_sessions_are_single_use(store: Arc<dyn Store>) {
    let p = pool("us-east-1_SESS");
    seed_pool(&*store, &p).await;
    let mut s = AuthSession {
        pool_id: p.id.clone(),
        client_id: ClientId::parse("c1").unwrap(),
        sub: Sub::from_random([1; 16]),
        challenge: Challenge::NewPasswordRequired,
        context: Default::default(),
        attempts: 0,
        created_at: t(0),
        expires_at: t(180_000),
    };
    let hash = vec![9u8; 32];
    let mut tx = store.begin().await.unwrap();
    tx.insert_auth_session(&hash, &s).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_auth_session(&hash).await.unwrap(), Some(s.clone()));
    s.attempts = 2;
    tx.update_auth_session(&hash, &s).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_auth_session(&hash).await.unwrap(), Some(s));
    assert!(tx.delete_auth_session(&hash).await.unwrap());
    assert!(!tx.delete_auth_session(&hash).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_auth_session(&hash).await.unwrap(), None);
}

/// An authorization code is redeemed once: of two concurrent redemptions one wins, and the
/// winner's token family stays recorded so a replay can be answered by revoking it.
pub async fn authorization_codes_are_redeemed_once(store: Arc<dyn Store>) {
    use tessera_domain::oauth::AuthorizationCode;
    let p = pool("us-east-1_CODES");
    seed_pool(&*store, &p).await;
    let code = AuthorizationCode {
        pool_id: p.id.clone(),
        client_id: ClientId::parse("c1").unwrap(),
        client_url: None,
        sub: Sub::from_random([2; 16]),
        redirect_uri: "https://app.example.com/cb".into(),
        scopes: vec!["openid".into(), "email".into()],
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        auth_time: t(0),
        expires_at: t(300_000),
    };
    let hash = vec![7u8; 32];
    let mut tx = store.begin().await.unwrap();
    tx.insert_authorization_code(&hash, &code).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let stored = tx.get_authorization_code(&hash).await.unwrap().unwrap();
    assert_eq!(stored.code, code);
    assert_eq!(stored.redeemed, None);
    assert_eq!(
        tx.get_hosted_session(&hash).await.unwrap(),
        None,
        "kinds are apart"
    );
    drop(tx);
    let first = uuid::Uuid::from_bytes([1; 16]);
    let second = uuid::Uuid::from_bytes([2; 16]);
    let (a, b) = tokio::join!(
        async {
            let mut tx = store.begin().await.unwrap();
            let won = tx.redeem_authorization_code(&hash, t(1_000), &first).await;
            match won {
                Ok(true) => tx.commit().await.map(|_| true),
                other => other,
            }
        },
        async {
            let mut tx = store.begin().await.unwrap();
            let won = tx.redeem_authorization_code(&hash, t(1_000), &second).await;
            match won {
                Ok(true) => tx.commit().await.map(|_| true),
                other => other,
            }
        }
    );
    let wins = [&a, &b].iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(wins, 1, "{a:?} {b:?}");
    let mut tx = store.read().await.unwrap();
    let stored = tx.get_authorization_code(&hash).await.unwrap().unwrap();
    let winner = if matches!(a, Ok(true)) { first } else { second };
    assert_eq!(stored.redeemed, Some((t(1_000), winner)));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.redeem_authorization_code(&hash, t(2_000), &first)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    store_sweep(&mut *tx, t(300_000)).await;
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_authorization_code(&hash).await.unwrap(), None);
}

async fn store_sweep(tx: &mut dyn Tx, now: Timestamp) {
    tx.sweep_expired(now).await.unwrap();
}

/// A hosted-UI session is found by the hash of its cookie, ends when deleted (once), is swept
/// when expired, and goes with its pool.
pub async fn hosted_sessions_round_trip_and_expire(store: Arc<dyn Store>) {
    use tessera_domain::oauth::HostedSession;
    let p = pool("us-east-1_HOSTED");
    seed_pool(&*store, &p).await;
    let session = HostedSession {
        saml: None,
        pool_id: p.id.clone(),
        sub: Sub::from_random([3; 16]),
        auth_time: t(0),
        expires_at: t(3_600_000),
        session_id: Some("sso0000000000000000000000001".into()),
        client_id: None,
    };
    let (one, two) = (vec![5u8; 32], vec![6u8; 32]);
    let mut tx = store.begin().await.unwrap();
    tx.insert_hosted_session(&one, &session).await.unwrap();
    tx.insert_hosted_session(&two, &session).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_hosted_session(&one).await.unwrap(),
        Some(session.clone())
    );
    assert!(tx.delete_hosted_session(&one).await.unwrap());
    assert!(!tx.delete_hosted_session(&one).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_hosted_session(&one).await.unwrap(), None);
    assert_eq!(
        tx.get_hosted_session(&two).await.unwrap(),
        Some(session.clone())
    );
    // Listed for its user while alive, oldest sign-in first; not for another user or pool.
    let later = HostedSession {
        auth_time: t(10),
        session_id: Some("sso0000000000000000000000002".into()),
        ..session.clone()
    };
    tx.insert_hosted_session(&[7u8; 32], &later).await.unwrap();
    let listed = tx
        .hosted_sessions_of(&p.id, &session.sub, t(100))
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![(two.clone(), session.clone()), (vec![7u8; 32], later)]
    );
    let other = Sub::from_random([4; 16]);
    assert!(
        tx.hosted_sessions_of(&p.id, &other, t(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.hosted_sessions_of(&p.id, &session.sub, t(3_600_000))
            .await
            .unwrap()
            .is_empty(),
        "expired sessions are not listed"
    );
    assert!(tx.delete_hosted_session(&[7u8; 32]).await.unwrap());
    store_sweep(&mut *tx, t(3_599_999)).await;
    assert!(
        tx.get_hosted_session(&two).await.unwrap().is_some(),
        "not yet expired"
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_hosted_session(&two).await.unwrap(), None);
}

/// A pending device challenge found by pool, client, user and device key (clients that send no
/// Session) is the same session as the one its token finds: the latest one for that key, used
/// once however it is found, and gone when the session is consumed or swept.
pub async fn device_challenges_are_found_and_used_once(store: Arc<dyn Store>) {
    let p = pool("us-east-1_DCH");
    seed_pool(&*store, &p).await;
    let client = ClientId::parse("c1").unwrap();
    let sub = Sub::from_random([1; 16]);
    let session = |expires_at| AuthSession {
        pool_id: p.id.clone(),
        client_id: client.clone(),
        sub,
        challenge: Challenge::DeviceSrpAuth,
        context: SignInContext {
            device_key: Some("us-east-1_dev".into()),
            srp: true,
            custom: None,
            hosted: false,
            ..Default::default()
        },
        attempts: 0,
        created_at: t(0),
        expires_at,
    };
    let key = DeviceChallengeKey {
        pool_id: p.id.clone(),
        client_id: client.clone(),
        sub,
        device_key: "us-east-1_dev".into(),
    };
    let pend = |hash: Vec<u8>, s: AuthSession| {
        let (store, key) = (store.clone(), key.clone());
        async move {
            let mut tx = store.begin().await.unwrap();
            tx.insert_auth_session(&hash, &s).await.unwrap();
            tx.index_device_challenge(&key, &hash).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let find = |key: DeviceChallengeKey| {
        let store = store.clone();
        async move {
            let mut tx = store.read().await.unwrap();
            tx.find_device_challenge(&key).await.unwrap()
        }
    };

    let first = session(t(180_000));
    pend(vec![1; 32], first.clone()).await;
    assert_eq!(find(key.clone()).await, Some((vec![1; 32], first)));
    // Every part of the key counts.
    let others = [
        DeviceChallengeKey {
            pool_id: UserPoolId::parse("us-east-1_DCI").unwrap(),
            ..key.clone()
        },
        DeviceChallengeKey {
            client_id: ClientId::parse("c2").unwrap(),
            ..key.clone()
        },
        DeviceChallengeKey {
            sub: Sub::from_random([2; 16]),
            ..key.clone()
        },
        DeviceChallengeKey {
            device_key: "us-east-1_other".into(),
            ..key.clone()
        },
    ];
    for other in others {
        assert_eq!(find(other).await, None);
    }

    // A newer sign-in on the same device takes the key; the older session keeps only its token.
    let second = session(t(190_000));
    pend(vec![2; 32], second.clone()).await;
    assert_eq!(find(key.clone()).await, Some((vec![2; 32], second)));
    let mut tx = store.read().await.unwrap();
    assert!(tx.get_auth_session(&[1; 32]).await.unwrap().is_some());
    drop(tx);

    // Concurrent answers race to consume what the key finds: exactly one wins.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (store, key) = (store.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            for _attempt in 0..50 {
                let Ok(mut tx) = store.begin().await else {
                    continue;
                };
                let found = match tx.find_device_challenge(&key).await {
                    Ok(found) => found,
                    Err(_) => continue,
                };
                let Some((hash, _)) = found else {
                    return 0u32;
                };
                match tx.delete_auth_session(&hash).await {
                    Ok(true) => {
                        if tx.commit().await.is_ok() {
                            return 1;
                        }
                    }
                    Ok(false) => return 0,
                    Err(_) => continue,
                }
            }
            0
        }));
    }
    let mut wins = 0;
    for task in tasks {
        wins += task.await.unwrap();
    }
    assert_eq!(wins, 1, "one answer consumes the pending challenge");
    assert_eq!(find(key.clone()).await, None);

    // Consumed through its token, it is gone for the key too.
    pend(vec![3; 32], session(t(180_000))).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_auth_session(&[3; 32]).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(find(key.clone()).await, None);

    // And an expired one goes with the sweep.
    pend(vec![4; 32], session(t(10))).await;
    let mut tx = store.begin().await.unwrap();
    tx.sweep_expired(t(100)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(find(key.clone()).await, None);
}

pub async fn dropped_transactions_roll_back(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ROLL");
    let mut tx = store.begin().await.unwrap();
    tx.insert_pool(&p).await.unwrap();
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_pool(&p.id).await.unwrap(), None);
    drop(tx);
    // A conflict leaves the store usable for the next transaction.
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    assert!(tx.insert_pool(&p).await.is_err());
    drop(tx);
    let u = user(&p, 1, "after");
    seed_user(&*store, &u, &[]).await;
}

pub async fn signing_keys_round_trip(store: Arc<dyn Store>) {
    let p = pool("us-east-1_KEYS");
    seed_pool(&*store, &p).await;
    let key = |kid: &str, key_use: KeyUse| StoredKey {
        pool_id: p.id.clone(),
        kid: kid.into(),
        key_use,
        sealed_private: vec![1, 2, 3, 4],
        public_jwk: format!(r#"{{"kid":"{kid}"}}"#),
        created_at: t(0),
        activated_at: Some(t(0)),
        retired_at: None,
        revoked_at: None,
    };
    let (a, b) = (key("kid-a", KeyUse::Id), key("kid-b", KeyUse::Access));
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&a).await.unwrap();
    tx.insert_signing_key(&b).await.unwrap();
    match tx.insert_signing_key(&a).await {
        Err(StoreError::Conflict(Conflict::SigningKey)) => {}
        other => panic!("expected a key conflict, got {other:?}"),
    }
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&a).await.unwrap();
    tx.insert_signing_key(&b).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let mut got = tx.signing_keys(&p.id).await.unwrap();
    got.sort_by(|x, y| x.kid.cmp(&y.kid));
    assert_eq!(got, vec![a, b]);
}

/// Rotation's writes are conditional, so two nodes rotating one pool at once can't both win, and
/// a key's life only moves forward: next → active → retired, and revoked from any state.
pub async fn signing_key_states_move_forward_once(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ROTATE");
    seed_pool(&*store, &p).await;
    let next = StoredKey {
        pool_id: p.id.clone(),
        kid: "kid-next".into(),
        key_use: KeyUse::Id,
        sealed_private: vec![9; 8],
        public_jwk: "{}".into(),
        created_at: t(5),
        activated_at: None,
        retired_at: None,
        revoked_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&next).await.unwrap();
    // A next key can't be retired before it signs.
    assert!(
        !tx.retire_signing_key(&p.id, "kid-next", t(6))
            .await
            .unwrap()
    );
    assert!(
        tx.activate_signing_key(&p.id, "kid-next", t(7))
            .await
            .unwrap()
    );
    assert!(
        !tx.activate_signing_key(&p.id, "kid-next", t(8))
            .await
            .unwrap()
    );
    assert!(
        tx.retire_signing_key(&p.id, "kid-next", t(9))
            .await
            .unwrap()
    );
    assert!(
        !tx.retire_signing_key(&p.id, "kid-next", t(10))
            .await
            .unwrap()
    );
    assert!(
        tx.revoke_signing_key(&p.id, "kid-next", t(11))
            .await
            .unwrap()
    );
    assert!(
        !tx.revoke_signing_key(&p.id, "kid-next", t(12))
            .await
            .unwrap()
    );
    assert!(
        !tx.revoke_signing_key(&p.id, "kid-none", t(12))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx.find_signing_key("kid-next").await.unwrap().unwrap();
    assert_eq!(
        got,
        StoredKey {
            activated_at: Some(t(7)),
            retired_at: Some(t(9)),
            revoked_at: Some(t(11)),
            ..next
        }
    );
    assert_eq!(tx.signing_keys(&p.id).await.unwrap(), vec![got]);
    assert!(tx.find_signing_key("kid-none").await.unwrap().is_none());
    drop(tx);
    // A revoked next key can't be activated.
    let mut tx = store.begin().await.unwrap();
    let spare = StoredKey {
        kid: "kid-spare".into(),
        activated_at: None,
        retired_at: None,
        revoked_at: None,
        ..tx.find_signing_key("kid-next").await.unwrap().unwrap()
    };
    tx.insert_signing_key(&spare).await.unwrap();
    assert!(
        tx.revoke_signing_key(&p.id, "kid-spare", t(20))
            .await
            .unwrap()
    );
    assert!(
        !tx.activate_signing_key(&p.id, "kid-spare", t(21))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
}

pub async fn key_upkeep_finds_pools_without_next_keys_or_with_old_keys(store: Arc<dyn Store>) {
    let mut p = pool("us-east-1_UPKEEP");
    p.created_at = t(100);
    seed_pool(&*store, &p).await;
    let key = |kid: &str, key_use: KeyUse, activated_at: Option<Timestamp>| StoredKey {
        pool_id: p.id.clone(),
        kid: kid.into(),
        key_use,
        sealed_private: vec![1],
        public_jwk: "{}".into(),
        created_at: t(100),
        activated_at,
        retired_at: None,
        revoked_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&key("up-id", KeyUse::Id, Some(t(100))))
        .await
        .unwrap();
    tx.insert_signing_key(&key("up-access", KeyUse::Access, Some(t(100))))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let due = |created_before: i64, activated_before: Option<i64>| {
        let (store, id) = (store.clone(), p.id.clone());
        async move {
            let mut tx = store.read().await.unwrap();
            tx.pools_due_key_upkeep(t(created_before), activated_before.map(t), 1000)
                .await
                .unwrap()
                .contains(&id)
        }
    };
    // Too young for a next key; keys younger than the rotation age.
    assert!(!due(100, Some(100)).await);
    assert!(!due(50, None).await);
    // Old enough: no next key of either use.
    assert!(due(101, None).await);
    // Signing since before the rotation age.
    assert!(due(50, Some(101)).await);
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&key("up-id-next", KeyUse::Id, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // One use still lacks a next key.
    assert!(due(101, None).await);
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&key("up-access-next", KeyUse::Access, None))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!due(101, None).await);
    assert!(due(101, Some(101)).await);
}

pub async fn deployment_meta_is_written_once(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_meta("probe").await.unwrap(), None);
    assert!(tx.insert_meta("probe", &[1, 2, 3]).await.unwrap());
    assert!(!tx.insert_meta("probe", &[4]).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_meta("probe").await.unwrap(), Some(vec![1, 2, 3]));
    drop(tx);
    // put_meta replaces (and creates).
    let mut tx = store.begin().await.unwrap();
    tx.put_meta("probe", &[9]).await.unwrap();
    tx.put_meta("fresh", &[7]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_meta("probe").await.unwrap(), Some(vec![9]));
    assert_eq!(tx.get_meta("fresh").await.unwrap(), Some(vec![7]));
}

pub async fn sweep_removes_expired_state(store: Arc<dyn Store>) {
    let p = pool("us-east-1_SWEEP");
    seed_pool(&*store, &p).await;
    let session = |expires| AuthSession {
        pool_id: p.id.clone(),
        client_id: ClientId::parse("c1").unwrap(),
        sub: Sub::from_random([1; 16]),
        challenge: Challenge::NewPasswordRequired,
        context: Default::default(),
        attempts: 0,
        created_at: t(0),
        expires_at: expires,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_auth_session(&[1], &session(t(10))).await.unwrap();
    tx.insert_auth_session(&[2], &session(t(1_000)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.sweep_expired(t(100)).await.unwrap() >= 1);
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_auth_session(&[1]).await.unwrap(), None);
    assert!(tx.get_auth_session(&[2]).await.unwrap().is_some());
}

pub async fn failure_counters_survive_user_updates(store: Arc<dyn Store>) {
    let p = pool("us-east-1_CNT");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let charged = SignInFailures {
        count: 3,
        last_failure: Some(t(3)),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.charge_sign_in(&p.id, &u.sub, &SignInFailures::default(), &charged)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    // An update from a copy read before the charge must not undo it.
    let mut stale = u.clone();
    stale.attributes.insert("name".into(), "Ann".into());
    let mut tx = store.begin().await.unwrap();
    tx.update_user(&stale, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx
        .get_user(&p.id, &UserLookup::Sub(u.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.failures, charged);
    assert_eq!(got.attribute("name"), Some("Ann"));
}

pub async fn srp_verifiers_round_trip_and_clear(store: Arc<dyn Store>) {
    let p = pool("us-east-1_SRP");
    seed_pool(&*store, &p).await;
    let mut a = user(&p, 1, "ann");
    a.srp = Some(SrpCredential {
        salt: vec![1; 16],
        sealed_verifier: vec![2; 400],
    });
    seed_user(&*store, &a, &[]).await;
    let mut b = user(&p, 2, "bob");
    seed_user(&*store, &b, &[]).await;
    b.srp = Some(SrpCredential {
        salt: vec![3; 16],
        sealed_verifier: vec![4; 400],
    });
    let mut tx = store.begin().await.unwrap();
    tx.update_user(&b, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Sub(a.sub)).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        tx.get_user(&p.id, &UserLookup::Sub(b.sub)).await.unwrap(),
        Some(b.clone())
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.clear_srp_verifiers(&p.id).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let got = tx
        .get_user(&p.id, &UserLookup::Sub(a.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.srp, None);
    assert_eq!(got.password, a.password);
}

pub async fn unknown_user_counters_are_compare_and_swap(store: Arc<dyn Store>) {
    let p = pool("us-east-1_GHOST");
    seed_pool(&*store, &p).await;
    let zero = SignInFailures::default();
    let one = SignInFailures {
        count: 1,
        last_failure: Some(t(1)),
    };
    let two = SignInFailures {
        count: 2,
        last_failure: Some(t(2)),
    };
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.unknown_user_failures(&p.id, "ghost").await.unwrap(),
        zero
    );
    assert!(
        tx.charge_unknown_user(&p.id, "ghost", &zero, &one)
            .await
            .unwrap()
    );
    // A second "first failure" loses; a stale expectation loses.
    assert!(
        !tx.charge_unknown_user(&p.id, "ghost", &zero, &one)
            .await
            .unwrap()
    );
    assert!(
        tx.charge_unknown_user(&p.id, "ghost", &one, &two)
            .await
            .unwrap()
    );
    assert!(
        !tx.charge_unknown_user(&p.id, "ghost", &one, &two)
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.unknown_user_failures(&p.id, "ghost").await.unwrap(), two);
    assert_eq!(
        tx.unknown_user_failures(&p.id, "other").await.unwrap(),
        zero
    );
    // Forgotten 15 minutes after the last failure.
    tx.sweep_expired(t(2 + 15 * 60 * 1000)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.unknown_user_failures(&p.id, "ghost").await.unwrap(),
        zero
    );
}

pub async fn codes_round_trip(store: Arc<dyn Store>) {
    let p = pool("us-east-1_CODES");
    seed_pool(&*store, &p).await;
    let u = user(&p, 1, "ann");
    seed_user(&*store, &u, &[]).await;
    let mut code = VerificationCode {
        purpose: CodePurpose::VerifyAttribute("email".into()),
        digest: vec![1, 2, 3],
        created_at: t(0),
        expires_at: t(1000),
        failed_attempts: 0,
        pending_value: Some("new@example.com".into()),
        sent_to: Some("email".into()),
        recent_sends: vec![t(0)],
    };
    let key = code.purpose.key();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_code(&p.id, &u.sub, &key).await.unwrap(), None);
    tx.put_code(&p.id, &u.sub, &code).await.unwrap();
    code.failed_attempts = 2;
    code.digest = vec![9];
    tx.put_code(&p.id, &u.sub, &code).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_code(&p.id, &u.sub, &key).await.unwrap(),
        Some(code.clone())
    );
    assert_eq!(
        tx.get_code(&p.id, &u.sub, "confirm-sign-up").await.unwrap(),
        None
    );
    assert!(tx.delete_code(&p.id, &u.sub, &key).await.unwrap());
    assert!(!tx.delete_code(&p.id, &u.sub, &key).await.unwrap());
    tx.put_code(&p.id, &u.sub, &code).await.unwrap();
    tx.commit().await.unwrap();
    // Codes go with their user, and expired ones with the sweep.
    let mut tx = store.begin().await.unwrap();
    tx.sweep_expired(t(1000)).await.unwrap();
    assert_eq!(tx.get_code(&p.id, &u.sub, &key).await.unwrap(), None);
    tx.put_code(&p.id, &u.sub, &code).await.unwrap();
    tx.delete_user(&p.id, &u.sub).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_code(&p.id, &u.sub, &key).await.unwrap(), None);
}

pub async fn outbox_claims_are_exclusive_and_outcomes_recorded(store: Arc<dyn Store>) {
    let p = pool("us-east-1_MAIL");
    seed_pool(&*store, &p).await;
    let message = |n: u8| OutboundMessage {
        id: Uuid::from_bytes([n; 16]),
        pool_id: p.id.to_string(),
        channel: if n.is_multiple_of(2) {
            Channel::Email
        } else {
            Channel::Sms
        },
        to: format!("user{n}@example.com"),
        subject: Some("Code".into()),
        body: format!("Your code is {n}"),
        from: None,
        reply_to: None,
        created_at: t(i64::from(n)),
        sender: Some(tessera_domain::messages::SenderEvent {
            trigger_source: "CustomEmailSender_SignUp".into(),
            user_name: format!("user{n}"),
            request: serde_json::json!({"code": n.to_string()})
                .as_object()
                .cloned()
                .unwrap(),
        }),
    };
    let mut tx = store.begin().await.unwrap();
    for n in 1..=4 {
        tx.enqueue_message(&message(n), OutboxStatus::Pending)
            .await
            .unwrap();
    }
    tx.enqueue_message(&message(5), OutboxStatus::Held)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.count_pending_messages().await.unwrap(),
        4,
        "held is not pending"
    );
    drop(tx);

    // Claims are leased: a second claimer at the same time gets the rest, never the same.
    let mut tx = store.begin().await.unwrap();
    let first = tx.claim_messages(t(100), t(10_000), 3).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let second = tx.claim_messages(t(100), t(10_000), 3).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.len(), 3);
    assert_eq!(second.len(), 1);
    assert!(
        first
            .iter()
            .all(|(m, attempts)| *attempts == 1 && m.id != second[0].0.id)
    );
    assert_eq!(first[0].0, message(1));

    let mut tx = store.begin().await.unwrap();
    tx.record_delivery(&first[0].0.id, &DeliveryOutcome::Delivered, t(200))
        .await
        .unwrap();
    tx.record_delivery(
        &first[1].0.id,
        &DeliveryOutcome::Retry {
            at: t(500),
            error: "connection refused".into(),
        },
        t(200),
    )
    .await
    .unwrap();
    tx.record_delivery(
        &first[2].0.id,
        &DeliveryOutcome::Failed {
            error: "550 no such mailbox".into(),
        },
        t(200),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Leased (claimed, unrecorded) and retried messages are still pending; delivered and failed
    // ones are not.
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.count_pending_messages().await.unwrap(), 2);
    drop(tx);

    // The retried message is due again only at its time; held messages never are.
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.claim_messages(t(400), t(20_000), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = tx.claim_messages(t(5_000), t(20_000), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0.id, first[1].0.id);
    assert_eq!(again[0].1, 2);
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let listed = tx.list_outbox(Some(&p.id), 10).await.unwrap();
    assert_eq!(listed.len(), 5);
    let by_id = |id: Uuid| listed.iter().find(|e| e.message.id == id).unwrap();
    let delivered = by_id(first[0].0.id);
    assert_eq!(delivered.status, OutboxStatus::Delivered);
    assert_eq!(delivered.delivered_at, Some(t(200)));
    assert_eq!(delivered.message.body, "", "delivered bodies are redacted");
    assert_eq!(delivered.message.sender, None, "and so are sender events");
    let failed = by_id(first[2].0.id);
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such mailbox"));
    let held = by_id(Uuid::from_bytes([5; 16]));
    assert_eq!(held.status, OutboxStatus::Held);
    assert_eq!(held.message.body, "Your code is 5");
    assert_eq!(held.message.sender.as_ref().unwrap().request["code"], "5");
    assert_eq!(tx.list_outbox(None, 2).await.unwrap().len(), 2);
}

pub async fn devices_round_trip(store: Arc<dyn Store>) {
    use tessera_domain::devices::Device;
    let p = pool("us-east-1_DEV");
    seed_pool(&*store, &p).await;
    let (a, b) = (user(&p, 1, "ann"), user(&p, 2, "bob"));
    seed_user(&*store, &a, &[]).await;
    seed_user(&*store, &b, &[]).await;
    let device = |u: &User, n: u8| Device {
        pool_id: p.id.clone(),
        sub: u.sub,
        key: format!("us-east-1_0000000{n}-0000-4000-8000-000000000000"),
        group_key: "grp".into(),
        name: Some(format!("device {n}")),
        salt: None,
        sealed_verifier: None,
        remembered: false,
        created_at: t(i64::from(n)),
        modified_at: t(i64::from(n)),
        last_authenticated_at: None,
    };
    let (mut d1, d2, d3) = (device(&a, 1), device(&a, 2), device(&b, 3));
    let mut tx = store.begin().await.unwrap();
    for d in [&d2, &d1, &d3] {
        tx.insert_device(d).await.unwrap();
    }
    tx.commit().await.unwrap();
    d1.salt = Some(vec![1; 16]);
    d1.sealed_verifier = Some(vec![2; 300]);
    d1.remembered = true;
    let mut tx = store.begin().await.unwrap();
    tx.update_device(&d1).await.unwrap();
    assert_eq!(
        tx.get_device(&p.id, &d1.key).await.unwrap(),
        Some(d1.clone())
    );
    assert_eq!(
        tx.list_devices(&p.id, &a.sub, None, 10).await.unwrap(),
        vec![d1.clone(), d2.clone()]
    );
    assert_eq!(
        tx.list_devices(&p.id, &a.sub, Some(&d1.key), 10)
            .await
            .unwrap(),
        vec![d2.clone()]
    );
    assert!(tx.delete_device(&p.id, &d2.key).await.unwrap());
    assert!(!tx.delete_device(&p.id, &d2.key).await.unwrap());
    // Devices go with their user.
    tx.delete_user(&p.id, &a.sub).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_device(&p.id, &d1.key).await.unwrap(), None);
    assert_eq!(tx.get_device(&p.id, &d3.key).await.unwrap(), Some(d3));
}

pub async fn groups_and_memberships(store: Arc<dyn Store>) {
    use tessera_domain::groups::Group;
    let p = pool("us-east-1_GRP");
    let other = pool("us-east-1_GRQ");
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let (a, b, c) = (user(&p, 1, "ann"), user(&p, 2, "bob"), user(&p, 3, "cy"));
    for u in [&a, &b, &c] {
        seed_user(&*store, u, &[]).await;
    }
    let group = |pool: &UserPool, name: &str, precedence: Option<i32>| Group {
        pool_id: pool.id.clone(),
        name: name.into(),
        description: Some(format!("the {name}")),
        role_arn: None,
        precedence,
        created_at: t(1),
        modified_at: t(1),
    };
    let (admins, readers, lower) = (
        group(&p, "admins", Some(1)),
        group(&p, "readers", None),
        group(&p, "Admins", Some(2)),
    );
    let mut tx = store.begin().await.unwrap();
    for g in [&readers, &admins, &lower, &group(&other, "admins", None)] {
        tx.insert_group(g).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Names are unique per pool and case-sensitive.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_group(&admins).await,
        Err(StoreError::Conflict(Conflict::Group))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut changed = admins.clone();
    changed.role_arn = Some("arn:aws:iam::123456789012:role/admin".into());
    changed.modified_at = t(9);
    tx.update_group(&changed).await.unwrap();
    assert_eq!(
        tx.get_group(&p.id, "admins").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(tx.get_group(&p.id, "nobody").await.unwrap(), None);
    let names = |gs: Vec<Group>| gs.into_iter().map(|g| g.name).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_groups(&p.id, None, 10).await.unwrap()),
        ["Admins", "admins", "readers"]
    );
    assert_eq!(
        names(tx.list_groups(&p.id, Some("Admins"), 1).await.unwrap()),
        ["admins"]
    );
    // Memberships: idempotent adds, pages in both directions.
    assert!(tx.add_group_member(&p.id, "admins", &a.sub).await.unwrap());
    assert!(!tx.add_group_member(&p.id, "admins", &a.sub).await.unwrap());
    for (g, u) in [("readers", &a), ("admins", &c), ("admins", &b)] {
        assert!(tx.add_group_member(&p.id, g, &u.sub).await.unwrap());
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.groups_of_user(&p.id, &a.sub, None, 10).await.unwrap(),
        vec![changed.clone(), readers.clone()]
    );
    assert_eq!(
        names(
            tx.groups_of_user(&p.id, &a.sub, Some("admins"), 10)
                .await
                .unwrap()
        ),
        ["readers"]
    );
    let members = |m: Vec<(String, User)>| {
        m.into_iter()
            .map(|(_, u)| u.username.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        members(tx.group_members(&p.id, "admins", None, 10).await.unwrap()),
        ["ann", "bob", "cy"]
    );
    let page = tx.group_members(&p.id, "admins", None, 2).await.unwrap();
    let after = page[1].0.clone();
    assert_eq!(
        members(
            tx.group_members(&p.id, "admins", Some(&after), 2)
                .await
                .unwrap()
        ),
        ["cy"]
    );
    assert!(
        tx.remove_group_member(&p.id, "admins", &c.sub)
            .await
            .unwrap()
    );
    assert!(
        !tx.remove_group_member(&p.id, "admins", &c.sub)
            .await
            .unwrap()
    );
    // Memberships go with their user and with their group.
    tx.delete_user(&p.id, &b.sub).await.unwrap();
    assert!(tx.delete_group(&p.id, "readers").await.unwrap());
    assert!(!tx.delete_group(&p.id, "readers").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        members(tx.group_members(&p.id, "admins", None, 10).await.unwrap()),
        ["ann"]
    );
    assert_eq!(
        names(tx.groups_of_user(&p.id, &a.sub, None, 10).await.unwrap()),
        ["admins"]
    );
    // A group re-created under a deleted name starts empty.
    tx.insert_group(&readers).await.unwrap();
    assert!(
        tx.group_members(&p.id, "readers", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // And everything goes with the pool.
    tx.delete_pool(&p.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(tx.list_groups(&p.id, None, 10).await.unwrap().is_empty());
    assert_eq!(
        names(tx.list_groups(&other.id, None, 10).await.unwrap()),
        ["admins"]
    );
}

pub async fn unknown_name_sends_round_trip(store: Arc<dyn Store>) {
    let p = pool("us-east-1_SENDS");
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.unknown_name_sends(&p.id, "ghost", "reset")
            .await
            .unwrap()
            .is_empty()
    );
    tx.put_unknown_name_sends(&p.id, "ghost", "reset", &[t(1)])
        .await
        .unwrap();
    tx.put_unknown_name_sends(&p.id, "ghost", "reset", &[t(1), t(2)])
        .await
        .unwrap();
    tx.put_unknown_name_sends(&p.id, "ghost", "confirm", &[t(3)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.unknown_name_sends(&p.id, "ghost", "reset")
            .await
            .unwrap(),
        vec![t(1), t(2)]
    );
    // Forgotten an hour after the last send.
    tx.sweep_expired(t(3 + 3_600_000)).await.unwrap();
    assert_eq!(
        tx.unknown_name_sends(&p.id, "ghost", "reset")
            .await
            .unwrap(),
        Vec::<Timestamp>::new()
    );
    assert!(
        tx.unknown_name_sends(&p.id, "ghost", "confirm")
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}

fn domain(pool: &UserPool, name: &str) -> UserPoolDomain {
    let custom = name.contains('.').then(|| CustomDomainConfig {
        certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".into(),
        security_policy: None,
    });
    UserPoolDomain::new(
        pool.id.clone(),
        NewDomain {
            name: name.into(),
            custom,
            ..Default::default()
        },
        t(1),
    )
    .unwrap()
}

fn domain_name(name: &str) -> DomainName {
    DomainName::lookup(name).unwrap()
}

pub async fn domains_round_trip(store: Arc<dyn Store>) {
    let (a, b) = (pool("us-east-1_DOMA"), pool("us-east-1_DOMB"));
    seed_pool(&*store, &a).await;
    seed_pool(&*store, &b).await;
    let (prefix, custom) = (domain(&a, "myapp"), domain(&a, "auth.example.com"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_domain(&custom).await.unwrap();
    tx.insert_domain(&prefix).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.domain_by_name(&domain_name("myapp")).await.unwrap(),
        Some(prefix.clone())
    );
    assert_eq!(
        tx.domain_by_name(&domain_name("auth.example.com"))
            .await
            .unwrap(),
        Some(custom.clone())
    );
    assert_eq!(
        tx.domain_by_name(&domain_name("other")).await.unwrap(),
        None
    );
    assert_eq!(
        tx.pool_domains(&a.id).await.unwrap(),
        vec![prefix.clone(), custom.clone()],
        "prefix first"
    );
    assert!(tx.pool_domains(&b.id).await.unwrap().is_empty());
    drop(tx);

    // One domain of each kind per pool; a name belongs to one pool.
    for (d, want) in [
        (domain(&a, "second"), Conflict::PoolDomainKind),
        (domain(&a, "login.example.com"), Conflict::PoolDomainKind),
        (domain(&b, "myapp"), Conflict::Domain),
        (domain(&b, "auth.example.com"), Conflict::Domain),
    ] {
        let mut tx = store.begin().await.unwrap();
        match tx.insert_domain(&d).await {
            Err(StoreError::Conflict(c)) => assert_eq!(c, want, "{}", d.name),
            other => panic!("{}: expected {want:?}, got {other:?}", d.name),
        }
    }
    // The other pool may still take free names of both kinds.
    let mut tx = store.begin().await.unwrap();
    tx.insert_domain(&domain(&b, "theirs")).await.unwrap();
    tx.insert_domain(&domain(&b, "login.example.com"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Updates keep the name and the owner.
    let mut changed = custom.clone();
    changed
        .apply(
            DomainUpdate {
                managed_login_version: Some(2),
                custom: Some(CustomDomainConfig {
                    certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/new".into(),
                    security_policy: Some(SecurityPolicy::TlsV1_2_2021),
                }),
                ..Default::default()
            },
            t(5),
        )
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.update_domain(&changed).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.domain_by_name(&changed.name).await.unwrap(),
        Some(changed.clone())
    );
    // Only the owning pool deletes a domain; then the name is free for anyone.
    assert!(!tx.delete_domain(&b.id, &prefix.name).await.unwrap());
    assert!(tx.delete_domain(&a.id, &prefix.name).await.unwrap());
    assert!(!tx.delete_domain(&a.id, &prefix.name).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.domain_by_name(&prefix.name).await.unwrap(), None);
    assert_eq!(tx.pool_domains(&a.id).await.unwrap(), vec![changed]);
    tx.insert_domain(&domain(&a, "myapp-two")).await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn domain_names_are_unique_under_concurrent_creates(store: Arc<dyn Store>) {
    let pools: Vec<UserPool> = (0..8)
        .map(|i| pool(&format!("us-east-1_RACED{i}")))
        .collect();
    for p in &pools {
        seed_pool(&*store, p).await;
    }
    let mut tasks = Vec::new();
    for p in pools.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let d = domain(&p, "contested");
            for _attempt in 0..50 {
                let Ok(mut tx) = store.begin().await else {
                    continue;
                };
                match tx.insert_domain(&d).await {
                    Ok(()) => match tx.commit().await {
                        Ok(()) => return Some(p.id),
                        Err(StoreError::Contended) => continue,
                        Err(e) => panic!("{e}"),
                    },
                    Err(StoreError::Conflict(Conflict::Domain)) => return None,
                    Err(StoreError::Contended) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
            panic!("no answer after 50 attempts");
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        winners.extend(task.await.unwrap());
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one pool gets the name: {winners:?}"
    );
    let mut tx = store.read().await.unwrap();
    let held = tx
        .domain_by_name(&domain_name("contested"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.pool_id, winners[0]);
    let mut holders = 0;
    for p in &pools {
        holders += tx.pool_domains(&p.id).await.unwrap().len();
    }
    assert_eq!(holders, 1);
}

fn client_secret(byte: u8, at: i64) -> ClientSecret {
    ClientSecret {
        sealed: SealedSecret(vec![byte; 4]),
        created_at: t(at),
    }
}

pub async fn client_secrets_rotate(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ROT");
    let other = pool("us-east-1_ROTOTHER");
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let c = client(&p, "rot1");
    let mut public = client(&p, "rot2");
    public.secrets.clear();
    let mut tx = store.begin().await.unwrap();
    tx.insert_client(&c).await.unwrap();
    tx.insert_client(&public).await.unwrap();
    // A public client can't be given a secret; nor through another pool.
    assert!(
        !tx.add_client_secret(&p.id, &public.client_id, &client_secret(9, 5))
            .await
            .unwrap()
    );
    assert!(
        !tx.add_client_secret(&other.id, &c.client_id, &client_secret(9, 5))
            .await
            .unwrap()
    );
    assert!(
        tx.add_client_secret(&p.id, &c.client_id, &client_secret(7, 5))
            .await
            .unwrap()
    );
    // A third is refused.
    assert!(
        !tx.add_client_secret(&p.id, &c.client_id, &client_secret(8, 6))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let both = tx.get_client(&c.client_id).await.unwrap().unwrap();
    assert_eq!(
        both.secrets,
        vec![c.secrets[0].clone(), client_secret(7, 5)]
    );
    // Updating the client's settings keeps its secrets.
    let mut renamed = c.clone();
    renamed.name = "renamed".into();
    tx.update_client(&renamed).await.unwrap();
    // Unknown creation time, or wrong pool: nothing.
    assert!(
        !tx.delete_client_secret(&p.id, &c.client_id, t(99))
            .await
            .unwrap()
    );
    assert!(
        !tx.delete_client_secret(&other.id, &c.client_id, t(5))
            .await
            .unwrap()
    );
    // Deleting the older secret leaves the newer.
    assert!(
        tx.delete_client_secret(&p.id, &c.client_id, t(0))
            .await
            .unwrap()
    );
    // The last secret stays.
    assert!(
        !tx.delete_client_secret(&p.id, &c.client_id, t(5))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let after = tx.get_client(&c.client_id).await.unwrap().unwrap();
    assert_eq!(after.name, "renamed");
    assert_eq!(after.secrets, vec![client_secret(7, 5)]);
    // Rotate again, then delete the newer one.
    assert!(
        tx.add_client_secret(&p.id, &c.client_id, &client_secret(6, 8))
            .await
            .unwrap()
    );
    assert!(
        tx.delete_client_secret(&p.id, &c.client_id, t(8))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let after = tx.get_client(&c.client_id).await.unwrap().unwrap();
    assert_eq!(after.secrets, vec![client_secret(7, 5)]);
}

pub async fn concurrent_secret_adds_leave_two(store: Arc<dyn Store>) {
    let p = pool("us-east-1_ROTRACE");
    seed_pool(&*store, &p).await;
    let c = client(&p, "rotrace");
    let mut tx = store.begin().await.unwrap();
    tx.insert_client(&c).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let store = store.clone();
        let id = c.client_id.clone();
        let pool_id = p.id.clone();
        tasks.push(tokio::spawn(async move {
            for _attempt in 0..50 {
                let Ok(mut tx) = store.begin().await else {
                    continue;
                };
                match tx
                    .add_client_secret(&pool_id, &id, &client_secret(i, 10 + i64::from(i)))
                    .await
                {
                    Ok(added) => match tx.commit().await {
                        Ok(()) => return added,
                        Err(StoreError::Contended) => continue,
                        Err(e) => panic!("{e}"),
                    },
                    Err(StoreError::Contended) => continue,
                    Err(e) => panic!("{e}"),
                }
            }
            panic!("no answer after 50 attempts");
        }));
    }
    let mut added = 0;
    for task in tasks {
        added += usize::from(task.await.unwrap());
    }
    assert_eq!(added, 1, "exactly one add wins the second slot");
    let mut tx = store.read().await.unwrap();
    let held = tx.get_client(&c.client_id).await.unwrap().unwrap();
    assert_eq!(held.secrets.len(), 2);
    assert_eq!(held.secrets[0], c.secrets[0]);
}

fn resource_server(pool: &UserPool, identifier: &str, scopes: &[&str]) -> ResourceServer {
    let scopes: Vec<(String, String)> = scopes
        .iter()
        .map(|s| (s.to_string(), format!("{s} things")))
        .collect();
    ResourceServer::new(pool.id.clone(), identifier, "An API", &scopes, t(1)).unwrap()
}

fn rs_id(s: &str) -> ResourceServerIdentifier {
    ResourceServerIdentifier::parse(s).unwrap()
}

pub async fn resource_servers_round_trip_and_page(store: Arc<dyn Store>) {
    let (a, b) = (pool("us-east-1_RSA"), pool("us-east-1_RSB"));
    seed_pool(&*store, &a).await;
    seed_pool(&*store, &b).await;
    // Byte order: upper case before lower case, `:` after digits.
    let ids = ["https://api.example.com", "Zeta", "alpha", "beta", "gamma"];
    let mut tx = store.begin().await.unwrap();
    for id in ids {
        tx.insert_resource_server(&resource_server(&a, id, &["read", "write"]))
            .await
            .unwrap();
    }
    tx.insert_resource_server(&resource_server(&b, "alpha", &[]))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_resource_server(&resource_server(&a, "alpha", &["x"]))
            .await,
        Err(StoreError::Conflict(Conflict::ResourceServer))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let got = tx
        .get_resource_server(&a.id, &rs_id("alpha"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, resource_server(&a, "alpha", &["read", "write"]));
    assert!(
        tx.get_resource_server(&a.id, &rs_id("nope"))
            .await
            .unwrap()
            .is_none()
    );
    let idents = |v: Vec<ResourceServer>| {
        v.into_iter()
            .map(|r| r.identifier.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        idents(tx.list_resource_servers(&a.id, None, 10).await.unwrap()),
        ["Zeta", "alpha", "beta", "gamma", "https://api.example.com"]
    );
    assert_eq!(
        idents(
            tx.list_resource_servers(&a.id, Some(&rs_id("alpha")), 2)
                .await
                .unwrap()
        ),
        ["beta", "gamma"]
    );
    assert_eq!(
        idents(tx.list_resource_servers(&b.id, None, 10).await.unwrap()),
        ["alpha"]
    );

    let mut changed = got.clone();
    changed
        .replace("Renamed", &[("admin".into(), "everything".into())], t(7))
        .unwrap();
    tx.update_resource_server(&changed).await.unwrap();
    assert_eq!(
        tx.get_resource_server(&a.id, &rs_id("alpha"))
            .await
            .unwrap(),
        Some(changed)
    );
    assert_eq!(
        tx.get_resource_server(&b.id, &rs_id("alpha"))
            .await
            .unwrap(),
        Some(resource_server(&b, "alpha", &[])),
        "another pool's server of the same identifier is untouched"
    );
    assert!(
        tx.delete_resource_server(&a.id, &rs_id("beta"))
            .await
            .unwrap()
    );
    assert!(
        !tx.delete_resource_server(&a.id, &rs_id("beta"))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        idents(tx.list_resource_servers(&a.id, None, 10).await.unwrap()),
        ["Zeta", "alpha", "gamma", "https://api.example.com"]
    );
}

pub async fn deleting_a_pool_removes_its_domains_and_resource_servers(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_CASC"), pool("us-east-1_KEEP"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_domain(&domain(&p, "cascade")).await.unwrap();
    tx.insert_domain(&domain(&p, "auth.cascade.example"))
        .await
        .unwrap();
    tx.insert_domain(&domain(&other, "kept")).await.unwrap();
    tx.insert_resource_server(&resource_server(&p, "api", &["read"]))
        .await
        .unwrap();
    tx.insert_resource_server(&resource_server(&other, "api", &["read"]))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.domain_by_name(&domain_name("cascade")).await.unwrap(),
        None
    );
    assert!(tx.pool_domains(&p.id).await.unwrap().is_empty());
    assert!(
        tx.get_resource_server(&p.id, &rs_id("api"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(tx.pool_domains(&other.id).await.unwrap().len(), 1);
    assert!(
        tx.get_resource_server(&other.id, &rs_id("api"))
            .await
            .unwrap()
            .is_some()
    );
    // The names are free again, for any pool.
    tx.insert_domain(&domain(&other, "auth.cascade.example"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub async fn a_migrated_store_is_ready(store: Arc<dyn Store>) {
    store.ready().await.unwrap();
}

fn branding_style(p: &UserPool, c: &AppClient, n: u8) -> ManagedLoginBranding {
    ManagedLoginBranding::new(
        Uuid::from_bytes([n; 16]),
        p.id.clone(),
        c.client_id.clone(),
        BrandingChange {
            settings: Some(serde_json::json!({"components": {"form": {"n": n}}})),
            assets: Some(vec![BrandingAsset {
                category: "FORM_LOGO".into(),
                color_mode: "LIGHT".into(),
                extension: "PNG".into(),
                bytes: Some("iVBORw0KGgo=".into()),
                resource_id: Some("logo".into()),
            }]),
            ..Default::default()
        },
        t(n.into()),
    )
    .unwrap()
}

pub async fn managed_login_branding_one_per_client(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_MLBA"), pool("us-east-1_MLBB"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let (c1, c2, c3) = (
        client(&p, "brand1"),
        client(&p, "brand2"),
        client(&other, "brand3"),
    );
    let mut tx = store.begin().await.unwrap();
    for c in [&c1, &c2, &c3] {
        tx.insert_client(c).await.unwrap();
    }
    let s1 = branding_style(&p, &c1, 1);
    tx.insert_managed_login_branding(&s1).await.unwrap();
    tx.insert_managed_login_branding(&branding_style(&other, &c3, 3))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A second style for the same client is refused, whatever its id.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_managed_login_branding(&branding_style(&p, &c1, 9))
            .await,
        Err(StoreError::Conflict(Conflict::ManagedLoginBranding))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_managed_login_branding(&p.id, &s1.id).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        tx.managed_login_branding_of_client(&p.id, &c1.client_id)
            .await
            .unwrap(),
        Some(s1.clone())
    );
    // Scoped by pool: another pool's id or client finds nothing.
    assert_eq!(
        tx.get_managed_login_branding(&other.id, &s1.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tx.managed_login_branding_of_client(&other.id, &c1.client_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tx.managed_login_branding_of_client(&p.id, &c2.client_id)
            .await
            .unwrap(),
        None
    );

    let mut changed = s1.clone();
    changed
        .update(
            BrandingChange {
                settings: Some(serde_json::json!({"components": {"form": {"m": 2}}})),
                ..Default::default()
            },
            t(50),
        )
        .unwrap();
    tx.update_managed_login_branding(&changed).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let got = tx
        .get_managed_login_branding(&p.id, &s1.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, changed);
    assert_eq!(
        got.settings,
        Some(serde_json::json!({"components": {"form": {"n": 1, "m": 2}}}))
    );
    assert!(
        !tx.delete_managed_login_branding(&other.id, &s1.id)
            .await
            .unwrap()
    );
    assert!(
        tx.delete_managed_login_branding(&p.id, &s1.id)
            .await
            .unwrap()
    );
    assert!(
        !tx.delete_managed_login_branding(&p.id, &s1.id)
            .await
            .unwrap()
    );
    // The client may have a style again.
    tx.insert_managed_login_branding(&branding_style(&p, &c1, 4))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Deleting the client, or the pool, deletes its style.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_client(&p.id, &c1.client_id).await.unwrap());
    assert!(tx.delete_pool(&other.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_managed_login_branding(&p.id, &Uuid::from_bytes([4; 16]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tx.get_managed_login_branding(&other.id, &Uuid::from_bytes([3; 16]))
            .await
            .unwrap(),
        None
    );
}

// Identity pools.

fn identity_pool(n: u8) -> tessera_domain::identity::IdentityPool {
    use tessera_domain::identity::{IdentityPool, IdentityPoolConfig, IdentityPoolId};
    IdentityPool {
        id: IdentityPoolId::parse(&format!("us-east-1:0000000{n}-0000-4000-8000-000000000000"))
            .unwrap(),
        name: format!("ip{n}"),
        created_at: t(0),
        modified_at: t(0),
        config: IdentityPoolConfig {
            allow_unauthenticated_identities: true,
            ..Default::default()
        },
    }
}

fn identity(
    pool: &tessera_domain::identity::IdentityPool,
    n: u8,
    logins: &[(&str, &str)],
) -> tessera_domain::identity::Identity {
    tessera_domain::identity::Identity {
        id: tessera_domain::identity::IdentityId::parse(&format!(
            "us-east-1:1{n:07}-0000-4000-8000-00000000000{}",
            &pool.id.as_str()[17..18]
        ))
        .unwrap(),
        pool_id: pool.id.clone(),
        created_at: t(n.into()),
        modified_at: t(n.into()),
        logins: logins
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect(),
        disabled: false,
    }
}

pub async fn identity_pools_round_trip_and_page(store: Arc<dyn Store>) {
    let (a, mut b, c) = (identity_pool(1), identity_pool(2), identity_pool(3));
    let mut tx = store.begin().await.unwrap();
    for p in [&c, &a, &b] {
        tx.insert_identity_pool(p).await.unwrap();
    }
    tx.commit().await.unwrap();
    // A refused write poisons a PostgreSQL transaction: try it in one of its own.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_identity_pool(&a).await,
        Err(StoreError::Conflict(Conflict::IdentityPool))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_identity_pool(&a.id).await.unwrap(), Some(a.clone()));
    b.name = "renamed".into();
    b.modified_at = t(5);
    b.config.roles.insert(
        "authenticated".into(),
        "arn:aws:iam::000000000000:role/Auth".into(),
    );
    b.config
        .identity_pool_tags
        .insert("team".into(), "blue".into());
    tx.update_identity_pool(&b).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_identity_pool(&b.id).await.unwrap(), Some(b.clone()));
    let first = tx.list_identity_pools(None, 2).await.unwrap();
    assert_eq!(first, vec![a.clone(), b.clone()]);
    let rest = tx.list_identity_pools(Some(&b.id), 2).await.unwrap();
    assert_eq!(rest, vec![c.clone()]);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_identity_pool(&a.id).await.unwrap());
    assert!(!tx.delete_identity_pool(&a.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_identity_pool(&a.id).await.unwrap(), None);
}

pub async fn identities_link_logins_uniquely(store: Arc<dyn Store>) {
    let (p, other) = (identity_pool(1), identity_pool(2));
    let mut tx = store.begin().await.unwrap();
    tx.insert_identity_pool(&p).await.unwrap();
    tx.insert_identity_pool(&other).await.unwrap();
    let guest = identity(&p, 1, &[]);
    let alice = identity(&p, 2, &[("idp/pool", "alice-sub")]);
    tx.insert_identity(&guest).await.unwrap();
    tx.insert_identity(&alice).await.unwrap();
    // The same login in another pool is another identity.
    let elsewhere = identity(&other, 2, &[("idp/pool", "alice-sub")]);
    tx.insert_identity(&elsewhere).await.unwrap();
    tx.commit().await.unwrap();

    // The same login can't be linked twice in one pool; the failed write leaves nothing.
    let mut tx = store.begin().await.unwrap();
    let twin = identity(&p, 3, &[("idp/pool", "alice-sub")]);
    assert!(matches!(
        tx.insert_identity(&twin).await,
        Err(StoreError::Conflict(Conflict::Login))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_identity(&twin.id).await.unwrap(), None);
    assert_eq!(
        tx.identity_by_login(&p.id, "idp/pool", "alice-sub")
            .await
            .unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        tx.identity_by_login(&other.id, "idp/pool", "alice-sub")
            .await
            .unwrap(),
        Some(elsewhere.clone())
    );
    assert_eq!(
        tx.identity_by_login(&p.id, "idp/pool", "bob-sub")
            .await
            .unwrap(),
        None
    );
    // The guest signs in: it keeps its id and is found by its new login.
    let mut upgraded = guest.clone();
    upgraded
        .logins
        .insert("idp/pool".into(), "carol-sub".into());
    upgraded.modified_at = t(9);
    tx.update_identity(&upgraded).await.unwrap();
    let mut stealing = alice.clone();
    stealing.logins.insert("dev:x".into(), "1".into());
    stealing
        .logins
        .insert("idp/pool".into(), "carol-sub".into());
    assert!(matches!(
        tx.update_identity(&stealing).await,
        Err(StoreError::Conflict(Conflict::Login))
    ));
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.identity_by_login(&p.id, "idp/pool", "carol-sub")
            .await
            .unwrap(),
        Some(upgraded.clone())
    );
    // Unlinking frees the login.
    let mut unlinked = upgraded.clone();
    unlinked.logins.clear();
    tx.update_identity(&unlinked).await.unwrap();
    assert_eq!(
        tx.identity_by_login(&p.id, "idp/pool", "carol-sub")
            .await
            .unwrap(),
        None
    );
    let listed = tx.list_identities(&p.id, None, 10).await.unwrap();
    assert_eq!(listed, vec![unlinked.clone(), alice.clone()]);
    let page = tx
        .list_identities(&p.id, Some(&unlinked.id), 10)
        .await
        .unwrap();
    assert_eq!(page, vec![alice.clone()]);
    assert!(tx.delete_identity(&alice.id).await.unwrap());
    assert!(!tx.delete_identity(&alice.id).await.unwrap());
    assert_eq!(
        tx.identity_by_login(&p.id, "idp/pool", "alice-sub")
            .await
            .unwrap(),
        None
    );
    // Deleting the pool takes its identities, not the other pool's.
    assert!(tx.delete_identity_pool(&p.id).await.unwrap());
    assert_eq!(tx.get_identity(&unlinked.id).await.unwrap(), None);
    assert_eq!(
        tx.get_identity(&elsewhere.id).await.unwrap(),
        Some(elsewhere.clone())
    );
    tx.commit().await.unwrap();
}

pub async fn sts_sessions_round_trip_and_are_revoked_with_their_identity(store: Arc<dyn Store>) {
    use tessera_domain::identity::{SessionGrant, StsSession};
    let (p, other) = (identity_pool(1), identity_pool(2));
    let (one, two, three) = (
        identity(&p, 1, &[]),
        identity(&p, 2, &[]),
        identity(&other, 3, &[]),
    );
    let session = |key: &str, who: &tessera_domain::identity::Identity| StsSession {
        access_key_id: key.to_string(),
        sealed_secret: vec![1, 2, 3],
        token_hash: vec![9; 32],
        identity_id: who.id.clone(),
        pool_id: who.pool_id.clone(),
        issued_at: t(0),
        expires_at: t(3_600_000),
        grant: SessionGrant {
            role_arn: "arn:aws:iam::000000000000:role/R".into(),
            principal_arn: "arn:aws:sts::000000000000:assumed-role/R/CognitoIdentityCredentials"
                .into(),
            user_id: "AROAEXAMPLE:CognitoIdentityCredentials".into(),
            amr: vec!["unauthenticated".into()],
            session_policy: Some("{}".into()),
            principal_tags: [("client".to_string(), "abc".to_string())].into(),
        },
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_identity_pool(&p).await.unwrap();
    tx.insert_identity_pool(&other).await.unwrap();
    for i in [&one, &two, &three] {
        tx.insert_identity(i).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let s1 = session("ASIAAAAAAAAAAAAAAAA1", &one);
    tx.insert_sts_session(&s1).await.unwrap();
    tx.insert_sts_session(&session("ASIAAAAAAAAAAAAAAAA2", &two))
        .await
        .unwrap();
    tx.insert_sts_session(&session("ASIAAAAAAAAAAAAAAAA3", &three))
        .await
        .unwrap();
    assert!(matches!(
        tx.insert_sts_session(&session("ASIAAAAAAAAAAAAAAAA1", &two))
            .await,
        Err(StoreError::Conflict(Conflict::AccessKey))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    tx.insert_sts_session(&s1).await.unwrap();
    tx.insert_sts_session(&session("ASIAAAAAAAAAAAAAAAA2", &two))
        .await
        .unwrap();
    tx.insert_sts_session(&session("ASIAAAAAAAAAAAAAAAA3", &three))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA1").await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(tx.get_sts_session("ASIANOPE").await.unwrap(), None);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_identity(&one.id).await.unwrap());
    assert_eq!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA1").await.unwrap(),
        None
    );
    assert!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA2")
            .await
            .unwrap()
            .is_some()
    );
    assert!(tx.delete_identity_pool(&p.id).await.unwrap());
    assert_eq!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA2").await.unwrap(),
        None
    );
    assert!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA3")
            .await
            .unwrap()
            .is_some()
    );
    // Expired sessions are swept; live ones stay.
    let mut expired = session("ASIAAAAAAAAAAAAAAAA4", &three);
    expired.expires_at = t(10);
    tx.insert_sts_session(&expired).await.unwrap();
    assert!(tx.sweep_expired(t(10)).await.unwrap() >= 1);
    assert_eq!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA4").await.unwrap(),
        None
    );
    assert!(
        tx.get_sts_session("ASIAAAAAAAAAAAAAAAA3")
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();
}

pub async fn identity_signing_keys_round_trip(store: Arc<dyn Store>) {
    use crate::IdentitySigningKey;
    let key = |kid: &str, at: i64| IdentitySigningKey {
        kid: kid.to_string(),
        sealed_private: vec![1, 2, 3],
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        created_at: t(at),
    };
    let mut tx = store.begin().await.unwrap();
    assert!(tx.identity_signing_keys().await.unwrap().is_empty());
    tx.insert_identity_signing_key(&key("b", 5)).await.unwrap();
    tx.insert_identity_signing_key(&key("a", 9)).await.unwrap();
    tx.insert_identity_signing_key(&key("c", 5)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_identity_signing_key(&key("a", 1)).await,
        Err(StoreError::Conflict(Conflict::SigningKey))
    ));
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.identity_signing_keys().await.unwrap(),
        vec![key("b", 5), key("c", 5), key("a", 9)]
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_identity_signing_key("c").await.unwrap());
    assert!(!tx.delete_identity_signing_key("c").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.identity_signing_keys().await.unwrap(),
        vec![key("b", 5), key("a", 9)]
    );
}
