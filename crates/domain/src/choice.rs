//! Choice-based sign-in (the USER_AUTH flow): which first factors a pool allows
//! (`Policies.SignInPolicy.AllowedFirstAuthFactors`), which of them a user can answer, and what
//! SELECT_CHALLENGE offers.
//!
//! ```text
//!   InitiateAuth(USER_AUTH) ─┬─ PREFERRED_CHALLENGE usable ──▶ that factor's step
//!                            └─ otherwise ──▶ SELECT_CHALLENGE(AvailableChallenges)
//!   SELECT_CHALLENGE ──ANSWER=PASSWORD + PASSWORD──▶ password proven ──▶ MFA as configured
//!                    ──ANSWER=PASSWORD_SRP + SRP_A──▶ PASSWORD_VERIFIER ──▶ MFA as configured
//!                    ──ANSWER=EMAIL_OTP | SMS_OTP──▶ code sent ──code──▶ tokens
//!                    ──ANSWER=WEB_AUTHN──▶ WEB_AUTHN(options) ──CREDENTIAL──▶ tokens
//! ```
//!
//! Passwordless factors satisfy MFA themselves, as in Cognito: only the password factors go on
//! to the pool's second factor.

use crate::attributes::{EMAIL, EMAIL_VERIFIED, PHONE_NUMBER, PHONE_NUMBER_VERIFIED};
use crate::pool::UserPool;
use crate::user::User;
use serde::{Deserialize, Serialize};

/// A pool-level first factor (`AuthFactorType`): what `AllowedFirstAuthFactors` lists and
/// GetUserAuthFactors reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AuthFactor {
    Password,
    EmailOtp,
    SmsOtp,
    WebAuthn,
}

impl AuthFactor {
    pub const ALL: [AuthFactor; 4] = [
        AuthFactor::Password,
        AuthFactor::EmailOtp,
        AuthFactor::SmsOtp,
        AuthFactor::WebAuthn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuthFactor::Password => "PASSWORD",
            AuthFactor::EmailOtp => "EMAIL_OTP",
            AuthFactor::SmsOtp => "SMS_OTP",
            AuthFactor::WebAuthn => "WEB_AUTHN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// A challenge SELECT_CHALLENGE offers (`AvailableChallenges`): the pool's factors, with the
/// password factor offered both plainly and through SRP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FirstFactor {
    Password,
    PasswordSrp,
    EmailOtp,
    SmsOtp,
    WebAuthn,
}

impl FirstFactor {
    pub const ALL: [FirstFactor; 5] = [
        FirstFactor::Password,
        FirstFactor::PasswordSrp,
        FirstFactor::EmailOtp,
        FirstFactor::SmsOtp,
        FirstFactor::WebAuthn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FirstFactor::Password => "PASSWORD",
            FirstFactor::PasswordSrp => "PASSWORD_SRP",
            FirstFactor::EmailOtp => "EMAIL_OTP",
            FirstFactor::SmsOtp => "SMS_OTP",
            FirstFactor::WebAuthn => "WEB_AUTHN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == s)
    }

    /// The pool-level factor this challenge belongs to.
    pub fn factor(self) -> AuthFactor {
        match self {
            FirstFactor::Password | FirstFactor::PasswordSrp => AuthFactor::Password,
            FirstFactor::EmailOtp => AuthFactor::EmailOtp,
            FirstFactor::SmsOtp => AuthFactor::SmsOtp,
            FirstFactor::WebAuthn => AuthFactor::WebAuthn,
        }
    }

    /// Whether proving this factor is proving the password (MFA may follow).
    pub fn is_password(self) -> bool {
        self.factor() == AuthFactor::Password
    }
}

/// The pool's AllowedFirstAuthFactors; a pool that never set them signs in with passwords only.
pub fn allowed_first_factors(pool: &UserPool) -> Vec<AuthFactor> {
    let listed: Option<Vec<AuthFactor>> = pool
        .config
        .settings
        .get("SignInPolicy")
        .and_then(|p| p.get("AllowedFirstAuthFactors"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().and_then(AuthFactor::parse))
                .collect()
        });
    let mut factors = listed.unwrap_or_else(|| vec![AuthFactor::Password]);
    factors.sort();
    factors.dedup();
    factors
}

/// Whether a pool lets users sign up without a password: some passwordless first factor is
/// allowed.
pub fn allows_passwordless(pool: &UserPool) -> bool {
    allowed_first_factors(pool)
        .iter()
        .any(|f| *f != AuthFactor::Password)
}

