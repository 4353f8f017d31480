//! Conformance checks for [`crate::TermsTx`] and [`crate::CimdTx`].

use super::{client, pool, seed_pool, t};
use crate::{Conflict, Store, StoreError};
use serde_json::json;
use std::sync::Arc;
use tessera_domain::cimd::{CachedDocument, CimdPolicy, ClientMetadata};
use tessera_domain::terms::{Terms, TermsKind};
use uuid::Uuid;

fn terms(c: &tessera_domain::client::AppClient, n: u128, kind: TermsKind) -> Terms {
    Terms::new(
        Uuid::from_u128(n),
        c.pool_id.clone(),
        c.client_id.clone(),
        kind,
        Some(
            [(
                "cognito:default".to_string(),
                format!("https://t.example/{n}"),
            )]
            .into(),
        ),
        t(n as i64),
    )
    .unwrap()
}

pub async fn terms_one_of_each_kind_per_client(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_TRMA"), pool("us-east-1_TRMB"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let (c1, c2) = (client(&p, "terms1"), client(&p, "terms2"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_client(&c1).await.unwrap();
    tx.insert_client(&c2).await.unwrap();
    let tou = terms(&c1, 1, TermsKind::TermsOfUse);
    let pp = terms(&c1, 2, TermsKind::PrivacyPolicy);
    let tou2 = terms(&c2, 3, TermsKind::TermsOfUse);
    for d in [&tou, &pp, &tou2] {
        tx.insert_terms(d).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_terms(&terms(&c1, 9, TermsKind::TermsOfUse)).await,
        Err(StoreError::Conflict(Conflict::Terms))
    ));
    drop(tx);
    // Renaming into a taken kind is refused too.
    let mut tx = store.begin().await.unwrap();
    let mut renamed = pp.clone();
    renamed.kind = TermsKind::TermsOfUse;
    assert!(matches!(
        tx.update_terms(&renamed).await,
        Err(StoreError::Conflict(Conflict::Terms))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_terms(&p.id, &tou.id).await.unwrap(),
        Some(tou.clone())
    );
    assert_eq!(tx.get_terms(&other.id, &tou.id).await.unwrap(), None);
    assert_eq!(
        tx.terms_of_client(&p.id, &c1.client_id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        tx.terms_of_client(&other.id, &c1.client_id)
            .await
            .unwrap()
            .is_empty()
    );
    let first = tx.list_terms(&p.id, None, 2).await.unwrap();
    assert_eq!(first, vec![tou.clone(), pp.clone()]);
    let after = first[1].id.to_string();
    assert_eq!(
        tx.list_terms(&p.id, Some(&after), 2).await.unwrap(),
        vec![tou2.clone()]
    );
    let mut changed = tou.clone();
    changed
        .links
        .insert("cognito:german".into(), "https://t.example/de".into());
    tx.update_terms(&changed).await.unwrap();
    assert_eq!(tx.get_terms(&p.id, &tou.id).await.unwrap(), Some(changed));
    assert!(!tx.delete_terms(&other.id, &pp.id).await.unwrap());
    assert!(tx.delete_terms(&p.id, &pp.id).await.unwrap());
    // Deleting the client takes its documents along.
    assert!(tx.delete_client(&p.id, &c2.client_id).await.unwrap());
    assert_eq!(tx.get_terms(&p.id, &tou2.id).await.unwrap(), None);
    tx.commit().await.unwrap();
}

fn policy(p: &tessera_domain::pool::UserPool, id: &str) -> CimdPolicy {
    CimdPolicy::new(
        id.into(),
        p.id.clone(),
        tessera_domain::ClientId::parse("cimdclient").unwrap(),
        format!("policy {id}"),
        None,
        vec!["https://c.example/*".into()],
        t(0),
    )
    .unwrap()
}

fn document(p: &CimdPolicy, url: &str, at: i64) -> CachedDocument {
    CachedDocument {
        pool_id: p.pool_id.clone(),
        policy_id: p.id.clone(),
        url: url.into(),
        metadata: ClientMetadata::parse(
            url,
            &json!({"client_id": url, "redirect_uris": ["https://c.example/cb"]}),
        )
        .unwrap(),
        cached_at: t(at),
        expires_at: t(at + 86_400_000),
    }
}

pub async fn cimd_policies_and_cached_documents(store: Arc<dyn Store>) {
    let (p, other) = (pool("us-east-1_CIMA"), pool("us-east-1_CIMB"));
    seed_pool(&*store, &p).await;
    seed_pool(&*store, &other).await;
    let (a, b) = (policy(&p, "aaa"), policy(&p, "bbb"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_cimd_policy(&a).await.unwrap();
    tx.insert_cimd_policy(&b).await.unwrap();
    let (u1, u2) = ("https://c.example/1.json", "https://c.example/2.json");
    tx.put_cimd_document(&document(&a, u1, 0)).await.unwrap();
    tx.put_cimd_document(&document(&a, u2, 0)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_cimd_policy(&p.id, "aaa").await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(tx.get_cimd_policy(&other.id, "aaa").await.unwrap(), None);
    assert_eq!(
        tx.list_cimd_policies(&p.id, None, 1).await.unwrap(),
        vec![a.clone()]
    );
    assert_eq!(
        tx.list_cimd_policies(&p.id, Some("aaa"), 5).await.unwrap(),
        vec![b.clone()]
    );
    let mut changed = a.clone();
    changed.cache_seconds = 100_000;
    tx.update_cimd_policy(&changed).await.unwrap();
    assert_eq!(
        tx.get_cimd_policy(&p.id, "aaa").await.unwrap(),
        Some(changed)
    );

    // A refetch replaces the cached document.
    let refreshed = document(&a, u1, 5);
    tx.put_cimd_document(&refreshed).await.unwrap();
    assert_eq!(
        tx.get_cimd_document(&p.id, "aaa", u1).await.unwrap(),
        Some(refreshed)
    );
    assert_eq!(
        tx.get_cimd_document(&other.id, "aaa", u1).await.unwrap(),
        None
    );
    assert_eq!(tx.get_cimd_document(&p.id, "bbb", u1).await.unwrap(), None);
    let page = tx.list_cimd_documents(&p.id, "aaa", None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].url, u1);
    let rest = tx
        .list_cimd_documents(&p.id, "aaa", Some(u1), 5)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].url, u2);
    assert!(tx.delete_cimd_document(&p.id, "aaa", u2).await.unwrap());
    assert!(!tx.delete_cimd_document(&p.id, "aaa", u2).await.unwrap());
    // A deleted policy takes its cache along.
    assert!(!tx.delete_cimd_policy(&other.id, "aaa").await.unwrap());
    assert!(tx.delete_cimd_policy(&p.id, "aaa").await.unwrap());
    assert_eq!(tx.get_cimd_document(&p.id, "aaa", u1).await.unwrap(), None);
    tx.commit().await.unwrap();
}
