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

#[cfg(test)]
mod tests {
    //! Full ceremonies against a minimal software authenticator: a P-256 key from aws-lc-rs,
    //! the CBOR it needs written out by hand.
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;
    use sha2::{Digest, Sha256};

    const ORIGIN: &str = "https://auth.example.com";
    const RP: &str = "auth.example.com";

    fn head(major: u8, n: u64) -> Vec<u8> {
        let m = major << 5;
        match n {
            0..=23 => vec![m | n as u8],
            24..=255 => vec![m | 24, n as u8],
            _ => {
                let mut v = vec![m | 25];
                v.extend_from_slice(&(n as u16).to_be_bytes());
                v
            }
        }
    }

    fn bytes(b: &[u8]) -> Vec<u8> {
        let mut v = head(2, b.len() as u64);
        v.extend_from_slice(b);
        v
    }

    fn text(s: &str) -> Vec<u8> {
        let mut v = head(3, s.len() as u64);
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn int(i: i64) -> Vec<u8> {
        if i >= 0 {
            head(0, i as u64)
        } else {
            head(1, (-1 - i) as u64)
        }
    }

    fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    struct Authenticator {
        key: EcdsaKeyPair,
        id: Vec<u8>,
        counter: u32,
        uv: bool,
    }

    impl Authenticator {
        fn new(uv: bool) -> Self {
            Self {
                key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap(),
                id: crate::random::bytes::<16>().to_vec(),
                counter: 0,
                uv,
            }
        }

        fn flags(&self, attested: bool) -> u8 {
            0x01 | if self.uv { 0x04 } else { 0 } | if attested { 0x40 } else { 0 }
        }

        fn client_data(kind: &str, options: &Value, origin: &str) -> Vec<u8> {
            json!({
                "type": kind,
                "challenge": options["challenge"],
                "origin": origin,
                "crossOrigin": false,
            })
            .to_string()
            .into_bytes()
        }

        fn create(&self, options: &Value, origin: &str, rp: &str) -> Value {
            let point = self.key.public_key().as_ref();
            let mut cose = head(5, 5);
            for (k, v) in [(1, int(2)), (3, int(-7)), (-1, int(1))] {
                cose.extend(int(k));
                cose.extend(v);
            }
            cose.extend(int(-2));
            cose.extend(bytes(&point[1..33]));
            cose.extend(int(-3));
            cose.extend(bytes(&point[33..65]));
            let mut auth = Sha256::digest(rp.as_bytes()).to_vec();
            auth.push(self.flags(true));
            auth.extend_from_slice(&self.counter.to_be_bytes());
            auth.extend_from_slice(&[0; 16]);
            auth.extend_from_slice(&(self.id.len() as u16).to_be_bytes());
            auth.extend_from_slice(&self.id);
            auth.extend(cose);
            let mut attestation = head(5, 3);
            attestation.extend(text("fmt"));
            attestation.extend(text("none"));
            attestation.extend(text("attStmt"));
            attestation.extend(head(5, 0));
            attestation.extend(text("authData"));
            attestation.extend(bytes(&auth));
            json!({
                "id": b64(&self.id),
                "rawId": b64(&self.id),
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "response": {
                    "clientDataJSON": b64(&Self::client_data("webauthn.create", options, origin)),
                    "attestationObject": b64(&attestation),
                    "transports": ["usb"],
                },
            })
        }

        fn get(&mut self, options: &Value, origin: &str) -> Value {
            self.counter += 1;
            let mut auth = Sha256::digest(RP.as_bytes()).to_vec();
            auth.push(self.flags(false));
            auth.extend_from_slice(&self.counter.to_be_bytes());
            let client = Self::client_data("webauthn.get", options, origin);
            let mut signed = auth.clone();
            signed.extend_from_slice(&Sha256::digest(&client));
            let sig = self.key.sign(&SystemRandom::new(), &signed).unwrap();
            json!({
                "id": b64(&self.id),
                "rawId": b64(&self.id),
                "type": "public-key",
                "response": {
                    "clientDataJSON": b64(&client),
                    "authenticatorData": b64(&auth),
                    "signature": b64(sig.as_ref()),
                },
            })
        }
    }

    fn rp() -> RelyingParty {
        RelyingParty::new(RP, &[ORIGIN.to_string()], Duration::from_secs(60)).unwrap()
    }

    fn registered(key: &Authenticator, uv_required: bool) -> Registered {
        let rp = rp();
        let (options, state) = rp
            .start_registration(b"user-1", "ann", "Ann", uv_required, &[])
            .unwrap();
        rp.finish_registration(&key.create(&options, ORIGIN, RP), &state)
            .unwrap()
    }

    #[test]
    fn a_passkey_registers_and_signs_in_with_its_counter_moving_forward() {
        let rp = rp();
        let mut key = Authenticator::new(true);
        let reg = registered(&key, false);
        assert_eq!(reg.credential_id, b64(&key.id));
        assert_eq!(reg.attachment.as_deref(), Some("cross-platform"));
        assert_eq!(reg.transports, ["usb"]);

        let (options, state) = rp
            .start_assertion(std::slice::from_ref(&reg.credential), false)
            .unwrap();
        assert_eq!(options["rpId"], RP);
        let stale = key.get(&options, ORIGIN);
        let used = rp
            .finish_assertion(&stale, &state, &reg.credential)
            .unwrap();
        assert_eq!(used.credential_id, reg.credential_id);

        // A second assertion with the counter the stored credential already has is refused.
        let (options, state) = rp
            .start_assertion(std::slice::from_ref(&used.credential), false)
            .unwrap();
        key.counter -= 1;
        let replayed = key.get(&options, ORIGIN);
        assert_eq!(
            rp.finish_assertion(&replayed, &state, &used.credential)
                .unwrap_err(),
            PasskeyError::Counter
        );
        let fresh = key.get(&options, ORIGIN);
        rp.finish_assertion(&fresh, &state, &used.credential)
            .unwrap();
        // A response to another challenge is refused.
        assert_eq!(
            rp.finish_assertion(&stale, &state, &used.credential)
                .unwrap_err(),
            PasskeyError::Challenge
        );
    }

    #[test]
    fn origin_relying_party_and_user_verification_are_checked() {
        let rp = rp();
        let key = Authenticator::new(false);
        let (options, state) = rp
            .start_registration(b"user-1", "ann", "Ann", false, &[])
            .unwrap();
        let wrong_origin = key.create(&options, "https://evil.example", RP);
        assert_eq!(
            rp.finish_registration(&wrong_origin, &state).unwrap_err(),
            PasskeyError::Origin
        );
        let wrong_rp = key.create(&options, ORIGIN, "evil.example");
        assert_eq!(
            rp.finish_registration(&wrong_rp, &state).unwrap_err(),
            PasskeyError::RelyingParty
        );
        let (options, state) = rp
            .start_registration(b"user-1", "ann", "Ann", true, &[])
            .unwrap();
        assert_eq!(
            rp.finish_registration(&key.create(&options, ORIGIN, RP), &state)
                .unwrap_err(),
            PasskeyError::UserNotVerified
        );
        // Without verification required, the same authenticator registers.
        registered(&key, false);
    }

    #[test]
    fn response_credential_ids_are_normalised() {
        assert_eq!(
            response_credential_id(&json!({"rawId": "AAEC"})).as_deref(),
            Some("AAEC")
        );
        assert_eq!(
            response_credential_id(&json!({"id": "AAE="})).as_deref(),
            Some("AAE")
        );
        assert_eq!(response_credential_id(&json!({})), None);
    }
}
