//! Conformance checks for [`crate::SyncTx`].

use super::{identity, identity_pool, t};
use crate::{Conflict, Store, StoreError};
use std::sync::Arc;
use tessera_domain::identity::Identity;
use tessera_domain::sync::{
    Dataset, PushSync, SYNC_TRIGGER, SyncDevice, SyncPoolConfig, SyncRecord,
};

fn dataset(who: &Identity, name: &str, count: i64) -> Dataset {
    Dataset {
        pool_id: who.pool_id.clone(),
        identity_id: who.id.clone(),
        name: name.into(),
        created_at: t(1),
        modified_at: t(count),
        last_modified_by: who.id.to_string(),
        sync_count: count,
        deleted_at_count: 0,
        live: true,
        data_storage: 3,
        num_records: 1,
    }
}

fn record(key: &str, value: Option<&str>, count: i64) -> SyncRecord {
    SyncRecord {
        key: key.into(),
        value: value.map(Into::into),
        sync_count: count,
        modified_at: t(count),
        last_modified_by: "me".into(),
        device_modified_at: value.map(|_| t(count - 1)),
    }
}

async fn seed(store: &dyn Store, people: &[&Identity]) {
    let mut tx = store.begin().await.unwrap();
    for who in people {
        if tx.get_identity_pool(&who.pool_id).await.unwrap().is_none() {
            let n = who.pool_id.as_str()[17..18].parse::<u8>().unwrap();
            tx.insert_identity_pool(&identity_pool(n)).await.unwrap();
        }
        tx.insert_identity(who).await.unwrap();
    }
    tx.commit().await.unwrap();
}

pub async fn sync_datasets_are_compare_and_swap(store: Arc<dyn Store>) {
    let p = identity_pool(1);
    let (ann, bob) = (identity(&p, 1, &[]), identity(&p, 2, &[]));
    seed(&*store, &[&ann, &bob]).await;
    let mut tx = store.begin().await.unwrap();
    for name in ["b", "a", "c"] {
        assert!(tx.put_dataset(&dataset(&ann, name, 1), None).await.unwrap());
    }
    tx.put_dataset(&dataset(&bob, "a", 1), None).await.unwrap();
    tx.commit().await.unwrap();
    // A refused write poisons a PostgreSQL transaction: try it in one of its own.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.put_dataset(&dataset(&ann, "a", 1), None).await,
        Err(StoreError::Conflict(Conflict::Dataset))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let next = dataset(&ann, "a", 2);
    assert!(
        !tx.put_dataset(&next, Some(0)).await.unwrap(),
        "stale count"
    );
    assert!(tx.put_dataset(&next, Some(1)).await.unwrap());
    assert!(
        !tx.put_dataset(&next, Some(1)).await.unwrap(),
        "count moved on"
    );
    let mut gone = dataset(&ann, "c", 2);
    gone.live = false;
    gone.deleted_at_count = 2;
    assert!(tx.put_dataset(&gone, Some(1)).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_dataset(&ann.id, "a").await.unwrap(),
        Some(next.clone())
    );
    assert_eq!(tx.get_dataset(&ann.id, "c").await.unwrap(), Some(gone));
    assert_eq!(tx.get_dataset(&ann.id, "zzz").await.unwrap(), None);
    assert_eq!(
        tx.count_datasets(&ann.id).await.unwrap(),
        2,
        "tombstones don't count"
    );
    let first = tx.list_datasets(&ann.id, None, 1).await.unwrap();
    assert_eq!(first, vec![next]);
    let rest = tx.list_datasets(&ann.id, Some("a"), 10).await.unwrap();
    assert_eq!(rest, vec![dataset(&ann, "b", 1)]);
    assert_eq!(tx.list_datasets(&bob.id, None, 10).await.unwrap().len(), 1);
}

