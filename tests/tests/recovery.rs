//! Point-in-time recovery's journal with a clock the test moves: each pool keeps it only as far
//! back as its feature plan can recover (the operations themselves are tested with boto3 in
//! tests/clients/python/test_point_in_time_recovery.py; aws-sdk-rust doesn't have them yet).

use crate::support::*;
use aws_sdk_cognitoidentityprovider::types::UserPoolTierType;
use std::time::Duration;
use tessera_domain::{Timestamp, UserPoolId};

async fn pool_on(app: &TestApp, tier: UserPoolTierType) -> UserPoolId {
    let id = app
        .admin
        .create_user_pool()
        .pool_name(format!("{tier:?}"))
        .user_pool_tier(tier)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    app.admin
        .admin_create_user()
        .user_pool_id(&id)
        .username("journaled")
        .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
        .send()
        .await
        .unwrap();
    UserPoolId::parse(&id).unwrap()
}

async fn journal_entries(app: &TestApp, pool: &UserPoolId) -> usize {
    let mut tx = app.engine.store().read().await.unwrap();
    tx.history_since(pool, Timestamp::from_millis(0))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn journals_are_kept_as_long_as_the_feature_plan_can_recover() {
    let app = spawn_app().await;
    let essentials = pool_on(&app, UserPoolTierType::Essentials).await;
    let plus = pool_on(&app, UserPoolTierType::Plus).await;
    let lite = pool_on(&app, UserPoolTierType::Lite).await;
    for pool in [&essentials, &plus, &lite] {
        assert_eq!(journal_entries(&app, pool).await, 1);
    }
    // Lite can't recover: its journal goes at the next sweep. (The journal is stamped with the
    // wall clock, which has moved on from the test's clock: catch up first.)
    app.clock.advance(Duration::from_secs(60));
    app.engine.sweep().await.unwrap();
    assert_eq!(journal_entries(&app, &essentials).await, 1);
    assert_eq!(journal_entries(&app, &lite).await, 0);
    // Essentials recovers a day back, Plus fourteen.
    app.clock.advance(Duration::from_secs(25 * 3600));
    app.engine.sweep().await.unwrap();
    assert_eq!(journal_entries(&app, &essentials).await, 0);
    assert_eq!(journal_entries(&app, &plus).await, 1);
    app.clock.advance(Duration::from_secs(14 * 86_400));
    app.engine.sweep().await.unwrap();
    assert_eq!(journal_entries(&app, &plus).await, 0);
}
