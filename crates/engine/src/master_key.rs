//! Master-key rotation (`tessera master-key rotate`): every secret sealed at rest is opened with
//! whichever key of the ring sealed it and sealed again with the current key, page by page, each
//! page in its own transaction, while nodes keep serving (they hold the new key and the previous
//! ones, so they open values on either side of the re-seal).
//!
//! What is re-sealed: everything the store keeps sealed for longer than a sign-in — pools'
//! signing keys, client secrets (both slots), users' SRP verifiers and TOTP secrets (confirmed
//! and pending), device verifiers, identity-provider secrets, SAML SP keys, the identity pools'
//! OpenID signing keys, issued AWS credentials' secrets (identity pools and role sessions), user
//! import upload tokens, users' credentials in the point-in-time-recovery journal, and the
//! deployment's own sealed values (the master-key check and the derive secret).
//!
//! What is not: values that live minutes to days and then expire. In the store: auth sessions
//! (SRP `b`, MFA_SETUP secrets; at most 15 minutes). Handed to clients: console session cookies,
//! Cognito Sync session tokens (one hour) and threat-protection feedback links (seven days, the
//! longest). They keep opening while the previous key is configured, so it must stay configured
//! for seven days after the rotation for every feedback link to keep working (or one hour if
//! losing feedback links is acceptable).
//!
//! Derived values ([`Keyring::derive`]: fake SRP salts of unknown users, the forward-auth signing
//! key, outbox and passkey decoys…) must not change with the key, so they come from a *derive
//! secret* kept sealed in the store ([`DERIVE_SECRET`]): at first, the secret the store's original
//! key always derived with; re-sealed like any other value afterwards, never regenerated.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use serde::Serialize;
use tessera_crypto::seal::{KeyId, Keyring, MasterKey, Reseal};
use tessera_store::reseal::{SealedPlace, SealedSlot, UserSecret};
use zeroize::Zeroizing;

/// The deployment value holding the derive secret, sealed.
pub(crate) const DERIVE_SECRET: &str = "master-key-derive-secret";

/// Passes over the store at most, when requests keep writing back values read before a pass.
const PASSES: usize = 3;

/// Deployment values sealed with the master key (sealed with their own name as purpose).
const SEALED_META: [&str; 2] = [crate::keys::MASTER_KEY_CHECK, DERIVE_SECRET];

/// The sealing purpose of a value kept at `slot`: the one the code that sealed it used.
fn purpose(slot: &SealedSlot) -> String {
    match slot {
        SealedSlot::SigningKey { pool, kid } => crate::keys::purpose(pool, kid),
        SealedSlot::ClientSecret { client, .. } => crate::clients::secret_purpose(client),
        SealedSlot::User { pool, sub, secret }
        | SealedSlot::UserHistory {
            pool, sub, secret, ..
        } => match secret {
            UserSecret::SrpVerifier => crate::srp::verifier_purpose(pool, sub),
            UserSecret::TotpSecret | UserSecret::PendingTotpSecret => {
                crate::signin::totp_purpose_of(pool, sub)
            }
        },
        SealedSlot::DeviceVerifier { pool, device_key } => {
            crate::devices::device_verifier_purpose(pool, device_key)
        }
        SealedSlot::IdentityProviderSecret {
            pool,
            provider,
            detail,
        } => crate::identity_providers::secret_purpose(pool, provider, detail),
        SealedSlot::SamlSpKey { pool, key_use } => crate::saml::key_purpose(pool, key_use.as_str()),
        SealedSlot::IdentitySigningKey { .. } => crate::identity::openid::SEALING_PURPOSE.into(),
        SealedSlot::IdentityCredentials { access_key_id } => {
            crate::identity::credentials::sealing_purpose(access_key_id)
        }
        SealedSlot::RoleSessionCredentials { access_key_id } => {
            crate::sts::sealing_purpose(access_key_id)
        }
        SealedSlot::ImportUploadToken { pool, job_id } => {
            crate::user_import::token_purpose(pool, job_id)
        }
    }
}

/// What a re-seal did in one place.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ResealCount {
    pub place: &'static str,
    /// Sealed again with the current key.
    pub resealed: u64,
    /// Under the current key already (skipped unopened).
    pub already_current: u64,
    /// Changed by a concurrent write between read and replace (left as written: the writer
    /// sealed it with a key of its ring; a re-run catches it if that was a previous key).
    pub changed_meanwhile: u64,
    /// Opened with no key of the ring: sealed with a key this node wasn't given.
    pub unopenable: u64,
}

/// What `reseal_master_key` did: per place, plus the deployment's own sealed values.
#[derive(Clone, Debug, Serialize)]
pub struct ResealReport {
    /// The current key's id (hex), which every re-sealed value now names.
    pub key_id: String,
    pub places: Vec<ResealCount>,
}

impl ResealReport {
    pub fn unopenable(&self) -> u64 {
        self.places.iter().map(|c| c.unopenable).sum()
    }

    /// Values still under a previous key (unopenable, or changed and possibly sealed by a node
    /// still on the previous key): a re-run is needed before the previous key goes.
    pub fn left_behind(&self) -> u64 {
        self.places
            .iter()
            .map(|c| c.unopenable + c.changed_meanwhile)
            .sum()
    }
}

