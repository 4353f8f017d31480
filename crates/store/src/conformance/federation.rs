//! Conformance checks for [`crate::FederationTx`].

use super::{pool, seed_pool, seed_user, t, user};
use crate::{Conflict, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::ClientId;
use tessera_domain::identity_providers::{
    FederationState, IdentityProvider, ProviderType, SamlSpKeys,
};
use tessera_domain::oauth::{AuthorizeRequest, ResponseType};

pub(super) fn provider(
    p: &tessera_domain::pool::UserPool,
    name: &str,
    ids: &[&str],
) -> IdentityProvider {
    IdentityProvider {
        pool_id: p.id.clone(),
        name: name.into(),
        provider_type: ProviderType::Oidc,
        details: BTreeMap::from([("client_id".into(), format!("{name}-client"))]),
        sealed: BTreeMap::from([("client_secret".into(), vec![1, 2, 3])]),
        attribute_mapping: BTreeMap::from([("username".into(), "sub".into())]),
        idp_identifiers: ids.iter().map(|s| s.to_string()).collect(),
        acr_mapping: None,
        saml_metadata: None,
        created_at: t(1),
        modified_at: t(1),
    }
}

pub async fn identity_providers_round_trip_with_unique_identifiers(store: Arc<dyn Store>) {
    let (a, b) = (pool("us-east-1_IDPA"), pool("us-east-1_IDPB"));
    seed_pool(&*store, &a).await;
    seed_pool(&*store, &b).await;
    let mut tx = store.begin().await.unwrap();
    for name in ["Gamma", "Alpha", "Beta"] {
        let ids = if name == "Alpha" {
            vec!["alpha.example"]
        } else {
            vec![]
        };
        tx.insert_identity_provider(&provider(&a, name, &ids))
            .await
            .unwrap();
    }
    // The same name and identifier in another pool are someone else's.
    tx.insert_identity_provider(&provider(&b, "Alpha", &["alpha.example"]))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_identity_provider(&provider(&a, "Alpha", &[]))
            .await,
        Err(StoreError::Conflict(Conflict::IdentityProvider))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_identity_provider(&provider(&a, "Delta", &["alpha.example"]))
            .await,
        Err(StoreError::Conflict(Conflict::IdpIdentifier))
    ));
    drop(tx);

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.get_identity_provider(&a.id, "Alpha").await.unwrap(),
        Some(provider(&a, "Alpha", &["alpha.example"]))
    );
    assert_eq!(
        tx.get_identity_provider(&a.id, "Delta").await.unwrap(),
        None
    );
    assert_eq!(
        tx.identity_provider_by_identifier(&a.id, "alpha.example")
            .await
            .unwrap()
            .map(|p| p.name),
        Some("Alpha".to_string())
    );
    let names = |v: Vec<IdentityProvider>| v.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_identity_providers(&a.id, None, 10).await.unwrap()),
        ["Alpha", "Beta", "Gamma"]
    );
    assert_eq!(
        names(
            tx.list_identity_providers(&a.id, Some("Alpha"), 1)
                .await
                .unwrap()
        ),
        ["Beta"]
    );
    drop(tx);

    // Update moves the identifier: the old one is free, the new one found.
    let mut tx = store.begin().await.unwrap();
    let mut moved = provider(&a, "Alpha", &["new.example"]);
    moved.modified_at = t(9);
    tx.update_identity_provider(&moved).await.unwrap();
    tx.insert_identity_provider(&provider(&a, "Delta", &["alpha.example"]))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_identity_provider(&a.id, "Alpha").await.unwrap(),
        Some(moved)
    );
    assert!(matches!(
        tx.update_identity_provider(&provider(&a, "Beta", &["new.example"]))
            .await,
        Err(StoreError::Conflict(Conflict::IdpIdentifier))
    ));
    drop(tx);

    // Delete takes the identifiers with it.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_identity_provider(&a.id, "Alpha").await.unwrap());
    assert!(!tx.delete_identity_provider(&a.id, "Alpha").await.unwrap());
    assert_eq!(
        tx.identity_provider_by_identifier(&a.id, "new.example")
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert!(
        tx.get_identity_provider(&b.id, "Alpha")
            .await
            .unwrap()
            .is_some()
    );
}

