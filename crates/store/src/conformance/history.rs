//! Conformance checks for [`crate::HistoryTx`]: the journal every user, group, membership and
//! passkey write appends to, the pause a recovery puts on those writes, and recoveries.

use super::passkeys::credential;
use super::{pool, seed_pool, seed_user, user};
use crate::{Conflict, Store, StoreError, Tx, UserLookup};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tessera_domain::groups::Group;
use tessera_domain::recovery::{
    HistoryEntity, PREVIEW_LIFETIME, PreviewCount, Recovery, RestoreStatus, membership_key,
};
use tessera_domain::user::User;
use tessera_domain::{Timestamp, UserPoolId};
use uuid::Uuid;

/// The wall clock, which stamps the journal.
fn now() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Timestamp::from_millis(i64::try_from(ms).unwrap())
}

/// A moment strictly between the writes before it and those after it.
async fn mark() -> Timestamp {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    at
}

fn group(p: &UserPoolId, name: &str, description: &str) -> Group {
    Group {
        pool_id: p.clone(),
        name: name.into(),
        description: Some(description.into()),
        role_arn: None,
        precedence: None,
        created_at: Timestamp::from_millis(1),
        modified_at: Timestamp::from_millis(1),
    }
}

fn recovery(p: &UserPoolId, n: u8, status: RestoreStatus, created_at: Timestamp) -> Recovery {
    Recovery {
        pool_id: p.clone(),
        restore_id: Uuid::from_bytes([n; 16]),
        status,
        restore_timestamp: created_at.minus(Duration::from_secs(3600)),
        trigger_timestamp: created_at,
        preview: Some(vec![PreviewCount {
            entity: "Users".into(),
            create: 1,
            update: u64::from(n),
            delete: 3,
        }]),
        created_at,
        modified_at: created_at,
    }
}

/// (entity, key, whether the entity existed before the first change after `since`).
async fn changed_since(
    tx: &mut dyn Tx,
    p: &UserPoolId,
    since: Timestamp,
) -> BTreeSet<(HistoryEntity, String, bool)> {
    tx.history_since(p, since)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.entity, e.key, e.before.is_some()))
        .collect()
}

