//! Multi-factor authentication: which factors a pool offers, which a user has, and which
//! challenge a sign-in owes once the password is proven.

use crate::pool::MfaMode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MfaFactor {
    Sms,
    SoftwareToken,
    Email,
}

impl MfaFactor {
    /// The ChallengeName (and UserMFASettingList entry) on the wire.
    pub fn name(self) -> &'static str {
        match self {
            MfaFactor::Sms => "SMS_MFA",
            MfaFactor::SoftwareToken => "SOFTWARE_TOKEN_MFA",
            MfaFactor::Email => "EMAIL_OTP",
        }
    }

    /// The ChallengeResponses key carrying the code.
    pub fn response_key(self) -> &'static str {
        match self {
            MfaFactor::Sms => "SMS_MFA_CODE",
            MfaFactor::SoftwareToken => "SOFTWARE_TOKEN_MFA_CODE",
            MfaFactor::Email => "EMAIL_OTP_CODE",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [MfaFactor::Sms, MfaFactor::SoftwareToken, MfaFactor::Email]
            .into_iter()
            .find(|f| f.name() == name)
    }
}

/// The factors a pool allows (SetUserPoolMfaConfig) and their messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolMfa {
    pub sms: bool,
    pub software_token: bool,
    pub email: bool,
    /// SmsMfaConfiguration.SmsAuthenticationMessage.
    pub sms_message: Option<String>,
    pub email_subject: Option<String>,
    pub email_message: Option<String>,
}

impl PoolMfa {
    pub fn allows(&self, f: MfaFactor) -> bool {
        match f {
            MfaFactor::Sms => self.sms,
            MfaFactor::SoftwareToken => self.software_token,
            MfaFactor::Email => self.email,
        }
    }

    pub fn sms_message(&self) -> &str {
        self.sms_message
            .as_deref()
            .unwrap_or("Your authentication code is {####}. ")
    }

    pub fn email_subject(&self) -> &str {
        self.email_subject
            .as_deref()
            .unwrap_or("Your authentication code")
    }

    pub fn email_message(&self) -> &str {
        self.email_message
            .as_deref()
            .unwrap_or("Your authentication code is {####}.")
    }
}

/// A user's second factors.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMfa {
    pub sms: bool,
    pub email: bool,
    pub software_token: bool,
    pub preferred: Option<MfaFactor>,
    /// The verified authenticator secret, sealed with the master key.
    pub totp_secret: Option<Vec<u8>>,
    pub totp_device_name: Option<String>,
    /// A secret handed out by AssociateSoftwareToken and not yet verified (sealed).
    pub pending_totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted: a code works once.
    pub totp_last_step: Option<u64>,
}

impl std::fmt::Debug for UserMfa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMfa")
            .field("sms", &self.sms)
            .field("email", &self.email)
            .field("software_token", &self.software_token)
            .field("preferred", &self.preferred)
            .finish_non_exhaustive()
    }
}

impl UserMfa {
    /// A verified authenticator becomes the user's software token, turned on and preferred
    /// unless another factor already is; `step` (the code just used) can't be used again.
    pub fn enrol_software_token(
        &mut self,
        sealed: Vec<u8>,
        device_name: Option<String>,
        step: u64,
    ) {
        self.totp_secret = Some(sealed);
        self.pending_totp_secret = None;
        self.totp_device_name = device_name;
        self.totp_last_step = Some(step);
        self.software_token = true;
        self.preferred.get_or_insert(MfaFactor::SoftwareToken);
    }

    /// Factors this user has turned on (whatever the pool allows now).
    pub fn enabled(&self) -> Vec<MfaFactor> {
        let mut out = Vec::new();
        if self.sms {
            out.push(MfaFactor::Sms);
        }
        if self.software_token {
            out.push(MfaFactor::SoftwareToken);
        }
        if self.email {
            out.push(MfaFactor::Email);
        }
        out
    }

    /// UserMFASettingList and PreferredMfaSetting as AdminGetUser reports them.
    pub fn settings(&self) -> (Vec<&'static str>, Option<&'static str>) {
        (
            self.enabled().into_iter().map(MfaFactor::name).collect(),
            self.preferred.map(MfaFactor::name),
        )
    }
}