fn state(p: &tessera_domain::pool::UserPool, expires_ms: i64) -> FederationState {
    FederationState {
        pool_id: p.id.clone(),
        provider_name: "Corp".into(),
        request: AuthorizeRequest {
            client_id: ClientId::parse("abcdefghij1234567890abcdef").unwrap(),
            client_url: None,
            response_type: ResponseType::Code,
            redirect_uri: "https://app.example/cb".into(),
            state: Some("app-state".into()),
            scopes: vec!["openid".into()],
            nonce: None,
            code_challenge: None,
            identity_provider: Some("Corp".into()),
            prompt: None,
            login_hint: None,
        },
        nonce: "n-0S6_WzA2Mj".into(),
        saml_request_id: Some("_req-1".into()),
        after_logout: None,
        expires_at: t(expires_ms),
    }
}

pub async fn federation_states_are_taken_once_and_expire(store: Arc<dyn Store>) {
    let p = pool("us-east-1_FEDS");
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_federation_state(b"live", &state(&p, 1_000))
        .await
        .unwrap();
    tx.insert_federation_state(b"old", &state(&p, 10))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.take_federation_state(b"live", t(500)).await.unwrap(),
        Some(state(&p, 1_000))
    );
    assert_eq!(
        tx.take_federation_state(b"live", t(500)).await.unwrap(),
        None
    );
    // Expired: gone, and not handed out.
    assert_eq!(
        tx.take_federation_state(b"old", t(500)).await.unwrap(),
        None
    );
    assert_eq!(
        tx.take_federation_state(b"nope", t(500)).await.unwrap(),
        None
    );
    tx.commit().await.unwrap();

    // The sweep removes states nobody came back for.
    let mut tx = store.begin().await.unwrap();
    tx.insert_federation_state(b"abandoned", &state(&p, 20))
        .await
        .unwrap();
    tx.sweep_expired(t(30)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.take_federation_state(b"abandoned", t(0)).await.unwrap(),
        None
    );
}

pub async fn federated_links_are_unique_and_go_with_the_user(store: Arc<dyn Store>) {
    let p = pool("us-east-1_LINK");
    seed_pool(&*store, &p).await;
    let (alice, bob) = (user(&p, 1, "alice"), user(&p, 2, "bob"));
    seed_user(&*store, &alice, &[]).await;
    seed_user(&*store, &bob, &[]).await;

    let mut tx = store.begin().await.unwrap();
    tx.link_federated_identity(&p.id, "Google", "g-1", &alice.sub)
        .await
        .unwrap();
    tx.link_federated_identity(&p.id, "Corp", "c-1", &alice.sub)
        .await
        .unwrap();
    tx.link_federated_identity(&p.id, "Google", "g-2", &bob.sub)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.link_federated_identity(&p.id, "Google", "g-1", &bob.sub)
            .await,
        Err(StoreError::Conflict(Conflict::FederatedLink))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.federated_link(&p.id, "Google", "g-1").await.unwrap(),
        Some(alice.sub)
    );
    assert_eq!(
        tx.federated_link(&p.id, "Google", "g-3").await.unwrap(),
        None
    );
    assert_eq!(
        tx.federated_links_of_user(&p.id, &alice.sub).await.unwrap(),
        [
            ("Corp".to_string(), "c-1".to_string()),
            ("Google".to_string(), "g-1".to_string())
        ]
    );
    assert!(
        tx.unlink_federated_identity(&p.id, "Corp", "c-1")
            .await
            .unwrap()
    );
    assert!(
        !tx.unlink_federated_identity(&p.id, "Corp", "c-1")
            .await
            .unwrap()
    );
    // Deleting a user removes its links.
    assert!(tx.delete_user(&p.id, &bob.sub).await.unwrap());
    assert_eq!(
        tx.federated_link(&p.id, "Google", "g-2").await.unwrap(),
        None
    );
    tx.commit().await.unwrap();
}

