//! Storage for master-key rotation: every value the engine sealed with the master key and left at
//! rest, found where it is kept and replaced in place. A supertrait of [`crate::Tx`].
//!
//! The store doesn't open anything: it hands out sealed bytes with the domain names that make up
//! their sealing purpose, and writes back what the engine sealed again.
//!
//! Rules every backend keeps:
//! - [`ResealTx::sealed_values`] pages through the rows of one [`SealedPlace`] in a stable order;
//!   a row may hold several values (a client's two secrets, a user's verifier and TOTP secrets),
//!   which come in the same page. Rows without a sealed value are skipped.
//! - [`ResealTx::replace_sealed_value`] is a compare-and-set: it writes only while the slot still
//!   holds `expected`, so a concurrent change (a new TOTP secret, a rotated client secret) is
//!   never overwritten with an older value; it returns false and the value is left as it is.
//! - Replacing changes nothing else: no modification time, no point-in-time-recovery journal
//!   entry (the logical content is the same).

use crate::StoreResult;
use async_trait::async_trait;
use tessera_domain::{ClientId, Sub, Timestamp, UserPoolId};

/// Where sealed values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealedPlace {
    /// User pools' token signing keys.
    SigningKeys,
    /// App clients' secrets (both slots).
    ClientSecrets,
    /// Users' SRP verifiers and TOTP secrets (confirmed and pending).
    UserCredentials,
    /// Remembered devices' SRP verifiers.
    DeviceVerifiers,
    /// User-pool identity providers' secret details (client secrets, private keys).
    IdentityProviderSecrets,
    /// User pools' SAML SP private keys.
    SamlSpKeys,
    /// The identity pools' OpenID token signing keys.
    IdentitySigningKeys,
    /// Secrets of credentials issued to identity-pool identities.
    IdentityCredentials,
    /// Secrets of credentials issued to role sessions (AssumeRole…).
    RoleSessionCredentials,
    /// User import jobs' upload tokens.
    ImportUploadTokens,
    /// Users' credentials in the point-in-time-recovery journal's before-images.
    UserHistory,
}

impl SealedPlace {
    pub const ALL: [SealedPlace; 11] = [
        SealedPlace::SigningKeys,
        SealedPlace::ClientSecrets,
        SealedPlace::UserCredentials,
        SealedPlace::DeviceVerifiers,
        SealedPlace::IdentityProviderSecrets,
        SealedPlace::SamlSpKeys,
        SealedPlace::IdentitySigningKeys,
        SealedPlace::IdentityCredentials,
        SealedPlace::RoleSessionCredentials,
        SealedPlace::ImportUploadTokens,
        SealedPlace::UserHistory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SealedPlace::SigningKeys => "signing keys",
            SealedPlace::ClientSecrets => "client secrets",
            SealedPlace::UserCredentials => "user credentials (SRP verifiers, TOTP secrets)",
            SealedPlace::DeviceVerifiers => "device verifiers",
            SealedPlace::IdentityProviderSecrets => "identity provider secrets",
            SealedPlace::SamlSpKeys => "SAML SP keys",
            SealedPlace::IdentitySigningKeys => "identity pool signing keys",
            SealedPlace::IdentityCredentials => "identity credentials",
            SealedPlace::RoleSessionCredentials => "role session credentials",
            SealedPlace::ImportUploadTokens => "user import upload tokens",
            SealedPlace::UserHistory => "user credentials in the recovery journal",
        }
    }
}

/// Which of a user's sealed credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserSecret {
    SrpVerifier,
    TotpSecret,
    /// Associated but not yet verified.
    PendingTotpSecret,
}

/// One sealed value's place, in the domain names its sealing purpose is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedSlot {
    SigningKey {
        pool: UserPoolId,
        kid: String,
    },
    /// The client's secret created at `created_at` (its ClientSecretId).
    ClientSecret {
        pool: UserPoolId,
        client: ClientId,
        created_at: Timestamp,
    },
    User {
        pool: UserPoolId,
        sub: Sub,
        secret: UserSecret,
    },
    DeviceVerifier {
        pool: UserPoolId,
        device_key: String,
    },
    /// One secret `ProviderDetails` key of a provider.
    IdentityProviderSecret {
        pool: UserPoolId,
        provider: String,
        detail: String,
    },
    /// `signing` or `encryption`.
    SamlSpKey {
        pool: UserPoolId,
        key_use: SamlKeyUse,
    },
    IdentitySigningKey {
        kid: String,
    },
    IdentityCredentials {
        access_key_id: String,
    },
    RoleSessionCredentials {
        access_key_id: String,
    },
    ImportUploadToken {
        pool: UserPoolId,
        job_id: String,
    },
    /// A user's credential in journal entry `seq`'s before-image.
    UserHistory {
        seq: i64,
        pool: UserPoolId,
        sub: Sub,
        secret: UserSecret,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamlKeyUse {
    Signing,
    Encryption,
}

impl SamlKeyUse {
    pub fn as_str(self) -> &'static str {
        match self {
            SamlKeyUse::Signing => "signing",
            SamlKeyUse::Encryption => "encryption",
        }
    }
}

/// A sealed value and where it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedValue {
    pub slot: SealedSlot,
    pub sealed: Vec<u8>,
}

/// A page of [`ResealTx::sealed_values`]: `next` is the cursor of the page after, None at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SealedPage {
    pub values: Vec<SealedValue>,
    pub next: Option<String>,
}

#[async_trait]
pub trait ResealTx: Send {
    /// The sealed values of up to `rows` rows of `place`, after the cursor `after` (from the
    /// previous page; None for the first).
    async fn sealed_values(
        &mut self,
        place: SealedPlace,
        after: Option<&str>,
        rows: usize,
    ) -> StoreResult<SealedPage>;
    /// Puts `sealed` in `slot` if it still holds `expected`; returns whether it did.
    async fn replace_sealed_value(
        &mut self,
        slot: &SealedSlot,
        expected: &[u8],
        sealed: &[u8],
    ) -> StoreResult<bool>;
}
