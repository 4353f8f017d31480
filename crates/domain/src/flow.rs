//! Sign-in as a state machine.
//!
//! ```text
//!   InitiateAuth ──(credentials checked)──▶ decide ──▶ Tokens
//!                                             │
//!                                             └──▶ Challenge(c) ──RespondToAuthChallenge(c)──▶ decide …
//! ```
//!
//! After each proven factor, [`next_step`] decides from the user's state what is still owed. A
//! pending challenge lives server-side as an [`AuthSession`] referenced by an opaque token; the
//! session is bound to pool, client, user and the one challenge it was issued for, expires with
//! the client's AuthSessionValidity, and allows a bounded number of wrong answers.

use crate::ids::{ClientId, Sub, UserPoolId};
use crate::mfa::{MfaFactor, MfaStep};
use crate::pool::UserPool;
use crate::time::Timestamp;
use crate::user::{User, UserStatus};
use serde::{Deserialize, Serialize};

/// Wrong answers a session tolerates before it is discarded.
pub const MAX_SESSION_ATTEMPTS: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Challenge {
    /// An administrator-created user must choose a password (and supply required attributes).
    NewPasswordRequired,
    /// USER_SRP_AUTH's second step: the client proves the password with a claim signature.
    /// Keyed by the SECRET_BLOCK (Cognito's clients send no Session here).
    PasswordVerifier(SrpState),
    /// SMS_MFA or EMAIL_OTP: a code was sent; its keyed digest is kept here.
    MfaCode { factor: MfaFactor, digest: Vec<u8> },
    /// SOFTWARE_TOKEN_MFA: a code from the user's authenticator app.
    SoftwareTokenMfa,
    /// SELECT_MFA_TYPE: the user picks one of these factors.
    SelectMfaType { choices: Vec<MfaFactor> },
    /// MFA_SETUP: required MFA, none set up. AssociateSoftwareToken and VerifySoftwareToken
    /// (with this session) fill in the secret; then the challenge is answered.
    MfaSetup {
        choices: Vec<MfaFactor>,
        /// The sealed secret handed out, and whether a code from it was verified.
        secret: Option<Vec<u8>>,
        verified: bool,
    },
    /// DEVICE_SRP_AUTH: the device named in the sign-in must prove itself.
    DeviceSrpAuth,
    /// DEVICE_PASSWORD_VERIFIER: the device's SRP proof, over its group key and device key.
    DevicePasswordVerifier {
        srp: SrpState,
        group_key: String,
        secret_block: Vec<u8>,
    },
    /// CUSTOM_CHALLENGE: the pool's CreateAuthChallenge function asked something; its
    /// VerifyAuthChallengeResponse function will judge the answer against these.
    Custom {
        private_parameters: std::collections::BTreeMap<String, String>,
        metadata: Option<String>,
    },
    /// USER_AUTH's SELECT_CHALLENGE: the user picks one of these first factors.
    SelectChallenge {
        available: Vec<crate::choice::FirstFactor>,
    },
    /// USER_AUTH's EMAIL_OTP or SMS_OTP as a first factor: a sign-in code was sent (or, for a
    /// name that matches nobody, pretended to be: `digest` is then random and never matches).
    SignInCode { factor: MfaFactor, digest: Vec<u8> },
    /// USER_AUTH's WEB_AUTHN: the assertion challenge handed out, as the WebAuthn library's
    /// serialised state (random per attempt, single use with the session).
    WebAuthn { state: String },
    /// Not a sign-in step: a passkey registration in progress (StartWebAuthnRegistration), kept
    /// with the sign-in sessions for their expiry and single use, under a key only the server
    /// can derive. Never named on the wire.
    WebAuthnRegistration { state: String },
    /// Not a step a client answers: a sign-up just confirmed with a code (ConfirmSignUp's
    /// `Session`), which InitiateAuth with USER_AUTH may spend once, for that user and client,
    /// as the sign-in's first factor (the code proved the channel).
    SignUpConfirmed,
}

/// What the server must remember between SRP's two round trips.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrpState {
    /// The client's public value A (hex, reduced).
    pub a_pub: String,
    /// The server's public value B (hex).
    pub b_pub: String,
    /// The server's secret b, sealed with the master key.
    pub sealed_b: Vec<u8>,
    /// The user id the proof is computed over (USER_ID_FOR_SRP).
    pub user_id: String,
    /// False for an unknown user answered with a simulated challenge; never verifies.
    pub known: bool,
}

impl std::fmt::Debug for SrpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrpState")
            .field("user_id", &self.user_id)
            .field("known", &self.known)
            .finish_non_exhaustive()
    }
}