pub async fn sync_records_round_trip_by_count(store: Arc<dyn Store>) {
    let p = identity_pool(1);
    let ann = identity(&p, 1, &[]);
    seed(&*store, &[&ann]).await;
    let mut tx = store.begin().await.unwrap();
    tx.put_records(
        &ann.id,
        "prefs",
        &[record("b", Some("1"), 1), record("a", Some("2"), 1)],
    )
    .await
    .unwrap();
    tx.put_records(&ann.id, "other", &[record("a", Some("x"), 1)])
        .await
        .unwrap();
    tx.put_records(
        &ann.id,
        "prefs",
        &[record("b", None, 2), record("c", Some("ünï"), 2)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let all = tx.dataset_records(&ann.id, "prefs", 0).await.unwrap();
    assert_eq!(
        all,
        vec![
            record("a", Some("2"), 1),
            record("b", None, 2),
            record("c", Some("ünï"), 2)
        ]
    );
    let since = tx.dataset_records(&ann.id, "prefs", 1).await.unwrap();
    assert_eq!(
        since,
        vec![record("b", None, 2), record("c", Some("ünï"), 2)]
    );
    assert!(
        tx.dataset_records(&ann.id, "prefs", 2)
            .await
            .unwrap()
            .is_empty()
    );
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.clear_records(&ann.id, "prefs").await.unwrap(), 3);
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.dataset_records(&ann.id, "prefs", 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.dataset_records(&ann.id, "other", 0).await.unwrap().len(),
        1
    );
}

/// Many writers read the same count and race to write the next: each count is won once, and
/// the dataset ends at the number of commits.
pub async fn concurrent_sync_writers_never_both_win(store: Arc<dyn Store>) {
    let p = identity_pool(1);
    let ann = identity(&p, 1, &[]);
    seed(&*store, &[&ann]).await;
    let mut tx = store.begin().await.unwrap();
    tx.put_dataset(&dataset(&ann, "race", 1), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, ann) = (store.clone(), ann.clone());
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..5 {
                let Ok(mut tx) = store.begin().await else {
                    continue;
                };
                let Ok(Some(cur)) = tx.get_dataset(&ann.id, "race").await else {
                    continue;
                };
                let next = dataset(&ann, "race", cur.sync_count + 1);
                if !matches!(tx.put_dataset(&next, Some(cur.sync_count)).await, Ok(true)) {
                    continue;
                }
                let written = record(&format!("k{i}"), Some("v"), next.sync_count);
                if tx.put_records(&ann.id, "race", &[written]).await.is_err() {
                    continue;
                }
                if tx.commit().await.is_ok() {
                    won.push(next.sync_count);
                }
            }
            won
        }));
    }
    let mut counts = Vec::new();
    for task in tasks {
        counts.extend(task.await.unwrap());
    }
    counts.sort_unstable();
    let unique: std::collections::BTreeSet<i64> = counts.iter().copied().collect();
    assert_eq!(
        unique.len(),
        counts.len(),
        "a count was won twice: {counts:?}"
    );
    let mut tx = store.read().await.unwrap();
    let got = tx.get_dataset(&ann.id, "race").await.unwrap().unwrap();
    assert_eq!(got.sync_count, 1 + counts.len() as i64);
}

pub async fn sync_usage_settings_and_sessions(store: Arc<dyn Store>) {
    let (p, q) = (identity_pool(1), identity_pool(2));
    let (ann, bob, cat) = (
        identity(&p, 1, &[]),
        identity(&p, 2, &[]),
        identity(&q, 3, &[]),
    );
    seed(&*store, &[&ann, &bob, &cat]).await;
    let mut tx = store.begin().await.unwrap();
    tx.put_dataset(&dataset(&ann, "a", 4), None).await.unwrap();
    tx.put_dataset(&dataset(&ann, "b", 7), None).await.unwrap();
    tx.put_dataset(&dataset(&bob, "a", 2), None).await.unwrap();
    let mut gone = dataset(&bob, "c", 9);
    gone.live = false;
    tx.put_dataset(&gone, None).await.unwrap();
    tx.put_dataset(&dataset(&cat, "a", 1), None).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mine = tx.identity_usage(&ann.id).await.unwrap();
    assert_eq!((mine.dataset_count, mine.data_storage), (2, 6));
    assert_eq!(mine.last_modified, Some(t(7)));
    let pool = tx.pool_usage(&p.id).await.unwrap();
    assert_eq!((pool.dataset_count, pool.data_storage), (3, 9));
    assert_eq!(pool.last_modified, Some(t(7)));
    assert_eq!(tx.get_sync_config(&p.id).await.unwrap(), None);
    tx.count_sync_session(&p.id).await.unwrap();
    tx.count_sync_session(&p.id).await.unwrap();
    let mut config = SyncPoolConfig::default();
    config.events.insert(
        SYNC_TRIGGER.into(),
        "arn:aws:lambda:us-east-1:1:function:f".into(),
    );
    config.push_sync = Some(PushSync {
        application_arns: vec!["arn:aws:sns:us-east-1:1:app/GCM/a".into()],
        role_arn: Some("arn:aws:iam::1:role/r".into()),
    });
    tx.put_sync_config(&p.id, &config).await.unwrap();
    tx.count_sync_session(&p.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_sync_config(&p.id).await.unwrap(), Some((config, 3)));
    assert_eq!(tx.get_sync_config(&q.id).await.unwrap(), None);
}

