//! A pool's password policy and the check every password-setting path applies.

use crate::error::{DomainError, DomainResult, ErrorKind};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub minimum_length: u32,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub password_history_size: Option<u32>,
    /// Days an admin-issued temporary password stays usable.
    pub temporary_password_validity_days: u32,
}

impl Default for PasswordPolicy {
    /// Cognito's defaults: 8 characters with upper, lower, digit and symbol; 7-day temporary passwords.
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            password_history_size: None,
            temporary_password_validity_days: 7,
        }
    }
}

/// The characters Cognito counts as symbols.
pub const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

fn rejected(reason: &str) -> DomainError {
    DomainError::new(
        ErrorKind::InvalidPassword,
        format!("Password did not conform with policy: {reason}"),
    )
}

impl PasswordPolicy {
    pub fn check(&self, password: &str) -> DomainResult<()> {
        if password.starts_with(' ') || password.ends_with(' ') {
            return Err(rejected(
                "Password must not contain a leading or trailing space",
            ));
        }
        if (password.chars().count() as u32) < self.minimum_length {
            return Err(rejected("Password not long enough"));
        }
        if self.require_lowercase && !password.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(rejected("Password must have lowercase characters"));
        }
        if self.require_uppercase && !password.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(rejected("Password must have uppercase characters"));
        }
        if self.require_numbers && !password.chars().any(|c| c.is_ascii_digit()) {
            return Err(rejected("Password must have numeric characters"));
        }
        if self.require_symbols && !password.chars().any(|c| SYMBOLS.contains(c)) {
            return Err(rejected("Password must have symbol characters"));
        }
        Ok(())
    }

    /// Builds a temporary password that satisfies this policy from random bytes (at least 16).
    pub fn temporary_password(&self, random: &[u8]) -> String {
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const DIGITS: &[u8] = b"23456789";
        const SYMS: &[u8] = b"!#$%&*+-=?@^_";
        let pick = |set: &[u8], b: u8| set[b as usize % set.len()] as char;
        let len = (self.minimum_length as usize)
            .max(12)
            .min(random.len().max(4));
        let mut out: Vec<char> = Vec::with_capacity(len);
        let classes: [&[u8]; 4] = [LOWER, UPPER, DIGITS, SYMS];
        for (i, b) in random.iter().take(len).enumerate() {
            out.push(pick(classes[i % 4], *b));
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_names_the_first_failure() {
        let p = PasswordPolicy::default();
        let msg = |pw: &str| {
            p.check(pw)
                .map(|_| String::new())
                .unwrap_or_else(|e| e.message)
        };
        assert_eq!(
            msg("Ab1!"),
            "Password did not conform with policy: Password not long enough"
        );
        assert_eq!(
            msg("ABCDEFG1!"),
            "Password did not conform with policy: Password must have lowercase characters"
        );
        assert_eq!(
            msg("abcdefg1!"),
            "Password did not conform with policy: Password must have uppercase characters"
        );
        assert_eq!(
            msg("Abcdefgh!"),
            "Password did not conform with policy: Password must have numeric characters"
        );
        assert_eq!(
            msg("Abcdefgh1"),
            "Password did not conform with policy: Password must have symbol characters"
        );
        assert_eq!(msg("Abcdefg1!"), "");
        assert_eq!(p.check("Abcdefg1!").map_err(|e| e.kind), Ok(()));
    }

    #[test]
    fn temporary_passwords_satisfy_the_policy() {
        let p = PasswordPolicy {
            minimum_length: 20,
            ..PasswordPolicy::default()
        };
        let random: Vec<u8> = (0u8..32).collect();
        let pw = p.temporary_password(&random);
        assert_eq!(pw.len(), 20);
        assert_eq!(p.check(&pw), Ok(()));
    }
}