impl Challenge {
    /// The ChallengeName on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewPasswordRequired => "NEW_PASSWORD_REQUIRED",
            Self::PasswordVerifier(_) => "PASSWORD_VERIFIER",
            Self::MfaCode { factor, .. } => factor.name(),
            Self::SoftwareTokenMfa => "SOFTWARE_TOKEN_MFA",
            Self::SelectMfaType { .. } => "SELECT_MFA_TYPE",
            Self::MfaSetup { .. } => "MFA_SETUP",
            Self::DeviceSrpAuth => "DEVICE_SRP_AUTH",
            Self::DevicePasswordVerifier { .. } => "DEVICE_PASSWORD_VERIFIER",
            Self::Custom { .. } => "CUSTOM_CHALLENGE",
            Self::SelectChallenge { .. } => "SELECT_CHALLENGE",
            Self::SignInCode {
                factor: MfaFactor::Sms,
                ..
            } => "SMS_OTP",
            Self::SignInCode { .. } => "EMAIL_OTP",
            Self::WebAuthn { .. } => "WEB_AUTHN",
            Self::WebAuthnRegistration { .. } => "WEB_AUTHN_REGISTRATION",
            Self::SignUpConfirmed => "SIGN_UP_CONFIRMED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSession {
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub sub: Sub,
    pub challenge: Challenge,
    /// What the sign-in carries from step to step.
    #[serde(default)]
    pub context: SignInContext,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl AuthSession {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.attempts < MAX_SESSION_ATTEMPTS
    }
}

/// What a sign-in carries across its challenges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInContext {
    /// The DEVICE_KEY the client presented, if any.
    pub device_key: Option<String>,
    /// The password was proven with SRP (device tracking applies only to SRP sign-ins).
    pub srp: bool,
    /// CUSTOM_AUTH: the rounds so far, as DefineAuthChallenge sees them in `request.session`.
    #[serde(default)]
    pub custom: Option<Vec<crate::triggers::ChallengeResult>>,
    /// Started on the hosted sign-in pages: it ends in a hosted session and an authorization
    /// code, not in tokens, and only the pages may answer its challenges.
    #[serde(default)]
    pub hosted: bool,
    /// Threat protection: the auth event this sign-in records into.
    #[serde(default)]
    pub event_id: Option<String>,
    /// Threat protection judged the sign-in risky enough to owe a second factor, whatever the
    /// pool's MFA setting.
    #[serde(default)]
    pub risk_mfa: bool,
}

/// What the server knows of the device a sign-in presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    /// No device, an unknown one, or one never confirmed.
    Unknown,
    Known {
        remembered: bool,
    },
}

/// How far a sign-in has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The password (or SRP proof) checked out.
    PasswordProven,
    /// NEW_PASSWORD_REQUIRED was answered.
    PasswordChosen,
    /// The second factor checked out.
    SecondFactorProven,
    /// The presented device proved itself (DEVICE_PASSWORD_VERIFIER).
    DeviceProven,
    /// A passwordless first factor (USER_AUTH's EMAIL_OTP, SMS_OTP or WEB_AUTHN) checked out:
    /// it stands in for MFA too, as in Cognito.
    PasswordlessProven,
}

/// What a sign-in still owes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Tokens,
    NewPassword,
    DeviceSrp,
    Mfa(MfaStep),
}