/// A key id as printed (the ids say which key sealed a value; they reveal nothing of the key).
pub fn key_id_hex(id: &KeyId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

impl Engine {
    /// The ids of the current master key and the previous ones this node holds.
    pub fn master_key_ids(&self) -> (String, Vec<String>) {
        let (current, previous) = self.inner.master.key_ids();
        (
            key_id_hex(&current),
            previous.iter().map(key_id_hex).collect(),
        )
    }

    /// Replaces this node's master keys (a rotated key file was picked up).
    pub fn replace_master_keys(&self, current: MasterKey, previous: Vec<MasterKey>) {
        self.inner.master.replace(current, previous);
    }

    /// Makes derived values come from the store's derive secret, storing it first if the store
    /// has none yet (the secret of the key that sealed `check`, the store's master-key check:
    /// the key its derived values have always come from).
    pub(crate) async fn install_derive_secret(&self, check: &[u8]) -> EngineResult<()> {
        let master = &self.inner.master;
        let sealed = {
            let mut tx = self.inner.store.read().await?;
            tx.get_meta(DERIVE_SECRET).await?
        };
        let sealed = match sealed {
            Some(s) => s,
            None => {
                let secret = master
                    .derive_secret_of(crate::keys::MASTER_KEY_CHECK, check)
                    .map_err(|_| {
                        EngineError::Internal("the master key check doesn't open".into())
                    })?;
                let fresh = master.seal(DERIVE_SECRET, secret.as_ref());
                let mut tx = self.inner.store.begin().await?;
                tx.insert_meta(DERIVE_SECRET, &fresh).await?;
                // Another node may have written it first: use whatever is stored.
                let stored = tx.get_meta(DERIVE_SECRET).await?;
                tx.commit().await?;
                stored.unwrap_or(fresh)
            }
        };
        let plain = master.open(DERIVE_SECRET, &sealed).map_err(|_| {
            EngineError::Internal("the stored derive secret opens with no master key given".into())
        })?;
        let secret: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| EngineError::Internal("the stored derive secret is malformed".into()))?;
        master.install_derive_secret(Zeroizing::new(secret));
        Ok(())
    }

    /// Re-seals every secret at rest with the current master key, `rows` rows per transaction,
    /// then the deployment's own sealed values. Harmless to repeat: values under the current key
    /// are skipped without being opened.
    ///
    /// A request that read a row before it was re-sealed may write it back afterwards with the
    /// value it read; so passes repeat (at most [`PASSES`]) until one finds nothing to do.
    /// `resealed` counts all passes, `already_current` the first (what this run found done), the
    /// problems the last.
    pub async fn reseal_master_key(&self, rows: usize) -> EngineResult<ResealReport> {
        let master: &Keyring = &self.inner.master;
        let mut places = self.reseal_pass(rows).await?;
        let moved = |counts: &[ResealCount]| {
            counts
                .iter()
                .any(|c| c.resealed > 0 || c.changed_meanwhile > 0)
        };
        let mut last_moved = moved(&places);
        for _ in 1..PASSES {
            if !last_moved {
                break;
            }
            let again = self.reseal_pass(rows).await?;
            last_moved = moved(&again);
            for (total, last) in places.iter_mut().zip(again) {
                total.resealed += last.resealed;
                total.changed_meanwhile = last.changed_meanwhile;
                total.unopenable = last.unopenable;
            }
        }
        // Last, and only once nothing is left under a previous key: until then the master-key
        // check still needs the previous key, so a node given only the new key refuses to start
        // rather than fail on values the rotation hasn't reached.
        let mut report = ResealReport {
            key_id: key_id_hex(&master.key_ids().0),
            places,
        };
        if report.left_behind() == 0 {
            report.places.push(self.reseal_meta().await?);
        }
        Ok(report)
    }

    /// One pass over every place.
    async fn reseal_pass(&self, rows: usize) -> EngineResult<Vec<ResealCount>> {
        let master: &Keyring = &self.inner.master;
        let mut places = Vec::new();
        for place in SealedPlace::ALL {
            let mut count = ResealCount {
                place: place.as_str(),
                ..Default::default()
            };
            let mut after: Option<String> = None;
            loop {
                let mut tx = self.inner.store.begin().await?;
                let page = tx.sealed_values(place, after.as_deref(), rows).await?;
                for value in &page.values {
                    match master.reseal(&purpose(&value.slot), &value.sealed) {
                        Ok(Reseal::Current) => count.already_current += 1,
                        Ok(Reseal::Resealed(fresh)) => {
                            if tx
                                .replace_sealed_value(&value.slot, &value.sealed, &fresh)
                                .await?
                            {
                                count.resealed += 1;
                            } else {
                                count.changed_meanwhile += 1;
                            }
                        }
                        Err(_) => count.unopenable += 1,
                    }
                }
                tx.commit().await?;
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            places.push(count);
        }
        Ok(places)
    }

    /// The deployment's own sealed values.
    async fn reseal_meta(&self) -> EngineResult<ResealCount> {
        let master = &self.inner.master;
        let mut count = ResealCount {
            place: "deployment values (master key check, derive secret)",
            ..Default::default()
        };
        let mut tx = self.inner.store.begin().await?;
        for name in SEALED_META {
            let Some(sealed) = tx.get_meta(name).await? else {
                continue;
            };
            match master.reseal(name, &sealed) {
                Ok(Reseal::Current) => count.already_current += 1,
                Ok(Reseal::Resealed(fresh)) => {
                    tx.put_meta(name, &fresh).await?;
                    count.resealed += 1;
                }
                Err(_) => count.unopenable += 1,
            }
        }
        tx.commit().await?;
        Ok(count)
    }
}
