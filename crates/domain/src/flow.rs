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
}

impl Challenge {
    /// The ChallengeName on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewPasswordRequired => "NEW_PASSWORD_REQUIRED",
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
