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
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthSession {
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub sub: Sub,
    pub challenge: Challenge,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl AuthSession {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at && self.attempts < MAX_SESSION_ATTEMPTS
    }
}

/// What a sign-in still needs once the user's password has been proven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Tokens,
    Challenge(Challenge),
}

pub fn next_step(user: &User) -> Step {
    match user.status {
        UserStatus::ForceChangePassword => Step::Challenge(Challenge::NewPasswordRequired),
        _ => Step::Tokens,
    }
}
