//! Passkey ceremonies (WebAuthn registration and assertion), verified by webauthn-rs's core.
//!
//! The core is used directly rather than webauthn-rs's passkey wrapper because Cognito lets a
//! pool ask for user verification as `preferred` (the wrapper always requires it), and because
//! its ceremony states serialise without a "danger" feature: they are kept server-side, in the
//! store, by the caller. What verification covers: the challenge, the origin (one of the
//! accepted origins exactly), the RP id hash, user presence, user verification as the policy
//! says, the attestation (formats none and packed among those the core verifies; attestation
//! is not required to chain to a CA), and the sign counter (a counter that goes backwards is
//! refused as a possibly cloned authenticator).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use std::time::Duration;
use url::Url;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AuthenticationState, Credential, PublicKeyCredential, RegisterPublicKeyCredential,
    RegistrationState, UserVerificationPolicy,
};

/// Why a ceremony failed, in the terms Cognito's errors use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasskeyError {
    #[error("the origin is not allowed")]
    Origin,
    #[error("the credential is for another relying party")]
    RelyingParty,
    #[error("the challenge does not match")]
    Challenge,
    #[error("the authenticator did not verify the user")]
    UserNotVerified,
    #[error("the credential is not supported: {0}")]
    Unsupported(String),
    #[error("the credential's sign counter went backwards")]
    Counter,
    #[error("invalid credential: {0}")]
    Invalid(String),
}

impl From<WebauthnError> for PasskeyError {
    fn from(e: WebauthnError) -> Self {
        match e {
            WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => Self::Origin,
            WebauthnError::InvalidRPIDHash => Self::RelyingParty,
            WebauthnError::MismatchedChallenge | WebauthnError::ChallengeNotFound => {
                Self::Challenge
            }
            WebauthnError::UserNotVerified => Self::UserNotVerified,
            WebauthnError::CredentialPossibleCompromise => Self::Counter,
            WebauthnError::COSEKeyInvalidType
            | WebauthnError::COSEKeyInvalidAlgorithm
            | WebauthnError::CredentialInsecureCryptography
            | WebauthnError::AttestationNotSupported => Self::Unsupported(e.to_string()),
            other => Self::Invalid(other.to_string()),
        }
    }
}

pub type PasskeyResult<T> = Result<T, PasskeyError>;

/// A relying party: its id, the origins it accepts, and how long a ceremony may take.
pub struct RelyingParty {
    core: WebauthnCore,
    rp_id: String,
    timeout: Duration,
}

/// A registered credential, ready to store.
#[derive(Clone, Debug)]
pub struct Registered {
    /// base64url, unpadded.
    pub credential_id: String,
    /// The verified credential (public key, counter, flags), serialised.
    pub credential: String,
    pub attachment: Option<String>,
    pub transports: Vec<String>,
}

/// A verified assertion.
#[derive(Clone, Debug)]
pub struct Asserted {
    pub credential_id: String,
    /// The stored credential with its counter and backup flags brought up to date.
    pub credential: String,
}

fn policy(user_verification_required: bool) -> UserVerificationPolicy {
    if user_verification_required {
        UserVerificationPolicy::Required
    } else {
        UserVerificationPolicy::Preferred
    }
}

fn invalid(e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Invalid(e.to_string())
}

