//! Conformance checks for [`crate::ConsoleTx`].

use super::{pool, seed_pool, t};
use crate::{Conflict, Store, StoreError};
use std::sync::Arc;
use tessera_domain::console::{ConsoleOperator, SignInCounts};
use tessera_domain::messages::{
    Channel, DeliveryOutcome, FAILED_BODY_KEPT, OutboundMessage, OutboxStatus,
};
use uuid::Uuid;

fn message(pool: &str, n: u8) -> OutboundMessage {
    OutboundMessage {
        id: Uuid::from_bytes([n; 16]),
        pool_id: pool.to_string(),
        channel: Channel::Email,
        to: format!("user{n}@example.com"),
        subject: Some("Code".into()),
        body: format!("Your code is {n}"),
        from: None,
        reply_to: None,
        created_at: t(i64::from(n)),
        sender: None,
    }
}

pub async fn failed_messages_keep_their_body_for_a_retry_then_lose_it(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_RETRY"), pool("us-east-1_OTHER"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let mut tx = store.begin().await.unwrap();
    for n in 1..=3 {
        tx.enqueue_message(&message(p.id.as_str(), n), OutboxStatus::Pending)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let claimed = tx.claim_messages(t(10), t(1_000), 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let failed = |e: &str| DeliveryOutcome::Failed { error: e.into() };
    let (one, two, three) = (
        message(p.id.as_str(), 1).id,
        message(p.id.as_str(), 2).id,
        message(p.id.as_str(), 3).id,
    );
    tx.record_delivery(&one, &failed("550 no"), t(100))
        .await
        .unwrap();
    tx.record_delivery(&two, &failed("421 busy"), t(100))
        .await
        .unwrap();
    tx.record_delivery(&three, &DeliveryOutcome::Delivered, t(100))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // A failed message still has its body; a delivered one can't be retried.
    let mut tx = store.read().await.unwrap();
    let listed = tx.list_outbox(Some(&p.id), 10).await.unwrap();
    let by_id = |id: Uuid| listed.iter().find(|e| e.message.id == id).unwrap().clone();
    assert_eq!(by_id(one).status, OutboxStatus::Failed);
    assert_eq!(by_id(one).message.body, "Your code is 1");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.retry_message(&p.id, &three, t(200)).await.unwrap(),
        "delivered"
    );
    assert!(
        !tx.retry_message(&other.id, &one, t(200)).await.unwrap(),
        "another pool's"
    );
    assert!(
        !tx.retry_message(&p.id, &Uuid::from_bytes([9; 16]), t(200))
            .await
            .unwrap()
    );
    assert!(tx.retry_message(&p.id, &one, t(200)).await.unwrap());
    assert!(
        !tx.retry_message(&p.id, &one, t(200)).await.unwrap(),
        "pending now"
    );
    tx.commit().await.unwrap();

    // The retried message is due at once, counted from its first attempt again, body intact.
    let mut tx = store.begin().await.unwrap();
    let again = tx.claim_messages(t(200), t(2_000), 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, message(p.id.as_str(), 1));
    assert_eq!(again[0].1, 1);
    tx.commit().await.unwrap();

    // Past the kept time, the sweep removes the other failed message's body: no retry then.
    let late = t(100).plus(FAILED_BODY_KEPT);
    let mut tx = store.begin().await.unwrap();
    tx.sweep_expired(t(100).plus(FAILED_BODY_KEPT / 2))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let listed = tx.list_outbox(Some(&p.id), 10).await.unwrap();
    let two_now = listed.iter().find(|e| e.message.id == two).unwrap();
    assert_eq!(two_now.message.body, "Your code is 2", "not yet");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.sweep_expired(late).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    let listed = tx.list_outbox(Some(&p.id), 10).await.unwrap();
    let two_now = listed.iter().find(|e| e.message.id == two).unwrap();
    assert_eq!(two_now.status, OutboxStatus::Failed);
    assert_eq!(two_now.message.body, "");
    assert_eq!(two_now.last_error.as_deref(), Some("421 busy"));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(!tx.retry_message(&p.id, &two, late).await.unwrap());
}

pub async fn sign_in_counts_add_up_per_pool_and_hour(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_COUNT"), pool("us-east-1_ELSE"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let hour = |h: i64| t(h * 3_600_000);
    let c = |s, f, l| SignInCounts {
        sign_ins: s,
        failures: f,
        lockouts: l,
    };
    // Concurrent writers to the same hour lose nothing.
    let mut writers = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        let id = p.id.clone();
        writers.push(tokio::spawn(async move {
            for _ in 0..5 {
                loop {
                    let mut tx = store.begin().await.unwrap();
                    match tx.add_sign_in_counts(&id, hour(10), &c(1, 0, 0)).await {
                        Ok(()) => match tx.commit().await {
                            Ok(()) => break,
                            Err(StoreError::Contended) => continue,
                            Err(e) => panic!("{e}"),
                        },
                        Err(StoreError::Contended) => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    tx.add_sign_in_counts(&p.id, hour(10), &c(0, 2, 1))
        .await
        .unwrap();
    tx.add_sign_in_counts(&p.id, hour(12), &c(3, 0, 0))
        .await
        .unwrap();
    tx.add_sign_in_counts(&p.id, hour(30), &c(1, 0, 0))
        .await
        .unwrap();
    tx.add_sign_in_counts(&other.id, hour(10), &c(7, 7, 7))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.sign_in_counts(&p.id, hour(0), hour(24)).await.unwrap(),
        vec![(hour(10), c(40, 2, 1)), (hour(12), c(3, 0, 0))]
    );
    assert_eq!(
        tx.sign_in_counts(&p.id, hour(11), hour(13)).await.unwrap(),
        vec![(hour(12), c(3, 0, 0))],
        "from is inclusive, to exclusive"
    );
    drop(tx);

    // Old hours are swept; a deleted pool's counts go with it.
    let mut tx = store.begin().await.unwrap();
    tx.sweep_expired(hour(30).plus(tessera_domain::console::SIGN_IN_COUNTS_KEPT))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.sign_in_counts(&p.id, hour(0), hour(100)).await.unwrap(),
        vec![(hour(30), c(1, 0, 0))]
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.sign_in_counts(&p.id, hour(0), hour(100))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn console_operators_are_unique_by_name(store: Arc<dyn Store>) {
    let op = |name: &str, phc: &str, at| ConsoleOperator {
        name: name.into(),
        password_phc: phc.into(),
        created_at: t(at),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_console_operator(&op("bob", "$argon2id$b", 2))
        .await
        .unwrap();
    tx.insert_console_operator(&op("alice", "$argon2id$a", 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_console_operator(&op("alice", "$argon2id$x", 3))
            .await,
        Err(StoreError::Conflict(Conflict::Operator))
    ));
    drop(tx);
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_console_operator("alice").await.unwrap(),
        Some(op("alice", "$argon2id$a", 1))
    );
    assert_eq!(
        tx.get_console_operator("Alice").await.unwrap(),
        None,
        "names are exact"
    );
    assert_eq!(
        tx.list_console_operators().await.unwrap(),
        vec![op("alice", "$argon2id$a", 1), op("bob", "$argon2id$b", 2)]
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_console_operator("alice").await.unwrap());
    assert!(!tx.delete_console_operator("alice").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_console_operator("alice").await.unwrap(), None);
    assert_eq!(tx.list_console_operators().await.unwrap().len(), 1);
}