pub(super) fn sp_keys(p: &tessera_domain::pool::UserPool, tag: &str) -> SamlSpKeys {
    SamlSpKeys {
        pool_id: p.id.clone(),
        signing_certificate: format!(
            "-----BEGIN CERTIFICATE-----\n{tag}-s\n-----END CERTIFICATE-----"
        ),
        sealed_signing_key: tag.as_bytes().to_vec(),
        encryption_certificate: format!(
            "-----BEGIN CERTIFICATE-----\n{tag}-e\n-----END CERTIFICATE-----"
        ),
        sealed_encryption_key: vec![9, 9],
        created_at: t(5),
    }
}

pub async fn saml_sp_keys_are_written_once_and_go_with_the_pool(store: Arc<dyn Store>) {
    let (p, q) = (pool("us-east-1_SAMLK"), pool("us-east-1_SAMLQ"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &q).await;
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.saml_sp_keys(&p.id).await.unwrap(), None);
    assert!(tx.insert_saml_sp_keys(&sp_keys(&p, "first")).await.unwrap());
    // A second generation (another node's, at the same time) loses: the first stays.
    assert!(
        !tx.insert_saml_sp_keys(&sp_keys(&p, "second"))
            .await
            .unwrap()
    );
    assert!(tx.insert_saml_sp_keys(&sp_keys(&q, "other")).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.saml_sp_keys(&p.id).await.unwrap(),
        Some(sp_keys(&p, "first"))
    );
    assert_eq!(
        tx.saml_sp_keys(&q.id).await.unwrap(),
        Some(sp_keys(&q, "other"))
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_pool(&p.id).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.saml_sp_keys(&p.id).await.unwrap(), None);
}

pub async fn saml_assertions_are_accepted_once_until_they_expire(store: Arc<dyn Store>) {
    let (p, q) = (pool("us-east-1_SAMLA"), pool("us-east-1_SAMLB"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &q).await;
    let idp = "https://idp.example/metadata";
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.record_saml_assertion(&p.id, idp, "_a1", t(1_000), t(0))
            .await
            .unwrap()
    );
    assert!(
        !tx.record_saml_assertion(&p.id, idp, "_a1", t(1_000), t(10))
            .await
            .unwrap()
    );
    // Another issuer's, or another pool's, assertion with the same id is another assertion.
    assert!(
        tx.record_saml_assertion(&p.id, "https://other.example", "_a1", t(1_000), t(10))
            .await
            .unwrap()
    );
    assert!(
        tx.record_saml_assertion(&q.id, idp, "_a1", t(1_000), t(10))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    // Committed, the record holds for every later transaction (every node) until its time.
    let mut tx = store.begin().await.unwrap();
    assert!(
        !tx.record_saml_assertion(&p.id, idp, "_a1", t(2_000), t(999))
            .await
            .unwrap()
    );
    // Past its time the record gives way (the assertion itself is no longer valid by then).
    assert!(
        tx.record_saml_assertion(&p.id, idp, "_a1", t(3_000), t(1_000))
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    // Two transactions at once: only one records it.
    let (s1, s2) = (store.clone(), store.clone());
    let (pa, pb) = (p.id.clone(), p.id.clone());
    let one = tokio::spawn(async move {
        let mut tx = s1.begin().await.ok()?;
        let first = tx
            .record_saml_assertion(&pa, idp, "_race", t(5_000), t(0))
            .await
            .ok()?;
        tx.commit().await.ok()?;
        Some(first)
    });
    let two = tokio::spawn(async move {
        let mut tx = s2.begin().await.ok()?;
        let first = tx
            .record_saml_assertion(&pb, idp, "_race", t(5_000), t(0))
            .await
            .ok()?;
        tx.commit().await.ok()?;
        Some(first)
    });
    let wins = [one.await.unwrap(), two.await.unwrap()]
        .iter()
        .filter(|r| **r == Some(true))
        .count();
    assert_eq!(wins, 1, "exactly one of two concurrent records wins");

    // The sweep forgets records past their time.
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.record_saml_assertion(&q.id, idp, "_swept", t(50), t(0))
            .await
            .unwrap()
    );
    tx.sweep_expired(t(60)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.record_saml_assertion(&q.id, idp, "_swept", t(5_000), t(0))
            .await
            .unwrap()
    );
}