pub async fn writes_journal_their_before_images(store: Arc<dyn Store>) {
    let p = pool("us-east-1_HISTORYA");
    seed_pool(&*store, &p).await;
    let (ann, bob) = (user(&p, 1, "ann"), user(&p, 2, "bob"));
    seed_user(&*store, &ann, &[]).await;
    seed_user(&*store, &bob, &[]).await;
    let team = group(&p.id, "team", "the team");
    let mut tx = store.begin().await.unwrap();
    tx.insert_group(&team).await.unwrap();
    tx.add_group_member(&p.id, "team", &ann.sub).await.unwrap();
    tx.add_group_member(&p.id, "team", &bob.sub).await.unwrap();
    tx.insert_webauthn_credential(&credential(&bob, "bobkey", 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let point = mark().await;
    let mut tx = store.begin().await.unwrap();
    let mut renamed = ann.clone();
    renamed
        .attributes
        .insert("given_name".into(), "Anna".into());
    tx.update_user(&renamed, &[]).await.unwrap();
    renamed
        .attributes
        .insert("given_name".into(), "Annie".into());
    tx.update_user(&renamed, &[]).await.unwrap();
    // Bob goes, and his membership and passkey with him.
    assert!(tx.delete_user(&p.id, &bob.sub).await.unwrap());
    let cy = user(&p, 3, "cy");
    tx.insert_user(&cy, &cy.username.key(true), &[])
        .await
        .unwrap();
    assert!(tx.add_group_member(&p.id, "team", &cy.sub).await.unwrap());
    // Adding a member twice changes nothing and journals nothing more.
    assert!(!tx.add_group_member(&p.id, "team", &cy.sub).await.unwrap());
    assert!(
        tx.remove_group_member(&p.id, "team", &ann.sub)
            .await
            .unwrap()
    );
    tx.update_group(&group(&p.id, "team", "renamed"))
        .await
        .unwrap();
    tx.insert_group(&group(&p.id, "temp", "temporary"))
        .await
        .unwrap();
    assert!(!tx.delete_user(&p.id, &bob.sub).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let got = changed_since(&mut *tx, &p.id, point).await;
    let want: BTreeSet<_> = [
        (HistoryEntity::User, ann.sub.to_string(), true),
        (HistoryEntity::User, bob.sub.to_string(), true),
        (HistoryEntity::User, cy.sub.to_string(), false),
        (
            HistoryEntity::Membership,
            membership_key(&bob.sub, "team"),
            true,
        ),
        (
            HistoryEntity::Membership,
            membership_key(&cy.sub, "team"),
            false,
        ),
        (
            HistoryEntity::Membership,
            membership_key(&ann.sub, "team"),
            true,
        ),
        (HistoryEntity::Passkey, "bobkey".to_string(), true),
        (HistoryEntity::Group, "team".to_string(), true),
        (HistoryEntity::Group, "temp".to_string(), false),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, want);
    // The first change after the point carries the state at the point.
    let entries = tx.history_since(&p.id, point).await.unwrap();
    let ann_then = entries
        .iter()
        .find(|e| e.entity == HistoryEntity::User && e.key == ann.sub.to_string())
        .unwrap();
    let ann_then: User = serde_json::from_str(ann_then.before.as_deref().unwrap()).unwrap();
    assert_eq!(ann_then, ann);
    let team_then = entries
        .iter()
        .find(|e| e.entity == HistoryEntity::Group && e.key == "team")
        .unwrap();
    let team_then: Group = serde_json::from_str(team_then.before.as_deref().unwrap()).unwrap();
    assert_eq!(team_then.description.as_deref(), Some("the team"));
    let key_then = entries
        .iter()
        .find(|e| e.entity == HistoryEntity::Passkey)
        .unwrap();
    let key_then: tessera_domain::passkeys::WebAuthnCredential =
        serde_json::from_str(key_then.before.as_deref().unwrap()).unwrap();
    assert_eq!(key_then, credential(&bob, "bobkey", 1));
    // Nothing changed after now; before the seeding, everything was absent.
    assert!(
        tx.history_since(&p.id, mark().await)
            .await
            .unwrap()
            .is_empty()
    );
    let from_start = changed_since(&mut *tx, &p.id, Timestamp::from_millis(0)).await;
    assert!(from_start.iter().all(|(_, _, existed)| !existed));
    // Another pool's journal is its own.
    assert!(
        tx.history_since(
            &UserPoolId::parse("us-east-1_HISTORYZ").unwrap(),
            Timestamp::from_millis(0)
        )
        .await
        .unwrap()
        .is_empty()
    );
    drop(tx);

    // Pruning drops what is older than the cut-off: one pool's, or every pool's.
    let mut tx = store.begin().await.unwrap();
    let elsewhere = UserPoolId::parse("us-east-1_HISTORYZ").unwrap();
    assert_eq!(tx.prune_pool_history(&elsewhere, point).await.unwrap(), 0);
    assert!(tx.prune_pool_history(&p.id, point).await.unwrap() >= 5);
    assert_eq!(tx.prune_history(point).await.unwrap(), 0);
    let left = changed_since(&mut *tx, &p.id, Timestamp::from_millis(0)).await;
    assert_eq!(left, want);
    tx.commit().await.unwrap();
}

pub async fn a_recovery_pauses_the_pools_writes(store: Arc<dyn Store>) {
    let p = pool("us-east-1_HISTORYB");
    let other = pool("us-east-1_HISTORYC");
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let ann = user(&p, 1, "ann");
    seed_user(&*store, &ann, &[]).await;
    let started = now();

    let mut tx = store.begin().await.unwrap();
    let first = recovery(&p.id, 1, RestoreStatus::PreviewGenerated, started);
    tx.insert_recovery(&first, started.minus(PREVIEW_LIFETIME))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Every journaled write is refused; reads, sign-in counters and other pools go on.
    let mut tx = store.begin().await.unwrap();
    let paused =
        |r: Result<(), StoreError>| assert!(matches!(r, Err(StoreError::WritesPaused)), "{r:?}");
    paused(tx.update_user(&ann, &[]).await);
    paused(tx.insert_group(&group(&p.id, "g", "g")).await);
    paused(tx.delete_user(&p.id, &ann.sub).await.map(|_| ()));
    let bo = user(&p, 2, "bo");
    paused(tx.insert_user(&bo, "bo", &[]).await);
    paused(
        tx.insert_webauthn_credential(&credential(&ann, "k", 1))
            .await,
    );
    assert!(
        tx.get_user(&p.id, &UserLookup::Sub(ann.sub))
            .await
            .unwrap()
            .is_some()
    );
    tx.reset_sign_in_failures(&p.id, &ann.sub).await.unwrap();
    let elsewhere = user(&other, 3, "cy");
    tx.insert_user(&elsewhere, "cy", &[]).await.unwrap();
    // One recovery at a time.
    assert!(matches!(
        tx.insert_recovery(
            &recovery(&p.id, 2, RestoreStatus::PreviewGenerated, started),
            started.minus(PREVIEW_LIFETIME)
        )
        .await,
        Err(StoreError::Conflict(Conflict::Recovery))
    ));
    drop(tx);

    // The recovery's own transaction writes, and is journaled.
    let point = mark().await;
    let mut tx = store.begin().await.unwrap();
    tx.allow_paused_writes();
    let mut renamed = ann.clone();
    renamed
        .attributes
        .insert("given_name".into(), "Restored".into());
    tx.update_user(&renamed, &[]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.history_since(&p.id, point).await.unwrap().len(), 1);
    drop(tx);

    // Cancelled (by compare-and-set on the status): writes resume.
    let mut tx = store.begin().await.unwrap();
    let mut cancelled = first.clone();
    cancelled.status = RestoreStatus::PreviewCancelled;
    assert!(
        tx.update_recovery(&cancelled, RestoreStatus::PreviewGenerated)
            .await
            .unwrap()
    );
    assert!(
        !tx.update_recovery(&cancelled, RestoreStatus::PreviewGenerated)
            .await
            .unwrap()
    );
    tx.update_user(&ann, &[]).await.unwrap();
    tx.commit().await.unwrap();

    // A preview older than its lifetime pauses nothing, and the next recovery expires it.
    let long_ago = started
        .minus(PREVIEW_LIFETIME)
        .minus(Duration::from_secs(60));
    let mut tx = store.begin().await.unwrap();
    let stale = recovery(&p.id, 3, RestoreStatus::PreviewGenerated, long_ago);
    tx.insert_recovery(&stale, long_ago.minus(PREVIEW_LIFETIME))
        .await
        .unwrap();
    tx.update_user(&ann, &[]).await.unwrap();
    let fresh = recovery(
        &p.id,
        4,
        RestoreStatus::PreviewGenerated,
        started.plus(Duration::from_millis(1)),
    );
    tx.insert_recovery(&fresh, now().minus(PREVIEW_LIFETIME))
        .await
        .unwrap();
    assert_eq!(
        tx.get_recovery(&p.id, &stale.restore_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        RestoreStatus::PreviewExpired
    );
    assert_eq!(
        tx.get_recovery(&p.id, &fresh.restore_id).await.unwrap(),
        Some(fresh.clone())
    );
    assert_eq!(
        tx.get_recovery(&other.id, &fresh.restore_id).await.unwrap(),
        None
    );
    tx.commit().await.unwrap();

    // Newest first, in pages.
    let mut tx = store.read().await.unwrap();
    let ids = |rs: Vec<Recovery>| rs.into_iter().map(|r| r.restore_id).collect::<Vec<_>>();
    let all = tx.list_recoveries(&p.id, None, 10).await.unwrap();
    assert_eq!(
        ids(all.clone()),
        vec![fresh.restore_id, first.restore_id, stale.restore_id]
    );
    let page = tx.list_recoveries(&p.id, None, 1).await.unwrap();
    let last = page.last().map(|r| (r.created_at, r.restore_id));
    assert_eq!(
        ids(tx.list_recoveries(&p.id, last, 10).await.unwrap()),
        vec![first.restore_id, stale.restore_id]
    );
    assert!(
        tx.list_recoveries(&other.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