/// What a user holds that a first factor needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserFactors {
    pub password: bool,
    /// A verified email address (codes go only to addresses the user proved).
    pub email: bool,
    /// A verified phone number.
    pub phone: bool,
    /// At least one registered passkey.
    pub passkey: bool,
}

impl UserFactors {
    pub fn of(user: &User, passkeys: usize) -> Self {
        let verified = |attr: &str, flag: &str| {
            user.attribute(attr).is_some_and(|v| !v.is_empty())
                && user.attribute(flag) == Some("true")
        };
        Self {
            password: user.password.is_some(),
            email: verified(EMAIL, EMAIL_VERIFIED),
            phone: verified(PHONE_NUMBER, PHONE_NUMBER_VERIFIED),
            passkey: passkeys > 0,
        }
    }

    fn has(&self, factor: AuthFactor) -> bool {
        match factor {
            AuthFactor::Password => self.password,
            AuthFactor::EmailOtp => self.email,
            AuthFactor::SmsOtp => self.phone,
            AuthFactor::WebAuthn => self.passkey,
        }
    }
}

/// The factors a user has configured among those the pool allows (GetUserAuthFactors).
pub fn configured_factors(pool: &UserPool, user: UserFactors) -> Vec<AuthFactor> {
    allowed_first_factors(pool)
        .into_iter()
        .filter(|f| user.has(*f))
        .collect()
}

/// What SELECT_CHALLENGE offers. `user` is None when the answer must not depend on who the
/// user is — an unknown name, or any name when the client hides which names exist — and then
/// every challenge the pool allows is offered, so the list tells nothing.
pub fn available_challenges(pool: &UserPool, user: Option<UserFactors>) -> Vec<FirstFactor> {
    let allowed = allowed_first_factors(pool);
    FirstFactor::ALL
        .into_iter()
        .filter(|c| allowed.contains(&c.factor()))
        .filter(|c| *c != FirstFactor::PasswordSrp || pool.config.srp_enabled)
        .filter(|c| user.is_none_or(|u| u.has(c.factor())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::PoolConfig;
    use crate::{Timestamp, UserPoolId};
    use serde_json::json;

    fn pool(factors: Option<&[&str]>) -> UserPool {
        let mut config = PoolConfig::default();
        if let Some(f) = factors {
            config.settings.insert(
                "SignInPolicy".into(),
                json!({ "AllowedFirstAuthFactors": f }),
            );
        }
        UserPool {
            id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            name: "p".into(),
            created_at: Timestamp::from_millis(0),
            modified_at: Timestamp::from_millis(0),
            config,
        }
    }

    fn names(c: &[FirstFactor]) -> Vec<&'static str> {
        c.iter().map(|c| c.name()).collect()
    }

    #[test]
    fn pools_without_a_policy_offer_passwords_only() {
        let p = pool(None);
        assert_eq!(allowed_first_factors(&p), vec![AuthFactor::Password]);
        assert!(!allows_passwordless(&p));
        assert_eq!(
            names(&available_challenges(&p, None)),
            ["PASSWORD", "PASSWORD_SRP"]
        );
    }

    #[test]
    fn a_user_is_offered_what_they_hold_among_what_the_pool_allows() {
        let p = pool(Some(&["PASSWORD", "EMAIL_OTP", "WEB_AUTHN"]));
        let user = UserFactors {
            password: false,
            email: true,
            phone: true,
            passkey: false,
        };
        // SMS_OTP isn't allowed by the pool; the user has no password nor passkey.
        assert_eq!(names(&available_challenges(&p, Some(user))), ["EMAIL_OTP"]);
        assert_eq!(configured_factors(&p, user), vec![AuthFactor::EmailOtp]);
        // Hiding who exists: everything the pool allows, whoever asks.
        assert_eq!(
            names(&available_challenges(&p, None)),
            ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP", "WEB_AUTHN"]
        );
        assert!(allows_passwordless(&p));
    }

    #[test]
    fn pools_without_srp_offer_no_password_srp() {
        let mut p = pool(Some(&["PASSWORD"]));
        p.config.srp_enabled = false;
        assert_eq!(names(&available_challenges(&p, None)), ["PASSWORD"]);
    }

    #[test]
    fn factors_parse_by_their_wire_names() {
        for f in FirstFactor::ALL {
            assert_eq!(FirstFactor::parse(f.name()), Some(f));
        }
        assert_eq!(FirstFactor::parse("SMS_MFA"), None);
        assert!(FirstFactor::PasswordSrp.is_password());
        assert!(!FirstFactor::EmailOtp.is_password());
    }
}