/// What a sign-in owes for its second factor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MfaStep {
    None,
    Challenge(MfaFactor),
    /// Several factors and no preference: SELECT_MFA_TYPE.
    Select(Vec<MfaFactor>),
    /// MFA is required and the user has none: MFA_SETUP offering these.
    Setup(Vec<MfaFactor>),
}

/// Decides the second factor. `has_phone`/`has_email`: the user has that destination.
pub fn mfa_step(
    mode: MfaMode,
    pool: &PoolMfa,
    user: &UserMfa,
    has_phone: bool,
    has_email: bool,
) -> MfaStep {
    if mode == MfaMode::Off {
        return MfaStep::None;
    }
    let usable: Vec<MfaFactor> = user
        .enabled()
        .into_iter()
        .filter(|f| pool.allows(*f))
        .filter(|f| match f {
            MfaFactor::Sms => has_phone,
            MfaFactor::Email => has_email,
            MfaFactor::SoftwareToken => user.totp_secret.is_some(),
        })
        .collect();
    match usable.as_slice() {
        [] if mode == MfaMode::On => {
            // Required MFA: a pool sending SMS (or email) codes uses the number (address) the
            // user already has; otherwise the user must set a factor up.
            if pool.sms && has_phone {
                MfaStep::Challenge(MfaFactor::Sms)
            } else if pool.email && has_email {
                MfaStep::Challenge(MfaFactor::Email)
            } else {
                let mut offer = Vec::new();
                if pool.sms {
                    offer.push(MfaFactor::Sms);
                }
                if pool.software_token {
                    offer.push(MfaFactor::SoftwareToken);
                }
                if pool.email {
                    offer.push(MfaFactor::Email);
                }
                MfaStep::Setup(offer)
            }
        }
        [] => MfaStep::None,
        [one] => MfaStep::Challenge(*one),
        many => match user.preferred.filter(|p| many.contains(p)) {
            Some(p) => MfaStep::Challenge(p),
            None => MfaStep::Select(many.to_vec()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool_all() -> PoolMfa {
        PoolMfa {
            sms: true,
            software_token: true,
            email: true,
            ..PoolMfa::default()
        }
    }

    #[test]
    fn off_and_optional_without_factors_need_nothing() {
        let user = UserMfa::default();
        assert_eq!(
            mfa_step(MfaMode::Off, &pool_all(), &user, true, true),
            MfaStep::None
        );
        assert_eq!(
            mfa_step(MfaMode::Optional, &pool_all(), &user, true, true),
            MfaStep::None
        );
    }

    #[test]
    fn one_factor_is_challenged_several_are_chosen_unless_preferred() {
        let mut user = UserMfa {
            software_token: true,
            totp_secret: Some(vec![1]),
            ..UserMfa::default()
        };
        assert_eq!(
            mfa_step(MfaMode::Optional, &pool_all(), &user, true, true),
            MfaStep::Challenge(MfaFactor::SoftwareToken)
        );
        user.sms = true;
        assert_eq!(
            mfa_step(MfaMode::Optional, &pool_all(), &user, true, true),
            MfaStep::Select(vec![MfaFactor::Sms, MfaFactor::SoftwareToken])
        );
        user.preferred = Some(MfaFactor::Sms);
        assert_eq!(
            mfa_step(MfaMode::Optional, &pool_all(), &user, true, true),
            MfaStep::Challenge(MfaFactor::Sms)
        );
        // A factor the pool no longer allows doesn't count.
        let totp_only = PoolMfa {
            software_token: true,
            ..PoolMfa::default()
        };
        assert_eq!(
            mfa_step(MfaMode::Optional, &totp_only, &user, true, true),
            MfaStep::Challenge(MfaFactor::SoftwareToken)
        );
    }

    #[test]
    fn required_mfa_uses_a_phone_or_asks_for_setup() {
        let user = UserMfa::default();
        assert_eq!(
            mfa_step(MfaMode::On, &pool_all(), &user, true, false),
            MfaStep::Challenge(MfaFactor::Sms)
        );
        let totp_only = PoolMfa {
            software_token: true,
            ..PoolMfa::default()
        };
        assert_eq!(
            mfa_step(MfaMode::On, &totp_only, &user, true, true),
            MfaStep::Setup(vec![MfaFactor::SoftwareToken])
        );
    }
}
