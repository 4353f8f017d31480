//! Conformance checks for token sessions ([`crate::Tx::active_token_families`]).

use super::{pool, seed_pool, seed_user, t, user};
use crate::Store;
use std::sync::Arc;

/// Token sessions: a user's active token families with their last activity.
pub async fn active_token_families_are_a_users_sessions(store: Arc<dyn Store>) {
    use tessera_domain::tokens::{RefreshTokenRecord, TokenFamily};
    let p = pool("us-east-1_SESSIONS");
    seed_pool(&*store, &p).await;
    let (ann, bob) = (user(&p, 1, "ann"), user(&p, 2, "bob"));
    seed_user(&*store, &ann, &[]).await;
    seed_user(&*store, &bob, &[]).await;
    let family =
        |n: u8, who: &tessera_domain::user::User, created: i64, expires: i64| TokenFamily {
            origin_jti: uuid::Uuid::from_bytes([n; 16]),
            pool_id: p.id.clone(),
            client_id: tessera_domain::ClientId::parse("c1").unwrap(),
            sub: who.sub,
            auth_time: t(created),
            created_at: t(created),
            refresh_expires_at: t(expires),
            revoked_at: None,
            scopes: vec![],
            device_key: None,
        };
    let refresh = |n: u8, f: &TokenFamily, at: i64| RefreshTokenRecord {
        hash: vec![n; 32],
        origin_jti: f.origin_jti,
        pool_id: p.id.clone(),
        issued_at: t(at),
        superseded_at: None,
    };
    let (f1, f2, f3, f4, f5) = (
        family(1, &ann, 10, 1000),
        family(2, &ann, 20, 1000),
        family(3, &ann, 30, 1000),
        family(4, &ann, 40, 50),
        family(5, &bob, 10, 1000),
    );
    let mut tx = store.begin().await.unwrap();
    for f in [&f1, &f2, &f3, &f4, &f5] {
        tx.insert_token_family(f).await.unwrap();
    }
    tx.insert_refresh_token(&refresh(1, &f1, 10)).await.unwrap();
    tx.insert_refresh_token(&refresh(2, &f1, 70)).await.unwrap();
    tx.insert_refresh_token(&refresh(3, &f2, 20)).await.unwrap();
    assert!(tx.revoke_token_family(&f3.origin_jti, t(60)).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    // f3 is revoked, f4 expired at 50, f5 is bob's.
    let active = tx
        .active_token_families(&p.id, &ann.sub, t(100))
        .await
        .unwrap();
    let seen: Vec<_> = active.iter().map(|(f, at)| (f.origin_jti, *at)).collect();
    assert_eq!(seen, [(f1.origin_jti, t(70)), (f2.origin_jti, t(20))]);
    // Before f4 expired it was a session too (with its creation as its last activity).
    let earlier = tx
        .active_token_families(&p.id, &ann.sub, t(45))
        .await
        .unwrap();
    assert_eq!(earlier.len(), 3);
    assert_eq!(earlier[2], (f4.clone(), t(40)));
}
