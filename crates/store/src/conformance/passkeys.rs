//! Conformance checks for [`crate::PasskeyTx`].

use super::{pool, seed_pool, seed_user, t, user};
use crate::{Conflict, Store, StoreError};
use std::sync::Arc;
use tessera_domain::passkeys::WebAuthnCredential;

pub(super) fn credential(u: &tessera_domain::user::User, id: &str, at: i64) -> WebAuthnCredential {
    WebAuthnCredential {
        pool_id: u.pool_id.clone(),
        sub: u.sub,
        credential_id: id.into(),
        friendly_name: Some(format!("key {id}")),
        relying_party_id: "auth.example.com".into(),
        attachment: Some("cross-platform".into()),
        transports: vec!["usb".into()],
        created_at: t(at),
        last_used_at: None,
        credential: format!("{{\"id\":\"{id}\",\"counter\":0}}"),
    }
}

pub async fn webauthn_credentials_are_unique_per_pool_and_owned_by_their_user(
    store: Arc<dyn Store>,
) {
    let p = pool("us-east-1_PASSKEYA");
    seed_pool(&*store, &p).await;
    let (alice, bob) = (user(&p, 1, "alice"), user(&p, 2, "bob"));
    seed_user(&*store, &alice, &[]).await;
    seed_user(&*store, &bob, &[]).await;

    let mut tx = store.begin().await.unwrap();
    tx.insert_webauthn_credential(&credential(&alice, "k2", 20))
        .await
        .unwrap();
    tx.insert_webauthn_credential(&credential(&alice, "k1", 10))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // The same credential id can't be registered again in the pool, by anyone.
    let mut tx = store.begin().await.unwrap();
    match tx
        .insert_webauthn_credential(&credential(&bob, "k1", 30))
        .await
    {
        Err(StoreError::Conflict(Conflict::WebAuthnCredential)) => {}
        other => panic!("expected a credential conflict, got {other:?}"),
    }
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let listed = tx.webauthn_credentials(&p.id, &alice.sub).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|c| c.credential_id.as_str()).collect();
    assert_eq!(ids, ["k1", "k2"], "oldest first");
    assert!(
        tx.webauthn_credentials(&p.id, &bob.sub)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.get_webauthn_credential(&p.id, "k1").await.unwrap(),
        Some(credential(&alice, "k1", 10))
    );

    // Counters are replaced; another user's credential is neither updated nor deleted.
    let mut used = credential(&alice, "k1", 10);
    used.last_used_at = Some(t(40));
    used.credential = "{\"id\":\"k1\",\"counter\":7}".into();
    assert!(tx.update_webauthn_credential(&used).await.unwrap());
    let mut stolen = used.clone();
    stolen.sub = bob.sub;
    assert!(!tx.update_webauthn_credential(&stolen).await.unwrap());
    assert!(
        !tx.delete_webauthn_credential(&p.id, &bob.sub, "k1")
            .await
            .unwrap()
    );
    assert_eq!(
        tx.get_webauthn_credential(&p.id, "k1").await.unwrap(),
        Some(used)
    );
    assert!(
        tx.delete_webauthn_credential(&p.id, &alice.sub, "k1")
            .await
            .unwrap()
    );
    assert!(
        !tx.delete_webauthn_credential(&p.id, &alice.sub, "k1")
            .await
            .unwrap()
    );
    // Deleting the user takes their credentials along.
    assert!(tx.delete_user(&p.id, &alice.sub).await.unwrap());
    assert_eq!(tx.get_webauthn_credential(&p.id, "k2").await.unwrap(), None);
    tx.commit().await.unwrap();
}
