//! TOTP as Cognito uses it (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, one step of skew
//! either way), through totp-rs. Replay protection (a step accepted once) is the caller's: it
//! keeps the last accepted step with the user.

use crate::CryptoError;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// A new 160-bit secret (RFC 4226's recommendation).
pub fn new_secret() -> Vec<u8> {
    crate::random::bytes::<20>().to_vec()
}

/// The secret as an authenticator app is given it (AssociateSoftwareToken's SecretCode): base32
/// without padding.
pub fn encode(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

fn totp(secret: &[u8]) -> Result<Totp, CryptoError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .build()
        .map_err(|e| CryptoError::Key(format!("TOTP secret rejected: {e}")))
}

/// The time step a code matches at `unix_secs` (±1 step), if any.
pub fn check(secret: &[u8], code: &str, unix_secs: u64) -> Result<Option<u64>, CryptoError> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret)?.check(code, unix_secs))
}

/// The code at `unix_secs` (for tests and tools; the server only checks).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Result<String, CryptoError> {
    Ok(totp(secret)?.generate(unix_secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", truncated to 6 digits.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).unwrap(), "287082");
        assert_eq!(code_at(secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(secret, 1_234_567_890).unwrap(), "005924");
    }

    #[test]
    fn one_step_of_skew_each_way_and_no_more() {
        let secret = new_secret();
        let now = 1_700_000_000u64;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(check(&secret, &code, now).unwrap(), Some(now / 30));
        assert!(check(&secret, &code, now + 30).unwrap().is_some());
        assert!(check(&secret, &code, now - 30).unwrap().is_some());
        assert_eq!(check(&secret, &code, now + 90).unwrap(), None);
        assert_eq!(check(&secret, "12345", now).unwrap(), None);
        assert_eq!(encode(&secret).len(), 32);
    }
}