/// The credential id a client's response names (`rawId`, else `id`), base64url.
pub fn response_credential_id(response: &Value) -> Option<String> {
    let id = response
        .get("rawId")
        .or_else(|| response.get("id"))?
        .as_str()?;
    let bytes = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

impl RelyingParty {
    /// `origins` are absolute origins (`https://auth.example.com`); at least one is needed.
    pub fn new(rp_id: &str, origins: &[String], timeout: Duration) -> PasskeyResult<Self> {
        let origins: Vec<Url> = origins
            .iter()
            .map(|o| Url::parse(o).map_err(invalid))
            .collect::<PasskeyResult<_>>()?;
        if origins.is_empty() || rp_id.is_empty() {
            return Err(PasskeyError::Invalid("no relying party origins".into()));
        }
        Ok(Self {
            core: WebauthnCore::new_unsafe_experts_only(
                rp_id,
                rp_id,
                origins,
                timeout,
                Some(false),
                Some(false),
            ),
            rp_id: rp_id.to_string(),
            timeout,
        })
    }

    pub fn id(&self) -> &str {
        &self.rp_id
    }

    /// Options for `navigator.credentials.create()` (the `publicKey` member, as Cognito's
    /// CredentialCreationOptions) and the state to keep until the response arrives.
    pub fn start_registration(
        &self,
        user_handle: &[u8],
        name: &str,
        display_name: &str,
        user_verification_required: bool,
        exclude: &[String],
    ) -> PasskeyResult<(Value, String)> {
        let exclude: Vec<Vec<u8>> = exclude
            .iter()
            .filter_map(|id| URL_SAFE_NO_PAD.decode(id).ok())
            .collect();
        let builder = self
            .core
            .new_challenge_register_builder(user_handle, name, display_name)?
            .user_verification_policy(policy(user_verification_required))
            .exclude_credentials((!exclude.is_empty()).then_some(exclude))
            .require_resident_key(true);
        let (options, state) = self.core.generate_challenge_register(builder)?;
        let options = serde_json::to_value(options.public_key).map_err(invalid)?;
        Ok((options, serde_json::to_string(&state).map_err(invalid)?))
    }

    /// Verifies a registration response (RegistrationResponseJSON) against its state.
    pub fn finish_registration(&self, response: &Value, state: &str) -> PasskeyResult<Registered> {
        let state: RegistrationState = serde_json::from_str(state).map_err(invalid)?;
        let reg: RegisterPublicKeyCredential =
            serde_json::from_value(response.clone()).map_err(invalid)?;
        let credential = self.core.register_credential(&reg, &state, None)?;
        let transports = reg
            .response
            .transports
            .iter()
            .flatten()
            .filter_map(|t| serde_json::to_value(t).ok())
            .filter_map(|t| t.as_str().map(str::to_string))
            .filter(|t| t != "unknown")
            .collect();
        Ok(Registered {
            credential_id: URL_SAFE_NO_PAD.encode(&credential.cred_id),
            credential: serde_json::to_string(&credential).map_err(invalid)?,
            attachment: response
                .get("authenticatorAttachment")
                .and_then(Value::as_str)
                .filter(|a| matches!(*a, "platform" | "cross-platform"))
                .map(str::to_string),
            transports,
        })
    }

    /// Options for `navigator.credentials.get()` over the user's stored credentials (the
    /// `publicKey` member, as Cognito's CREDENTIAL_REQUEST_OPTIONS) and the state to keep.
    pub fn start_assertion(
        &self,
        credentials: &[String],
        user_verification_required: bool,
    ) -> PasskeyResult<(Value, String)> {
        let creds: Vec<Credential> = credentials
            .iter()
            .map(|c| serde_json::from_str(c).map_err(invalid))
            .collect::<PasskeyResult<_>>()?;
        let builder = self
            .core
            .new_challenge_authenticate_builder(creds, Some(policy(user_verification_required)))?;
        let (options, state) = self.core.generate_challenge_authenticate(builder)?;
        let options = serde_json::to_value(options.public_key).map_err(invalid)?;
        Ok((options, serde_json::to_string(&state).map_err(invalid)?))
    }

    /// Options shaped like [`RelyingParty::start_assertion`]'s for credentials that don't
    /// exist (a name that matches nobody): a fresh challenge, and ids nobody holds.
    pub fn decoy_assertion_options(
        &self,
        credential_ids: &[Vec<u8>],
        user_verification_required: bool,
        challenge: &[u8],
    ) -> Value {
        let allow: Vec<Value> = credential_ids
            .iter()
            .map(|id| serde_json::json!({ "type": "public-key", "id": URL_SAFE_NO_PAD.encode(id) }))
            .collect();
        serde_json::json!({
            "challenge": URL_SAFE_NO_PAD.encode(challenge),
            "timeout": u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            "rpId": self.rp_id,
            "allowCredentials": allow,
            "userVerification": policy(user_verification_required),
        })
    }

    /// Verifies an assertion (AuthenticationResponseJSON) against its state, and returns the
    /// credential used — `stored`, the credential as stored now — with its counter and backup
    /// flags brought up to date. A counter at or below the stored one (when either is
    /// non-zero) is refused: another sign-in may have raised it since the challenge was issued.
    pub fn finish_assertion(
        &self,
        response: &Value,
        state: &str,
        stored: &str,
    ) -> PasskeyResult<Asserted> {
        let state: AuthenticationState = serde_json::from_str(state).map_err(invalid)?;
        let rsp: PublicKeyCredential = serde_json::from_value(response.clone()).map_err(invalid)?;
        let result = self.core.authenticate_credential(&rsp, &state)?;
        let mut credential: Credential = serde_json::from_str(stored).map_err(invalid)?;
        if credential.cred_id.as_slice() != result.cred_id().as_slice() {
            return Err(invalid("the stored credential is not the one used"));
        }
        if (result.counter() > 0 || credential.counter > 0)
            && result.counter() <= credential.counter
        {
            return Err(PasskeyError::Counter);
        }
        credential.counter = result.counter();
        credential.backup_state = result.backup_state();
        if result.backup_eligible() {
            credential.backup_eligible = true;
        }
        Ok(Asserted {
            credential_id: URL_SAFE_NO_PAD.encode(result.cred_id()),
            credential: serde_json::to_string(&credential).map_err(invalid)?,
        })
    }
}
