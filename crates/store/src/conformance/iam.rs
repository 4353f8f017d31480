//! Conformance checks for [`crate::IamTx`].

use crate::{Conflict, Store, StoreError};
use std::sync::Arc;
use tessera_domain::Timestamp;
use tessera_domain::iam::{
    InlinePolicy, ManagedPolicy, OidcProvider, PolicyVersion, Role, SamlProvider, Tag,
};

const ACCOUNT: &str = "123456789012";

fn role(name: &str, path: &str, n: u8) -> Role {
    Role {
        name: name.into(),
        id: format!("AROA{:017}", n),
        path: path.into(),
        arn: tessera_domain::iam::role_arn(ACCOUNT, path, name),
        description: Some(format!("role {name}")),
        max_session_duration: 3600,
        trust_policy: r#"{"Version":"2012-10-17","Statement":[]}"#.into(),
        created_at: Timestamp::from_millis(1_000),
        tags: vec![Tag {
            key: "team".into(),
            value: "id".into(),
        }],
    }
}

fn managed(name: &str, path: &str, n: u8) -> ManagedPolicy {
    ManagedPolicy {
        name: name.into(),
        id: format!("ANPA{:017}", n),
        path: path.into(),
        arn: tessera_domain::iam::policy_arn(ACCOUNT, path, name),
        description: None,
        default_version_id: "v1".into(),
        last_version: 1,
        versions: vec![PolicyVersion {
            version_id: "v1".into(),
            document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
            created_at: Timestamp::from_millis(2_000),
        }],
        created_at: Timestamp::from_millis(2_000),
        updated_at: Timestamp::from_millis(2_000),
        tags: vec![],
    }
}

pub async fn iam_roles_round_trip_unique_ignoring_case_and_page(store: Arc<dyn Store>) {
    let (a, b, c) = (
        role("Alpha", "/", 1),
        role("beta", "/app/", 2),
        role("Gamma", "/app/sub/", 3),
    );
    let mut tx = store.begin().await.unwrap();
    for r in [&c, &a, &b] {
        tx.insert_iam_role(r).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let mut dup = role("ALPHA", "/", 9);
    dup.arn = "other".into();
    assert!(matches!(
        tx.insert_iam_role(&dup).await,
        Err(StoreError::Conflict(Conflict::IamRole))
    ));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_iam_role("alpha").await.unwrap(), Some(a.clone()));
    assert_eq!(tx.get_iam_role("nope").await.unwrap(), None);
    let names = |v: Vec<Role>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(tx.list_iam_roles("/", None, 10).await.unwrap()),
        ["Alpha", "beta", "Gamma"]
    );
    assert_eq!(
        names(tx.list_iam_roles("/", None, 2).await.unwrap()),
        ["Alpha", "beta"]
    );
    assert_eq!(
        names(tx.list_iam_roles("/", Some("beta"), 2).await.unwrap()),
        ["Gamma"]
    );
    assert_eq!(
        names(tx.list_iam_roles("/app/", None, 10).await.unwrap()),
        ["beta", "Gamma"]
    );
    assert_eq!(
        names(tx.list_iam_roles("/app/sub/", None, 10).await.unwrap()),
        ["Gamma"]
    );

    let mut changed = b.clone();
    changed.description = None;
    changed.max_session_duration = 43200;
    changed.trust_policy = "{}".into();
    changed.tags.clear();
    tx.update_iam_role(&changed).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_iam_role("BETA").await.unwrap(), Some(changed));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_iam_role("GAMMA").await.unwrap());
    assert!(!tx.delete_iam_role("GAMMA").await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_iam_role("gamma").await.unwrap(), None);
}

