//! Random bytes from the operating system's CSPRNG (through aws-lc).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Fills an array with random bytes. Failure of the system RNG is not recoverable.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}

pub fn fill(out: &mut [u8]) {
    if SystemRandom::new().fill(out).is_err() {
        // Continuing without randomness would mint guessable secrets.
        std::process::abort();
    }
}

/// A URL-safe random token of `n` random bytes (for refresh tokens and session ids).
pub fn token(n: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; n];
    fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}
