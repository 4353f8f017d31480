//! Conformance checks for [`crate::ThreatTx`].

use super::{pool, seed_pool, seed_user, t, user};
use crate::Store;
use std::sync::Arc;
use tessera_domain::threat::{
    AuthEvent, AuthEventType, ChallengeKind, EventContext, EventResponse, Feedback, FeedbackValue,
    RiskDecision, RiskLevel,
};

fn event(
    u: &tessera_domain::user::User,
    id: &str,
    at: i64,
    ip: &str,
    response: EventResponse,
) -> AuthEvent {
    AuthEvent {
        pool_id: u.pool_id.clone(),
        sub: u.sub,
        event_id: id.into(),
        event_type: AuthEventType::SignIn,
        created_at: t(at),
        response,
        decision: RiskDecision::NoRisk,
        level: None,
        compromised: false,
        challenges: vec![],
        context: EventContext {
            ip: Some(ip.into()),
            ..Default::default()
        },
        client_id: None,
        feedback: None,
    }
}

pub async fn auth_events_round_trip_page_newest_first_and_prune(store: Arc<dyn Store>) {
    let p = pool("us-east-1_EVTA");
    seed_pool(&*store, &p).await;
    let (alice, bob) = (user(&p, 1, "alice"), user(&p, 2, "bob"));
    seed_user(&*store, &alice, &[]).await;
    seed_user(&*store, &bob, &[]).await;

    let mut tx = store.begin().await.unwrap();
    assert!(!tx.has_auth_events(&p.id, &alice.sub).await.unwrap());
    // Two events at the same millisecond are ordered by id.
    for (id, at) in [("e1", 10), ("e2", 20), ("e3", 20), ("e4", 30)] {
        tx.insert_auth_event(&event(&alice, id, at, "198.51.100.1", EventResponse::Fail))
            .await
            .unwrap();
    }
    tx.insert_auth_event(&event(&bob, "b1", 15, "198.51.100.1", EventResponse::Pass))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    let ids = |v: Vec<AuthEvent>| v.into_iter().map(|e| e.event_id).collect::<Vec<_>>();
    let first = tx
        .list_auth_events(&p.id, &alice.sub, None, 2)
        .await
        .unwrap();
    assert_eq!(ids(first.clone()), ["e4", "e3"]);
    let last = first.last().unwrap();
    let next = tx
        .list_auth_events(
            &p.id,
            &alice.sub,
            Some((last.created_at, &last.event_id)),
            2,
        )
        .await
        .unwrap();
    assert_eq!(ids(next), ["e2", "e1"]);
    assert_eq!(
        tx.get_auth_event(&p.id, "b1").await.unwrap(),
        Some(event(&bob, "b1", 15, "198.51.100.1", EventResponse::Pass))
    );
    assert_eq!(tx.get_auth_event(&p.id, "nope").await.unwrap(), None);
    // Failures from an address count across users, from `since` on.
    assert_eq!(
        tx.failures_from_ip(&p.id, "198.51.100.1", t(0))
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        tx.failures_from_ip(&p.id, "198.51.100.1", t(20))
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        tx.failures_from_ip(&p.id, "192.0.2.1", t(0)).await.unwrap(),
        0
    );
    assert!(tx.has_auth_events(&p.id, &alice.sub).await.unwrap());
    drop(tx);

    // An update changes outcome and feedback, which the signals read.
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.known_ip(&p.id, &alice.sub, "198.51.100.1")
            .await
            .unwrap()
    );
    assert!(tx.known_ip(&p.id, &bob.sub, "198.51.100.1").await.unwrap());
    let mut e = event(&alice, "e4", 30, "198.51.100.1", EventResponse::Pass);
    e.record(ChallengeKind::Password, true);
    e.level = Some(RiskLevel::Medium);
    assert!(tx.update_auth_event(&e).await.unwrap());
    assert!(
        tx.known_ip(&p.id, &alice.sub, "198.51.100.1")
            .await
            .unwrap()
    );
    e.feedback = Some(Feedback {
        value: FeedbackValue::Invalid,
        provider: "Admin".into(),
        at: t(40),
    });
    assert!(tx.update_auth_event(&e).await.unwrap());
    assert!(
        !tx.known_ip(&p.id, &alice.sub, "198.51.100.1")
            .await
            .unwrap()
    );
    assert!(
        tx.disowned_ip(&p.id, &alice.sub, "198.51.100.1")
            .await
            .unwrap()
    );
    assert!(
        !tx.update_auth_event(&event(&alice, "zz", 1, "x", EventResponse::Pass))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_auth_event(&p.id, "e4").await.unwrap(), Some(e));
    drop(tx);

    // Pruning removes what is older than the cut, for every pool.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.prune_auth_events(t(20)).await.unwrap(), 2);
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        ids(tx
            .list_auth_events(&p.id, &alice.sub, None, 10)
            .await
            .unwrap()),
        ["e4", "e3", "e2"]
    );
    drop(tx);

    // Events go with their user.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_user(&p.id, &alice.sub).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_auth_event(&p.id, "e4").await.unwrap(), None);
}