pub async fn iam_inline_and_attached_policies(store: Arc<dyn Store>) {
    let r = role("app", "/", 1);
    let other = role("other", "/", 2);
    let (p1, p2) = (managed("read", "/", 1), managed("write", "/team/", 2));
    let mut tx = store.begin().await.unwrap();
    tx.insert_iam_role(&r).await.unwrap();
    tx.insert_iam_role(&other).await.unwrap();
    tx.insert_managed_policy(&p2).await.unwrap();
    tx.insert_managed_policy(&p1).await.unwrap();
    tx.commit().await.unwrap();

    // Managed policy names are unique ignoring case, whatever the path.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_managed_policy(&managed("READ", "/x/", 3)).await,
        Err(StoreError::Conflict(Conflict::IamPolicy))
    ));
    drop(tx);

    let doc = |s: &str| InlinePolicy {
        name: s.into(),
        document: format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{s}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#
        ),
    };
    let mut tx = store.begin().await.unwrap();
    tx.put_role_policy("app", &doc("zeta")).await.unwrap();
    tx.put_role_policy("APP", &doc("alpha")).await.unwrap();
    let mut replaced = doc("zeta");
    replaced.document = "{}".into();
    tx.put_role_policy("app", &replaced).await.unwrap();
    assert!(tx.attach_role_policy("app", &p1.arn).await.unwrap());
    assert!(!tx.attach_role_policy("App", &p1.arn).await.unwrap());
    assert!(tx.attach_role_policy("app", &p2.arn).await.unwrap());
    assert!(tx.attach_role_policy("other", &p1.arn).await.unwrap());
    tx.commit().await.unwrap();

    let mut tx = store.read().await.unwrap();
    assert_eq!(
        tx.role_policies("app").await.unwrap(),
        vec![doc("alpha"), replaced.clone()]
    );
    assert!(tx.role_policies("other").await.unwrap().is_empty());
    let mut arns = vec![p1.arn.clone(), p2.arn.clone()];
    arns.sort();
    assert_eq!(tx.attached_role_policies("app").await.unwrap(), arns);
    assert_eq!(tx.policy_attachment_count(&p1.arn).await.unwrap(), 2);
    assert_eq!(tx.policy_attachment_count(&p2.arn).await.unwrap(), 1);
    let listed: Vec<String> = tx
        .list_managed_policies("/", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(listed, ["read", "write"]);
    let team: Vec<String> = tx
        .list_managed_policies("/team/", None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(team, ["write"]);
    assert_eq!(
        tx.list_managed_policies("/", Some(&p1.arn), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(tx);

    // Versions and default version live with the policy.
    let mut tx = store.begin().await.unwrap();
    let mut v2 = p1.clone();
    v2.versions.push(PolicyVersion {
        version_id: "v2".into(),
        document: "{}".into(),
        created_at: Timestamp::from_millis(3_000),
    });
    v2.default_version_id = "v2".into();
    v2.last_version = 2;
    tx.update_managed_policy(&v2).await.unwrap();
    assert!(tx.delete_role_policy("app", "alpha").await.unwrap());
    assert!(!tx.delete_role_policy("app", "alpha").await.unwrap());
    assert!(tx.detach_role_policy("app", &p2.arn).await.unwrap());
    assert!(!tx.detach_role_policy("app", &p2.arn).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_managed_policy(&p1.arn).await.unwrap(), Some(v2));
    assert_eq!(tx.role_policies("app").await.unwrap(), vec![replaced]);
    assert_eq!(
        tx.attached_role_policies("app").await.unwrap(),
        vec![p1.arn.clone()]
    );
    drop(tx);

    // Deleting a role takes its inline policies and attachments; deleting a policy its own.
    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete_iam_role("app").await.unwrap());
    assert!(tx.delete_managed_policy(&p2.arn).await.unwrap());
    assert!(!tx.delete_managed_policy(&p2.arn).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.policy_attachment_count(&p1.arn).await.unwrap(), 1);
    tx.insert_iam_role(&r).await.unwrap();
    assert!(tx.role_policies("app").await.unwrap().is_empty());
    assert!(tx.attached_role_policies("app").await.unwrap().is_empty());
    assert_eq!(tx.get_managed_policy(&p2.arn).await.unwrap(), None);
    drop(tx);
    // The dropped transaction wrote nothing.
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_iam_role("app").await.unwrap(), None);
}

pub async fn iam_identity_providers_round_trip(store: Arc<dyn Store>) {
    let oidc = |url: &str| OidcProvider {
        arn: tessera_domain::iam::oidc_provider_arn(ACCOUNT, url),
        url: url.into(),
        client_ids: vec!["client-a".into()],
        thumbprints: vec!["a".repeat(40)],
        created_at: Timestamp::from_millis(5_000),
        tags: vec![],
    };
    let saml = |name: &str| SamlProvider {
        arn: tessera_domain::iam::saml_provider_arn(ACCOUNT, name),
        name: name.into(),
        metadata_document: "<EntityDescriptor/>".into(),
        created_at: Timestamp::from_millis(6_000),
        valid_until: Some(Timestamp::from_millis(7_000)),
        tags: vec![],
    };
    let (o1, o2) = (
        oidc("https://b.example.com"),
        oidc("https://a.example.com/x"),
    );
    let (s1, s2) = (saml("Okta"), saml("Adfs"));
    let mut tx = store.begin().await.unwrap();
    tx.insert_oidc_provider(&o1).await.unwrap();
    tx.insert_oidc_provider(&o2).await.unwrap();
    tx.insert_saml_provider(&s1).await.unwrap();
    tx.insert_saml_provider(&s2).await.unwrap();
    assert!(matches!(
        tx.insert_oidc_provider(&o1).await,
        Err(StoreError::Conflict(Conflict::IamProvider))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.insert_oidc_provider(&o1).await.unwrap();
    tx.insert_oidc_provider(&o2).await.unwrap();
    tx.insert_saml_provider(&s1).await.unwrap();
    tx.insert_saml_provider(&s2).await.unwrap();
    assert!(matches!(
        tx.insert_saml_provider(&s1).await,
        Err(StoreError::Conflict(Conflict::IamProvider))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    for o in [&o1, &o2] {
        tx.insert_oidc_provider(o).await.unwrap();
    }
    for s in [&s1, &s2] {
        tx.insert_saml_provider(s).await.unwrap();
    }
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.list_oidc_providers().await.unwrap(),
        vec![o2.clone(), o1.clone()]
    );
    assert_eq!(
        tx.list_saml_providers().await.unwrap(),
        vec![s2.clone(), s1.clone()]
    );
    let mut o1b = o1.clone();
    o1b.client_ids.push("client-b".into());
    o1b.thumbprints = vec!["b".repeat(40)];
    tx.update_oidc_provider(&o1b).await.unwrap();
    let mut s1b = s1.clone();
    s1b.metadata_document = "<EntityDescriptor v='2'/>".into();
    s1b.valid_until = None;
    tx.update_saml_provider(&s1b).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_oidc_provider(&o1.arn).await.unwrap(), Some(o1b));
    assert_eq!(tx.get_saml_provider(&s1.arn).await.unwrap(), Some(s1b));
    assert!(tx.delete_oidc_provider(&o2.arn).await.unwrap());
    assert!(!tx.delete_oidc_provider(&o2.arn).await.unwrap());
    assert!(tx.delete_saml_provider(&s2.arn).await.unwrap());
    assert!(!tx.delete_saml_provider(&s2.arn).await.unwrap());
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_oidc_provider(&o2.arn).await.unwrap(), None);
    assert_eq!(tx.get_saml_provider(&s2.arn).await.unwrap(), None);
    assert_eq!(tx.list_oidc_providers().await.unwrap().len(), 1);
    assert_eq!(tx.list_saml_providers().await.unwrap().len(), 1);
}

pub async fn iam_role_sessions_round_trip_and_sweep(store: Arc<dyn Store>) {
    use tessera_domain::iam::RoleSession;
    use tessera_domain::identity::SessionGrant;
    let session = |key: &str, expires: i64| RoleSession {
        access_key_id: key.into(),
        sealed_secret: vec![1, 2, 3],
        token_hash: vec![4, 5, 6],
        issued_at: Timestamp::from_millis(1_000),
        expires_at: Timestamp::from_millis(expires),
        grant: SessionGrant {
            role_arn: format!("arn:aws:iam::{ACCOUNT}:role/r"),
            principal_arn: format!("arn:aws:sts::{ACCOUNT}:assumed-role/r/s"),
            user_id: "AROAEXAMPLE:s".into(),
            amr: vec![],
            session_policy: Some("{}".into()),
            principal_tags: Default::default(),
        },
    };
    let (a, b) = (
        session("ASIAAAAAAAAAAAAAAAAA", 5_000),
        session("ASIABBBBBBBBBBBBBBBB", 9_000),
    );
    let mut tx = store.begin().await.unwrap();
    tx.insert_role_session(&a).await.unwrap();
    tx.insert_role_session(&b).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.insert_role_session(&a).await,
        Err(StoreError::Conflict(Conflict::AccessKey))
    ));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.get_role_session(&a.access_key_id).await.unwrap(),
        Some(a.clone())
    );
    assert_eq!(tx.get_role_session("ASIANOPE").await.unwrap(), None);
    assert_eq!(
        tx.sweep_role_sessions(Timestamp::from_millis(5_000))
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let mut tx = store.read().await.unwrap();
    assert_eq!(tx.get_role_session(&a.access_key_id).await.unwrap(), None);
    assert_eq!(
        tx.get_role_session(&b.access_key_id).await.unwrap(),
        Some(b)
    );
}
