//! Conformance checks for [`crate::ResealTx`].

use super::federation::{provider, sp_keys};
use super::user_import::job;
use super::{client, identity, identity_pool, pool, seed_pool, seed_user, t, user};
use crate::reseal::{SamlKeyUse, SealedPlace, SealedSlot, SealedValue, UserSecret};
use crate::{KeyUse, Store, StoredKey, UserLookup};
use std::sync::Arc;
use tessera_domain::client::{ClientSecret, SealedSecret};
use tessera_domain::user::SrpCredential;

/// Every sealed value of every place, read in pages of one row.
async fn every_sealed_value(store: &dyn Store) -> Vec<SealedValue> {
    let mut all = Vec::new();
    for place in SealedPlace::ALL {
        let mut after = None;
        loop {
            let mut tx = store.read().await.unwrap();
            let page = tx.sealed_values(place, after.as_deref(), 1).await.unwrap();
            all.extend(page.values);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
    }
    all
}

fn moved(sealed: &[u8]) -> Vec<u8> {
    [sealed, b"!"].concat()
}

pub async fn sealed_values_are_found_everywhere_and_replaced_by_compare_and_set(
    store: Arc<dyn Store>,
) {
    let p = pool("us-east-1_SEAL");
    seed_pool(&*store, &p).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_signing_key(&StoredKey {
        pool_id: p.id.clone(),
        kid: "kid-1".into(),
        key_use: KeyUse::Id,
        sealed_private: b"signing".to_vec(),
        public_jwk: "{}".into(),
        created_at: t(0),
        activated_at: Some(t(0)),
        retired_at: None,
        revoked_at: None,
    })
    .await
    .unwrap();
    let mut c = client(&p, "sealclient1");
    c.secrets = vec![
        ClientSecret {
            sealed: SealedSecret(b"secret-1".to_vec()),
            created_at: t(10),
        },
        ClientSecret {
            sealed: SealedSecret(b"secret-2".to_vec()),
            created_at: t(20),
        },
    ];
    tx.insert_client(&c).await.unwrap();
    // A client without a secret holds nothing sealed.
    let mut public = client(&p, "sealclient2");
    public.secrets.clear();
    tx.insert_client(&public).await.unwrap();
    tx.commit().await.unwrap();

    let mut u = user(&p, 1, "sealed");
    u.srp = Some(SrpCredential {
        salt: vec![7; 16],
        sealed_verifier: b"verifier".to_vec(),
    });
    u.mfa.totp_secret = Some(b"totp".to_vec());
    u.mfa.pending_totp_secret = Some(b"pending".to_vec());
    seed_user(&*store, &u, &[]).await;
    // Without sealed credentials: nothing to find.
    seed_user(&*store, &user(&p, 2, "plain"), &[]).await;
    // An update journals the before-image, credentials and all.
    let mut tx = store.begin().await.unwrap();
    let mut renamed = u.clone();
    renamed
        .attributes
        .insert("given_name".into(), "Changed".into());
    tx.update_user(&renamed, &[]).await.unwrap();
    tx.insert_device(&tessera_domain::devices::Device {
        pool_id: p.id.clone(),
        sub: u.sub,
        key: "us-east-1_00000001-0000-4000-8000-000000000000".into(),
        group_key: "grp".into(),
        name: None,
        salt: Some(vec![1]),
        sealed_verifier: Some(b"device".to_vec()),
        remembered: true,
        created_at: t(1),
        modified_at: t(1),
        last_authenticated_at: None,
    })
    .await
    .unwrap();
    let mut idp = provider(&p, "Corp", &[]);
    idp.sealed = [
        ("client_secret".to_string(), b"idp-secret".to_vec()),
        ("private_key".to_string(), b"idp-key".to_vec()),
    ]
    .into();
    tx.insert_identity_provider(&idp).await.unwrap();
    let mut keys = sp_keys(&p, "sp");
    keys.sealed_signing_key = b"saml-signing".to_vec();
    keys.sealed_encryption_key = b"saml-encryption".to_vec();
    assert!(tx.insert_saml_sp_keys(&keys).await.unwrap());
    let mut import = job(&p, "import-1", 1);
    import.sealed_upload_token = b"upload".to_vec();
    tx.insert_import_job(&import).await.unwrap();
    tx.insert_identity_signing_key(&crate::IdentitySigningKey {
        kid: "identity-kid".into(),
        sealed_private: b"identity-key".to_vec(),
        public_jwk: "{}".into(),
        created_at: t(0),
    })
    .await
    .unwrap();
    let grant = tessera_domain::identity::SessionGrant {
        role_arn: "arn:aws:iam::000000000000:role/R".into(),
        principal_arn: "arn:aws:sts::000000000000:assumed-role/R/s".into(),
        user_id: "AROAEXAMPLE:s".into(),
        amr: vec![],
        session_policy: None,
        principal_tags: Default::default(),
    };
    tx.insert_role_session(&tessera_domain::iam::RoleSession {
        access_key_id: "ASIAROLEROLEROLEROLE".into(),
        sealed_secret: b"role".to_vec(),
        token_hash: vec![1; 32],
        issued_at: t(0),
        expires_at: t(3_600_000),
        grant: grant.clone(),
    })
    .await
    .unwrap();
    let ip = identity_pool(7);
    let who = identity(&ip, 1, &[]);
    tx.insert_identity_pool(&ip).await.unwrap();
    tx.insert_identity(&who).await.unwrap();
    tx.insert_sts_session(&tessera_domain::identity::StsSession {
        access_key_id: "ASIAIDENTITYIDENTITY".into(),
        sealed_secret: b"identity-credentials".to_vec(),
        token_hash: vec![2; 32],
        identity_id: who.id.clone(),
        pool_id: who.pool_id.clone(),
        issued_at: t(0),
        expires_at: t(3_600_000),
        grant,
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let found = every_sealed_value(&*store).await;
    let value = |slot: SealedSlot, sealed: &[u8]| SealedValue {
        slot,
        sealed: sealed.to_vec(),
    };
    let user_slot = |secret| SealedSlot::User {
        pool: p.id.clone(),
        sub: u.sub,
        secret,
    };
    let mut expected = vec![
        value(
            SealedSlot::SigningKey {
                pool: p.id.clone(),
                kid: "kid-1".into(),
            },
            b"signing",
        ),
        value(
            SealedSlot::ClientSecret {
                pool: p.id.clone(),
                client: c.client_id.clone(),
                created_at: t(10),
            },
            b"secret-1",
        ),
        value(
            SealedSlot::ClientSecret {
                pool: p.id.clone(),
                client: c.client_id.clone(),
                created_at: t(20),
            },
            b"secret-2",
        ),
        value(user_slot(UserSecret::SrpVerifier), b"verifier"),
        value(user_slot(UserSecret::TotpSecret), b"totp"),
        value(user_slot(UserSecret::PendingTotpSecret), b"pending"),
        value(
            SealedSlot::DeviceVerifier {
                pool: p.id.clone(),
                device_key: "us-east-1_00000001-0000-4000-8000-000000000000".into(),
            },
            b"device",
        ),
        value(
            SealedSlot::IdentityProviderSecret {
                pool: p.id.clone(),
                provider: "Corp".into(),
                detail: "client_secret".into(),
            },
            b"idp-secret",
        ),
        value(
            SealedSlot::IdentityProviderSecret {
                pool: p.id.clone(),
                provider: "Corp".into(),
                detail: "private_key".into(),
            },
            b"idp-key",
        ),
        value(
            SealedSlot::SamlSpKey {
                pool: p.id.clone(),
                key_use: SamlKeyUse::Signing,
            },
            b"saml-signing",
        ),
        value(
            SealedSlot::SamlSpKey {
                pool: p.id.clone(),
                key_use: SamlKeyUse::Encryption,
            },
            b"saml-encryption",
        ),
        value(
            SealedSlot::IdentitySigningKey {
                kid: "identity-kid".into(),
            },
            b"identity-key",
        ),
        value(
            SealedSlot::IdentityCredentials {
                access_key_id: "ASIAIDENTITYIDENTITY".into(),
            },
            b"identity-credentials",
        ),
        value(
            SealedSlot::RoleSessionCredentials {
                access_key_id: "ASIAROLEROLEROLEROLE".into(),
            },
            b"role",
        ),
        value(
            SealedSlot::ImportUploadToken {
                pool: p.id.clone(),
                job_id: "import-1".into(),
            },
            b"upload",
        ),
    ];
    // The journal's before-image holds the same three credentials, at its own sequence number.
    let journaled: Vec<&SealedValue> = found
        .iter()
        .filter(|v| matches!(v.slot, SealedSlot::UserHistory { .. }))
        .collect();
    assert_eq!(journaled.len(), 3, "{journaled:?}");
    for v in &journaled {
        let SealedSlot::UserHistory {
            pool, sub, secret, ..
        } = &v.slot
        else {
            unreachable!()
        };
        assert_eq!((pool, sub), (&p.id, &u.sub));
        let want: &[u8] = match secret {
            UserSecret::SrpVerifier => b"verifier",
            UserSecret::TotpSecret => b"totp",
            UserSecret::PendingTotpSecret => b"pending",
        };
        assert_eq!(v.sealed, want);
    }
    expected.extend(journaled.iter().map(|v| (*v).clone()));
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for e in &expected {
        assert!(found.contains(e), "missing {e:?}");
    }

    // Replacing is a compare-and-set on the value each slot holds.
    let mut tx = store.begin().await.unwrap();
    for v in &found {
        assert!(
            !tx.replace_sealed_value(&v.slot, b"stale", b"lost")
                .await
                .unwrap(),
            "{:?} replaced a value it didn't hold",
            v.slot
        );
        assert!(
            tx.replace_sealed_value(&v.slot, &v.sealed, &moved(&v.sealed))
                .await
                .unwrap(),
            "{:?} not replaced",
            v.slot
        );
    }
    tx.commit().await.unwrap();
    let again = every_sealed_value(&*store).await;
    assert_eq!(again.len(), found.len(), "replacing journaled nothing new");
    for v in &found {
        let want = SealedValue {
            slot: v.slot.clone(),
            sealed: moved(&v.sealed),
        };
        assert!(again.contains(&want), "{:?} not moved", v.slot);
    }

    // The domain reads see the replaced values, and nothing else changed.
    let mut tx = store.read().await.unwrap();
    let read = tx
        .get_user(&p.id, &UserLookup::Sub(u.sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.srp.as_ref().unwrap().sealed_verifier, b"verifier!");
    assert_eq!(read.mfa.totp_secret.as_deref(), Some(&b"totp!"[..]));
    assert_eq!(
        read.mfa.pending_totp_secret.as_deref(),
        Some(&b"pending!"[..])
    );
    assert_eq!(read.modified_at, renamed.modified_at);
    assert_eq!(read.attributes, renamed.attributes);
    let read = tx.get_client(&c.client_id).await.unwrap().unwrap();
    let secrets: Vec<(&[u8], _)> = read
        .secrets
        .iter()
        .map(|s| (s.sealed.0.as_slice(), s.created_at))
        .collect();
    assert_eq!(
        secrets,
        vec![(&b"secret-1!"[..], t(10)), (&b"secret-2!"[..], t(20))]
    );
    let key = tx.signing_keys(&p.id).await.unwrap();
    assert_eq!(key[0].sealed_private, b"signing!");
    let idp = tx
        .get_identity_provider(&p.id, "Corp")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(idp.sealed["private_key"], b"idp-key!");
    let read = tx.saml_sp_keys(&p.id).await.unwrap().unwrap();
    assert_eq!(read.sealed_encryption_key, b"saml-encryption!");
    assert_eq!(read.signing_certificate, keys.signing_certificate);
    let read = tx.get_import_job(&p.id, "import-1").await.unwrap().unwrap();
    assert_eq!(read.sealed_upload_token, b"upload!");
    assert_eq!(
        tx.get_role_session("ASIAROLEROLEROLEROLE")
            .await
            .unwrap()
            .unwrap()
            .sealed_secret,
        b"role!"
    );
}