/// The next step: a new password for admin-created users, then the device's own proof (when
/// a known device is presented), then the second factor (skipped on a remembered device), then
/// tokens.
pub fn next_step(user: &User, pool: &UserPool, stage: Stage, device: DeviceState) -> Step {
    if stage == Stage::PasswordlessProven {
        return Step::Tokens;
    }
    if stage == Stage::PasswordProven && user.status == UserStatus::ForceChangePassword {
        return Step::NewPassword;
    }
    let password_stage = matches!(stage, Stage::PasswordProven | Stage::PasswordChosen);
    if password_stage && matches!(device, DeviceState::Known { .. }) {
        return Step::DeviceSrp;
    }
    let remembered = stage == Stage::DeviceProven
        && device == DeviceState::Known { remembered: true }
        && crate::devices::DeviceTracking::of(&pool.config.settings)
            .is_some_and(|t| t.remembered_replaces_mfa);
    if stage == Stage::SecondFactorProven || remembered {
        return Step::Tokens;
    }
    let has = |a: &str| user.attribute(a).is_some_and(|v| !v.is_empty());
    match crate::mfa::mfa_step(
        pool.config.mfa,
        &pool.config.mfa_factors,
        &user.mfa,
        has(crate::attributes::PHONE_NUMBER),
        has(crate::attributes::EMAIL),
    ) {
        MfaStep::None => Step::Tokens,
        step => Step::Mfa(step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mfa::{MfaFactor, PoolMfa};
    use crate::pool::{MfaMode, PoolConfig};
    use crate::{Sub, Timestamp, UserPoolId, Username};
    use serde_json::json;

    fn pool(mfa: MfaMode, devices: Option<serde_json::Value>) -> UserPool {
        let mut config = PoolConfig {
            mfa,
            mfa_factors: PoolMfa {
                software_token: true,
                ..Default::default()
            },
            ..Default::default()
        };
        if let Some(d) = devices {
            config.settings.insert("DeviceConfiguration".into(), d);
        }
        UserPool {
            id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            name: "p".into(),
            created_at: Timestamp::from_millis(0),
            modified_at: Timestamp::from_millis(0),
            config,
        }
    }

    fn user(status: UserStatus, totp: bool) -> User {
        let mut u = User {
            pool_id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            sub: Sub::from_random([1; 16]),
            username: Username::parse("ann").unwrap(),
            status,
            enabled: true,
            attributes: Default::default(),
            password: None,
            srp: None,
            mfa: Default::default(),
            failures: Default::default(),
            created_at: Timestamp::from_millis(0),
            modified_at: Timestamp::from_millis(0),
        };
        if totp {
            u.mfa.totp_secret = Some(vec![1]);
            u.mfa.preferred = Some(MfaFactor::SoftwareToken);
            u.mfa.software_token = true;
        }
        u
    }

    const REMEMBERED: DeviceState = DeviceState::Known { remembered: true };

    #[test]
    fn admin_created_users_choose_a_password_first() {
        let p = pool(MfaMode::Off, None);
        let u = user(UserStatus::ForceChangePassword, false);
        assert_eq!(
            next_step(&u, &p, Stage::PasswordProven, DeviceState::Unknown),
            Step::NewPassword
        );
        assert_eq!(
            next_step(&u, &p, Stage::PasswordChosen, DeviceState::Unknown),
            Step::Tokens
        );
    }

    #[test]
    fn a_known_device_proves_itself_before_mfa() {
        let devices = json!({"ChallengeRequiredOnNewDevice": true});
        let p = pool(MfaMode::Optional, Some(devices));
        let u = user(UserStatus::Confirmed, true);
        assert_eq!(
            next_step(&u, &p, Stage::PasswordProven, REMEMBERED),
            Step::DeviceSrp
        );
        // A remembered device replaces the second factor; a merely tracked one doesn't.
        assert_eq!(
            next_step(&u, &p, Stage::DeviceProven, REMEMBERED),
            Step::Tokens
        );
        assert!(matches!(
            next_step(
                &u,
                &p,
                Stage::DeviceProven,
                DeviceState::Known { remembered: false }
            ),
            Step::Mfa(_)
        ));
        assert!(matches!(
            next_step(&u, &p, Stage::PasswordProven, DeviceState::Unknown),
            Step::Mfa(_)
        ));
    }

    #[test]
    fn without_challenge_required_on_new_device_mfa_is_still_owed() {
        let devices = json!({"ChallengeRequiredOnNewDevice": false});
        let p = pool(MfaMode::Optional, Some(devices));
        let u = user(UserStatus::Confirmed, true);
        assert!(matches!(
            next_step(&u, &p, Stage::DeviceProven, REMEMBERED),
            Step::Mfa(_)
        ));
        assert_eq!(
            next_step(&u, &p, Stage::SecondFactorProven, REMEMBERED),
            Step::Tokens
        );
    }

    #[test]
    fn passwordless_first_factors_satisfy_mfa() {
        let p = pool(
            MfaMode::On,
            Some(json!({"ChallengeRequiredOnNewDevice": true})),
        );
        let u = user(UserStatus::Confirmed, true);
        assert!(matches!(
            next_step(&u, &p, Stage::PasswordProven, DeviceState::Unknown),
            Step::Mfa(_)
        ));
        assert_eq!(
            next_step(&u, &p, Stage::PasswordlessProven, REMEMBERED),
            Step::Tokens
        );
    }

    #[test]
    fn choice_challenges_have_their_wire_names() {
        use crate::choice::FirstFactor;
        let select = Challenge::SelectChallenge {
            available: vec![FirstFactor::Password],
        };
        assert_eq!(select.name(), "SELECT_CHALLENGE");
        let code = |factor| Challenge::SignInCode {
            factor,
            digest: vec![],
        };
        assert_eq!(code(MfaFactor::Sms).name(), "SMS_OTP");
        assert_eq!(code(MfaFactor::Email).name(), "EMAIL_OTP");
        assert_eq!(
            Challenge::WebAuthn {
                state: String::new()
            }
            .name(),
            "WEB_AUTHN"
        );
    }

    #[test]
    fn no_mfa_means_tokens() {
        let p = pool(MfaMode::Off, None);
        let u = user(UserStatus::Confirmed, true);
        assert_eq!(
            next_step(&u, &p, Stage::PasswordProven, DeviceState::Unknown),
            Step::Tokens
        );
    }
}
