//! One-time codes sent to users: what they're for, how long they live, how many wrong guesses
//! and re-sends they allow. The code itself is never stored — only a keyed digest of it.

use crate::error::{DomainError, ErrorKind};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CodePurpose {
    ConfirmSignUp,
    ResetPassword,
    /// Verifying (or, with AttributesRequireVerificationBeforeUpdate, changing) `email` or
    /// `phone_number`.
    VerifyAttribute(String),
}

impl CodePurpose {
    /// The key a user's code for this purpose is stored under (one live code per purpose).
    pub fn key(&self) -> String {
        match self {
            CodePurpose::ConfirmSignUp => "confirm-sign-up".into(),
            CodePurpose::ResetPassword => "reset-password".into(),
            CodePurpose::VerifyAttribute(a) => format!("verify:{a}"),
        }
    }

    /// Cognito's lifetimes: 24 hours for sign-up and attribute codes, 1 hour for resets.
    pub fn lifetime(&self) -> Duration {
        match self {
            CodePurpose::ResetPassword => Duration::from_secs(3600),
            _ => Duration::from_secs(24 * 3600),
        }
    }
}

/// Wrong codes allowed before the code is spent and a new one must be requested.
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// Codes sent per user and purpose in any hour.
pub const MAX_SENDS_PER_HOUR: usize = 5;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationCode {
    pub purpose: CodePurpose,
    /// HMAC of the code under a key derived from the master key (six digits alone would be
    /// trivially brute-forced from a plain hash).
    pub digest: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub failed_attempts: u32,
    /// The new value of the attribute, when a change waits for this code.
    pub pending_value: Option<String>,
    /// The attribute whose destination received the code (it is verified by the code).
    #[serde(default)]
    pub sent_to: Option<String>,
    /// When codes for this purpose were sent recently (for the send rate limit).
    pub recent_sends: Vec<Timestamp>,
}

impl std::fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationCode")
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .field("failed_attempts", &self.failed_attempts)
            .finish_non_exhaustive()
    }
}

pub fn mismatch() -> DomainError {
    DomainError::new(
        ErrorKind::CodeMismatch,
        "Invalid verification code provided, please try again.",
    )
}

pub fn expired() -> DomainError {
    DomainError::new(
        ErrorKind::ExpiredCode,
        "Invalid code provided, please request a code again.",
    )
}

pub fn limit_exceeded() -> DomainError {
    DomainError::new(
        ErrorKind::LimitExceeded,
        "Attempt limit exceeded, please try after some time.",
    )
}

/// The sends still inside the last hour plus this one, or LimitExceeded.
pub fn record_send(previous: &[Timestamp], now: Timestamp) -> Result<Vec<Timestamp>, DomainError> {
    let hour = Duration::from_secs(3600);
    let mut recent: Vec<Timestamp> = previous
        .iter()
        .copied()
        .filter(|t| now.since(*t) < hour)
        .collect();
    if recent.len() >= MAX_SENDS_PER_HOUR {
        return Err(limit_exceeded());
    }
    recent.push(now);
    Ok(recent)
}

/// The outcome of presenting a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Wrong: count the attempt and answer CodeMismatch (or LimitExceeded once spent).
    Wrong,
    Expired,
    Spent,
}

impl VerificationCode {
    /// Judges a presented code; `matches` is the constant-time comparison of digests.
    pub fn judge(&self, matches: bool, now: Timestamp) -> Verdict {
        if self.failed_attempts >= MAX_FAILED_ATTEMPTS {
            Verdict::Spent
        } else if now >= self.expires_at {
            Verdict::Expired
        } else if matches {
            Verdict::Accepted
        } else {
            Verdict::Wrong
        }
    }
}

/// Six decimal digits from random bytes, without modulo bias.
pub fn six_digits(random: &[u8]) -> Option<String> {
    for chunk in random.chunks_exact(4) {
        let n = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        // The largest multiple of 1_000_000 below 2^32.
        if n < 4_294_000_000 {
            return Some(format!("{:06}", n % 1_000_000));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + s)
    }

    fn code() -> VerificationCode {
        VerificationCode {
            purpose: CodePurpose::ResetPassword,
            digest: vec![1],
            created_at: at(0),
            expires_at: at(3600),
            failed_attempts: 0,
            pending_value: None,
            sent_to: None,
            recent_sends: vec![],
        }
    }

    #[test]
    fn verdicts() {
        let mut c = code();
        assert_eq!(c.judge(true, at(10)), Verdict::Accepted);
        assert_eq!(c.judge(false, at(10)), Verdict::Wrong);
        assert_eq!(c.judge(true, at(3600)), Verdict::Expired);
        c.failed_attempts = MAX_FAILED_ATTEMPTS;
        assert_eq!(c.judge(true, at(10)), Verdict::Spent);
    }

    #[test]
    fn five_sends_an_hour() {
        let mut sends = Vec::new();
        for i in 0..5 {
            sends = record_send(&sends, at(i)).unwrap();
        }
        assert_eq!(
            record_send(&sends, at(10)).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
        assert!(record_send(&sends, at(3601)).is_ok());
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(six_digits(&[0, 0, 0, 7]).as_deref(), Some("000007"));
        assert_eq!(
            six_digits(&[255, 255, 255, 255, 0, 0, 0, 1]).as_deref(),
            Some("000001")
        );
        assert_eq!(
            CodePurpose::VerifyAttribute("email".into()).key(),
            "verify:email"
        );
    }
}