pub async fn sync_devices_and_subscriptions(store: Arc<dyn Store>) {
    let p = identity_pool(1);
    let (ann, bob) = (identity(&p, 1, &[]), identity(&p, 2, &[]));
    seed(&*store, &[&ann, &bob]).await;
    let device = |who: &Identity, id: &str, token: &str| SyncDevice {
        pool_id: who.pool_id.clone(),
        identity_id: who.id.clone(),
        device_id: id.into(),
        platform: "GCM".into(),
        token: token.into(),
        created_at: t(1),
    };
    let (d1, d2, d3) = (
        device(&ann, "d1", "tok1"),
        device(&ann, "d2", "tok2"),
        device(&bob, "d3", "tok1"),
    );
    let mut tx = store.begin().await.unwrap();
    for d in [&d2, &d1, &d3] {
        tx.insert_sync_device(d).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_sync_device(&d1).await,
        Err(StoreError::Conflict(Conflict::SyncDevice))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_sync_device("d1").await.unwrap(), Some(d1.clone()));
    assert_eq!(
        tx.find_sync_device(&bob.id, "GCM", "tok1").await.unwrap(),
        Some(d3.clone())
    );
    assert_eq!(
        tx.find_sync_device(&bob.id, "APNS", "tok1").await.unwrap(),
        None
    );
    assert!(tx.subscribe_device(&ann.id, "prefs", "d2").await.unwrap());
    assert!(tx.subscribe_device(&ann.id, "prefs", "d1").await.unwrap());
    assert!(!tx.subscribe_device(&ann.id, "prefs", "d1").await.unwrap());
    assert!(tx.subscribe_device(&ann.id, "other", "d1").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.dataset_subscribers(&ann.id, "prefs").await.unwrap(),
        vec![d1.clone(), d2.clone()]
    );
    assert!(tx.unsubscribe_device(&ann.id, "prefs", "d1").await.unwrap());
    assert!(!tx.unsubscribe_device(&ann.id, "prefs", "d1").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.dataset_subscribers(&ann.id, "prefs").await.unwrap(),
        vec![d2]
    );
}

pub async fn sync_data_merges_and_goes_with_its_identity(store: Arc<dyn Store>) {
    let (p, q) = (identity_pool(1), identity_pool(2));
    let (ann, bob, cat) = (
        identity(&p, 1, &[]),
        identity(&p, 2, &[]),
        identity(&q, 3, &[]),
    );
    seed(&*store, &[&ann, &bob, &cat]).await;
    let mut tx = store.begin().await.unwrap();
    tx.put_dataset(&dataset(&ann, "prefs", 3), None)
        .await
        .unwrap();
    tx.put_records(&ann.id, "prefs", &[record("k", Some("v"), 3)])
        .await
        .unwrap();
    let mut gone = dataset(&ann, "old", 5);
    gone.live = false;
    tx.put_dataset(&gone, None).await.unwrap();
    tx.put_dataset(&dataset(&bob, "prefs", 1), None)
        .await
        .unwrap();
    tx.put_dataset(&dataset(&cat, "prefs", 1), None)
        .await
        .unwrap();
    tx.put_records(&cat.id, "prefs", &[record("k", Some("v"), 1)])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Ann merges into Bob: her live dataset lives on as `prefs.{ann}`, records and count kept.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.merge_datasets(&ann.id, &bob.id).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let merged = format!("prefs.{}", ann.id);
    let mut tx = store.read().await.unwrap();
    let got = tx.get_dataset(&bob.id, &merged).await.unwrap().unwrap();
    assert_eq!(
        (got.sync_count, got.identity_id.clone()),
        (3, bob.id.clone())
    );
    assert_eq!(
        tx.dataset_records(&bob.id, &merged, 0).await.unwrap(),
        vec![record("k", Some("v"), 3)]
    );
    assert_eq!(tx.get_dataset(&ann.id, "prefs").await.unwrap(), None);
    assert_eq!(tx.get_dataset(&ann.id, "old").await.unwrap(), None);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_identity(&bob.id).await.unwrap());
    assert!(tx.delete_identity_pool(&q.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.count_datasets(&bob.id).await.unwrap(), 0);
    assert!(
        tx.dataset_records(&bob.id, &merged, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.get_dataset(&cat.id, "prefs").await.unwrap(), None);
    assert!(
        tx.dataset_records(&cat.id, "prefs", 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tx.pool_usage(&q.id).await.unwrap().dataset_count, 0);
}

pub async fn sync_deliveries_are_claimed_once_and_changes_feed_in_order(store: Arc<dyn Store>) {
    use tessera_domain::sync::{DeliveryKind, SyncChange, SyncDelivery, SyncDeliveryOutcome};
    let p = identity_pool(1);
    let ann = identity(&p, 1, &[]);
    seed(&*store, &[&ann]).await;
    let delivery = |id: &str, kind, at| SyncDelivery {
        id: id.into(),
        kind,
        pool_id: p.id.clone(),
        payload: format!("{{\"n\":\"{id}\"}}"),
        created_at: t(at),
    };
    let (a, b, c) = (
        delivery("a", DeliveryKind::Stream, 1),
        delivery("b", DeliveryKind::Push, 2),
        delivery("c", DeliveryKind::Stream, 50),
    );
    let mut tx = store.begin().await.unwrap();
    for d in [&c, &b, &a] {
        tx.enqueue_sync_delivery(d).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let claimed = tx.claim_sync_deliveries(t(10), t(1_000), 10).await.unwrap();
    assert_eq!(
        claimed,
        vec![(a.clone(), 1), (b.clone(), 1)],
        "due ones, oldest first"
    );
    assert!(
        tx.claim_sync_deliveries(t(10), t(1_000), 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    tx.record_sync_delivery("a", &SyncDeliveryOutcome::Delivered)
        .await
        .unwrap();
    tx.record_sync_delivery(
        "b",
        &SyncDeliveryOutcome::Retry {
            at: t(20),
            error: "503".into(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.count_pending_sync_deliveries().await.unwrap(), 2);
    let again = tx.claim_sync_deliveries(t(60), t(2_000), 10).await.unwrap();
    assert_eq!(again, vec![(b, 2), (c, 1)]);
    tx.record_sync_delivery(
        "b",
        &SyncDeliveryOutcome::Failed {
            error: "gone".into(),
        },
    )
    .await
    .unwrap();
    tx.record_sync_delivery("c", &SyncDeliveryOutcome::Delivered)
        .await
        .unwrap();
    assert_eq!(tx.count_pending_sync_deliveries().await.unwrap(), 0);
    tx.commit().await.unwrap();

    let change = |id: &str, at, count| SyncChange {
        id: id.into(),
        identity_id: ann.id.clone(),
        dataset: "prefs".into(),
        sync_count: count,
        device_id: (count == 2).then(|| "dev".to_string()),
        created_at: t(at),
    };
    let (c1, c2, c3) = (change("x", 5, 1), change("a", 7, 2), change("b", 7, 3));
    let mut tx = store.begin().await.unwrap();
    for c in [&c3, &c1, &c2] {
        tx.insert_sync_change(c).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let all = tx.sync_changes_after(&ann.id, None, 10).await.unwrap();
    assert_eq!(all, vec![c1.clone(), c2.clone(), c3.clone()]);
    let rest = tx
        .sync_changes_after(&ann.id, Some((c2.created_at, "a")), 10)
        .await
        .unwrap();
    assert_eq!(rest, vec![c3.clone()]);
    drop(tx);
    // The sweep takes finished deliveries and old changes; pending ones stay.
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_sync_delivery(&delivery("d", DeliveryKind::Push, 0))
        .await
        .unwrap();
    assert_eq!(
        tx.sweep_sync(t(100), t(6)).await.unwrap(),
        4,
        "a, b, c and change x"
    );
    assert_eq!(tx.count_pending_sync_deliveries().await.unwrap(), 1);
    assert_eq!(
        tx.sync_changes_after(&ann.id, None, 10).await.unwrap(),
        vec![c2, c3]
    );
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.delete_identity(&ann.id).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.sync_changes_after(&ann.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
